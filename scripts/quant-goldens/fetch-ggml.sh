#!/usr/bin/env bash
# Fetches ggml (prebuilt shared libraries + headers) from the npm registry into <repo>/.cache/ggml-npm/:
#   lib/        libggml-base.so, libggml.v0.5.0.so, libggml-cpu-*.so  (@node-llama-cpp/linux-x64@3.22.1)
#   include/    ggml.h, ggml-backend.h, ggml-cpu.h, ...               (node-llama-cpp@3.22.1, llama/gitRelease.bundle)
# Used by the quantisation golden generator (make-goldens.sh) and the ggml comparison benchmark
# (bench/ggml-compare/). Only `npm pack` is used: no install scripts run, nothing is built from llama.cpp
# sources. Prints the directory. Safe to run again (cached).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=${R1_GGML_DIR:-$ROOT/.cache/ggml-npm}
VER=3.22.1
if [[ -s $DEST/lib/libggml-base.so && -s $DEST/include/ggml.h ]]; then
  echo "$DEST"
  exit 0
fi
mkdir -p "$DEST/pack"
cd "$DEST/pack"
[[ -s node-llama-cpp-linux-x64-$VER.tgz ]] || npm pack --silent "@node-llama-cpp/linux-x64@$VER" >/dev/null
[[ -s node-llama-cpp-$VER.tgz ]] || npm pack --silent "node-llama-cpp@$VER" >/dev/null
rm -rf "$DEST/lib" "$DEST/include" "$DEST/tmp"
mkdir -p "$DEST/lib" "$DEST/include" "$DEST/tmp"
tar -xzf "node-llama-cpp-linux-x64-$VER.tgz" -C "$DEST/tmp" package/bins/linux-x64
cp "$DEST/tmp/package/bins/linux-x64/"*.so "$DEST/lib/"
tar -xzf "node-llama-cpp-$VER.tgz" -C "$DEST/tmp" package/llama/gitRelease.bundle
git clone -q --bare "$DEST/tmp/package/llama/gitRelease.bundle" "$DEST/tmp/src.git"
git -C "$DEST/tmp/src.git" archive HEAD ggml/include | tar -x -C "$DEST/tmp"
cp "$DEST/tmp/ggml/include/"*.h "$DEST/include/"
rm -rf "$DEST/tmp"
echo "$DEST"
