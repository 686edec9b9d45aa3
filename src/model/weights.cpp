#include "model/weights.h"

#include "base/error.h"
#include "tensor/quant.h"

namespace r1 {

const TensorRef* TensorSource::optional(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorRef* t = find(name);
    if (!t) return nullptr;
    if (t->shape != shape)
        fail("%s: tensor '%s' has shape %s, expected %s for this model's config", describe().c_str(), name.c_str(),
             shape_str(t->shape).c_str(), shape_str(shape).c_str());
    if (!dtype_info(t->type).has_dequant)
        fail("%s: tensor '%s' has type %s, which cannot be used as a weight", describe().c_str(), name.c_str(),
             dtype_name(t->type));
    return t;
}

const TensorRef& TensorSource::require(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorRef* t = optional(name, shape);
    if (!t) fail("%s: required tensor '%s' %s is missing", describe().c_str(), name.c_str(), shape_str(shape).c_str());
    return *t;
}

MatRef TensorSource::matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const TensorRef& t = require(name, {rows, cols});
    if (!matmul_supports(t.type))
        fail("%s: tensor '%s' has type %s, which the matmul kernels do not support", describe().c_str(), name.c_str(),
             dtype_name(t.type));
    return mat_of(t);
}

std::vector<float> TensorSource::vector(const std::string& name, int64_t n, bool required) const {
    const TensorRef* t = required ? &require(name, {n}) : optional(name, {n});
    if (!t) return {};
    std::vector<float> out(static_cast<size_t>(n));
    dequantize_row(t->type, t->data, out.data(), n);
    return out;
}

DenseWeights DenseWeights::load(const TensorSource& src, const ModelConfig& c) {
    DenseWeights w;
    const int64_t d = c.n_embd;
    w.token_embd = src.require("token_embd.weight", {c.n_vocab, d});
    w.output_norm = src.vector("output_norm.weight", d);
    if (src.find("output.weight")) {
        w.output = src.matrix("output.weight", c.n_vocab, d);
    } else {
        if (!matmul_supports(w.token_embd.type))
            fail("%s: no 'output.weight' and the tied embedding's type %s is not a matmul type",
                 src.describe().c_str(), dtype_name(w.token_embd.type));
        w.output = mat_of(w.token_embd);
        w.tied_output = true;
    }
    w.rope_freqs = src.vector("rope_freqs.weight", c.rope_dim / 2, /*required=*/false);
    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int64_t i = 0; i < c.n_layer; i++) {
        auto& L = w.layers[static_cast<size_t>(i)];
        const std::string p = "blk." + std::to_string(i) + ".";
        L.attn_norm = src.vector(p + "attn_norm.weight", d);
        L.wq = src.matrix(p + "attn_q.weight", c.q_dim(), d);
        L.wk = src.matrix(p + "attn_k.weight", c.kv_dim(), d);
        L.wv = src.matrix(p + "attn_v.weight", c.kv_dim(), d);
        L.bq = src.vector(p + "attn_q.bias", c.q_dim(), false);
        L.bk = src.vector(p + "attn_k.bias", c.kv_dim(), false);
        L.bv = src.vector(p + "attn_v.bias", c.kv_dim(), false);
        if (c.arch == Arch::Qwen2 && (L.bq.empty() || L.bk.empty() || L.bv.empty()))
            fail("%s: qwen2 layer %lld lacks its attn_q/attn_k/attn_v biases", src.describe().c_str(),
                 static_cast<long long>(i));
        L.wo = src.matrix(p + "attn_output.weight", d, c.q_dim());
        L.ffn_norm = src.vector(p + "ffn_norm.weight", d);
        L.w_gate = src.matrix(p + "ffn_gate.weight", c.n_ff, d);
        L.w_up = src.matrix(p + "ffn_up.weight", c.n_ff, d);
        L.w_down = src.matrix(p + "ffn_down.weight", d, c.n_ff);
    }
    return w;
}

}  // namespace r1
