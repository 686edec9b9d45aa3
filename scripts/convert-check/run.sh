#!/usr/bin/env bash
# Cross-check of `r1 convert` (run by hand; outputs are committed):
#   1. writes tiny HF checkpoints (make_tiny_hf: qwen2, llama, a 27-layer V2-Lite-like, V3-like with an MTP layer
#      and 2 shards, V3-like FP8 with 128x128 block scales and partial edge blocks),
#   2. converts each with r1 convert (f32, bf16, q8_0; DeepSeek also with --layout legacy),
#   3. computes reference logits straight from the HF files with hf_reference.py (float64 NumPy, HF semantics,
#      independent of the converter),
#   4. runs the prebuilt llama.cpp (scripts/llamacpp-ref.sh, npm @node-llama-cpp) and `r1 logits` on every GGUF,
#   5. prints max |logit difference| and top-1 agreement against the reference at every position.
# Writes tests/data/convert/llamacpp-check.txt (the table) and tests/data/convert/hf-logits/<model>.bin (the
# reference logits, float32 [n_ids, vocab], used by tests/convert/test_convert_logits.cpp).
# Usage: scripts/convert-check/run.sh [BUILD_DIR]     (default: build; needs targets r1 and make_tiny_hf)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
WORK=${R1_CONVERT_CHECK_DIR:-$ROOT/.cache/convert-check}
OUT=$ROOT/tests/data/convert
PY=/usr/bin/python3
IDS=0,5,17,200,33,261,100,7,259,3,150,42,260,88,1,120

cmake --build "$BUILD" -j2 --target r1 make_tiny_hf >&2
REF=$("$ROOT/scripts/llamacpp-ref.sh" | tail -n 1)
R1=$BUILD/bin/r1
MAKE=$BUILD/bin/make_tiny_hf
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT/hf-logits"

# name | make_tiny_hf arguments (keep in sync with kGoldenModels in tests/convert/test_convert_logits.cpp)
MODELS=(
  "qwen2|qwen2"
  "llama|llama"
  "v2lite|v2lite --layers 27"
  "v3|v3 --mtp --shards 2"
  "v3fp8|v3 --fp8 --mtp --layers 3"
)

