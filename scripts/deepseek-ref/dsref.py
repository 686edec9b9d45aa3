#!/usr/bin/python3
"""Float64 NumPy reference of DeepSeek-V2/V3 (the math of DeepSeek's inference/model.py, written from the spec).

Independent of r1.cpp and of llama.cpp: its own GGUF/safetensors readers, naive (non-absorbed) MLA, explicit per-token
routing. Inputs: a `deepseek2` GGUF (legacy attn_kv_b or MLA attn_k_b/attn_v_b layout) or a Hugging Face directory
(config.json + safetensors, F32/F16/BF16/FP8-E4M3 with 128x128 weight_scale_inv). Semantics come from metadata or
config.json, never from sizes. See docs/deepseek-reference.md.

CLI:  /usr/bin/python3 scripts/deepseek-ref/dsref.py MODEL --ids 1,2,3 [--start-pos P]
          [--group-rule auto|max|top2sum|none] [--out-f32 OUT.f32] [--absorbed]
writes float32 [T, V] logits (the format of `r1 logits -o` / `llamacpp-ref logits -o`) and prints routing.
"""

import argparse
import dataclasses
import json
import math
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402

from gguf_io import GGUFError, GGUFReader  # noqa: E402
from safetensors_io import Checkpoint, SafetensorsError  # noqa: E402


class RefError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# configuration (resolved semantics)

@dataclasses.dataclass
class Config:
    source: str                 # "gguf" | "hf"
    n_vocab: int
    dim: int
    n_layers: int
    n_dense_layers: int
    n_heads: int
    q_lora_rank: int            # 0: plain attn_q / q_proj
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    inter_dim: int              # dense FFN width
    moe_inter_dim: int          # per routed expert; shared experts are n_shared * moe_inter_dim wide
    n_routed_experts: int
    n_shared_experts: int
    n_activated_experts: int
    n_expert_groups: int        # 1: no group limiting
    n_limited_groups: int
    score_func: str             # "softmax" | "sigmoid"
    group_rule: str             # "max" (V2 group_limited_greedy) | "top2sum" (V3 noaux_tc) | "none"
    norm_topk_prob: bool
    route_scale: float
    rms_eps: float
    rope_theta: float
    yarn: bool
    rope_factor: float
    original_seq_len: int
    beta_fast: float
    beta_slow: float
    mscale_all_dim: float       # m in mscale = 0.1*m*ln(factor)+1 (softmax scale *= mscale^2)
    rope_mscale: float          # magnitude applied to cos/sin (1 except for unusual HF configs)
    group_rule_source: str = ""  # why this group rule was chosen
    notes: tuple = ()

    @property
    def qk_head_dim(self):
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def softmax_scale(self):
        s = self.qk_head_dim ** -0.5
        if self.yarn:
            m = yarn_mscale(self.rope_factor, self.mscale_all_dim)
            s *= m * m
        return s


def yarn_mscale(factor, m):
    return 1.0 if factor <= 1.0 else 0.1 * m * math.log(factor) + 1.0


