// Forward pass of DeepSeek-V2/V3/R1 (GGUF `deepseek2`), read top to bottom like DeepSeek's Block.forward:
//   x = embed(tokens)
//   for each layer:  x += MLA(rmsnorm(x))                                  (model/mla.cpp)
//                    x += (layer < n_dense ? SwiGLU : DeepSeekMoE)(rmsnorm(x))   (model/moe.cpp)
//   logits = output · rmsnorm(x)
#include "base/error.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "model/moe.h"
#include "tensor/quant.h"

namespace r1 {

void Model::forward_deepseek_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s) const {
    const ModelConfig& c = config_;
    const DeepSeekWeights& w = *deepseek_;
    const int64_t d = c.n_embd;
    const int32_t* tokens = b.tokens.data() + begin;
    const MlaChunk chunk{b.pos.data() + begin, b.cache.data() + begin, n};

    for (int64_t t = 0; t < n; t++)
        dequantize_row(w.token_embd.type, w.token_embd.data + static_cast<size_t>(tokens[t]) * w.token_embd.row_stride(),
                       s.x.data() + t * d, d);

    for (int64_t l = 0; l < c.n_layer; l++) {
        const DeepSeekLayerWeights& L = w.layers[static_cast<size_t>(l)];
        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.attn_norm.data(), n, d, c.rms_eps);
        mla_forward(c, L, l, inv_freq_.data(), chunk, s.xb.data(), s, s.proj.data(), mla_mode_);
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);

        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.ffn_norm.data(), n, d, c.rms_eps);
        if (L.is_moe)
            moe_forward(c, L, l, s.xb.data(), n, s, s.proj.data(), begin);
        else
            swiglu_ffn(L.w_gate, L.w_up, L.w_down, s.xb.data(), n, d, s.gate.data(), s.up.data(), s.proj.data());
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);
    }
}

}  // namespace r1
