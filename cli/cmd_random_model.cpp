// r1 random-model: write a GGUF model with random weights (tests, demos, speed benchmarks).
#include <cstdio>
#include <functional>
#include <memory>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/chat.h"
#include "model/random_model.h"
#include "tokenizer/tokenizer.h"

namespace r1::cli {
namespace {

// Shapes worth having by name. Flags given on the command line override a preset's values.
RandomModelSpec preset(const std::string& name) {
    RandomModelSpec p;
    if (name == "tiny") return p;
    if (name == "qwen2-1.5b") {  // R1-Distill-Qwen-1.5B's shape (spec §3.2)
        p.arch = "qwen2", p.name = "random-qwen2-1.5b";
        p.n_embd = 1536, p.n_layer = 28, p.n_head = 12, p.n_head_kv = 2, p.n_ff = 8960, p.n_vocab = 151936;
        p.n_ctx = 131072;
        return p;
    }
    if (name == "deepseek-v3-tiny" || name == "deepseek-v2-lite-tiny") {
        p.arch = "deepseek2", p.name = "random-" + name;
        p.n_embd = 64, p.n_layer = 3, p.n_head = 4, p.n_ff = 128, p.n_ctx = 8192;
        p.n_dense_layers = 1, p.kv_lora_rank = 32, p.qk_nope = 16, p.qk_rope = 16, p.v_head = 16;
        p.n_experts = 8, p.moe_inter = 32;
        if (name == "deepseek-v3-tiny") {  // q-LoRA, sigmoid + bias, renormalised x2.5, groups, YaRN
            p.q_lora_rank = 48, p.n_experts_used = 2, p.n_shared_experts = 1, p.n_groups = 4, p.n_groups_used = 2;
            p.sigmoid = true, p.selection_bias = true, p.norm_topk_prob = true, p.route_scale = 2.5f;
            p.yarn_factor = 40, p.yarn_original_ctx = 4096, p.yarn_mscale_all_dim = 1.0f;
        } else {  // V2-Lite: no q-LoRA, softmax, 2 shared experts, no groups
            p.n_experts_used = 2, p.n_shared_experts = 2, p.n_groups = 1;
            p.yarn_factor = 40, p.yarn_original_ctx = 4096, p.yarn_mscale_all_dim = 0.707f;
        }
        return p;
    }
    if (name == "deepseek-v3-bench") {  // the V3-shaped benchmark model of issue 3
        p.arch = "deepseek2", p.name = "random-deepseek-v3-bench";
        p.n_embd = 2048, p.n_layer = 8, p.n_head = 16, p.n_ff = 10944, p.n_vocab = 129280, p.n_ctx = 163840;
        p.n_dense_layers = 1, p.q_lora_rank = 768, p.kv_lora_rank = 512, p.qk_nope = 128, p.qk_rope = 64,
        p.v_head = 128;
        p.n_experts = 64, p.n_experts_used = 6, p.n_shared_experts = 1, p.moe_inter = 1408;
        p.sigmoid = true, p.selection_bias = true, p.norm_topk_prob = true, p.route_scale = 2.5f;
        p.yarn_factor = 40, p.yarn_original_ctx = 4096, p.yarn_mscale_all_dim = 1.0f;
        return p;
    }
    fail("unknown preset '%s' (tiny, qwen2-1.5b, deepseek-v3-tiny, deepseek-v2-lite-tiny, deepseek-v3-bench)",
         name.c_str());
}

}  // namespace

void add_random_model(CLI::App& app) {
    struct Opts {
        RandomModelSpec spec;
        std::string out, tokenizer, preset = "tiny", chat_template = "tokenizer";
        bool legacy = false;
        int threads = 0;
        std::vector<std::function<void(const RandomModelSpec&)>> keep_preset;  // for flags not given
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("random-model", "Write a GGUF model with RANDOM weights (tests, demos, benchmarks)");
    cmd->footer(
        "The weights are random: the model produces gibberish. It exists to test the engine end to end and to\n"
        "measure speed at real shapes. Presets: tiny, qwen2-1.5b, deepseek-v3-tiny, deepseek-v2-lite-tiny,\n"
        "deepseek-v3-bench; flags override the preset.\n"
        "Example: r1 random-model --preset qwen2-1.5b --type q4_k_m --tokenizer .cache/assets/qwen3 -o q15.gguf");
    cmd->add_option("-o,--output", o->out, "output GGUF")->required();
    cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json (or its directory, or a GGUF) for the vocabulary");
    cmd->add_option("--preset", o->preset, "a named shape (see below)");
    cmd->add_option("--chat-template", o->chat_template,
                    "tokenizer: the tokenizer's own template; deepseek-r1: r1.cpp's R1 template (the R1-Distill format)");
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    cmd->add_flag("--legacy-layout", o->legacy, "deepseek2: one attn_kv_b per layer instead of attn_k_b + attn_v_b");
    auto opt = [&](const char* flag, auto RandomModelSpec::*member, const char* help) {
        cmd->add_option(flag, o->spec.*member, help);
        std::string long_name = flag;
        o->keep_preset.push_back([o, cmd, long_name, member](const RandomModelSpec& p) {
            if (cmd->count(long_name) == 0) o->spec.*member = p.*member;
        });
    };
    auto flag = [&](const char* name, bool RandomModelSpec::*member, const char* help) {
        cmd->add_flag(name, o->spec.*member, help);
        std::string long_name = name;
        o->keep_preset.push_back([o, cmd, long_name, member](const RandomModelSpec& p) {
            if (cmd->count(long_name) == 0) o->spec.*member = p.*member;
        });
    };
    opt("--arch", &RandomModelSpec::arch, "qwen2 | llama | deepseek2");
    opt("--name", &RandomModelSpec::name, "general.name");
    opt("--vocab", &RandomModelSpec::n_vocab, "vocabulary rows (default: the tokenizer's)");
    opt("--dim", &RandomModelSpec::n_embd, "hidden size");
    opt("--layers", &RandomModelSpec::n_layer, "layers");
    opt("--heads", &RandomModelSpec::n_head, "query heads");
    opt("--kv-heads", &RandomModelSpec::n_head_kv, "key/value heads (dense)");
    opt("--ff", &RandomModelSpec::n_ff, "FFN size (deepseek2: of the dense layers)");
    opt("--ctx", &RandomModelSpec::n_ctx, "context length");
    opt("--type", &RandomModelSpec::quant, "weight type mix (f32, f16, q8_0, q4_k_m, ...)");
    opt("--seed", &RandomModelSpec::seed, "random seed");
    flag("--tied", &RandomModelSpec::tied_embeddings, "tie the output head to the embedding");
    opt("--dense-layers", &RandomModelSpec::n_dense_layers, "deepseek2: leading dense layers");
    opt("--q-lora", &RandomModelSpec::q_lora_rank, "deepseek2: q_lora_rank (0: plain wq)");
    opt("--kv-lora", &RandomModelSpec::kv_lora_rank, "deepseek2: kv_lora_rank");
    opt("--nope", &RandomModelSpec::qk_nope, "deepseek2: qk_nope_head_dim");
    opt("--rope", &RandomModelSpec::qk_rope, "deepseek2: qk_rope_head_dim");
    opt("--v-head", &RandomModelSpec::v_head, "deepseek2: v_head_dim");
    opt("--experts", &RandomModelSpec::n_experts, "deepseek2: routed experts");
    opt("--experts-used", &RandomModelSpec::n_experts_used, "deepseek2: experts per token");
    opt("--shared-experts", &RandomModelSpec::n_shared_experts, "deepseek2: shared experts");
    opt("--moe-ff", &RandomModelSpec::moe_inter, "deepseek2: expert FFN size");
    opt("--groups", &RandomModelSpec::n_groups, "deepseek2: expert groups");
    opt("--groups-used", &RandomModelSpec::n_groups_used, "deepseek2: groups kept per token");
    flag("--sigmoid", &RandomModelSpec::sigmoid, "deepseek2: sigmoid router scores (V3) instead of softmax (V2)");
    flag("--bias", &RandomModelSpec::selection_bias, "deepseek2: exp_probs_b selection bias (V3)");
    flag("--norm-topk", &RandomModelSpec::norm_topk_prob, "deepseek2: renormalise the selected weights");
    opt("--route-scale", &RandomModelSpec::route_scale, "deepseek2: routed_scaling_factor");
    opt("--yarn-factor", &RandomModelSpec::yarn_factor, "deepseek2: YaRN factor (0: no YaRN)");
    opt("--yarn-orig-ctx", &RandomModelSpec::yarn_original_ctx, "deepseek2: YaRN original context");
    opt("--yarn-mscale", &RandomModelSpec::yarn_mscale_all_dim, "deepseek2: YaRN mscale_all_dim");
    cmd->callback([o] {
        apply_threads(o->threads);
        const RandomModelSpec p = preset(o->preset);
        for (auto& keep : o->keep_preset) keep(p);
        RandomModelSpec s = o->spec;
        if (o->legacy) s.mla_layout = false;
        if (o->chat_template == "deepseek-r1")
            s.chat_template = std::string(deepseek_r1_jinja_template());
        else if (o->chat_template != "tokenizer")
            fail("--chat-template: expected 'tokenizer' or 'deepseek-r1', got '%s'", o->chat_template.c_str());
        std::unique_ptr<Tokenizer> tok;
        if (!o->tokenizer.empty()) tok = Tokenizer::from_path(o->tokenizer);
        write_random_model(s, tok.get(), o->out, true);
        std::fprintf(stderr, "wrote %s: RANDOM weights, %s, %lld layers, d=%lld, type %s\n", o->out.c_str(),
                     s.arch.c_str(), static_cast<long long>(s.n_layer), static_cast<long long>(s.n_embd),
                     s.quant.c_str());
    });
}

}  // namespace r1::cli
