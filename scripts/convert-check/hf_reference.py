#!/usr/bin/python3
"""Reference logits straight from a Hugging Face checkpoint (config.json + safetensors), in float64 NumPy.

Independent of r1 convert and of llama.cpp: it reads the HF tensors itself (BF16/F16/F32, and F8_E4M3 with
weight_scale_inv block scales), keeps HF's layouts (unpermuted llama q/k with half-split RoPE; the un-split
kv_b_proj), and follows the HF modelling code / DeepSeek's inference/model.py for the math:
  llama / qwen2: GQA attention, rotate_half RoPE (llama3 frequency scaling), qwen2 q/k/v biases, SwiGLU.
  deepseek_v2 / v3: MLA (naive form), interleaved (adjacent-pair) RoPE with YaRN frequencies and the mscale^2
  softmax factor, DeepSeekMoE routing (softmax or sigmoid, correction bias for selection only, group-limited
  selection: max per group for group_limited_greedy, top-2 sum for noaux_tc; -inf outside the kept groups),
  renormalisation, routed scaling, shared experts. MTP layers are not part of the main forward and are ignored.
Also prints the smallest routing margin seen (k-th minus (k+1)-th selection score), since near-ties can flip
between implementations.

usage: hf_reference.py HF_DIR --ids 0,5,17 -o OUT.f32      (float32 [n_ids, vocab], like llamacpp-ref logits)
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np


# ---------------------------------------------------------------------------------------------- safetensors
def fp8_e4m3_table():
    t = np.zeros(256, dtype=np.float64)
    for b in range(256):
        s, e, m = b >> 7, (b >> 3) & 15, b & 7
        if e == 15 and m == 7:
            v = float("nan")
        elif e == 0:
            v = (m / 8.0) * 2.0 ** -6
        else:
            v = (1 + m / 8.0) * 2.0 ** (e - 7)
        t[b] = -v if s else v
    return t


FP8 = fp8_e4m3_table()


def read_safetensors(path, out):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        data = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = np.asarray(data[base + b: base + e])
        dt, shape = info["dtype"], info["shape"]
        if dt == "F32":
            a = raw.view("<f4").astype(np.float64)
        elif dt == "F16":
            a = raw.view("<f2").astype(np.float64)
        elif dt == "BF16":
            a = (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
        elif dt == "F8_E4M3":
            a = FP8[raw]
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {dt}")
        out[name] = a.reshape(shape)


def load_checkpoint(d):
    tensors = {}
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = [f for f in os.listdir(d) if f.endswith(".safetensors")]
    for f in files:
        read_safetensors(os.path.join(d, f), tensors)
    return tensors


def dequantize_fp8(tensors, block):
    """W = fp8(Wq) * scale_inv[i // br, j // bc]  (the scale is a multiplier; edge blocks are partial)."""
    for name in [n for n in tensors if n.endswith("_scale_inv")]:
        w = name[: -len("_scale_inv")]
        s = tensors.pop(name)
        rows, cols = tensors[w].shape
        full = np.repeat(np.repeat(s, block[0], axis=0), block[1], axis=1)[:rows, :cols]
        tensors[w] = tensors[w] * full


# ---------------------------------------------------------------------------------------------- common ops
def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1 + np.exp(-x))


def softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def causal_attention(q, k, v, scale):
    """q [T, H, dk], k [T, H, dk], v [T, H, dv] -> [T, H * dv]."""
    T = q.shape[0]
    s = np.einsum("thd,shd->hts", q, k) * scale
    s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
    p = softmax(s, -1)
    return np.einsum("hts,shd->thd", p, v).reshape(T, -1)


