#include "model/deepseek_weights.h"

#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "base/parallel.h"
#include "tensor/quant.h"

namespace r1 {

const char* mla_layout_name(MlaLayout l) {
    return l == MlaLayout::Mla ? "mla (attn_k_b + attn_v_b)" : "legacy (attn_kv_b)";
}

namespace {

// Transposes each head's [rows, cols] block of `src` into [cols, rows], stacked: [H*cols, rows]. Float
// sources give f32; quantised ones Q8_0 when the new row length allows it (f32 otherwise).
MatRef transpose_heads(const HeadMatrices& src, int64_t n_head, std::vector<uint8_t>& storage) {
    const int64_t rows = src.rows, cols = src.all.cols;
    const bool quantized = dtype_info(src.all.type).block_size > 1;
    const DType out_type = quantized && rows % 32 == 0 ? DType::Q8_0 : DType::F32;
    MatRef out;
    out.type = out_type;
    out.rows = n_head * cols;
    out.cols = rows;
    out.row_stride = row_bytes(out_type, rows);
    storage.assign(static_cast<size_t>(out.rows) * out.row_stride, 0);
    out.data = storage.data();
    parallel_for(n_head, [&](int64_t h0, int64_t h1) {
        std::vector<float> block(static_cast<size_t>(rows * cols)), row(static_cast<size_t>(rows));
        for (int64_t h = h0; h < h1; h++) {
            const MatRef m = src.head(h);
            for (int64_t r = 0; r < rows; r++)
                dequantize_row(m.type, m.data + static_cast<size_t>(r) * m.row_stride,
                               block.data() + r * cols, cols);
            for (int64_t c = 0; c < cols; c++) {
                for (int64_t r = 0; r < rows; r++)
                    row[static_cast<size_t>(r)] = block[static_cast<size_t>(r * cols + c)];
                quantize_row(out_type, row.data(),
                             storage.data() + static_cast<size_t>(h * cols + c) * out.row_stride, rows);
            }
        }
    });
    return out;
}

// The heads' rows of src, byte for byte, one head after another: [n_head * src.rows, cols].
MatRef contiguous_heads(const HeadMatrices& src, int64_t n_head, std::vector<uint8_t>& storage) {
    MatRef out = src.all;
    out.rows = n_head * src.rows;
    const size_t head_bytes = static_cast<size_t>(src.rows) * out.row_stride;
    storage.resize(static_cast<size_t>(n_head) * head_bytes);
    for (int64_t h = 0; h < n_head; h++)
        std::memcpy(storage.data() + static_cast<size_t>(h) * head_bytes, src.head(h).data, head_bytes);
    out.data = storage.data();
    return out;
}

// A [E, rows, cols] expert stack, shape-checked, as one matrix view per expert.
std::vector<MatRef> experts(const TensorSource& src, const std::string& name, int64_t e, int64_t rows,
                            int64_t cols) {
    const TensorRef& t = src.require(name, {e, rows, cols});
    if (!matmul_supports(t.type))
        fail("%s: tensor '%s' has type %s, which the matmul kernels do not support", src.describe().c_str(),
             name.c_str(), dtype_name(t.type));
    std::vector<MatRef> out;
    for (int64_t i = 0; i < e; i++) out.push_back(mat_of_slice(t, i));
    return out;
}

}  // namespace

DeepSeekWeights DeepSeekWeights::load(const TensorSource& src, const ModelConfig& c) {
    DeepSeekWeights w;
    const int64_t d = c.n_embd, H = c.n_head, nope = c.qk_nope_head_dim, rope = c.qk_rope_head_dim;
    const int64_t v = c.v_head_dim, kvl = c.kv_lora_rank, qk = nope + rope;
    w.token_embd = src.require("token_embd.weight", {c.n_vocab, d});
    w.output_norm = src.vector("output_norm.weight", d);
    w.output = src.find("output.weight") ? src.matrix("output.weight", c.n_vocab, d) : mat_of(w.token_embd);

    const bool has_kv_b = src.find("blk.0.attn_kv_b.weight") != nullptr;
    const bool has_k_b = src.find("blk.0.attn_k_b.weight") != nullptr;
    if (has_kv_b == has_k_b)
        fail(
            "%s: expected either attn_kv_b (legacy layout) or attn_k_b + attn_v_b (MLA layout) in layer 0, "
            "found %s",
            src.describe().c_str(), has_kv_b ? "both" : "neither");
    w.layout = has_k_b ? MlaLayout::Mla : MlaLayout::Legacy;
    const bool q_lora = c.q_lora_rank > 0;
    if (q_lora != (src.find("blk.0.attn_q_a.weight") != nullptr))
        fail("%s: attention.q_lora_rank is %lld but tensor 'blk.0.attn_q_a.weight' is %s",
             src.describe().c_str(), static_cast<long long>(c.q_lora_rank), q_lora ? "missing" : "present");

    w.layers.resize(static_cast<size_t>(c.n_layer));
    w.derived.resize(static_cast<size_t>(2 * c.n_layer));
    int64_t n_bias = 0;
    for (int64_t i = 0; i < c.n_layer; i++) {
        auto& L = w.layers[static_cast<size_t>(i)];
        const std::string p = "blk." + std::to_string(i) + ".";
        L.attn_norm = src.vector(p + "attn_norm.weight", d);
        if (q_lora) {
            L.wq_a = src.matrix(p + "attn_q_a.weight", c.q_lora_rank, d);
            L.q_a_norm = src.vector(p + "attn_q_a_norm.weight", c.q_lora_rank);
            L.wq_b = src.matrix(p + "attn_q_b.weight", H * qk, c.q_lora_rank);
        } else {
            L.wq = src.matrix(p + "attn_q.weight", H * qk, d);
        }
        L.wkv_a = src.matrix(p + "attn_kv_a_mqa.weight", kvl + rope, d);
        L.kv_a_norm = src.vector(p + "attn_kv_a_norm.weight", kvl);
        std::vector<uint8_t>& transposed = w.derived[static_cast<size_t>(2 * i)];
        std::vector<uint8_t>& values = w.derived[static_cast<size_t>(2 * i + 1)];
        if (w.layout == MlaLayout::Legacy) {
            L.wkv_b = src.matrix(p + "attn_kv_b.weight", H * (nope + v), kvl);
            L.wk_naive = {L.wkv_b, nope, nope + v, 0};
            L.wk_absorb = {transpose_heads(L.wk_naive, H, transposed), kvl, kvl, 0};
            // W^UV rows copied out of attn_kv_b (where each head's sit between k_nope rows) into one
            // contiguous [H * v, kv_lora] matrix, so decode reads the heads as one stream
            L.wv = {contiguous_heads({L.wkv_b, v, nope + v, nope}, H, values), v, v, 0};
        } else {
            // ggml {nope, kv_lora, H} = [H, kv_lora, nope]; {kv_lora, v, H} = [H, v, kv_lora]
            const TensorRef& kb = src.require(p + "attn_k_b.weight", {H, kvl, nope});
            const TensorRef& vb = src.require(p + "attn_v_b.weight", {H, v, kvl});
            TensorRef kb2 = kb, vb2 = vb;
            kb2.shape = {H * kvl, nope};
            vb2.shape = {H * v, kvl};
            L.wk_absorb = {mat_of(kb2), kvl, kvl, 0};
            L.wv = {mat_of(vb2), v, v, 0};
            L.wk_naive = {transpose_heads(L.wk_absorb, H, transposed), nope, nope, 0};
        }
        L.wo = src.matrix(p + "attn_output.weight", d, H * v);
        L.ffn_norm = src.vector(p + "ffn_norm.weight", d);
        if (i < c.n_dense_layers) {
            L.w_gate = src.matrix(p + "ffn_gate.weight", c.n_ff, d);
            L.w_up = src.matrix(p + "ffn_up.weight", c.n_ff, d);
            L.w_down = src.matrix(p + "ffn_down.weight", d, c.n_ff);
            continue;
        }
        L.is_moe = true;
        const int64_t E = c.n_routed_experts, fe = c.moe_inter_dim;
        L.gate_inp = src.matrix(p + "ffn_gate_inp.weight", E, d);
        L.exp_probs_b = src.vector(p + "exp_probs_b.bias", E, /*required=*/false);
        n_bias += !L.exp_probs_b.empty();
        L.gate_exps = experts(src, p + "ffn_gate_exps.weight", E, fe, d);
        L.up_exps = experts(src, p + "ffn_up_exps.weight", E, fe, d);
        L.down_exps = experts(src, p + "ffn_down_exps.weight", E, d, fe);
        if (c.n_shared_experts > 0) {
            const int64_t fs = fe * c.n_shared_experts;
            L.gate_shexp = src.matrix(p + "ffn_gate_shexp.weight", fs, d);
            L.up_shexp = src.matrix(p + "ffn_up_shexp.weight", fs, d);
            L.down_shexp = src.matrix(p + "ffn_down_shexp.weight", d, fs);
        }
    }
    const int64_t n_moe = c.n_layer - c.n_dense_layers;
    if (n_bias != 0 && n_bias != n_moe)
        fail("%s: %lld of %lld MoE layers have an exp_probs_b selection bias; expected all or none",
             src.describe().c_str(), static_cast<long long>(n_bias), static_cast<long long>(n_moe));
    // MTP (nextn) blocks after the main layers: recognised and kept, not used by the forward.
    for (int64_t i = c.n_layer; i < c.n_layer + c.n_nextn_layers; i++) {
        const std::string probe = "blk." + std::to_string(i) + ".nextn.eh_proj.weight";
        if (src.find(probe)) w.mtp_tensors.push_back(probe);
    }
    return w;
}

}  // namespace r1
