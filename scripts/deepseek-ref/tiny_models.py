"""Tiny random DeepSeek-V2/V3 test models, deterministic from a seed, written as GGUF (both tensor layouts) and as
Hugging Face directories (F16 / BF16 / FP8-E4M3 with 128x128 block scales, optionally sharded, with an MTP layer).

Weights are generated once per spec in a canonical HF-named dict ([out, in] float64 arrays), rounded to values that
f16 represents exactly, then stored. Residual output projections (o_proj, down_proj of dense, routed and shared
experts) have a small std so float error does not grow through depth and routing near-ties stay rare.
"""

import json
import os

import numpy as np

from gguf_io import GGUFWriter, T_BOOL, T_F32, T_STRING, T_U32, bf16_bits_to_f32, f32_to_bf16_bits
from safetensors_io import encode_tensor, fp8_block_dequantize, fp8_block_quantize, write_safetensors

OUT_STD = 0.03  # std of residual output projections

# Every spec key is a DeepSeek HF config.json field, plus `seed`, `name` and `n_mtp` (MTP layers in HF dirs).
V3_TINY = dict(
    name="v3-tiny", seed=3, model_type="deepseek_v3", vocab_size=256, hidden_size=64, num_hidden_layers=4,
    first_k_dense_replace=1, num_attention_heads=4, q_lora_rank=48, kv_lora_rank=32, qk_nope_head_dim=16,
    qk_rope_head_dim=16, v_head_dim=24, intermediate_size=96, moe_intermediate_size=16, n_routed_experts=16,
    n_shared_experts=1, num_experts_per_tok=3, n_group=4, topk_group=2, scoring_func="sigmoid",
    topk_method="noaux_tc", norm_topk_prob=True, routed_scaling_factor=2.5, rope_theta=10000.0,
    rope_scaling=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
                      mscale=1.0, mscale_all_dim=1.0),
    max_position_embeddings=163840, rms_norm_eps=1e-6)

V2_LITE_TINY = dict(
    name="v2lite-tiny", seed=2, model_type="deepseek_v2", vocab_size=256, hidden_size=32, num_hidden_layers=27,
    first_k_dense_replace=1, num_attention_heads=2, q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8,
    qk_rope_head_dim=8, v_head_dim=12, intermediate_size=48, moe_intermediate_size=8, n_routed_experts=8,
    n_shared_experts=2, num_experts_per_tok=3, n_group=1, topk_group=1, scoring_func="softmax",
    topk_method="greedy", norm_topk_prob=False, routed_scaling_factor=1.0, rope_theta=10000.0,
    rope_scaling=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
                      mscale=0.707, mscale_all_dim=0.707),
    max_position_embeddings=163840, rms_norm_eps=1e-6)

V2_GROUPS_TINY = dict(
    name="v2-groups-tiny", seed=22, model_type="deepseek_v2", vocab_size=256, hidden_size=64, num_hidden_layers=3,
    first_k_dense_replace=1, num_attention_heads=4, q_lora_rank=48, kv_lora_rank=32, qk_nope_head_dim=16,
    qk_rope_head_dim=16, v_head_dim=16, intermediate_size=96, moe_intermediate_size=16, n_routed_experts=16,
    n_shared_experts=2, num_experts_per_tok=3, n_group=4, topk_group=2, scoring_func="softmax",
    topk_method="group_limited_greedy", norm_topk_prob=False, routed_scaling_factor=16.0, rope_theta=10000.0,
    rope_scaling=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
                      mscale=0.707, mscale_all_dim=0.707),
    max_position_embeddings=163840, rms_norm_eps=1e-6)

