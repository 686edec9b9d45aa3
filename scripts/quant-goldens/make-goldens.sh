#!/usr/bin/env bash
# Regenerates tests/data/quant/*.bin: inputs, ggml's quantised bytes and ggml's dequantised floats for each
# type, made by ggml's own reference functions (libggml-base.so from the npm package, fetched by
# fetch-ggml.sh; nothing from llama.cpp is built or committed). Run by hand; commit the outputs.
#   scripts/quant-goldens/make-goldens.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GGML=$("$HERE/fetch-ggml.sh")
OUT=$ROOT/tests/data/quant
BIN=$GGML/gen_goldens
mkdir -p "$OUT"
cc -O1 -std=c11 -o "$BIN" "$HERE/gen_goldens.c" -I"$GGML/include" -L"$GGML/lib" -l:libggml-base.so \
  -Wl,-rpath,"$GGML/lib" -lm
"$BIN" "$OUT"
