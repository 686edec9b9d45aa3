#!/usr/bin/env bash
# Regenerates tests/data/llamacpp/: for every case in cases.json, writes the model with our `r1 random-model`
# (deterministic), tokenizes the text with `r1 tokenize`, evaluates the ids with llama.cpp (the prebuilt npm
# library driven by our harness, scripts/llamacpp-ref.sh) and stores a compact golden of its logits.
# Run by hand after `make build`; CI only reads the committed output. Needs /usr/bin/python3 with numpy.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
R1=${R1:-$ROOT/build/bin/r1}
OUT=$ROOT/tests/data/llamacpp
WORK=$ROOT/.cache/llamacpp-goldens
ASSETS=${R1_ASSETS:-$ROOT/.cache/assets}
mkdir -p "$OUT" "$WORK"
[[ -x $R1 ]] || { echo "build r1 first (make build)" >&2; exit 1; }
"$ROOT/scripts/fetch-assets.sh"
"$ROOT/scripts/llamacpp-ref.sh" >/dev/null
REF=$ROOT/.cache/llamacpp/bin/llamacpp-ref
TEXT=$(/usr/bin/python3 -c "import json;print(json.load(open('$HERE/cases.json'))['text'])")
n=$(/usr/bin/python3 -c "import json;print(len(json.load(open('$HERE/cases.json'))['cases']))")
for ((i = 0; i < n; i++)); do
  /usr/bin/python3 -c "
import json;d=json.load(open('$HERE/cases.json'));c=d['cases'][$i];c['text']=d['text'];json.dump(c,open('$WORK/entry.json','w'))"
  name=$(/usr/bin/python3 -c "import json;print(json.load(open('$WORK/entry.json'))['name'])")
  tok=$(/usr/bin/python3 -c "import json;print(json.load(open('$WORK/entry.json'))['tokenizer'])")
  mapfile -t flags < <(/usr/bin/python3 -c "import json;print('\n'.join(json.load(open('$WORK/entry.json'))['flags']))")
  mapfile -t ref_flags < <(/usr/bin/python3 -c "import json,sys;sys.stdout.write(''.join(f + '\n' for f in json.load(open('$WORK/entry.json')).get('ref_flags', [])))")
  model=$WORK/$name.gguf
  "$R1" random-model --tokenizer "$ASSETS/$tok" -o "$model" "${flags[@]}" >/dev/null 2>&1
  ids=$("$R1" tokenize -m "$model" -p "$TEXT")
  "$REF" logits -m "$model" --ids "$ids" -o "$WORK/$name.f32" ${ref_flags[@]+"${ref_flags[@]}"} >/dev/null
  /usr/bin/python3 "$HERE/make_golden.py" "$WORK/entry.json" "$WORK/$name.f32" "$ids" "$model" "$OUT/$name"
  echo "llamacpp-goldens: $name ($(echo "$ids" | tr ',' '\n' | wc -l) tokens)"
done