# hidden 144 and ffn 192 exceed one 128x128 FP8 block, so FP8 tensors have several blocks and partial edge blocks.
V3_HF_TINY = dict(
    name="v3-hf-tiny", seed=33, model_type="deepseek_v3", vocab_size=256, hidden_size=144, num_hidden_layers=2,
    first_k_dense_replace=1, num_attention_heads=4, q_lora_rank=96, kv_lora_rank=64, qk_nope_head_dim=32,
    qk_rope_head_dim=16, v_head_dim=32, intermediate_size=192, moe_intermediate_size=32, n_routed_experts=12,
    n_shared_experts=1, num_experts_per_tok=2, n_group=4, topk_group=2, scoring_func="sigmoid",
    topk_method="noaux_tc", norm_topk_prob=True, routed_scaling_factor=2.5, rope_theta=10000.0,
    rope_scaling=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
                      mscale=1.0, mscale_all_dim=1.0),
    max_position_embeddings=163840, rms_norm_eps=1e-6, n_mtp=1)


# ---------------------------------------------------------------------------------------------------------------
# weights

def _f16_exact(a):
    return np.asarray(a, np.float64).astype(np.float16).astype(np.float64)


def generate_weights(spec):
    """Canonical HF-named float64 weights (f16-representable values). Includes MTP layers if spec['n_mtp']."""
    rng = np.random.default_rng(spec["seed"])
    s = spec
    d, H = s["hidden_size"], s["num_attention_heads"]
    nope, rope, v = s["qk_nope_head_dim"], s["qk_rope_head_dim"], s["v_head_dim"]
    r, ql = s["kv_lora_rank"], s["q_lora_rank"] or 0
    E, f = s["n_routed_experts"], s["moe_intermediate_size"]
    w = {}

    def lin(name, out_dim, in_dim, std=None):
        w[name] = rng.standard_normal((out_dim, in_dim)) * (std if std is not None else in_dim ** -0.5)

    def norm(name, n):
        w[name] = 1.0 + 0.1 * rng.standard_normal(n)

    w["model.embed_tokens.weight"] = rng.standard_normal((s["vocab_size"], d))
    n_total = s["num_hidden_layers"] + s.get("n_mtp", 0)
    for i in range(n_total):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        if i >= s["num_hidden_layers"]:  # MTP module: enorm, hnorm, eh_proj, shared head, its own embed copy
            norm(p + "enorm.weight", d)
            norm(p + "hnorm.weight", d)
            lin(p + "eh_proj.weight", d, 2 * d)
            norm(p + "shared_head.norm.weight", d)
            w[p + "embed_tokens.weight"] = w["model.embed_tokens.weight"].copy()
        norm(p + "input_layernorm.weight", d)
        if ql:
            lin(a + "q_a_proj.weight", ql, d)
            norm(a + "q_a_layernorm.weight", ql)
            lin(a + "q_b_proj.weight", H * (nope + rope), ql)
        else:
            lin(a + "q_proj.weight", H * (nope + rope), d)
        lin(a + "kv_a_proj_with_mqa.weight", r + rope, d)
        norm(a + "kv_a_layernorm.weight", r)
        lin(a + "kv_b_proj.weight", H * (nope + v), r)
        lin(a + "o_proj.weight", d, H * v, OUT_STD)
        norm(p + "post_attention_layernorm.weight", d)
        m = p + "mlp."
        if i < s["first_k_dense_replace"]:
            lin(m + "gate_proj.weight", s["intermediate_size"], d)
            lin(m + "up_proj.weight", s["intermediate_size"], d)
            lin(m + "down_proj.weight", d, s["intermediate_size"], OUT_STD)
        else:
            lin(m + "gate.weight", E, d)
            if s["scoring_func"] == "sigmoid":
                w[m + "gate.e_score_correction_bias"] = 0.15 * rng.standard_normal(E)
            for e in range(E):
                lin(m + f"experts.{e}.gate_proj.weight", f, d)
                lin(m + f"experts.{e}.up_proj.weight", f, d)
                lin(m + f"experts.{e}.down_proj.weight", d, f, OUT_STD)
            if s["n_shared_experts"]:
                fs = f * s["n_shared_experts"]
                lin(m + "shared_experts.gate_proj.weight", fs, d)
                lin(m + "shared_experts.up_proj.weight", fs, d)
                lin(m + "shared_experts.down_proj.weight", d, fs, OUT_STD)
        if i >= s["num_hidden_layers"]:
            lin(p + "shared_head.head.weight", s["vocab_size"], d)
    norm("model.norm.weight", d)
    lin("lm_head.weight", s["vocab_size"], d)
    return {k: _f16_exact(x) for k, x in w.items()}