# ---------------------------------------------------------------------------------------------- llama / qwen2
def rope_half_split(x, pos, inv_freq):
    """HF rotate_half on [T, H, d]: pairs (i, i + d/2)."""
    ang = pos[:, None] * inv_freq[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    h = x.shape[-1] // 2
    a, b = x[..., :h], x[..., h:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def llama3_inv_freq(inv_freq, rs):
    factor, low, high = rs["factor"], rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
    old = rs.get("original_max_position_embeddings", 8192)
    out = []
    for f in inv_freq:
        wavelen = 2 * math.pi / f
        if wavelen < old / high:
            out.append(f)
        elif wavelen > old / low:
            out.append(f / factor)
        else:
            s = (old / wavelen - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return np.array(out)


def dense_forward(c, t, ids):
    d, H = c["hidden_size"], c["num_attention_heads"]
    Hkv = c.get("num_key_value_heads", H)
    hd = c.get("head_dim") or d // H
    eps = c.get("rms_norm_eps", 1e-6)
    base = c.get("rope_theta", 10000.0)
    inv_freq = 1.0 / base ** (np.arange(0, hd, 2) / hd)
    rs = c.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) == "llama3":
        inv_freq = llama3_inv_freq(inv_freq, rs)
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    x = t["model.embed_tokens.weight"][ids]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, t[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = h @ t[p + f"self_attn.{name}.weight"].T
            if p + f"self_attn.{name}.bias" in t:
                y = y + t[p + f"self_attn.{name}.bias"]
            return y

        q = rope_half_split(proj("q_proj").reshape(T, H, hd), pos, inv_freq)
        k = rope_half_split(proj("k_proj").reshape(T, Hkv, hd), pos, inv_freq)
        v = proj("v_proj").reshape(T, Hkv, hd)
        k, v = np.repeat(k, H // Hkv, axis=1), np.repeat(v, H // Hkv, axis=1)
        o = causal_attention(q, k, v, hd ** -0.5) @ t[p + "self_attn.o_proj.weight"].T
        if p + "self_attn.o_proj.bias" in t:
            o = o + t[p + "self_attn.o_proj.bias"]
        x = x + o
        h = rms_norm(x, t[p + "post_attention_layernorm.weight"], eps)
        x = x + (silu(h @ t[p + "mlp.gate_proj.weight"].T) * (h @ t[p + "mlp.up_proj.weight"].T)) @ t[
            p + "mlp.down_proj.weight"].T
    x = rms_norm(x, t["model.norm.weight"], eps)
    head = t.get("lm_head.weight", t["model.embed_tokens.weight"])
    return x @ head.T, None


# ---------------------------------------------------------------------------------------------- deepseek
def yarn_inv_freq(dim, base, rs):
    """DeepseekV2YarnRotaryEmbedding / V3 precompute_freqs_cis."""
    factor, orig = rs["factor"], rs["original_max_position_embeddings"]
    beta_fast, beta_slow = rs.get("beta_fast", 32), rs.get("beta_slow", 1)
    freq_extra = 1.0 / base ** (np.arange(0, dim, 2) / dim)
    freq_inter = 1.0 / (factor * base ** (np.arange(0, dim, 2) / dim))

    def corr_dim(num_rot):
        return (dim * math.log(orig / (num_rot * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(corr_dim(beta_fast)), 0)
    high = min(math.ceil(corr_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2) - low) / (high - low), 0, 1)
    mask = 1.0 - ramp
    return freq_inter * (1 - mask) + freq_extra * mask


def yarn_mscale(scale, m):
    return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0


def rope_adjacent(x, pos, inv_freq, mag=1.0):
    """DeepSeek's interleaved RoPE on [T, H, d]: pairs (2i, 2i + 1)."""
    ang = pos[:, None] * inv_freq[None, :]
    cos, sin = (np.cos(ang) * mag)[:, None, :], (np.sin(ang) * mag)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


class Margins:
    def __init__(self):
        self.min_expert = float("inf")
        self.min_group = float("inf")


def moe(c, t, p, h, margins):
    E, K = c["n_routed_experts"], c["num_experts_per_tok"]
    n_group, topk_group = c.get("n_group") or 1, c.get("topk_group") or 1
    logits = h @ t[p + "mlp.gate.weight"].T  # [T, E]
    scores = softmax(logits) if c.get("scoring_func", "softmax") == "softmax" else 1 / (1 + np.exp(-logits))
    bias_name = p + "mlp.gate.e_score_correction_bias"
    sel = scores + t[bias_name] if bias_name in t else scores.copy()
    if n_group > 1:
        g = sel.reshape(len(h), n_group, E // n_group)
        if c.get("topk_method") == "noaux_tc":
            gs = np.sort(g, axis=-1)[..., -2:].sum(-1)
        else:
            gs = g.max(-1)
        order = np.argsort(-gs, axis=-1, kind="stable")
        for ti in range(len(h)):
            if topk_group < n_group:
                srt = np.sort(gs[ti])[::-1]
                margins.min_group = min(margins.min_group, srt[topk_group - 1] - srt[topk_group])
            drop = order[ti, topk_group:]
            for gi in drop:
                sel[ti, gi * (E // n_group):(gi + 1) * (E // n_group)] = -np.inf
    y = np.zeros_like(h)
    for ti in range(len(h)):
        idx = np.argsort(-sel[ti], kind="stable")[:K]
        srt = np.sort(sel[ti])[::-1]
        if K < E and np.isfinite(srt[K]):
            margins.min_expert = min(margins.min_expert, srt[K - 1] - srt[K])
        w = scores[ti, idx]
        if c.get("norm_topk_prob") and K > 1:
            w = w / (w.sum() + 1e-20)
        w = w * c.get("routed_scaling_factor", 1.0)
        for wk, e in zip(w, idx):
            q = f"{p}mlp.experts.{e}."
            y[ti] += wk * ((silu(h[ti] @ t[q + "gate_proj.weight"].T) * (h[ti] @ t[q + "up_proj.weight"].T)) @ t[
                q + "down_proj.weight"].T)
    if c.get("n_shared_experts"):
        q = p + "mlp.shared_experts."
        y += (silu(h @ t[q + "gate_proj.weight"].T) * (h @ t[q + "up_proj.weight"].T)) @ t[q + "down_proj.weight"].T
    return y


def deepseek_forward(c, t, ids):
    d, H = c["hidden_size"], c["num_attention_heads"]
    nope, rope, vd, kvl = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]
    eps = c.get("rms_norm_eps", 1e-6)
    base = c.get("rope_theta", 10000.0)
    rs = c.get("rope_scaling") or {}
    scale = (nope + rope) ** -0.5
    mag = 1.0
    if rs.get("type", rs.get("rope_type")) == "yarn":
        inv_freq = yarn_inv_freq(rope, base, rs)
        if rs.get("mscale_all_dim"):
            m = yarn_mscale(rs["factor"], rs["mscale_all_dim"])
            scale = scale * m * m
        mag = yarn_mscale(rs["factor"], rs.get("mscale", 1)) / yarn_mscale(rs["factor"], rs.get("mscale_all_dim", 0))
    else:
        inv_freq = 1.0 / base ** (np.arange(0, rope, 2) / rope)
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    margins = Margins()
    x = t["model.embed_tokens.weight"][ids]
    first_dense = c.get("first_k_dense_replace", 0)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, t[p + "input_layernorm.weight"], eps)
        if c.get("q_lora_rank"):
            qa = rms_norm(h @ t[p + "self_attn.q_a_proj.weight"].T, t[p + "self_attn.q_a_layernorm.weight"], eps)
            q = qa @ t[p + "self_attn.q_b_proj.weight"].T
        else:
            q = h @ t[p + "self_attn.q_proj.weight"].T
        q = q.reshape(T, H, nope + rope)
        q_nope, q_pe = q[..., :nope], rope_adjacent(q[..., nope:], pos, inv_freq, mag)
        kv = h @ t[p + "self_attn.kv_a_proj_with_mqa.weight"].T
        c_kv = rms_norm(kv[:, :kvl], t[p + "self_attn.kv_a_layernorm.weight"], eps)
        k_pe = rope_adjacent(kv[:, None, kvl:], pos, inv_freq, mag)  # one rope key shared by all heads
        kvb = (c_kv @ t[p + "self_attn.kv_b_proj.weight"].T).reshape(T, H, nope + vd)
        k = np.concatenate([kvb[..., :nope], np.repeat(k_pe, H, axis=1)], axis=-1)
        qf = np.concatenate([q_nope, q_pe], axis=-1)
        o = causal_attention(qf, k, kvb[..., nope:], scale) @ t[p + "self_attn.o_proj.weight"].T
        x = x + o
        h = rms_norm(x, t[p + "post_attention_layernorm.weight"], eps)
        if c.get("n_routed_experts") and l >= first_dense:
            x = x + moe(c, t, p, h, margins)
        else:
            x = x + (silu(h @ t[p + "mlp.gate_proj.weight"].T) * (h @ t[p + "mlp.up_proj.weight"].T)) @ t[
                p + "mlp.down_proj.weight"].T
    x = rms_norm(x, t["model.norm.weight"], eps)
    return x @ t["lm_head.weight"].T, margins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hf_dir")
    ap.add_argument("--ids", required=True)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    c = json.load(open(os.path.join(a.hf_dir, "config.json")))
    t = load_checkpoint(a.hf_dir)
    q = c.get("quantization_config") or {}
    if q.get("quant_method") == "fp8":
        dequantize_fp8(t, q.get("weight_block_size", [128, 128]))
    ids = [int(s) for s in a.ids.split(",")]
    if c["model_type"] in ("llama", "qwen2"):
        logits, margins = dense_forward(c, t, ids)
    elif c["model_type"] in ("deepseek_v2", "deepseek_v3"):
        logits, margins = deepseek_forward(c, t, ids)
    else:
        raise SystemExit(f"model_type {c['model_type']} not handled")
    logits.astype("<f4").tofile(a.output)
    msg = f"hf_reference: {len(ids)} x {logits.shape[1]} logits -> {a.output}"
    if margins is not None:
        msg += f"; min routing margin: experts {margins.min_expert:.3g}, groups {margins.min_group:.3g}"
    print(msg, file=sys.stderr)


if __name__ == "__main__":
    main()
