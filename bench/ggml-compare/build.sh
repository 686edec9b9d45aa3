#!/usr/bin/env bash
# Builds bench/ggml-compare/ggml_compare: r1's matmul next to ggml's CPU backend from the npm package
# @node-llama-cpp/linux-x64@3.22.1 (prebuilt shared libraries + headers fetched by
# scripts/quant-goldens/fetch-ggml.sh into .cache/ggml-npm; nothing from llama.cpp is built or committed).
#   bench/ggml-compare/build.sh [build-dir]      then   <build-dir>/ggml_compare --threads 1,2 --n 1,512
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-ggml-compare}
GGML=$("$ROOT/scripts/quant-goldens/fetch-ggml.sh")
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DR1_TESTS=OFF -DR1_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j2 --target r1_kernels r1_tensor r1_base
g++ -std=c++20 -O2 -fopenmp -o "$BUILD/ggml_compare" "$ROOT/bench/ggml-compare/compare.cpp" \
  -I"$ROOT/src" -I"$GGML/include" -DGGML_LIB_DIR="\"$GGML/lib\"" \
  "$BUILD/src/kernels/libr1_kernels.a" "$BUILD/src/tensor/libr1_tensor.a" "$BUILD/src/base/libr1_base.a" \
  -L"$GGML/lib" -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$GGML/lib"
echo "$BUILD/ggml_compare"
