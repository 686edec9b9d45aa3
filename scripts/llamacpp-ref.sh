#!/usr/bin/env bash
# Fetches a prebuilt llama.cpp from the npm registry and compiles our reference harness against it:
#   <cache>/lib/        libllama + libggml* (14 CPU variants, e.g. libggml-cpu-zen4.so) from
#                       @node-llama-cpp/linux-x64@3.22.1 (llama.cpp release v0.5.0, Ubuntu 22.04 build)
#   <cache>/include/    llama.h and ggml/include/*.h, taken from the llama.cpp git bundle that ships in
#                       node-llama-cpp@3.22.1 (llama/gitRelease.bundle); only these headers are extracted
#   <cache>/bin/llamacpp-ref   bench/llamacpp/*.cpp (our code) linked against <cache>/lib
# <cache> is $R1_LLAMACPP_DIR, default <repo>/.cache/llamacpp (git-ignored). Nothing of llama.cpp is committed
# and llama.cpp itself is never built: we only compile our own harness against its prebuilt shared libraries.
# Only `npm pack` is used (no install scripts run). Safe to run again: downloads are cached and the harness is
# recompiled only when its sources change. Prints the harness path on the last line of stdout.
# Usage: scripts/llamacpp-ref.sh [--force]    (--force: fetch and compile again)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${R1_LLAMACPP_DIR:-$ROOT/.cache/llamacpp}
NLC_VERSION=3.22.1
LIB_PKG=@node-llama-cpp/linux-x64@$NLC_VERSION
SRC_PKG=node-llama-cpp@$NLC_VERSION
CXX=${CXX:-g++}

log() { echo "llamacpp-ref: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${1:-} == --force ]]; then
  rm -rf "${CACHE:?}/lib" "${CACHE:?}/include" "${CACHE:?}/bin"
elif [[ $# -gt 0 ]]; then
  die "unknown argument '$1' (expected nothing or --force)"
fi

[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
  die "the prebuilt llama.cpp used here exists for Linux x86-64 only (this is $(uname -s) $(uname -m))"
for tool in npm tar git "$CXX"; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (run scripts/install-deps.sh)"
done

mkdir -p "$CACHE/npm"

# npm_pack PKG@VER -> prints the path of the downloaded tarball (kept in $CACHE/npm until unpacked).
npm_pack() {
  local tgz
  tgz=$(cd "$CACHE/npm" && npm pack --silent "$1" 2>/dev/null | tail -n 1)
  [[ -n $tgz && -s $CACHE/npm/$tgz ]] || die "npm pack $1 failed (is the npm registry reachable?)"
  echo "$CACHE/npm/$tgz"
}

# 1. Prebuilt shared libraries.
if [[ ! -s $CACHE/lib/libllama.v0.5.0.so || ! -s $CACHE/lib/libggml-base.so ]]; then
  log "fetching $LIB_PKG (prebuilt libllama/libggml, ~11 MB)"
  tgz=$(npm_pack "$LIB_PKG")
  rm -rf "$CACHE/lib.tmp" && mkdir -p "$CACHE/lib.tmp"
  tar -xzf "$tgz" -C "$CACHE/lib.tmp" --strip-components=3 package/bins/linux-x64
  [[ -s $CACHE/lib.tmp/libllama.v0.5.0.so ]] || die "$LIB_PKG does not contain bins/linux-x64/libllama.v0.5.0.so"
  rm -f "$CACHE/lib.tmp/llama-addon.node" "$tgz"  # the node addon is not needed
  rm -rf "${CACHE:?}/lib" && mv "$CACHE/lib.tmp" "$CACHE/lib"
fi

# 2. Headers of the same llama.cpp release, from the source bundle (only include/ and ggml/include/ are kept).
if [[ ! -s $CACHE/include/llama.h || ! -s $CACHE/include/ggml/include/ggml-backend.h ]]; then
  log "fetching $SRC_PKG (llama.cpp source bundle, ~40 MB) for llama.h and ggml headers"
  tgz=$(npm_pack "$SRC_PKG")
  tmp=$CACHE/src.tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar -xzf "$tgz" -C "$tmp" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  git clone --quiet --bare "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.cpp.git"
  mkdir -p "$tmp/include"
  # include/llama.h -> <cache>/include/llama.h; ggml/include/*.h -> <cache>/include/ggml/include/*.h
  git -C "$tmp/llama.cpp.git" archive --format=tar HEAD include | tar -x -C "$tmp/include" --strip-components=1
  git -C "$tmp/llama.cpp.git" archive --format=tar HEAD ggml/include | tar -x -C "$tmp/include"
  {
    echo "package: $SRC_PKG"
    echo "bundle commit: $(git -C "$tmp/llama.cpp.git" rev-parse HEAD)"
    cat "$tmp/package/llama/llama.cpp.info.json"
  } >"$tmp/include/SOURCE.txt"
  rm -rf "$CACHE/include" && mv "$tmp/include" "$CACHE/include"
  rm -rf "$tmp" "$tgz"
fi

# 3. Our harness. Recompiled when a source file is newer than the binary.
SRC_DIR=$ROOT/bench/llamacpp
BIN=$CACHE/bin/llamacpp-ref
mapfile -t sources < <(ls "$SRC_DIR"/*.cpp)
((${#sources[@]})) || die "no sources in $SRC_DIR"
stale=0
[[ -x $BIN ]] || stale=1
for f in "${sources[@]}" "$SRC_DIR"/*.h; do
  [[ -e $f && $f -nt $BIN ]] && stale=1
done
if ((stale)); then
  log "compiling $BIN"
  mkdir -p "$CACHE/bin"
  "$CXX" -std=c++20 -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread \
    -I"$CACHE/include" -I"$CACHE/include/ggml/include" \
    "${sources[@]}" -o "$BIN.tmp" \
    -L"$CACHE/lib" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so -ldl \
    -Wl,-rpath,"$CACHE/lib"
  mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