# ---------------------------------------------------------------------------------------------------------------
# GGUF

def _type_f16(gguf_name, array):
    if array.ndim == 1 or gguf_name.endswith("ffn_gate_inp.weight"):
        return "F32"  # norms, selection bias and router stay f32, as in real files
    return "F16"


def _type_mixed(gguf_name, array):
    """A mix of every type the reference reads: Q8_0 where ne0 % 32 == 0, BF16 for the rest and the output head,
    F16 for attn_k_b, F32 for 1-D tensors and the router."""
    if array.ndim == 1 or gguf_name.endswith("ffn_gate_inp.weight"):
        return "F32"
    if gguf_name == "output.weight":
        return "BF16"
    if gguf_name.endswith("attn_k_b.weight"):
        return "F16"
    return "Q8_0" if array.shape[-1] % 32 == 0 else "BF16"


def _type_f32(gguf_name, array):
    return "F32"  # not committed (too big); used to show llama.cpp agreement without f16 activation rounding


TYPE_POLICIES = {"f16": _type_f16, "mixed": _type_mixed, "f32": _type_f32}


def gguf_tensors(spec, w, layout):
    """[(gguf name, outermost-first array)] for the main layers (MTP layers are not written)."""
    s = spec
    H, nope, v, r = s["num_attention_heads"], s["qk_nope_head_dim"], s["v_head_dim"], s["kv_lora_rank"]
    out = [("token_embd.weight", w["model.embed_tokens.weight"]), ("output_norm.weight", w["model.norm.weight"]),
           ("output.weight", w["lm_head.weight"])]
    for i in range(s["num_hidden_layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        a, m = p + "self_attn.", p + "mlp."
        out.append((b + "attn_norm.weight", w[p + "input_layernorm.weight"]))
        if s["q_lora_rank"]:
            out += [(b + "attn_q_a.weight", w[a + "q_a_proj.weight"]),
                    (b + "attn_q_a_norm.weight", w[a + "q_a_layernorm.weight"]),
                    (b + "attn_q_b.weight", w[a + "q_b_proj.weight"])]
        else:
            out.append((b + "attn_q.weight", w[a + "q_proj.weight"]))
        out += [(b + "attn_kv_a_mqa.weight", w[a + "kv_a_proj_with_mqa.weight"]),
                (b + "attn_kv_a_norm.weight", w[a + "kv_a_layernorm.weight"])]
        kv_b = w[a + "kv_b_proj.weight"]
        if layout == "mla":
            per_head = kv_b.reshape(H, nope + v, r)
            out += [(b + "attn_k_b.weight", np.ascontiguousarray(per_head[:, :nope, :].transpose(0, 2, 1))),
                    (b + "attn_v_b.weight", np.ascontiguousarray(per_head[:, nope:, :]))]
        else:
            out.append((b + "attn_kv_b.weight", kv_b))
        out += [(b + "attn_output.weight", w[a + "o_proj.weight"]),
                (b + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"])]
        if i < s["first_k_dense_replace"]:
            out += [(b + "ffn_gate.weight", w[m + "gate_proj.weight"]), (b + "ffn_up.weight", w[m + "up_proj.weight"]),
                    (b + "ffn_down.weight", w[m + "down_proj.weight"])]
            continue
        out.append((b + "ffn_gate_inp.weight", w[m + "gate.weight"]))
        if m + "gate.e_score_correction_bias" in w:
            out.append((b + "exp_probs_b.bias", w[m + "gate.e_score_correction_bias"]))
        E = s["n_routed_experts"]
        for proj, gname in (("gate_proj", "ffn_gate_exps"), ("up_proj", "ffn_up_exps"), ("down_proj", "ffn_down_exps")):
            out.append((b + gname + ".weight", np.stack([w[m + f"experts.{e}.{proj}.weight"] for e in range(E)])))
        if s["n_shared_experts"]:
            out += [(b + "ffn_gate_shexp.weight", w[m + "shared_experts.gate_proj.weight"]),
                    (b + "ffn_up_shexp.weight", w[m + "shared_experts.up_proj.weight"]),
                    (b + "ffn_down_shexp.weight", w[m + "shared_experts.down_proj.weight"])]
    return out


def write_gguf(spec, w, path, layout, types="f16", group_keys=True, gating_key=True, name=None):
    """layout: 'legacy' (attn_kv_b) or 'mla' (attn_k_b + attn_v_b, MQA key lengths as newer converters write).
    group_keys=False drops expert_group_count/used (early R1/V3 GGUFs); gating_key=False drops
    expert_gating_func (early V2 GGUFs; softmax is then implied)."""
    s = spec
    g = GGUFWriter("deepseek2")
    A = "deepseek2."
    nope, rope, v, r = s["qk_nope_head_dim"], s["qk_rope_head_dim"], s["v_head_dim"], s["kv_lora_rank"]
    H = s["num_attention_heads"]
    g.add("general.name", T_STRING, name or os.path.basename(path).rsplit(".", 1)[0])
    g.add("general.file_type", T_U32, {"f16": 1, "mixed": 7, "f32": 0}.get(types, 7))
    u32 = [("block_count", s["num_hidden_layers"]), ("context_length", s["max_position_embeddings"]),
           ("embedding_length", s["hidden_size"]), ("feed_forward_length", s["intermediate_size"]),
           ("attention.head_count", H), ("attention.head_count_kv", 1 if layout == "mla" else H),
           ("vocab_size", s["vocab_size"]), ("leading_dense_block_count", s["first_k_dense_replace"]),
           ("attention.kv_lora_rank", r),
           ("attention.key_length", r + rope if layout == "mla" else nope + rope),
           ("attention.value_length", r if layout == "mla" else v)]
    if layout == "mla":
        u32 += [("attention.key_length_mla", nope + rope), ("attention.value_length_mla", v)]
    if s["q_lora_rank"]:
        u32.append(("attention.q_lora_rank", s["q_lora_rank"]))
    u32 += [("expert_feed_forward_length", s["moe_intermediate_size"]), ("expert_count", s["n_routed_experts"]),
            ("expert_used_count", s["num_experts_per_tok"]), ("expert_shared_count", s["n_shared_experts"]),
            ("rope.dimension_count", rope)]
    if gating_key:
        u32.append(("expert_gating_func", 2 if s["scoring_func"] == "sigmoid" else 1))
    if group_keys:
        u32 += [("expert_group_count", s["n_group"]), ("expert_group_used_count", s["topk_group"])]
    for k, val in u32:
        g.add(A + k, T_U32, int(val))
    g.add(A + "attention.layer_norm_rms_epsilon", T_F32, float(s["rms_norm_eps"]))
    g.add(A + "rope.freq_base", T_F32, float(s["rope_theta"]))
    g.add(A + "expert_weights_scale", T_F32, float(s["routed_scaling_factor"]))
    if s["norm_topk_prob"]:
        g.add(A + "expert_weights_norm", T_BOOL, True)
    rs = s.get("rope_scaling")
    if rs:
        g.add(A + "rope.scaling.type", T_STRING, rs["type"])
        g.add(A + "rope.scaling.factor", T_F32, float(rs["factor"]))
        g.add(A + "rope.scaling.original_context_length", T_U32, int(rs["original_max_position_embeddings"]))
        g.add(A + "rope.scaling.yarn_log_multiplier", T_F32, 0.1 * float(rs["mscale_all_dim"]))
    g.add("tokenizer.ggml.model", T_STRING, "none")  # no tokenizer: ids only (llama.cpp adds dummy tokens)
    policy = TYPE_POLICIES[types]
    for gname, arr in gguf_tensors(s, w, layout):
        g.add_tensor(gname, arr, policy(gname, arr))
    g.write(path)


# ---------------------------------------------------------------------------------------------------------------
# Hugging Face directories

def hf_config(spec, dtype):
    c = {k: v for k, v in spec.items() if k not in ("name", "seed", "n_mtp")}
    c.update(architectures=["DeepseekV3ForCausalLM" if spec["model_type"] == "deepseek_v3" else
                            "DeepseekV2ForCausalLM"],
             num_key_value_heads=spec["num_attention_heads"], hidden_act="silu", tie_word_embeddings=False,
             bos_token_id=0, eos_token_id=1, moe_layer_freq=1, torch_dtype={"f16": "float16"}.get(dtype, "bfloat16"))
    if spec.get("n_mtp"):
        c["num_nextn_predict_layers"] = spec["n_mtp"]
    if dtype == "fp8":
        c["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                    "weight_block_size": [128, 128]}
    return c


def _is_fp8_weight(name, a):
    """Linear weights of attention and of the dense/expert/shared FFNs are FP8 in DeepSeek-V3 checkpoints; the
    embeddings, heads, norms, router and its bias stay high precision. The MTP eh_proj is kept BF16 here (some
    checkpoints store it FP8), so a loader must decide per tensor from its dtype, not from its name."""
    return a.ndim == 2 and name.endswith("_proj.weight") and not name.endswith("eh_proj.weight")


def write_hf(spec, w, directory, dtype, n_shards=1):
    """dtype: 'f16' (every tensor F16), 'bf16', or 'fp8' (FP8 linear weights + f32 weight_scale_inv, the rest
    BF16, selection bias F32). Returns the float64 weights exactly as stored (for the BF16 twin)."""
    os.makedirs(directory, exist_ok=True)
    for fn in os.listdir(directory):
        if fn.endswith(".safetensors") or fn.endswith(".json"):
            os.remove(os.path.join(directory, fn))
    entries = []
    for name in sorted(w, key=_hf_sort_key):
        a = w[name]
        if dtype == "f16":
            entries.append((name,) + encode_tensor(a, "F16"))
        elif dtype == "bf16":
            entries.append((name,) + encode_tensor(a, "F32" if name.endswith("correction_bias") else "BF16"))
        elif _is_fp8_weight(name, a):
            codes, scales = fp8_block_quantize(a)
            entries.append((name,) + encode_tensor(codes, "F8_E4M3"))
            entries.append((name + "_scale_inv",) + encode_tensor(scales, "F32"))
        else:
            entries.append((name,) + encode_tensor(a, "F32" if name.endswith("correction_bias") else "BF16"))
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(hf_config(spec, dtype), f, indent=2)
        f.write("\n")
    if n_shards == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), entries, {"format": "pt"})
        return
    per = -(-len(entries) // n_shards)
    weight_map, total = {}, 0
    for k in range(n_shards):
        fn = f"model-{k + 1:05d}-of-{n_shards:05d}.safetensors"
        chunk = entries[k * per:(k + 1) * per]
        write_safetensors(os.path.join(directory, fn), chunk, {"format": "pt"})
        for name, _, _, raw in chunk:
            weight_map[name] = fn
            total += len(raw)
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def _hf_sort_key(name):
    parts = name.split(".")
    if len(parts) > 2 and parts[1] == "layers":
        return (1, int(parts[2]), name)
    return (0 if "embed" in name else 2, 0, name)


def bf16_twin_weights(w):
    """What DeepSeek's fp8_cast_bf16.py makes of the FP8 checkpoint: each FP8 weight dequantised (fp8 * scale in
    float32) and rounded to BF16; the other tensors as stored in the FP8 checkpoint (BF16 / F32 bias)."""
    out = {}
    for name, a in w.items():
        if _is_fp8_weight(name, a):
            codes, scales = fp8_block_quantize(a)
            a = fp8_block_dequantize(codes, scales).astype(np.float32)
        if not name.endswith("correction_bias"):
            a = bf16_bits_to_f32(f32_to_bf16_bits(np.asarray(a, np.float32))).astype(np.float64)
        out[name] = a
    return out
