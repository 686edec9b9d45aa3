#!/usr/bin/env bash
# Speed of r1.cpp against llama.cpp on the same GGUF files, as a markdown table on stdout.
#
#   bench/compare_llamacpp.sh MODEL.gguf [MORE.gguf ...]
#
# For each model the two engines run alternately, ROUNDS times (r1, llama.cpp, r1, llama.cpp, ...), so machine
# noise (other processes, thermal or memory-bandwidth drift) hits both. Each run is
#   r1:        $R1 bench -m MODEL -p $PROMPT -n $GEN -d $DEPTH -t $THREADS -r $REPS --json
#   llama.cpp: llamacpp-ref bench (same flags; see docs/llamacpp-harness.md)
# and prints a JSON array of {"engine","test","t","avg_ts","stddev_ts","model","size_bytes",...}. The table
# pools all rounds: mean tokens/s ± standard deviation over every rep, and the ratio r1 / llama.cpp (> 1: r1 is
# faster). Raw JSON of every run is kept in $OUT_DIR.
#
# Environment (defaults): R1=build/bin/r1  REF=(built by scripts/llamacpp-ref.sh)  THREADS=2  PROMPT=512  DEPTH=0
#   GEN=128  REPS=3  ROUNDS=2  OUT_DIR=(a new temporary directory)
# Needs node (for JSON) which scripts/install-deps.sh installs. Run on an otherwise idle machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
R1=${R1:-$ROOT/build/bin/r1}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
DEPTH=${DEPTH:-0}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}

die() { echo "compare_llamacpp: error: $*" >&2; exit 1; }

(($# >= 1)) || die "usage: bench/compare_llamacpp.sh MODEL.gguf [MORE.gguf ...]"
for m in "$@"; do [[ -r $m ]] || die "cannot read model file '$m'"; done
[[ -x $R1 ]] || die "r1 binary '$R1' not found (build it, or set R1=/path/to/r1)"
command -v node >/dev/null 2>&1 || die "node not found (run scripts/install-deps.sh)"
for v in THREADS PROMPT GEN DEPTH REPS ROUNDS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1 && REPS >= 1)) || die "ROUNDS and REPS must be at least 1"
if [[ -z ${REF:-} ]]; then
  REF=$("$ROOT/scripts/llamacpp-ref.sh" | tail -n 1) || die "scripts/llamacpp-ref.sh failed"
fi
[[ -x $REF ]] || die "llama.cpp harness '$REF' is not executable"
OUT_DIR=${OUT_DIR:-$(mktemp -d -t compare_llamacpp.XXXXXX)}
mkdir -p "$OUT_DIR"

# run_engine NAME OUTFILE CMD...: runs one benchmark, keeping stdout (JSON) and stderr; fails loudly.
run_engine() {
  local name=$1 out=$2
  shift 2
  echo "compare_llamacpp: $name: $*" >&2
  if ! "$@" >"$out" 2>"$out.stderr"; then
    cat "$out.stderr" >&2
    die "$name benchmark failed (command above; output in $out)"
  fi
}

runs=()
for model in "$@"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    tag="$(basename "$model" .gguf).round$round"
    run_engine r1.cpp "$OUT_DIR/$tag.r1.json" \
      "$R1" bench -m "$model" -p "$PROMPT" -n "$GEN" -d "$DEPTH" -t "$THREADS" -r "$REPS" --json
    run_engine llama.cpp "$OUT_DIR/$tag.llamacpp.json" \
      "$REF" bench -m "$model" -p "$PROMPT" -n "$GEN" -d "$DEPTH" -t "$THREADS" -r "$REPS" --json
    runs+=("$model" "$OUT_DIR/$tag.r1.json" "$OUT_DIR/$tag.llamacpp.json")
  done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
echo "compare_llamacpp: raw results in $OUT_DIR" >&2

# Pool the rounds per (model, test, engine) and print the table.
ROUNDS=$ROUNDS REPS=$REPS THREADS=$THREADS CPU="$cpu" node - "${runs[@]}" <<'EOF'
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
const reps = Number(process.env.REPS);
function fail(msg) { console.error(`compare_llamacpp: error: ${msg}`); process.exit(1); }

// Reads one engine's output: the JSON array, which starts on a line beginning with '[' and ends at the last
// ']' (log lines before or after it are ignored).
function readRun(file, engine) {
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf(']');
  let rows = null;
  for (let start = 0; rows === null && start >= 0 && start < end;) {
    if (text[start] === '[' && (start === 0 || text[start - 1] === '\n')) {
      try { rows = JSON.parse(text.slice(start, end + 1)); } catch (e) { /* not the array; keep looking */ }
    }
    start = text.indexOf('\n', start) < 0 ? -1 : text.indexOf('\n', start) + 1;
  }
  if (!Array.isArray(rows)) fail(`${file}: no JSON array of results in the ${engine} output`);
  for (const r of rows) {
    for (const k of ['test', 'avg_ts', 'stddev_ts']) {
      if (!(k in r)) fail(`${file}: a result lacks "${k}"`);
    }
  }
  return rows;
}

// groups: model -> test -> engine -> [{mean, sd, n}]
const groups = new Map(), order = [];
for (let i = 0; i < args.length; i += 3) {
  const model = path.basename(args[i]);
  for (const [file, engine] of [[args[i + 1], 'r1'], [args[i + 2], 'llama.cpp']]) {
    for (const r of readRun(file, engine)) {
      if (!groups.has(model)) { groups.set(model, new Map()); }
      const tests = groups.get(model);
      if (!tests.has(r.test)) { tests.set(r.test, { r1: [], 'llama.cpp': [] }); order.push([model, r.test]); }
      tests.get(r.test)[engine].push({ mean: r.avg_ts, sd: r.stddev_ts, n: r.reps || reps });
    }
  }
}

// Exact mean and sample standard deviation of the union of the rounds' reps.
function pool(parts) {
  if (parts.length === 0) return null;
  const N = parts.reduce((s, p) => s + p.n, 0);
  const M = parts.reduce((s, p) => s + p.n * p.mean, 0) / N;
  const ss = parts.reduce((s, p) => s + (p.n - 1) * p.sd * p.sd + p.n * (p.mean - M) ** 2, 0);
  return { mean: M, sd: N > 1 ? Math.sqrt(ss / (N - 1)) : 0, n: N };
}
const fmt = (p) => (p ? `${p.mean.toFixed(2)} ± ${p.sd.toFixed(2)}` : 'n/a');

console.log(`r1.cpp vs llama.cpp — ${process.env.CPU || 'unknown CPU'}, ${process.env.THREADS} threads, ` +
            `${process.env.ROUNDS} round(s) x ${reps} reps per engine, interleaved\n`);
console.log('| model | test | r1 t/s | llama.cpp t/s | r1 / llama.cpp |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [model, test] of order) {
  const g = groups.get(model).get(test);
  const a = pool(g.r1), b = pool(g['llama.cpp']);
  const ratio = a && b && b.mean > 0 ? (a.mean / b.mean).toFixed(2) : 'n/a';
  console.log(`| ${model} | ${test} | ${fmt(a)} | ${fmt(b)} | ${ratio} |`);
}
EOF
