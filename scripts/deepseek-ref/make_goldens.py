#!/usr/bin/python3
"""Writes the tiny DeepSeek test models and their float64 reference goldens into tests/data/deepseek-ref/.

    /usr/bin/python3 scripts/deepseek-ref/make_goldens.py [--out DIR] [--only CASE ...] [--skip-models]

Deterministic: the same script writes the same bytes. models/ holds the model files (GGUF and HF directories),
goldens/ one CASE.json + CASE.bin per case, and cases.json lists every case. Format: docs/deepseek-reference.md.
"""

import argparse
import dataclasses
import hashlib
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import dsref  # noqa: E402
import tiny_models as tm  # noqa: E402
from golden_io import dumps, write_golden  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "deepseek-ref")
FULL_LOGITS_MAX_VOCAB = 4096   # above this, store top-32 + a fixed sample instead of full rows
TOPK = 32
N_SAMPLE = 64

# model file -> how to build it
MODELS = {
    "v3-legacy.gguf": dict(spec=tm.V3_TINY, kind="gguf", layout="legacy", group_keys=False),
    "v3-mla.gguf": dict(spec=tm.V3_TINY, kind="gguf", layout="mla", group_keys=False),
    "v3-groups-legacy.gguf": dict(spec=tm.V3_TINY, kind="gguf", layout="legacy"),
    "v3-groups-mla.gguf": dict(spec=tm.V3_TINY, kind="gguf", layout="mla"),
    "v3-mixed-types-mla.gguf": dict(spec=tm.V3_TINY, kind="gguf", layout="mla", types="mixed"),
    "v2lite-legacy.gguf": dict(spec=tm.V2_LITE_TINY, kind="gguf", layout="legacy", group_keys=False,
                               gating_key=False),
    "v2lite-mla.gguf": dict(spec=tm.V2_LITE_TINY, kind="gguf", layout="mla"),
    "v2-groups-legacy.gguf": dict(spec=tm.V2_GROUPS_TINY, kind="gguf", layout="legacy"),
    "hf-v2-groups-f16": dict(spec=tm.V2_GROUPS_TINY, kind="hf", dtype="f16"),
    "hf-v3-fp8": dict(spec=tm.V3_HF_TINY, kind="hf", dtype="fp8", shards=2),
    "hf-v3-bf16": dict(spec=tm.V3_HF_TINY, kind="hf", dtype="bf16", twin=True),
}

# case -> model, routing rule, token ids (seed, count), start position, stored positions, description
CASES = [
    dict(case="v3-legacy", model="v3-legacy.gguf", seed=101,
         about="V3-like: q_lora, sigmoid + selection bias, renorm, x2.5, YaRN 40; no group keys (early R1 GGUFs)"),
    dict(case="v3-mla", model="v3-mla.gguf", seed=101, about="v3-legacy weights in the MLA layout"),
    dict(case="v3-groups-legacy", model="v3-groups-legacy.gguf", seed=101,
         about="v3 weights + expert_group_count 4 / used 2: group-limited routing, top-2-sum rule"),
    dict(case="v3-groups-mla", model="v3-groups-mla.gguf", seed=101, about="v3-groups in the MLA layout"),
    dict(case="v3-mixed-types-mla", model="v3-mixed-types-mla.gguf", seed=101,
         about="v3-groups weights stored as Q8_0 / BF16 / F16 / F32, MLA layout"),
    dict(case="v2lite-legacy", model="v2lite-legacy.gguf", seed=202,
         about="V2-Lite-like: 27 layers, no q_lora, softmax, 2 shared experts, no renorm, yarn_log_multiplier "
               "0.0707; no group / gating keys (softmax implied)"),
    dict(case="v2lite-mla", model="v2lite-mla.gguf", seed=202,
         about="v2lite weights in the MLA layout, with expert_gating_func and group keys 1/1"),
    dict(case="v2-groups-legacy.max", model="v2-groups-legacy.gguf", seed=303, group_rule="max",
         about="V2-like group_limited_greedy (group score = max), forced: what the HF V2 model computes"),
    dict(case="v2-groups-legacy.top2sum", model="v2-groups-legacy.gguf", seed=303,
         about="same file, default GGUF rule (top-2 sum, as llama.cpp applies to any file with groups)"),
    dict(case="hf-v2-groups-f16", model="hf-v2-groups-f16", seed=303,
         about="HF twin of v2-groups-legacy (F16 safetensors); config topk_method group_limited_greedy -> max"),
    dict(case="hf-v3-fp8", model="hf-v3-fp8", seed=404,
         about="HF FP8-E4M3 checkpoint, 128x128 weight_scale_inv, 2 shards + index, MTP layer (ignored), "
               "noaux_tc groups"),
    dict(case="hf-v3-bf16", model="hf-v3-bf16", seed=404,
         about="BF16 twin of hf-v3-fp8 (fp8 * scale rounded to bf16, as fp8_cast_bf16.py)"),
    dict(case="v3-groups-legacy.pos5000", model="v3-groups-legacy.gguf", seed=101, n_tokens=16, start_pos=5000,
         about="first 16 ids of v3-groups-legacy at positions 5000..5015 with nothing cached before them; RoPE is "
               "relative, so the logits equal the start-0 ones up to rounding"),
    dict(case="v3-groups-mla.long", model="v3-groups-mla.gguf", seed=505, n_tokens=5100, positions=(5000, 5100),
         about="5100 tokens (YaRN well past original_context 4096); outputs stored for positions 5000..5099 "
               "as top-32 + sample"),
]