def yarn_correction_range(cfg):
    """(low, high) pair indices of the YaRN ramp (V3 find_correction_range, spec §6.3)."""
    d, base, l0 = cfg.qk_rope_head_dim, cfg.rope_theta, cfg.original_seq_len

    def corr(rot):
        return d * math.log(l0 / (rot * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(corr(cfg.beta_fast)), 0)
    high = min(math.ceil(corr(cfg.beta_slow)), d - 1)
    return low, high


def rope_frequencies(cfg):
    """theta_i for the d_R/2 rotated pairs, YaRN-blended when enabled."""
    d = cfg.qk_rope_head_dim
    freqs = 1.0 / cfg.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    if cfg.yarn:
        low, high = yarn_correction_range(cfg)
        if high == low:
            high += 0.001
        ramp = np.clip((np.arange(d // 2, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
        freqs = freqs / cfg.rope_factor * ramp + freqs * (1.0 - ramp)
    return freqs


def _gguf_config(r, group_rule):
    kv = r.kv
    arch = kv.get("general.architecture")
    if arch != "deepseek2":
        raise RefError(f"general.architecture is {arch!r}; this reference handles 'deepseek2'")

    def key(name, default=None, required=False):
        k = f"deepseek2.{name}"
        if k not in kv:
            if required:
                raise RefError(f"GGUF key {k} missing")
            return default
        return kv[k]

    notes = []
    n_layers = key("block_count", required=True)
    rope_dim = key("rope.dimension_count", required=True)
    mla = "blk.0.attn_k_b.weight" in r.tensors
    if mla != ("blk.0.attn_kv_b.weight" not in r.tensors):
        raise RefError("need exactly one of blk.0.attn_kv_b (legacy) or blk.0.attn_k_b/attn_v_b (MLA)")
    if mla:
        k_len, v_len = key("attention.key_length_mla", required=True), key("attention.value_length_mla", required=True)
    else:
        k_len, v_len = key("attention.key_length", required=True), key("attention.value_length", required=True)
    q_lora = key("attention.q_lora_rank", 0) or 0
    if ("blk.0.attn_q_a.weight" in r.tensors) != (q_lora > 0):
        raise RefError(f"attention.q_lora_rank={q_lora} disagrees with the presence of blk.0.attn_q_a")
    n_group = key("expert_group_count", 0) or 0
    gating = key("expert_gating_func", 0)
    if gating in (0, None):
        gating = 1
        notes.append("expert_gating_func absent: softmax (llama.cpp default for deepseek2)")
    if gating not in (1, 2):
        raise RefError(f"expert_gating_func={gating} not supported (1 softmax, 2 sigmoid)")
    if group_rule == "auto":
        group_rule = "top2sum" if n_group > 1 else "none"
        src = "GGUF: no key names the rule; llama.cpp scores groups by the top-2 sum whenever expert_group_count > 1"
    else:
        src = "forced by --group-rule"
    scaling = key("rope.scaling.type", "none")
    factor = float(key("rope.scaling.factor", 1.0) or 1.0)
    log_mul = float(key("rope.scaling.yarn_log_multiplier", 0.0))
    n_vocab = key("vocab_size")
    if n_vocab is None:  # older files: the token list (absent here) or the embedding rows, as llama.cpp does
        n_vocab = len(kv["tokenizer.ggml.tokens"]) if "tokenizer.ggml.tokens" in kv else \
            r.tensors["token_embd.weight"].shape[0]
    return Config(
        source="gguf", n_vocab=int(n_vocab), dim=key("embedding_length", required=True), n_layers=n_layers,
        n_dense_layers=key("leading_dense_block_count", 0), n_heads=key("attention.head_count", required=True),
        q_lora_rank=q_lora, kv_lora_rank=key("attention.kv_lora_rank", required=True),
        qk_nope_head_dim=k_len - rope_dim, qk_rope_head_dim=rope_dim, v_head_dim=v_len,
        inter_dim=key("feed_forward_length", 0), moe_inter_dim=key("expert_feed_forward_length", 0),
        n_routed_experts=key("expert_count", 0), n_shared_experts=key("expert_shared_count", 0),
        n_activated_experts=key("expert_used_count", 0), n_expert_groups=max(n_group, 1),
        n_limited_groups=key("expert_group_used_count", 1) or 1,
        score_func="softmax" if gating == 1 else "sigmoid", group_rule=group_rule,
        norm_topk_prob=bool(key("expert_weights_norm", False)),
        route_scale=float(key("expert_weights_scale", 1.0) or 1.0),
        rms_eps=float(key("attention.layer_norm_rms_epsilon", required=True)),
        rope_theta=float(key("rope.freq_base", 10000.0)), yarn=(scaling == "yarn" and factor > 1.0),
        rope_factor=factor, original_seq_len=int(key("rope.scaling.original_context_length", key("context_length", 4096))),
        beta_fast=float(key("rope.scaling.yarn_beta_fast", 32.0)),
        beta_slow=float(key("rope.scaling.yarn_beta_slow", 1.0)),
        mscale_all_dim=log_mul / 0.1, rope_mscale=1.0, group_rule_source=src, notes=tuple(notes))


def _hf_config(c, names, group_rule):
    mt = c.get("model_type")
    if mt not in ("deepseek_v2", "deepseek_v3"):
        raise RefError(f"config.json model_type is {mt!r}; expected deepseek_v2 or deepseek_v3")
    notes = []
    topk_method = c.get("topk_method", "noaux_tc" if mt == "deepseek_v3" else "greedy")
    n_group = c.get("n_group") or 1
    if group_rule == "auto":
        group_rule = {"greedy": "none", "group_limited_greedy": "max", "noaux_tc": "top2sum"}.get(topk_method)
        if group_rule is None:
            raise RefError(f"topk_method {topk_method!r} not supported")
        if n_group <= 1:
            group_rule = "none"
        src = f"config.json topk_method={topk_method}"
    else:
        src = "forced by --group-rule"
    rs = c.get("rope_scaling") or {}
    rtype = rs.get("type", rs.get("rope_type", "none"))
    factor = float(rs.get("factor", 1.0))
    yarn = rtype == "yarn" and factor > 1.0
    m_all = float(rs.get("mscale_all_dim", 0.0) or 0.0)
    m = float(rs.get("mscale", 1.0) or 1.0)
    rope_mscale = yarn_mscale(factor, m) / yarn_mscale(factor, m_all) if yarn else 1.0
    if abs(rope_mscale - 1.0) > 1e-15:
        notes.append(f"HF rotary magnitude mscale/mscale_all_dim = {rope_mscale}")
    n_layers = c["num_hidden_layers"]
    mtp = [n for n in names if n.startswith(f"model.layers.{n_layers}.")]
    if mtp:
        notes.append(f"{len(mtp)} MTP tensors (model.layers.{n_layers}.*) present and ignored")
    return Config(
        source="hf", n_vocab=c["vocab_size"], dim=c["hidden_size"], n_layers=n_layers,
        n_dense_layers=c.get("first_k_dense_replace", 0), n_heads=c["num_attention_heads"],
        q_lora_rank=c.get("q_lora_rank") or 0, kv_lora_rank=c["kv_lora_rank"],
        qk_nope_head_dim=c["qk_nope_head_dim"], qk_rope_head_dim=c["qk_rope_head_dim"],
        v_head_dim=c["v_head_dim"], inter_dim=c["intermediate_size"], moe_inter_dim=c["moe_intermediate_size"],
        n_routed_experts=c["n_routed_experts"], n_shared_experts=c.get("n_shared_experts") or 0,
        n_activated_experts=c["num_experts_per_tok"], n_expert_groups=n_group,
        n_limited_groups=c.get("topk_group") or 1, score_func=c.get("scoring_func", "softmax"),
        group_rule=group_rule, norm_topk_prob=bool(c.get("norm_topk_prob", False)),
        route_scale=float(c.get("routed_scaling_factor", 1.0)), rms_eps=float(c.get("rms_norm_eps", 1e-6)),
        rope_theta=float(c.get("rope_theta", 10000.0)), yarn=yarn, rope_factor=factor,
        original_seq_len=int(rs.get("original_max_position_embeddings", 4096)),
        beta_fast=float(rs.get("beta_fast", 32)), beta_slow=float(rs.get("beta_slow", 1)),
        mscale_all_dim=m_all, rope_mscale=rope_mscale, group_rule_source=src, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------------------------
# weights: one canonical float64 layout whatever the source ([out, in] for every linear map)

@dataclasses.dataclass
class Layer:
    attn_norm: np.ndarray
    wq: np.ndarray = None          # [H*(nope+rope), d]            (no q-LoRA)
    wq_a: np.ndarray = None        # [q_lora, d]
    q_norm: np.ndarray = None      # [q_lora]
    wq_b: np.ndarray = None        # [H*(nope+rope), q_lora]
    wkv_a: np.ndarray = None       # [kv_lora + rope, d]
    kv_norm: np.ndarray = None     # [kv_lora]
    wkv_b: np.ndarray = None       # [H, nope + v, kv_lora]: rows 0..nope-1 = W^UK_h, rest = W^UV_h
    wo: np.ndarray = None          # [d, H*v]
    ffn_norm: np.ndarray = None
    w1: np.ndarray = None          # dense: gate [inter, d]
    w3: np.ndarray = None          # dense: up   [inter, d]
    w2: np.ndarray = None          # dense: down [d, inter]
    gate: np.ndarray = None        # router [E, d]
    gate_bias: np.ndarray = None   # selection bias [E] or None
    exp_w1: np.ndarray = None      # [E, moe_inter, d]
    exp_w3: np.ndarray = None      # [E, moe_inter, d]
    exp_w2: np.ndarray = None      # [E, d, moe_inter]
    sh_w1: np.ndarray = None       # [n_shared*moe_inter, d]
    sh_w3: np.ndarray = None
    sh_w2: np.ndarray = None       # [d, n_shared*moe_inter]


@dataclasses.dataclass
class Model:
    cfg: Config
    embed: np.ndarray              # [V, d]
    norm: np.ndarray               # [d]
    head: np.ndarray               # [V, d]
    layers: list
    layout: str                    # "legacy" | "mla" | "hf"


def _check(name, a, shape):
    if tuple(a.shape) != tuple(shape):
        raise RefError(f"tensor {name} has shape {tuple(a.shape)}, expected {tuple(shape)} from the metadata")
    return a


def load_gguf(path, group_rule="auto"):
    r = GGUFReader(path)
    cfg = _gguf_config(r, group_rule)
    c = cfg
    H, nope, rope, v = c.n_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
    mla = "blk.0.attn_k_b.weight" in r.tensors

    def t(name, shape):
        return _check(name, r.tensor(name), shape)

    layers = []
    for i in range(c.n_layers):
        p = f"blk.{i}."
        L = Layer(attn_norm=t(p + "attn_norm.weight", [c.dim]))
        if c.q_lora_rank:
            L.wq_a = t(p + "attn_q_a.weight", [c.q_lora_rank, c.dim])
            L.q_norm = t(p + "attn_q_a_norm.weight", [c.q_lora_rank])
            L.wq_b = t(p + "attn_q_b.weight", [H * (nope + rope), c.q_lora_rank])
        else:
            L.wq = t(p + "attn_q.weight", [H * (nope + rope), c.dim])
        L.wkv_a = t(p + "attn_kv_a_mqa.weight", [c.kv_lora_rank + rope, c.dim])
        L.kv_norm = t(p + "attn_kv_a_norm.weight", [c.kv_lora_rank])
        if mla:
            k_b = t(p + "attn_k_b.weight", [H, c.kv_lora_rank, nope])   # W^UK_h transposed
            v_b = t(p + "attn_v_b.weight", [H, v, c.kv_lora_rank])      # W^UV_h
            L.wkv_b = np.concatenate([k_b.transpose(0, 2, 1), v_b], axis=1)
        else:
            L.wkv_b = t(p + "attn_kv_b.weight", [H * (nope + v), c.kv_lora_rank]).reshape(H, nope + v, -1)
        L.wo = t(p + "attn_output.weight", [c.dim, H * v])
        L.ffn_norm = t(p + "ffn_norm.weight", [c.dim])
        if i < c.n_dense_layers:
            L.w1 = t(p + "ffn_gate.weight", [c.inter_dim, c.dim])
            L.w3 = t(p + "ffn_up.weight", [c.inter_dim, c.dim])
            L.w2 = t(p + "ffn_down.weight", [c.dim, c.inter_dim])
        else:
            E, f = c.n_routed_experts, c.moe_inter_dim
            L.gate = t(p + "ffn_gate_inp.weight", [E, c.dim])
            if p + "exp_probs_b.bias" in r.tensors:
                L.gate_bias = t(p + "exp_probs_b.bias", [E])
            L.exp_w1 = t(p + "ffn_gate_exps.weight", [E, f, c.dim])
            L.exp_w3 = t(p + "ffn_up_exps.weight", [E, f, c.dim])
            L.exp_w2 = t(p + "ffn_down_exps.weight", [E, c.dim, f])
            if c.n_shared_experts:
                fs = f * c.n_shared_experts
                L.sh_w1 = t(p + "ffn_gate_shexp.weight", [fs, c.dim])
                L.sh_w3 = t(p + "ffn_up_shexp.weight", [fs, c.dim])
                L.sh_w2 = t(p + "ffn_down_shexp.weight", [c.dim, fs])
        layers.append(L)
    embed = t("token_embd.weight", [c.n_vocab, c.dim])
    head = t("output.weight", [c.n_vocab, c.dim]) if "output.weight" in r.tensors else embed
    return Model(cfg, embed, t("output_norm.weight", [c.dim]), head, layers, "mla" if mla else "legacy")


def load_hf(directory, group_rule="auto"):
    with open(os.path.join(directory, "config.json")) as f:
        hc = json.load(f)
    qc = hc.get("quantization_config") or {}
    if qc and (qc.get("quant_method") != "fp8" or qc.get("fmt", "e4m3") != "e4m3"):
        raise RefError(f"{directory}: quantization_config {qc} not supported (expected fp8 / e4m3)")
    ck = Checkpoint(directory, qc.get("weight_block_size", (128, 128)))
    cfg = _hf_config(hc, ck.names(), group_rule)
    c = cfg
    H, nope, rope, v = c.n_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim

    def t(name, shape):
        return _check(name, ck.tensor(name), shape)

    layers = []
    for i in range(c.n_layers):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        L = Layer(attn_norm=t(p + "input_layernorm.weight", [c.dim]))
        if c.q_lora_rank:
            L.wq_a = t(a + "q_a_proj.weight", [c.q_lora_rank, c.dim])
            L.q_norm = t(a + "q_a_layernorm.weight", [c.q_lora_rank])
            L.wq_b = t(a + "q_b_proj.weight", [H * (nope + rope), c.q_lora_rank])
        else:
            L.wq = t(a + "q_proj.weight", [H * (nope + rope), c.dim])
        L.wkv_a = t(a + "kv_a_proj_with_mqa.weight", [c.kv_lora_rank + rope, c.dim])
        L.kv_norm = t(a + "kv_a_layernorm.weight", [c.kv_lora_rank])
        L.wkv_b = t(a + "kv_b_proj.weight", [H * (nope + v), c.kv_lora_rank]).reshape(H, nope + v, -1)
        L.wo = t(a + "o_proj.weight", [c.dim, H * v])
        L.ffn_norm = t(p + "post_attention_layernorm.weight", [c.dim])
        m = p + "mlp."
        if i < c.n_dense_layers:
            L.w1 = t(m + "gate_proj.weight", [c.inter_dim, c.dim])
            L.w3 = t(m + "up_proj.weight", [c.inter_dim, c.dim])
            L.w2 = t(m + "down_proj.weight", [c.dim, c.inter_dim])
        else:
            E, f = c.n_routed_experts, c.moe_inter_dim
            L.gate = t(m + "gate.weight", [E, c.dim])
            if m + "gate.e_score_correction_bias" in ck:
                L.gate_bias = t(m + "gate.e_score_correction_bias", [E])
            L.exp_w1 = np.stack([t(m + f"experts.{e}.gate_proj.weight", [f, c.dim]) for e in range(E)])
            L.exp_w3 = np.stack([t(m + f"experts.{e}.up_proj.weight", [f, c.dim]) for e in range(E)])
            L.exp_w2 = np.stack([t(m + f"experts.{e}.down_proj.weight", [c.dim, f]) for e in range(E)])
            if c.n_shared_experts:
                fs = f * c.n_shared_experts
                L.sh_w1 = t(m + "shared_experts.gate_proj.weight", [fs, c.dim])
                L.sh_w3 = t(m + "shared_experts.up_proj.weight", [fs, c.dim])
                L.sh_w2 = t(m + "shared_experts.down_proj.weight", [c.dim, fs])
        layers.append(L)
    embed = t("model.embed_tokens.weight", [c.n_vocab, c.dim])
    if "lm_head.weight" in ck:
        head = t("lm_head.weight", [c.n_vocab, c.dim])
    elif hc.get("tie_word_embeddings", False):
        head = embed
    else:
        raise RefError(f"{directory}: no lm_head.weight and tie_word_embeddings is false")
    return Model(cfg, embed, t("model.norm.weight", [c.dim]), head, layers, "hf")


def load(path, group_rule="auto"):
    if os.path.isdir(path):
        return load_hf(path, group_rule)
    return load_gguf(path, group_rule)


# ---------------------------------------------------------------------------------------------------------------
# forward

def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def apply_rope(x, cos, sin):
    """Adjacent-pair (GPT-J / NORM) rotation of the last axis. x [..., T, d_R] via broadcasting; cos/sin [T, d_R/2]."""
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(cfg, L, x, cos, sin, absorbed=False, q_block=512):
    """MLA on normalised input x [T, d]. Naive form by default; absorbed form (latent cache) for self-checks."""
    c = cfg
    T, H = x.shape[0], c.n_heads
    nope, rope, v = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
    if c.q_lora_rank:
        q = rms_norm(x @ L.wq_a.T, L.q_norm, c.rms_eps) @ L.wq_b.T
    else:
        q = x @ L.wq.T
    q = q.reshape(T, H, nope + rope).transpose(1, 0, 2)                     # [H, T, nope+rope]
    q_nope, q_pe = q[..., :nope], apply_rope(q[..., nope:], cos, sin)
    kv = x @ L.wkv_a.T                                                       # [T, kv_lora + rope]
    latent = rms_norm(kv[:, :c.kv_lora_rank], L.kv_norm, c.rms_eps)         # c^KV, normalised
    k_pe = apply_rope(kv[:, c.kv_lora_rank:], cos, sin)                      # [T, rope], shared by heads
    w_uk, w_uv = L.wkv_b[:, :nope, :], L.wkv_b[:, nope:, :]                  # [H, nope, r], [H, v, r]
    if absorbed:
        q_lat = np.einsum("htn,hnr->htr", q_nope, w_uk)                      # [H, T, r]
    else:
        k_nope = np.einsum("hnr,tr->htn", w_uk, latent)                      # [H, T, nope]
        values = np.einsum("hvr,tr->htv", w_uv, latent)                      # [H, T, v]
    out = np.empty((H, T, v))
    for s in range(0, T, q_block):                                           # query blocks bound the memory
        e = min(s + q_block, T)
        if absorbed:
            scores = q_lat[:, s:e] @ latent[:e].T + q_pe[:, s:e] @ k_pe[:e].T
        else:
            scores = q_nope[:, s:e] @ k_nope[:, :e].transpose(0, 2, 1) + q_pe[:, s:e] @ k_pe[:e].T
        scores = scores * c.softmax_scale
        causal = np.arange(e)[None, :] > np.arange(s, e)[:, None]
        scores[:, causal] = -np.inf
        p = _softmax(scores)
        if absorbed:
            out[:, s:e] = np.einsum("htr,hvr->htv", p @ latent[:e], w_uv)
        else:
            out[:, s:e] = p @ values[:, :e]
    return out.transpose(1, 0, 2).reshape(T, H * v) @ L.wo.T


def route(cfg, L, x):
    """Per-token routing (V3 Gate.forward semantics). x [T, d] normalised. Returns a dict of arrays:
    ids [T, K] (descending selection score), weights [T, K], scores [T, E] (unbiased), expert_margin [T],
    group_ids [T, topk_group] / group_margin [T] (when groups apply)."""
    c = cfg
    T, E, K = x.shape[0], c.n_routed_experts, c.n_activated_experts
    logits = x @ L.gate.T
    scores = _softmax(logits) if c.score_func == "softmax" else 1.0 / (1.0 + np.exp(-logits))
    sel = scores + L.gate_bias if L.gate_bias is not None else scores.copy()
    out = {"scores": scores}
    if c.n_expert_groups > 1 and c.group_rule != "none":
        G, kg = c.n_expert_groups, c.n_limited_groups
        grouped = sel.reshape(T, G, E // G)
        if c.group_rule == "max":
            gscore = grouped.max(axis=-1)
        else:
            gscore = np.sort(grouped, axis=-1)[..., -2:].sum(axis=-1)
        gorder = np.argsort(-gscore, axis=-1, kind="stable")
        gsorted = np.take_along_axis(gscore, gorder, axis=-1)
        out["group_ids"] = gorder[:, :kg]
        out["group_margin"] = gsorted[:, kg - 1] - gsorted[:, kg]
        out["group_scores"] = gscore
        keep = np.zeros((T, G), dtype=bool)
        np.put_along_axis(keep, gorder[:, :kg], True, axis=-1)
        sel = np.where(np.repeat(keep, E // G, axis=-1), sel, -np.inf)
    order = np.argsort(-sel, axis=-1, kind="stable")
    ssorted = np.take_along_axis(sel, order, axis=-1)
    ids = order[:, :K]
    out["ids"] = ids
    out["expert_margin"] = ssorted[:, K - 1] - ssorted[:, K] if K < E else np.full(T, np.inf)
    w = np.take_along_axis(scores, ids, axis=-1)
    if c.norm_topk_prob:
        w = w / w.sum(axis=-1, keepdims=True)
    out["weights"] = w * c.route_scale
    return out


def moe(cfg, L, x):
    r = route(cfg, L, x)
    y = np.zeros_like(x)
    for e in range(cfg.n_routed_experts):
        tok, slot = np.nonzero(r["ids"] == e)
        if tok.size:
            xe = x[tok]
            ye = (silu(xe @ L.exp_w1[e].T) * (xe @ L.exp_w3[e].T)) @ L.exp_w2[e].T
            y[tok] += ye * r["weights"][tok, slot][:, None]
    if L.sh_w1 is not None:
        y += (silu(x @ L.sh_w1.T) * (x @ L.sh_w3.T)) @ L.sh_w2.T
    return y, r


def forward(model, ids, start_pos=0, absorbed=False, want_hidden=False):
    """ids: token ids at positions start_pos .. start_pos+T-1 (nothing cached before them).
    Returns logits [T, V] (float64) and the routing of every MoE layer {layer: route dict}."""
    cfg = model.cfg
    ids = np.asarray(ids, dtype=np.int64)
    if ids.min() < 0 or ids.max() >= cfg.n_vocab:
        raise RefError(f"token id out of range [0, {cfg.n_vocab})")
    pos = np.arange(start_pos, start_pos + len(ids), dtype=np.float64)
    angles = np.outer(pos, rope_frequencies(cfg))
    cos, sin = np.cos(angles) * cfg.rope_mscale, np.sin(angles) * cfg.rope_mscale
    h = model.embed[ids]
    routing = {}
    for i, L in enumerate(model.layers):
        h = h + attention(cfg, L, rms_norm(h, L.attn_norm, cfg.rms_eps), cos, sin, absorbed)
        x = rms_norm(h, L.ffn_norm, cfg.rms_eps)
        if i < cfg.n_dense_layers:
            h = h + (silu(x @ L.w1.T) * (x @ L.w3.T)) @ L.w2.T
        else:
            y, routing[i] = moe(cfg, L, x)
            h = h + y
    logits = rms_norm(h, model.norm, cfg.rms_eps) @ model.head.T
    return (logits, routing, h) if want_hidden else (logits, routing)


def describe(model):
    c = model.cfg
    lines = [f"layout={model.layout} " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(c).items()
                                                     if k != "notes"),
             f"softmax_scale={c.softmax_scale:.9g} rope_freqs={np.array2string(rope_frequencies(c), precision=6)}"]
    if c.yarn:
        lines.append(f"yarn correction range (low, high) = {yarn_correction_range(c)}")
    lines += [f"note: {n}" for n in c.notes]
    return "\n".join(lines)


def parse_ids(text):
    if text.startswith("@"):
        with open(text[1:]) as f:
            text = f.read()
    return [int(t) for t in text.replace("\n", ",").split(",") if t.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="deepseek2 GGUF file or HF directory")
    ap.add_argument("--ids", required=True, help="comma-separated token ids, or @FILE")
    ap.add_argument("--start-pos", type=int, default=0)
    ap.add_argument("--group-rule", default="auto", choices=["auto", "max", "top2sum", "none"])
    ap.add_argument("--absorbed", action="store_true", help="use the absorbed MLA form")
    ap.add_argument("--out-f32", help="write logits as float32 [T, V] little-endian")
    a = ap.parse_args()
    model = load(a.model, a.group_rule)
    print(describe(model), file=sys.stderr)
    logits, routing = forward(model, parse_ids(a.ids), a.start_pos, a.absorbed)
    if a.out_f32:
        logits.astype("<f4").tofile(a.out_f32)
    for layer, r in routing.items():
        print(f"layer {layer}: experts per token {r['ids'].tolist()}; min expert margin "
              f"{r['expert_margin'].min():.3g}" + (f"; min group margin {r['group_margin'].min():.3g}"
                                                    if "group_margin" in r else ""))
    print(f"argmax per position: {logits.argmax(axis=-1).tolist()}")


if __name__ == "__main__":
    try:
        main()
    except (RefError, GGUFError, SafetensorsError, OSError, ValueError) as err:
        sys.exit(f"dsref: error: {err}")
