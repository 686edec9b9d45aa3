// Load generator for `r1 serve` (a benchmark, not a test): for each client count C, C clients each send
// R streaming chat requests back to back (fixed max_tokens, ignoring stop tokens is not possible in the API, so
// the generated count is taken from each response's usage); reports the aggregate generation rate
//   aggregate tok/s = sum of completion tokens / wall time from the first request to the last answer
// plus the mean per-stream decode rate and time to first token. Plain fetch (node >= 18), no dependencies.
//
//   node bench/server_load.mjs --url http://127.0.0.1:8080 [--clients 1,4,8] [--requests 2] [--tokens 64]
//                              [--prompt-words 32] [--model NAME] [--api-key KEY] [--json]
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8080" },
    clients: { type: "string", default: "1,4,8" },
    requests: { type: "string", default: "2" },
    tokens: { type: "string", default: "64" },
    "prompt-words": { type: "string", default: "32" },
    model: { type: "string" },
    "api-key": { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const headers = { "Content-Type": "application/json" };
if (a["api-key"]) headers.Authorization = `Bearer ${a["api-key"]}`;
const maxTokens = Number(a.tokens), requests = Number(a.requests), promptWords = Number(a["prompt-words"]);

// One streaming request; resolves to {tokens, ttft_s, total_s}.
async function one(client, i) {
  const words = Array.from({ length: promptWords }, (_, k) => `w${(client * 131 + i * 17 + k) % 997}`).join(" ");
  const body = {
    model: a.model, stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens,
    temperature: 0.6, seed: client * 1000 + i, reasoning_loop_detection: false,
    messages: [{ role: "user", content: `Client ${client} request ${i}: ${words}` }],
  };
  const t0 = performance.now();
  const r = await fetch(a.url + "/v1/chat/completions", { method: "POST", headers, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "", ttft = null, usage = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      const d = j.choices?.[0]?.delta;
      if (ttft === null && d && (d.content || d.reasoning_content)) ttft = (performance.now() - t0) / 1000;
      if (j.usage) usage = j.usage;
    }
  }
  const total = (performance.now() - t0) / 1000;
  return { tokens: usage ? usage.completion_tokens : 0, ttft_s: ttft ?? total, total_s: total };
}

async function level(clients) {
  const t0 = performance.now();
  const per = await Promise.all(Array.from({ length: clients }, async (_, c) => {
    const out = [];
    for (let i = 0; i < requests; i++) out.push(await one(c, i));
    return out;
  }));
  const wall = (performance.now() - t0) / 1000;
  const all = per.flat();
  const tokens = all.reduce((s, x) => s + x.tokens, 0);
  const mean = (f) => all.reduce((s, x) => s + f(x), 0) / all.length;
  return {
    clients, requests: all.length, tokens, wall_s: wall, aggregate_tps: tokens / wall,
    stream_tps: mean((x) => (x.tokens - 1) / Math.max(1e-9, x.total_s - x.ttft_s)), ttft_s: mean((x) => x.ttft_s),
  };
}

const levels = a.clients.split(",").map(Number);
await one(0, -1);  // warm-up: page in the weights, first-call costs
const results = [];
for (const c of levels) results.push(await level(c));
if (a.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const base = results[0].aggregate_tps;
  console.log("| clients | requests | tokens | wall s | aggregate tok/s | x vs first | per-stream tok/s | TTFT s |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results)
    console.log(`| ${r.clients} | ${r.requests} | ${r.tokens} | ${r.wall_s.toFixed(1)} | ${r.aggregate_tps.toFixed(2)} | ` +
                `${(r.aggregate_tps / base).toFixed(2)} | ${r.stream_tps.toFixed(2)} | ${r.ttft_s.toFixed(2)} |`);
}