def build_models(out_dir):
    mdir = os.path.join(out_dir, "models")
    os.makedirs(mdir, exist_ok=True)
    weights = {}
    for fn, m in MODELS.items():
        spec = m["spec"]
        if spec["name"] not in weights:
            weights[spec["name"]] = tm.generate_weights(spec)
        w = weights[spec["name"]]
        path = os.path.join(mdir, fn)
        if m["kind"] == "gguf":
            tm.write_gguf(spec, w, path, m["layout"], m.get("types", "f16"), m.get("group_keys", True),
                          m.get("gating_key", True), name=fn[:-5])
        else:
            if m.get("twin"):
                w = tm.bf16_twin_weights(w)
            tm.write_hf(spec, w, path, m["dtype"], m.get("shards", 1))
        print(f"model {fn}: {_size(path) / 1024:.0f} KiB", file=sys.stderr)


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def model_digest(path):
    h = hashlib.sha256()
    files = sorted(os.listdir(path)) if os.path.isdir(path) else [None]
    for f in files:
        with open(os.path.join(path, f) if f else path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def case_ids(case, n_vocab):
    n = case.get("n_tokens", 24)
    return np.random.default_rng(case["seed"]).integers(0, n_vocab, 24 if n <= 24 else n)[:n]


def config_json(model):
    c = model.cfg
    d = dataclasses.asdict(c)
    d["notes"] = list(c.notes)
    d["softmax_scale"] = c.softmax_scale
    d["rope_freqs"] = dsref.rope_frequencies(c).tolist()
    if c.yarn:
        d["yarn_correction_range"] = list(dsref.yarn_correction_range(c))
    d["layout"] = model.layout
    return d


def run_case(case, out_dir):
    mpath = os.path.join(out_dir, "models", case["model"])
    model = dsref.load(mpath, case.get("group_rule", "auto"))
    cfg = model.cfg
    ids = case_ids(case, cfg.n_vocab)
    start_pos = case.get("start_pos", 0)
    t0 = time.time()
    logits, routing = dsref.forward(model, ids, start_pos)
    elapsed = time.time() - t0
    lo, hi = case.get("positions", (0, len(ids)))
    rows = np.arange(lo, hi)
    lg = logits[rows]
    m = lg.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(lg - m).sum(axis=-1, keepdims=True)))[:, 0]
    arrays = {"ids": ids, "positions": rows}
    storage = "full" if cfg.n_vocab <= FULL_LOGITS_MAX_VOCAB and len(rows) <= 64 else "topk"
    if storage == "full":
        arrays["logits"] = lg
    else:
        top = np.argsort(-lg, axis=-1, kind="stable")[:, :TOPK]
        sample = (np.arange(N_SAMPLE) * cfg.n_vocab) // N_SAMPLE
        arrays.update(topk_ids=top, topk_logits=np.take_along_axis(lg, top, axis=-1), sample_ids=sample,
                      sample_logits=lg[:, sample])
    arrays["logsumexp"] = lse
    moe_layers = sorted(routing)
    min_margin = np.full(len(rows), np.inf)
    if moe_layers:
        R = [routing[i] for i in moe_layers]
        arrays["route_ids"] = np.stack([r["ids"][rows] for r in R])
        arrays["route_weights"] = np.stack([r["weights"][rows] for r in R])
        arrays["route_scores"] = np.stack([r["scores"][rows] for r in R])
        arrays["route_expert_margin"] = np.stack([r["expert_margin"][rows] for r in R])
        min_margin = arrays["route_expert_margin"].min(axis=0)
        if "group_ids" in R[0]:
            arrays["route_group_ids"] = np.stack([r["group_ids"][rows] for r in R])
            arrays["route_group_margin"] = np.stack([r["group_margin"][rows] for r in R])
            min_margin = np.minimum(min_margin, arrays["route_group_margin"].min(axis=0))
        arrays["route_min_margin"] = min_margin
    manifest = {
        "case": case["case"], "about": case["about"], "model": "models/" + case["model"],
        "model_kind": "hf" if os.path.isdir(mpath) else "gguf", "model_sha256": model_digest(mpath),
        "generator": "scripts/deepseek-ref/make_goldens.py (float64 reference, naive MLA)",
        "n_tokens": len(ids), "n_vocab": cfg.n_vocab, "start_pos": start_pos,
        "ids": ids.tolist() if len(ids) <= 64 else "see array 'ids'",
        "stored_positions": [int(lo), int(hi)], "logits_storage": storage,
        "group_rule": cfg.group_rule, "group_rule_source": cfg.group_rule_source,
        "moe_layers": moe_layers, "config": config_json(model),
        "stats": {"argmax": logits[rows].argmax(axis=-1).tolist() if len(rows) <= 64 else None,
                  "logit_absmax": float(np.abs(lg).max()),
                  "positions_min_margin_below_1e-4": int((min_margin < 1e-4).sum()),
                  "positions_min_margin_below_1e-3": int((min_margin < 1e-3).sum()),
                  "positions_min_margin_below_2e-3": int((min_margin < 2e-3).sum()),
                  "smallest_margin": float(min_margin.min()) if moe_layers else None},
    }
    gdir = os.path.join(out_dir, "goldens")
    os.makedirs(gdir, exist_ok=True)
    write_golden(os.path.join(gdir, case["case"]), manifest, arrays)
    st = manifest["stats"]
    print(f"case {case['case']}: T={len(ids)} stored {len(rows)} ({storage}), rule {cfg.group_rule}, "
          f"positions with margin < 1e-4 / 1e-3: {st['positions_min_margin_below_1e-4']} / "
          f"{st['positions_min_margin_below_1e-3']}, smallest margin "
          f"{st['smallest_margin']:.3g}, {elapsed:.1f} s", file=sys.stderr)
    return {"case": case["case"], "model": manifest["model"], "golden": "goldens/" + case["case"] + ".json",
            "about": case["about"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", help="case names to regenerate (models are still rebuilt)")
    ap.add_argument("--skip-models", action="store_true", help="reuse the model files in OUT/models")
    a = ap.parse_args()
    if not a.skip_models:
        build_models(a.out)
    index = []
    for case in CASES:
        if a.only and case["case"] not in a.only:
            index.append({"case": case["case"], "model": "models/" + case["model"],
                          "golden": "goldens/" + case["case"] + ".json", "about": case["about"]})
            continue
        index.append(run_case(case, a.out))
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        f.write(dumps({"format": "r1-deepseek-ref-cases", "version": 1, "cases": index}) + "\n")


if __name__ == "__main__":
    main()