rows=()
for entry in "${MODELS[@]}"; do
  name=${entry%%|*}
  args=${entry#*|}
  dir=$WORK/$name
  read -r kind opts <<<"$args"
  # shellcheck disable=SC2086
  "$MAKE" "$kind" "$dir" $opts
  "$PY" "$HERE/hf_reference.py" "$dir" --ids "$IDS" -o "$WORK/$name.hf.f32" 2>"$WORK/$name.hf.log"
  cp "$WORK/$name.hf.f32" "$OUT/hf-logits/$name.bin"
  variants=("f32|--type f32" "bf16|--type bf16" "q8_0|--type q8_0")
  [[ $name == v* ]] && variants+=("legacy-f32|--type f32 --layout legacy")
  for v in "${variants[@]}"; do
    vname=${v%%|*}
    gguf=$WORK/$name-$vname.gguf
    # shellcheck disable=SC2086
    "$R1" convert "$dir" -o "$gguf" ${v#*|} 2>"$WORK/$name-$vname.convert.log"
    if "$REF" logits -m "$gguf" --ids "$IDS" -o "$WORK/$name-$vname.llamacpp.f32" -t 2 \
      2>"$WORK/$name-$vname.llamacpp.log"; then :; else echo "llama.cpp failed on $gguf" >&2; fi
    if "$R1" logits -m "$gguf" --ids "$IDS" -o "$WORK/$name-$vname.r1.f32" -t 2 \
      2>"$WORK/$name-$vname.r1.log"; then :; else rm -f "$WORK/$name-$vname.r1.f32"; fi
    rows+=("$name|$vname")
  done
done

"$PY" - "$WORK" "$IDS" "${rows[@]}" <<'EOF' | tee "$OUT/llamacpp-check.txt"
import os, sys
import numpy as np
work, ids = sys.argv[1], sys.argv[2].split(",")
n = len(ids)
print(f"# r1 convert cross-check (scripts/convert-check/run.sh): {n} positions per model, ids {','.join(ids)}")
print("# reference: hf_reference.py on the HF checkpoint (float64, HF semantics); llama.cpp: npm @node-llama-cpp")
print("# prebuilt libllama (scripts/llamacpp-ref.sh); r1: `r1 logits`. max|d| over all positions and logits.")
print(f"{'model':8} {'gguf':11} {'llama.cpp max|d|':>17} {'top1':>6} {'r1 max|d|':>11} {'top1':>6}  routing margin")
for row in sys.argv[3:]:
    name, v = row.split("|")
    ref = np.fromfile(f"{work}/{name}.hf.f32", dtype=np.float32).reshape(n, -1)
    log = open(f"{work}/{name}.hf.log").read().strip()
    margin = log.split("min routing margin: ")[1] if "margin" in log else ""
    cols = []
    for engine in ("llamacpp", "r1"):
        p = f"{work}/{name}-{v}.{engine}.f32"
        if not os.path.exists(p) or os.path.getsize(p) != ref.nbytes:
            cols += ["n/a", ""]
            continue
        got = np.fromfile(p, dtype=np.float32).reshape(n, -1)
        cols += [f"{np.abs(got - ref).max():.3g}", f"{(got.argmax(1) == ref.argmax(1)).sum()}/{n}"]
    print(f"{name:8} {v:11} {cols[0]:>17} {cols[1]:>6} {cols[2]:>11} {cols[3]:>6}  {margin}")
EOF
# Second check: HF checkpoints written by a different program (scripts/deepseek-ref, committed under
# tests/data/deepseek-ref/models/hf-*, no tokenizer) against that program's own float64 goldens.
DSREF=$ROOT/tests/data/deepseek-ref
cases=()
for model in "$DSREF"/models/hf-*; do
  [[ -d $model ]] || continue
  name=$(basename "$model")
  gguf=$WORK/dsref-$name.gguf
  ids=$("$PY" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['ids'])))" \
    "$DSREF/goldens/$name.json")
  "$R1" convert "$model" -o "$gguf" --type f32 --no-vocab 2>"$WORK/dsref-$name.convert.log"
  "$REF" logits -m "$gguf" --ids "$ids" -o "$WORK/dsref-$name.llamacpp.f32" -t 2 2>/dev/null || true
  "$R1" logits -m "$gguf" --ids "$ids" -o "$WORK/dsref-$name.r1.f32" -t 2 2>/dev/null || true
  cases+=("$name")
done
if ((${#cases[@]})); then
  PYTHONPATH=$ROOT/scripts/deepseek-ref "$PY" - "$WORK" "$DSREF" "${cases[@]}" <<'EOF' | tee -a "$OUT/llamacpp-check.txt"
import os, sys
import numpy as np
import golden_io
work, dsref = sys.argv[1], sys.argv[2]
print()
print("# HF checkpoints of scripts/deepseek-ref (its own writer), converted with --no-vocab, against its goldens")
print(f"{'model':17} {'llama.cpp max|d|':>17} {'top1':>6} {'r1 max|d|':>11} {'top1':>6}  note")
for name in sys.argv[3:]:
    doc, a = golden_io.read_golden(os.path.join(dsref, "goldens", name))
    ref = a["logits"]
    cols = []
    for engine in ("llamacpp", "r1"):
        p = f"{work}/dsref-{name}.{engine}.f32"
        if not os.path.exists(p) or os.path.getsize(p) != ref.nbytes:
            cols += ["n/a", ""]
            continue
        got = np.fromfile(p, dtype=np.float32).reshape(ref.shape)
        cols += [f"{np.abs(got - ref).max():.3g}", f"{(got.argmax(1) == ref.argmax(1)).sum()}/{len(ref)}"]
    note = "group rule " + doc.get("group_rule", "?")
    if doc.get("group_rule") == "max":
        note += " (V2: llama.cpp always ranks groups by top-2 sum)"
    print(f"{name:17} {cols[0]:>17} {cols[1]:>6} {cols[2]:>11} {cols[3]:>6}  {note}")
EOF
fi
echo "wrote $OUT/llamacpp-check.txt and $OUT/hf-logits/*.bin" >&2
