#include "model/random_model.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "base/progress.h"
#include "base/rng.h"
#include "formats/gguf.h"
#include "model/quantize.h"
#include "tensor/quant.h"
#include "tokenizer/gguf_export.h"
#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

// Llama-3.1 rope scaling as frequency divisors (spec §6.3): 1 for short wavelengths, `factor` for long ones,
// a smooth blend in between.
std::vector<float> llama3_rope_freqs(int64_t rope_dim, float theta) {
    const double factor = 8, low_ff = 1, high_ff = 4, orig = 8192;
    const double low_wavelen = orig / low_ff, high_wavelen = orig / high_ff;
    std::vector<float> out(static_cast<size_t>(rope_dim / 2));
    for (int64_t i = 0; i < rope_dim / 2; i++) {
        const double freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) /
                                                                     static_cast<double>(rope_dim));
        const double wavelen = 2 * M_PI / freq;
        double div;
        if (wavelen < high_wavelen)
            div = 1;
        else if (wavelen > low_wavelen)
            div = factor;
        else {
            const double smooth = (orig / wavelen - low_ff) / (high_ff - low_ff);
            div = 1 / ((1 - smooth) / factor + smooth);
        }
        out[static_cast<size_t>(i)] = static_cast<float>(div);
    }
    return out;
}

struct Builder {
    const RandomModelSpec& spec;
    gguf::Writer& w;
    QuantPlanner planner;
    int64_t index = 0;  // tensor counter: each tensor draws from its own derived stream
    ProgressBar* bar;
    int64_t done = 0;

    // A random tensor ~ N(mean, std^2) of any shape (outermost-first), quantised to the recipe's choice for `name`.
    void fill(const std::string& name, const std::vector<int64_t>& shape, float std, float mean) {
        int64_t rows = 1;
        for (size_t k = 0; k + 1 < shape.size(); k++) rows *= shape[k];
        const int64_t cols = shape.back();
        const DType to = planner.choose(name, shape, DType::F32);
        const size_t stride = row_bytes(to, cols);
        std::vector<uint8_t> bytes(static_cast<size_t>(rows) * stride);
        const uint64_t tensor_seed = derive(spec.seed, static_cast<uint64_t>(index++));
        parallel_for(rows, [&](int64_t r0, int64_t r1) {
            std::vector<float> tmp(static_cast<size_t>(cols));
            for (int64_t r = r0; r < r1; r++) {
                Rng rng(derive(tensor_seed, static_cast<uint64_t>(r)));
                for (auto& v : tmp) v = mean + std * rng.normal();
                quantize_row(to, tmp.data(), bytes.data() + static_cast<size_t>(r) * stride, cols);
            }
        });
        w.add_tensor(name, to, shape, bytes.data(), bytes.size());
        done += static_cast<int64_t>(bytes.size());
        if (bar) bar->update(done >> 20);
    }
    void matrix(const std::string& name, int64_t rows, int64_t cols, float std) { fill(name, {rows, cols}, std, 0.0f); }
    void tensor3(const std::string& name, int64_t n0, int64_t rows, int64_t cols, float std) {
        fill(name, {n0, rows, cols}, std, 0.0f);
    }
    void vector(const std::string& name, int64_t n, float std, float mean) { fill(name, {n}, std, mean); }
    void raw_f32(const std::string& name, const std::vector<float>& v) {
        w.add_tensor(name, DType::F32, {static_cast<int64_t>(v.size())}, v.data(), v.size() * sizeof(float));
    }
};

}  // namespace

namespace {

void write_dense(const RandomModelSpec& s, Builder& b, gguf::Writer& w, int64_t n_vocab) {
    const bool qwen = s.arch == "qwen2";
    const int64_t hd = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
    const int64_t d = s.n_embd, qd = s.n_head * hd, kvd = s.n_head_kv * hd;
    const float theta = s.rope_theta > 0 ? s.rope_theta : (qwen ? 10000.0f : 500000.0f);
    const std::string p = s.arch + ".";
    w.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    if (hd != d / s.n_head) {
        w.set_u32(p + "attention.key_length", static_cast<uint32_t>(hd));
        w.set_u32(p + "attention.value_length", static_cast<uint32_t>(hd));
    }
    w.set_f32(p + "rope.freq_base", theta);
    if (!qwen) {
        w.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(hd));
        w.set_u32(p + "vocab_size", static_cast<uint32_t>(n_vocab));
    }
    const float inv_d = 1.0f / std::sqrt(static_cast<float>(d));
    if (!qwen && s.llama3_rope) b.raw_f32("rope_freqs.weight", llama3_rope_freqs(hd, theta));
    for (int64_t i = 0; i < s.n_layer; i++) {
        const std::string L = "blk." + std::to_string(i) + ".";
        b.vector(L + "attn_norm.weight", d, 0.1f, 1.0f);
        b.matrix(L + "attn_q.weight", qd, d, s.gain * inv_d);
        b.matrix(L + "attn_k.weight", kvd, d, s.gain * inv_d);
        b.matrix(L + "attn_v.weight", kvd, d, s.gain * inv_d);
        if (qwen) {
            b.vector(L + "attn_q.bias", qd, 0.1f, 0.0f);
            b.vector(L + "attn_k.bias", kvd, 0.1f, 0.0f);
            b.vector(L + "attn_v.bias", kvd, 0.1f, 0.0f);
        }
        b.matrix(L + "attn_output.weight", d, qd, s.residual_gain / std::sqrt(static_cast<float>(qd)));
        b.vector(L + "ffn_norm.weight", d, 0.1f, 1.0f);
        b.matrix(L + "ffn_gate.weight", s.n_ff, d, s.gain * inv_d);
        b.matrix(L + "ffn_up.weight", s.n_ff, d, s.gain * inv_d);
        b.matrix(L + "ffn_down.weight", d, s.n_ff, s.residual_gain / std::sqrt(static_cast<float>(s.n_ff)));
    }
}

