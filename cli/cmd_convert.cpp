// r1 convert: a Hugging Face checkpoint directory (safetensors BF16/F16/F32 or FP8 + config.json +
// tokenizer.json) -> GGUF for r1 and llama.cpp.
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "model/convert.h"
#include "model/quantize.h"

namespace r1::cli {

void add_convert(CLI::App& app) {
    struct Opts {
        std::string dir, out, type = "bf16", layout = "mla", name;
        bool no_mtp = false, no_vocab = false;
        int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd =
        app.add_subcommand("convert", "Convert a Hugging Face checkpoint (safetensors, FP8 too) to GGUF");
    std::string types;
    for (const auto& n : quant_recipe_names()) types += (types.empty() ? "" : ", ") + n;
    cmd->footer(
        "model_type: llama, qwen2 (R1-Distill), deepseek_v2, deepseek_v3 (-> GGUF deepseek2).\n"
        "Types: " +
        types +
        " (norms, router and biases stay f32; q4_k_m uses llama.cpp's mix).\n"
        "FP8 checkpoints (F8_E4M3 + weight_scale_inv 128x128 block scales) are dequantised exactly first.\n"
        "DeepSeek MTP layers are kept as blk.N.nextn.* (N = num_hidden_layers) unless --no-mtp.\n"
        "Example: r1 convert ./DeepSeek-V2-Lite-Chat -o v2-lite-q8_0.gguf --type q8_0");
    cmd->add_option("hf_dir", o->dir, "checkpoint directory (config.json, *.safetensors, tokenizer.json)")
        ->required();
    cmd->add_option("-o,--output", o->out, "output GGUF (written atomically)")->required();
    cmd->add_option("--type", o->type, "tensor type mix (default bf16)");
    cmd->add_option("--layout", o->layout,
                    "DeepSeek attention tensors: mla (attn_k_b + attn_v_b, llama.cpp >= Apr 2025) or legacy "
                    "(attn_kv_b)")
        ->check(CLI::IsMember({"mla", "legacy"}));
    cmd->add_flag("--no-mtp", o->no_mtp,
                  "drop DeepSeek multi-token-prediction layers instead of keeping them");
    cmd->add_flag(
        "--no-vocab", o->no_vocab,
        "write no vocabulary (tokenizer.ggml.model = none): for checkpoints without tokenizer.json, "
        "usable with token ids only");
    cmd->add_option("--name", o->name, "general.name (default: from config.json or the directory name)");
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    cmd->callback([o] {
        apply_threads(o->threads);
        const double t0 = now_s();
        ConvertOptions opt;
        opt.type = o->type;
        opt.layout = o->layout == "legacy" ? MlaLayout::Legacy : MlaLayout::Mla;
        opt.keep_mtp = !o->no_mtp;
        opt.vocab = !o->no_vocab;
        opt.name = o->name;
        const ConvertResult r = convert_hf_to_gguf(o->dir, o->out, opt);
        std::string mix;
        for (const auto& [type, count] : r.types)
            mix += strfmt("%s%s x%lld", mix.empty() ? "" : ", ", type.c_str(), static_cast<long long>(count));
        for (const std::string& note : r.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
        std::fprintf(
            stderr, "wrote %s: %s, %lld layers%s, %lld tensors (%s), %s%s in %.1f s\n", o->out.c_str(),
            r.arch.c_str(), static_cast<long long>(r.n_layer),
            r.n_mtp_layers ? strfmt(" + %lld MTP", static_cast<long long>(r.n_mtp_layers)).c_str() : "",
            static_cast<long long>(r.n_tensors), mix.c_str(), human_bytes(double(r.data_bytes)).c_str(),
            r.fp8_source ? ", from FP8" : "", now_s() - t0);
    });
}

}  // namespace r1::cli
