#!/usr/bin/env bash
# Aggregate generation throughput of `r1 serve` with 1, 4 and 8 concurrent clients (continuous batching), as a
# markdown table on stdout. Benchmark, not a test: run it by hand on an otherwise idle machine.
#
#   bench/server_load.sh [MODEL.gguf]
#
# Without a model it writes (once) the Qwen2-1.5B-shaped random model the issue names:
#   r1 random-model --preset qwen2-1.5b --type q4_k_m --tokenizer .cache/assets/qwen3 -o $MODEL
# (about a minute and ~1 GB). The server runs with --parallel $PARALLEL --ctx $CTX; bench/server_load.mjs
# drives it. Environment (defaults): R1=build/bin/r1  PARALLEL=8  CTX=1024  CLIENTS=1,4,8  REQUESTS=2
#   TOKENS=64  PROMPT_WORDS=32  THREADS=0 (all cores)  MODEL=.cache/bench/qwen2-1.5b-q4_k_m.gguf
# The defaults give prompts (~128 tokens with the chat template) twice as long as the answers (the metrics
# printed at the end include both totals), so prompt processing takes a large share of the wall time;
# TOKENS=128 PROMPT_WORDS=4 measures mostly batched generation.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
R1=${R1:-$ROOT/build/bin/r1}
PARALLEL=${PARALLEL:-8}
CTX=${CTX:-1024}
CLIENTS=${CLIENTS:-1,4,8}
REQUESTS=${REQUESTS:-2}
TOKENS=${TOKENS:-64}
PROMPT_WORDS=${PROMPT_WORDS:-32}
THREADS=${THREADS:-0}
MODEL=${1:-${MODEL:-$ROOT/.cache/bench/qwen2-1.5b-q4_k_m.gguf}}

die() { echo "server_load: error: $*" >&2; exit 1; }
[[ -x $R1 ]] || die "r1 binary '$R1' not found (build it, or set R1=/path/to/r1)"
command -v node >/dev/null || die "node not found (scripts/install-deps.sh installs it)"
if [[ ! -f $MODEL ]]; then
  [[ -s $ROOT/.cache/assets/qwen3/tokenizer.json ]] || die "run scripts/fetch-assets.sh first (qwen3 tokenizer)"
  mkdir -p "$(dirname "$MODEL")"
  echo "server_load: writing $MODEL (random weights, Qwen2-1.5B shape, Q4_K_M)" >&2
  "$R1" random-model --preset qwen2-1.5b --type q4_k_m --tokenizer "$ROOT/.cache/assets/qwen3" -o "$MODEL" >&2
fi

LOG=$(mktemp)
"$R1" serve -m "$MODEL" --alias bench --port 0 --parallel "$PARALLEL" --ctx "$CTX" -t "$THREADS" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG"' EXIT
PORT=""
for _ in $(seq 1 600); do
  PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\)/.*|\1|p' "$LOG")
  [[ -n $PORT ]] && break
  kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; die "the server exited"; }
  sleep 0.2
done
[[ -n $PORT ]] || die "the server did not start"

echo "model: $MODEL ($(du -h "$MODEL" | cut -f1)), --parallel $PARALLEL --ctx $CTX, $TOKENS tokens x $REQUESTS requests per client, $(nproc) cores"
node "$ROOT/bench/server_load.mjs" --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --requests "$REQUESTS" \
  --tokens "$TOKENS" --prompt-words "$PROMPT_WORDS"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^r1_(batch_sequences_max|generation_tokens_per_second|prompt_tokens_per_second|prompt_tokens_total|generation_tokens_total) ' || true