// GGUF keys and tensors as llama.cpp's converter writes them for DeepSeek-V2/V3 (spec §4.1, §5.1).
void write_deepseek2(const RandomModelSpec& s, Builder& b, gguf::Writer& w, int64_t n_vocab) {
    const int64_t d = s.n_embd, H = s.n_head, nope = s.qk_nope, rope = s.qk_rope, v = s.v_head;
    const int64_t kvl = s.kv_lora_rank, qk = nope + rope, E = s.n_experts, fe = s.moe_inter;
    const std::string p = "deepseek2.";
    w.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(s.mla_layout ? 1 : H));
    w.set_f32(p + "rope.freq_base", s.rope_theta > 0 ? s.rope_theta : 10000.0f);
    w.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(rope));
    if (s.q_lora_rank > 0) w.set_u32(p + "attention.q_lora_rank", static_cast<uint32_t>(s.q_lora_rank));
    w.set_u32(p + "attention.kv_lora_rank", static_cast<uint32_t>(kvl));
    if (s.mla_layout) {
        w.set_u32(p + "attention.key_length", static_cast<uint32_t>(kvl + rope));
        w.set_u32(p + "attention.value_length", static_cast<uint32_t>(kvl));
        w.set_u32(p + "attention.key_length_mla", static_cast<uint32_t>(qk));
        w.set_u32(p + "attention.value_length_mla", static_cast<uint32_t>(v));
    } else {
        w.set_u32(p + "attention.key_length", static_cast<uint32_t>(qk));
        w.set_u32(p + "attention.value_length", static_cast<uint32_t>(v));
    }
    w.set_u32(p + "leading_dense_block_count", static_cast<uint32_t>(s.n_dense_layers));
    w.set_u32(p + "vocab_size", static_cast<uint32_t>(n_vocab));
    w.set_u32(p + "expert_feed_forward_length", static_cast<uint32_t>(fe));
    w.set_u32(p + "expert_count", static_cast<uint32_t>(E));
    w.set_u32(p + "expert_used_count", static_cast<uint32_t>(s.n_experts_used));
    w.set_u32(p + "expert_shared_count", static_cast<uint32_t>(s.n_shared_experts));
    w.set_f32(p + "expert_weights_scale", s.route_scale);
    w.set_bool(p + "expert_weights_norm", s.norm_topk_prob);
    w.set_u32(p + "expert_gating_func", s.sigmoid ? 2u : 1u);
    if (s.write_group_keys) {
        w.set_u32(p + "expert_group_count", static_cast<uint32_t>(s.n_groups));
        w.set_u32(p + "expert_group_used_count", static_cast<uint32_t>(s.n_groups_used));
    }
    if (s.yarn_factor > 1) {
        w.set_string(p + "rope.scaling.type", "yarn");
        w.set_f32(p + "rope.scaling.factor", s.yarn_factor);
        w.set_u32(p + "rope.scaling.original_context_length", static_cast<uint32_t>(s.yarn_original_ctx));
        w.set_f32(p + "rope.scaling.yarn_log_multiplier", 0.1f * s.yarn_mscale_all_dim);
    }
    const float inv_d = 1.0f / std::sqrt(static_cast<float>(d));
    const float res = s.residual_gain;
    for (int64_t i = 0; i < s.n_layer; i++) {
        const std::string L = "blk." + std::to_string(i) + ".";
        b.vector(L + "attn_norm.weight", d, 0.1f, 1.0f);
        if (s.q_lora_rank > 0) {
            b.matrix(L + "attn_q_a.weight", s.q_lora_rank, d, s.gain * inv_d);
            b.vector(L + "attn_q_a_norm.weight", s.q_lora_rank, 0.1f, 1.0f);
            b.matrix(L + "attn_q_b.weight", H * qk, s.q_lora_rank,
                     s.gain / std::sqrt(static_cast<float>(s.q_lora_rank)));
        } else {
            b.matrix(L + "attn_q.weight", H * qk, d, s.gain * inv_d);
        }
        b.matrix(L + "attn_kv_a_mqa.weight", kvl + rope, d, s.gain * inv_d);
        b.vector(L + "attn_kv_a_norm.weight", kvl, 0.1f, 1.0f);
        const float up = s.gain / std::sqrt(static_cast<float>(kvl));
        if (s.mla_layout) {
            b.tensor3(L + "attn_k_b.weight", H, kvl, nope, s.gain / std::sqrt(static_cast<float>(nope)));
            b.tensor3(L + "attn_v_b.weight", H, v, kvl, up);
        } else {
            b.matrix(L + "attn_kv_b.weight", H * (nope + v), kvl, up);
        }
        b.matrix(L + "attn_output.weight", d, H * v, res / std::sqrt(static_cast<float>(H * v)));
        b.vector(L + "ffn_norm.weight", d, 0.1f, 1.0f);
        if (i < s.n_dense_layers) {
            b.matrix(L + "ffn_gate.weight", s.n_ff, d, s.gain * inv_d);
            b.matrix(L + "ffn_up.weight", s.n_ff, d, s.gain * inv_d);
            b.matrix(L + "ffn_down.weight", d, s.n_ff, res / std::sqrt(static_cast<float>(s.n_ff)));
            continue;
        }
        b.matrix(L + "ffn_gate_inp.weight", E, d, 2.0f * inv_d);
        if (s.selection_bias) b.vector(L + "exp_probs_b.bias", E, 0.05f, 0.0f);
        b.tensor3(L + "ffn_gate_exps.weight", E, fe, d, s.gain * inv_d);
        b.tensor3(L + "ffn_up_exps.weight", E, fe, d, s.gain * inv_d);
        b.tensor3(L + "ffn_down_exps.weight", E, d, fe, res / std::sqrt(static_cast<float>(fe)));
        if (s.n_shared_experts > 0) {
            const int64_t fs = fe * s.n_shared_experts;
            b.matrix(L + "ffn_gate_shexp.weight", fs, d, s.gain * inv_d);
            b.matrix(L + "ffn_up_shexp.weight", fs, d, s.gain * inv_d);
            b.matrix(L + "ffn_down_shexp.weight", d, fs, res / std::sqrt(static_cast<float>(fs)));
        }
    }
}

}  // namespace

