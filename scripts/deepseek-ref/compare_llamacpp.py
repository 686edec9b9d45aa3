#!/usr/bin/python3
"""Compares the float64 DeepSeek reference goldens with llama.cpp (the npm build, through our llamacpp-ref harness)
on the GGUF test models, and prints a markdown table.

    scripts/llamacpp-ref.sh                      # once: builds .cache/llamacpp/bin/llamacpp-ref
    /usr/bin/python3 scripts/deepseek-ref/compare_llamacpp.py [--data DIR] [--ref PATH] [--no-f32] [--no-long]

Two sets of rows:
- the committed goldens (F16/mixed weights): llama.cpp converts activations to F16 (Q8_0 for Q8_0 weights) before
  its dot products, so ~1e-3 agreement is expected;
- the same weights re-written as F32 into a temporary directory (not committed): nothing is rounded by llama.cpp
  except float32 arithmetic, so agreement should be ~1e-5. This isolates semantic differences from rounding.
Positions whose routing margin (any MoE layer, experts or groups) is below --margin are reported separately.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import dsref  # noqa: E402
import make_goldens as mg  # noqa: E402
import tiny_models as tm  # noqa: E402
from golden_io import read_golden  # noqa: E402

# cases llama.cpp can express, plus one it cannot (V2's group-max rule) to show the gap
CASES = ["v3-legacy", "v3-mla", "v3-groups-legacy", "v3-groups-mla", "v3-mixed-types-mla", "v2lite-legacy",
         "v2lite-mla", "v2-groups-legacy.top2sum", "v2-groups-legacy.max", "v3-groups-mla.long"]


def run_llamacpp(ref, model, ids, tmp, ubatch=None):
    ids_file, out = os.path.join(tmp, "ids.txt"), os.path.join(tmp, "out.f32")
    with open(ids_file, "w") as f:
        f.write(",".join(str(int(i)) for i in ids))
    cmd = [ref, "logits", "-m", model, "--ids", "@" + ids_file, "-o", out, "-t", "2"]
    if ubatch:
        cmd += ["--ubatch", str(ubatch)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"llamacpp-ref failed on {model}:\n{p.stderr}")
    return np.fromfile(out, "<f4").reshape(len(ids), -1).astype(np.float64)


def compare(doc, arr, ll, margin):
    rows = arr["positions"]
    ll = ll[rows]
    if doc["logits_storage"] == "full":
        ref = arr["logits"].astype(np.float64)
        delta = np.abs(ll - ref).max(axis=1)
        top1 = ll.argmax(1) == ref.argmax(1)
    else:
        d1 = np.abs(np.take_along_axis(ll, arr["topk_ids"], 1) - arr["topk_logits"]).max(1)
        d2 = np.abs(ll[:, arr["sample_ids"]] - arr["sample_logits"]).max(1)
        delta = np.maximum(d1, d2)
        top1 = ll.argmax(1) == arr["topk_ids"][:, 0]
    mm = arr.get("route_min_margin", np.full(len(rows), np.inf))
    keep, keep10 = mm >= margin, mm >= 10 * margin
    return dict(max_all=delta.max(), max_kept=delta[keep].max() if keep.any() else float("nan"),
                max_kept10=delta[keep10].max() if keep10.any() else float("nan"),
                top1=f"{int(top1.sum())}/{len(top1)}", skipped=int((~keep).sum()),
                skipped10=int((~keep10).sum()), n=len(rows))


def row(name, wtype, rule, r):
    return (f"| {name} | {wtype} | {rule} | {r['max_all']:.3g} | {r['max_kept']:.3g} ({r['skipped']}/{r['n']}) | "
            f"{r['max_kept10']:.3g} ({r['skipped10']}/{r['n']}) | {r['top1']} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mg.DEFAULT_OUT)
    ap.add_argument("--ref", default=os.environ.get("LLAMACPP_REF", os.path.join(mg.REPO, ".cache", "llamacpp",
                                                                                    "bin", "llamacpp-ref")))
    ap.add_argument("--margin", type=float, default=1e-3)
    ap.add_argument("--no-f32", action="store_true", help="skip the F32 re-written models")
    ap.add_argument("--no-long", action="store_true", help="skip the 5100-token case")
    a = ap.parse_args()
    if not os.access(a.ref, os.X_OK):
        sys.exit(f"llamacpp-ref not found at {a.ref}: run scripts/llamacpp-ref.sh first")
    print(f"| case | weights | group rule | max abs dlogit (all) | margin >= {a.margin:g}: max abs dlogit "
          f"(positions skipped) | margin >= {10 * a.margin:g} | top-1 agree |")
    print("|---|---|---|---|---|---|---|")
    cases = {c["case"]: c for c in mg.CASES}
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            if a.no_long and name.endswith(".long"):
                continue
            case = cases[name]
            doc, arr = read_golden(os.path.join(a.data, "goldens", name))
            mpath = os.path.join(a.data, doc["model"])
            ll = run_llamacpp(a.ref, mpath, arr["ids"], tmp, 512 if len(arr["ids"]) > 512 else None)
            r = compare(doc, arr, ll, a.margin)
            wtype = "mixed Q8_0/BF16/F16" if "mixed" in name else "F16"
            print(row(name, wtype, doc["group_rule"], r), flush=True)
            if a.no_f32 or "mixed" in name:
                continue
            # the same weights in F32: re-run the reference and llama.cpp on that file
            spec_entry = mg.MODELS[case["model"]]
            f32_path = os.path.join(tmp, "f32-" + case["model"])
            if f32_path not in models:
                spec = spec_entry["spec"]
                tm.write_gguf(spec, tm.generate_weights(spec), f32_path, spec_entry["layout"], "f32",
                              spec_entry.get("group_keys", True), spec_entry.get("gating_key", True))
                models[f32_path] = True
            model = dsref.load(f32_path, case.get("group_rule", "auto"))
            logits, routing = dsref.forward(model, arr["ids"], case.get("start_pos", 0))
            rows = arr["positions"]
            fdoc = dict(doc, logits_storage="full")
            farr = dict(arr, logits=logits[rows])
            mm = np.full(len(rows), np.inf)
            for rt in routing.values():
                mm = np.minimum(mm, rt["expert_margin"][rows])
                if "group_margin" in rt:
                    mm = np.minimum(mm, rt["group_margin"][rows])
            farr["route_min_margin"] = mm
            ll = run_llamacpp(a.ref, f32_path, arr["ids"], tmp, 512 if len(arr["ids"]) > 512 else None)
            r = compare(fdoc, farr, ll, a.margin)
            print(row(name, "F32 (temporary)", doc["group_rule"], r), flush=True)


if __name__ == "__main__":
    main()
