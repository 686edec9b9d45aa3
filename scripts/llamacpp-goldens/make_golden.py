#!/usr/bin/python3
"""Turns llama.cpp's logits dump [n_ids, n_vocab] (f32) into a compact golden (the format of
scripts/deepseek-ref/golden_io.py): per position the top-32 ids and logits, the logits at 64 fixed sample ids,
and the log-sum-exp. Usage: make_golden.py CASE_JSON_ENTRY_FILE LOGITS.f32 IDS MODEL.gguf OUT_BASE"""
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deepseek-ref"))
from golden_io import write_golden  # noqa: E402


def main():
    entry = json.load(open(sys.argv[1]))
    logits_path, ids, model, out = sys.argv[2], [int(x) for x in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]
    n = len(ids)
    logits = np.fromfile(logits_path, dtype="<f4")
    V = logits.size // n
    logits = logits.reshape(n, V).astype(np.float64)
    order = np.argsort(-logits, axis=1, kind="stable")[:, :32]
    sample = (np.arange(64) * V) // 64
    mx = logits.max(1, keepdims=True)
    lse = (mx[:, 0] + np.log(np.exp(logits - mx).sum(1)))
    with open(model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "case": entry["name"], "about": "llama.cpp (npm @node-llama-cpp/linux-x64 3.22.1, commit 0ad4a86) logits",
        "model_flags": entry["flags"], "tokenizer": entry["tokenizer"], "model_sha256": sha,
        "tol": entry["tol"], "tight_tol": entry.get("tight_tol", 0), "mla": entry.get("mla", "auto"),
        "ref_flags": entry.get("ref_flags", []), "n_tokens": n, "n_vocab": V, "start_pos": 0, "stored_positions": [0, n],
        "logits_storage": "topk", "ids_text": entry.get("text", ""),
    }
    write_golden(out, manifest, {
        "ids": np.array(ids, dtype=np.int32),
        "topk_ids": order.astype(np.int32),
        "topk_logits": np.take_along_axis(logits, order, 1).astype(np.float32),
        "sample_ids": sample.astype(np.int32),
        "sample_logits": logits[:, sample].astype(np.float32),
        "logsumexp": lse.astype(np.float32),
    })


if __name__ == "__main__":
    main()