void write_random_model(const RandomModelSpec& s, const Tokenizer* tok, const std::string& path, bool progress) {
    if (s.arch != "qwen2" && s.arch != "llama" && s.arch != "deepseek2")
        fail("random model: architecture '%s' is not supported (qwen2, llama, deepseek2)", s.arch.c_str());
    const int64_t n_vocab = s.n_vocab > 0 ? s.n_vocab : (tok ? tok->n_vocab() : 0);
    if (n_vocab <= 0) fail("random model: n_vocab must be given when there is no tokenizer");
    if (tok && n_vocab < tok->n_vocab())
        fail("random model: n_vocab %lld is smaller than the tokenizer's %d", static_cast<long long>(n_vocab),
             tok->n_vocab());
    if (s.n_head <= 0 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0)
        fail("random model: n_head must be a positive multiple of n_head_kv");
    const QuantRecipe recipe = quant_recipe(s.quant);
    const int64_t d = s.n_embd;

    gguf::Writer w;
    const std::string p = s.arch + ".";
    w.set_string("general.architecture", s.arch);
    w.set_string("general.name", s.name);
    w.set_string("general.description", "random weights (r1 random-model): for tests and benchmarks only");
    w.set_u32("general.file_type", static_cast<uint32_t>(recipe.file_type));
    w.set_u32("general.quantization_version", 2);
    w.set_u32(p + "block_count", static_cast<uint32_t>(s.n_layer));
    w.set_u32(p + "context_length", static_cast<uint32_t>(s.n_ctx));
    w.set_u32(p + "embedding_length", static_cast<uint32_t>(d));
    w.set_u32(p + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set_u32(p + "attention.head_count", static_cast<uint32_t>(s.n_head));
    w.set_f32(p + "attention.layer_norm_rms_epsilon", s.rms_eps);
    if (tok) write_tokenizer_gguf(*tok, w, static_cast<int32_t>(n_vocab));
    if (!s.chat_template.empty()) w.set_string("tokenizer.chat_template", s.chat_template);

    std::unique_ptr<ProgressBar> bar;
    if (progress) bar = std::make_unique<ProgressBar>("writing", 0, "MiB");
    Builder b{s, w, QuantPlanner(recipe, s.n_layer, s.n_layer, s.tied_embeddings), 0, bar.get()};
    const float inv_d = 1.0f / std::sqrt(static_cast<float>(d));
    b.matrix("token_embd.weight", n_vocab, d, s.embd_std);
    b.vector("output_norm.weight", d, 0.1f, 1.0f);
    if (!s.tied_embeddings) b.matrix("output.weight", n_vocab, d, s.output_gain * inv_d);
    if (s.arch == "deepseek2")
        write_deepseek2(s, b, w, n_vocab);
    else
        write_dense(s, b, w, n_vocab);
    if (bar) bar->finish();
    w.write(path);
}

}  // namespace r1
