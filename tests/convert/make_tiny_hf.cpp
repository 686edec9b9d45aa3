// make_tiny_hf: writes one tiny Hugging Face checkpoint (config.json, safetensors, tokenizer.json) for the
// llama.cpp cross-check in scripts/convert-llamacpp-check.sh.
// Usage: make_tiny_hf qwen2|llama|v2lite|v3 DIR [--layers N] [--fp8] [--mtp] [--shards N] [--f32] [--seed S]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "convert/tiny_hf.h"

int main(int argc, char** argv) {
    using namespace r1::test;
    if (argc < 3) {
        std::fprintf(
            stderr,
            "usage: make_tiny_hf qwen2|llama|v2lite|v3 DIR [--layers N] [--fp8] [--mtp] [--shards N] "
            "[--f32] [--seed S]\n");
        return 2;
    }
    TinyOptions opt;
    const std::string kind = argv[1], dir = argv[2];
    if (kind == "qwen2")
        opt.kind = TinyKind::Qwen2;
    else if (kind == "llama")
        opt.kind = TinyKind::Llama;
    else if (kind == "v2lite")
        opt.kind = TinyKind::DeepSeekV2Lite;
    else if (kind == "v3")
        opt.kind = TinyKind::DeepSeekV3;
    else {
        std::fprintf(stderr, "make_tiny_hf: unknown kind '%s'\n", kind.c_str());
        return 2;
    }
    for (int i = 3; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> long long {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "make_tiny_hf: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return std::atoll(argv[++i]);
        };
        if (a == "--layers")
            opt.n_layers = value();
        else if (a == "--fp8")
            opt.fp8 = true;
        else if (a == "--mtp")
            opt.mtp = true;
        else if (a == "--shards")
            opt.shards = static_cast<int>(value());
        else if (a == "--f32")
            opt.dtype = r1::DType::F32;
        else if (a == "--seed")
            opt.seed = static_cast<uint64_t>(value());
        else {
            std::fprintf(stderr, "make_tiny_hf: unknown option '%s'\n", a.c_str());
            return 2;
        }
    }
    try {
        make_tiny_checkpoint(opt).write(dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_tiny_hf: %s\n", e.what());
        return 1;
    }
    return 0;
}
