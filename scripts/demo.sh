#!/usr/bin/env bash
# `make demo`: an honest tour of what r1.cpp does today, in about a minute on 2 cores.
# The model it builds has RANDOM weights (there is no trained model yet: that is the R1 pipeline issue), so its
# words are gibberish — what the demo shows is the machinery: a DeepSeek-V3-architecture model (MLA with a latent
# KV cache, DeepSeekMoE routing, YaRN) written as GGUF with the real DeepSeek-V3 tokenizer and the R1 chat
# template, then loaded, chatted with (reasoning shown apart from the answer), and benchmarked.
set -euo pipefail
R1=${1:-build/bin/r1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ASSETS=${R1_ASSETS:-$ROOT/.cache/assets}
OUT=$ROOT/.cache/demo
mkdir -p "$OUT"
MODEL=$OUT/tiny-deepseek-v3-random.gguf
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Write a tiny DeepSeek-V3-style model with RANDOM weights (real tokenizer, R1 chat template)"
"$R1" random-model --preset deepseek-v3-tiny --dim 256 --type q8_0 --tokenizer "$ASSETS/deepseek_v3" \
  --chat-template deepseek-r1 -o "$MODEL"

say "2. What is inside (r1 inspect)"
"$R1" inspect "$MODEL" --no-tensors | sed -n '1,12p'
"$R1" inspect "$MODEL" --no-tensors | sed -n "/^model:/,\$p"

say "3. Tokenize with the real DeepSeek-V3 vocabulary (id-exact with Hugging Face)"
"$R1" tokenize -m "$MODEL" -p "Hello, 世界! <think>" --show-pieces | head -12

say "4. One prompt (r1 run): the output starts inside <think>, as R1's template forces"
"$R1" run -m "$MODEL" -p "What is 17 * 23?" -n 40 --temp 0.6 --seed 1

say "5. A two-turn chat (r1 chat), fed from a pipe; earlier reasoning is dropped from the history"
printf 'Hi! Who are you?\nAnd what can you do?\n' | "$R1" chat -m "$MODEL" -n 24 --temp 0 --no-timings

say "6. Speed on this machine (r1 bench; tiny model, so the numbers only show the harness works)"
"$R1" bench -m "$MODEL" -p 128 -n 32 -r 2

say "Done. The weights were random; see README.md for running real DeepSeek/R1-Distill GGUF files."
