#!/usr/bin/python3
"""Self-checks of the float64 DeepSeek reference and of its readers/writers. Prints one line per check and exits
non-zero if any fails.

    /usr/bin/python3 scripts/deepseek-ref/selfcheck.py [--data tests/data/deepseek-ref]

Needs the model files written by make_goldens.py (the committed ones by default).
"""

import argparse
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import dsref  # noqa: E402
import make_goldens as mg  # noqa: E402
from golden_io import read_golden  # noqa: E402
from gguf_io import GGUFReader, GGUFWriter, T_U32, bf16_bits_to_f32, f32_to_bf16_bits  # noqa: E402
from safetensors_io import (FP8_E4M3_VALUES, fp8_block_dequantize, fp8_block_quantize, fp8_e4m3_decode,  # noqa: E402
                            fp8_e4m3_encode)

FAILED = []


def check(name, ok, detail):
    print(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}")
    if not ok:
        FAILED.append(name)


def check_gguf_roundtrip(tmp):
    rng = np.random.default_rng(0)
    arrays = {"F32": rng.standard_normal((3, 64)), "F16": rng.standard_normal((2, 5, 64)),
              "BF16": rng.standard_normal((4, 32)), "Q8_0": rng.standard_normal((3, 96)), "F64": rng.standard_normal(7)}
    g = GGUFWriter("deepseek2")
    g.add("deepseek2.block_count", T_U32, 1)
    for t, a in arrays.items():
        g.add_tensor("t_" + t, a, t)
    path = os.path.join(tmp, "rt.gguf")
    g.write(path)
    r = GGUFReader(path)
    errs = {}
    for t, a in arrays.items():
        back = r.tensor("t_" + t)
        if t == "F32":
            want = a.astype(np.float32)
        elif t == "F16":
            want = a.astype(np.float16)
        elif t == "BF16":
            want = bf16_bits_to_f32(f32_to_bf16_bits(a))
        elif t == "F64":
            want = a
        else:  # Q8_0 by hand from the raw bytes: 34-byte blocks, f16 d then 32 int8
            raw = r.raw("t_Q8_0")
            want = []
            for b in range(len(raw) // 34):
                d = np.frombuffer(raw[b * 34:b * 34 + 2], "<f2")[0]
                q = np.frombuffer(raw[b * 34 + 2:b * 34 + 34], "i1")
                want.append(np.float64(d) * q)
            want = np.concatenate(want).reshape(a.shape)
            errs["Q8_0 vs input (quantisation error)"] = float(np.abs(back - a).max())
        errs[t] = float(np.abs(back - want).max())
        if back.shape != a.shape:
            errs[t] = np.inf
    ok = all(v == 0 for k, v in errs.items() if "quantisation" not in k) and \
        errs["Q8_0 vs input (quantisation error)"] < 0.03
    check("gguf write/read F32 F16 BF16 F64 Q8_0", ok, ", ".join(f"{k} {v:.3g}" for k, v in errs.items()))
    check("gguf key read back", r.kv["deepseek2.block_count"] == 1 and r.kv["general.architecture"] == "deepseek2",
          str({k: r.kv[k] for k in r.kv}))


def check_fp8():
    v = FP8_E4M3_VALUES
    facts = {"0x7E = 448": v[0x7E] == 448.0, "0x7F NaN": np.isnan(v[0x7F]), "0xFF NaN": np.isnan(v[0xFF]),
             "0x01 = 2^-9": v[0x01] == 2.0 ** -9, "0x08 = 2^-6": v[0x08] == 2.0 ** -6, "0x38 = 1": v[0x38] == 1.0,
             "0xC0 = -2": v[0xC0] == -2.0}
    codes = np.array([c for c in range(256) if not np.isnan(v[c]) and c != 0x80])
    rt = bool(np.all(fp8_e4m3_encode(fp8_e4m3_decode(codes)) == codes))
    check("fp8 e4m3 table", all(facts.values()) and rt, ", ".join(k for k, ok in facts.items() if ok) +
          f"; encode(decode(c)) == c for all {len(codes)} finite codes: {rt}")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((200, 300)) * np.linspace(0.1, 3, 300)
    codes, scales = fp8_block_quantize(w)
    back = fp8_block_dequantize(codes, scales)
    doubled = fp8_block_dequantize(codes, scales * 2)
    rel = float(np.abs(back - w).max() / np.abs(w).max())
    check("fp8 128x128 block scales are multipliers", scales.shape == (2, 3) and np.allclose(doubled, 2 * back)
          and rel < 0.07, f"scale_inv shape {scales.shape} for [200, 300]; max rel error {rel:.3g}")


def yarn_cfg(m, nope=128, rope=64):
    return dsref.Config(source="x", n_vocab=1, dim=1, n_layers=1, n_dense_layers=0, n_heads=1, q_lora_rank=0,
                        kv_lora_rank=512, qk_nope_head_dim=nope, qk_rope_head_dim=rope, v_head_dim=128, inter_dim=1,
                        moe_inter_dim=1, n_routed_experts=1, n_shared_experts=0, n_activated_experts=1,
                        n_expert_groups=1, n_limited_groups=1, score_func="sigmoid", group_rule="none",
                        norm_topk_prob=True, route_scale=1, rms_eps=1e-6, rope_theta=10000.0, yarn=True,
                        rope_factor=40.0, original_seq_len=4096, beta_fast=32, beta_slow=1, mscale_all_dim=m,
                        rope_mscale=1.0)


def check_yarn_numbers():
    v3, v2l = yarn_cfg(1.0), yarn_cfg(0.707)
    low, high = dsref.yarn_correction_range(v3)
    f = dsref.rope_frequencies(v3)
    base = 1.0 / 10000.0 ** (np.arange(0, 64, 2) / 64)
    ok = (round(v3.softmax_scale, 6) == 0.135234 and round(v2l.softmax_scale, 6) == 0.114721 and (low, high) == (10, 23)
          and np.allclose(f[:10], base[:10], rtol=0, atol=0) and np.allclose(f[23:], base[23:] / 40, rtol=1e-15))
    check("YaRN numbers (spec §6.2/6.3)", ok, f"V3 scale {v3.softmax_scale:.6f} (0.135234), V2-Lite "
          f"{v2l.softmax_scale:.6f} (0.114721), ramp low/high {low}/{high} (10/23), pairs 0-9 keep theta, "
          f">= 23 use theta/40")


def max_diff(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def check_models(data):
    mdir = os.path.join(data, "models")
    ids = np.random.default_rng(7).integers(0, 256, 20)
    lg = {}
    for name in ("v3-groups-legacy.gguf", "v3-groups-mla.gguf", "v2lite-legacy.gguf", "v2lite-mla.gguf",
                 "hf-v3-fp8", "hf-v3-bf16", "v3-mixed-types-mla.gguf"):
        m = dsref.load(os.path.join(mdir, name))
        naive, rn = dsref.forward(m, ids)
        absorbed, ra = dsref.forward(m, ids, absorbed=True)
        same_routing = all(np.array_equal(rn[i]["ids"], ra[i]["ids"]) for i in rn)
        d = max_diff(naive, absorbed)
        check(f"naive vs absorbed MLA, {name}", d < 1e-11 and same_routing,
              f"max |dlogit| {d:.2e}, routing identical: {same_routing}")
        lg[name] = (naive, rn)
    for a, b in (("v3-groups-legacy.gguf", "v3-groups-mla.gguf"), ("v2lite-legacy.gguf", "v2lite-mla.gguf")):
        d = max_diff(lg[a][0], lg[b][0])
        check(f"legacy vs MLA layout, {a} / {b}", d < 1e-12, f"max |dlogit| {d:.2e}")
    d = max_diff(lg["hf-v3-fp8"][0], lg["hf-v3-bf16"][0])
    check("FP8 checkpoint vs its BF16 twin", 0 < d < 0.05, f"max |dlogit| {d:.3g} (bf16 rounding of fp8*scale)")

    # HF loader vs GGUF loader on the same f16 weights
    g = dsref.load(os.path.join(mdir, "v2-groups-legacy.gguf"), "max")
    h = dsref.load(os.path.join(mdir, "hf-v2-groups-f16"))
    lg_g, rg = dsref.forward(g, ids)
    lg_h, rh = dsref.forward(h, ids)
    # (not bit-identical: GGUF stores rms eps 1e-6 and yarn_log_multiplier 0.0707 as f32, config.json as doubles)
    check("HF dir vs GGUF of the same weights (v2-groups, rule from config = max)",
          max_diff(lg_g, lg_h) < 1e-6 and h.cfg.group_rule == "max" and all(
              np.array_equal(rg[i]["ids"], rh[i]["ids"]) for i in rg),
          f"max |dlogit| {max_diff(lg_g, lg_h):.2e} (f32 metadata scalars in GGUF); same routing; HF rule "
          f"{h.cfg.group_rule} ({h.cfg.group_rule_source})")

    # V2 max rule vs V3 top-2-sum rule on the model built to show the difference
    t = dsref.load(os.path.join(mdir, "v2-groups-legacy.gguf"))
    lg_t, rt = dsref.forward(t, ids)
    diff_groups = sum(int((np.sort(rg[i]["group_ids"], 1) != np.sort(rt[i]["group_ids"], 1)).any(1).sum())
                      for i in rg)
    diff_experts = sum(int((np.sort(rg[i]["ids"], 1) != np.sort(rt[i]["ids"], 1)).any(1).sum()) for i in rg)
    n = sum(len(rg[i]["ids"]) for i in rg)
    check("group rule max (V2) vs top2sum (V3) differ", diff_experts > 0 and max_diff(lg_g, lg_t) > 1e-3,
          f"{diff_groups}/{n} token-layer group choices and {diff_experts}/{n} expert choices differ; max "
          f"|dlogit| {max_diff(lg_g, lg_t):.3g}")

    # the group keys matter: v3 weights without them (early R1/V3 GGUFs) route differently
    plain = dsref.load(os.path.join(mdir, "v3-legacy.gguf"))
    lg_p, rp = dsref.forward(plain, ids)
    rq = lg["v3-groups-legacy.gguf"][1]
    n_diff = sum(int((np.sort(rp[i]["ids"], 1) != np.sort(rq[i]["ids"], 1)).any(1).sum()) for i in rp)
    n = sum(len(rp[i]["ids"]) for i in rp)
    check("v3 weights with vs without group keys route differently", n_diff > 0,
          f"{n_diff}/{n} token-layer expert choices differ; max |dlogit| "
          f"{max_diff(lg_p, lg['v3-groups-legacy.gguf'][0]):.3g}")

    # routing invariants
    ok, detail = True, []
    for name, (logits, routing) in lg.items():
        m = dsref.load(os.path.join(mdir, name))
        c = m.cfg
        for i, r in routing.items():
            if c.norm_topk_prob:
                ok &= np.allclose(r["weights"].sum(1), c.route_scale, rtol=1e-13)
            if "group_ids" in r:
                per = c.n_routed_experts // c.n_expert_groups
                ok &= all(set(e // per for e in r["ids"][t]) <= set(r["group_ids"][t]) for t in range(len(ids)))
            ok &= bool(np.all(np.diff(np.take_along_axis(
                r["scores"] + (m.layers[i].gate_bias if m.layers[i].gate_bias is not None else 0), r["ids"], 1),
                axis=1) <= 0))
        detail.append(name)
    check("routing invariants (renormalised weights sum to route_scale, experts inside kept groups, ids in "
          "descending selection score)", ok, ", ".join(detail))

    # position offset: RoPE is relative, so positions 5000.. give the start-0 logits
    m = dsref.load(os.path.join(mdir, "v3-groups-legacy.gguf"))
    a, _ = dsref.forward(m, ids[:16])
    b, _ = dsref.forward(m, ids[:16], start_pos=5000)
    check("start_pos 5000 vs 0 (relative RoPE)", max_diff(a, b) < 1e-9, f"max |dlogit| {max_diff(a, b):.2e}")

    # the goldens on disk still match the reference (catches a stale golden after a code change)
    for case in mg.CASES:
        if case.get("n_tokens", 24) > 64:
            continue
        path = os.path.join(data, "goldens", case["case"])
        if not os.path.exists(path + ".json"):
            check(f"golden {case['case']}", False, "missing")
            continue
        doc, arr = read_golden(path)
        model = dsref.load(os.path.join(data, doc["model"]), case.get("group_rule", "auto"))
        logits, _ = dsref.forward(model, arr["ids"], doc["start_pos"])
        d = max_diff(logits.astype(np.float32), arr["logits"])
        check(f"golden {case['case']} reproduces", d == 0 and doc["model_sha256"] == mg.model_digest(
            os.path.join(data, doc["model"])), f"max |dlogit| vs stored f32 {d:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=mg.DEFAULT_OUT)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check_gguf_roundtrip(tmp)
    check_fp8()
    check_yarn_numbers()
    check_models(a.data)
    print(f"{len(FAILED)} failed" + (": " + ", ".join(FAILED) if FAILED else ""))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
