// `r1 serve` driven by the official Ollama client (npm `ollama`): tags/show/ps/version, chat and generate
// (plain and streaming NDJSON) with the thought in message.thinking / thinking, think on/off, options
// (num_predict, temperature, seed, stop, num_ctx), nanosecond durations, errors, and abort freeing the slot.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, requireModule, waitHealth, tokenId } from "./common.mjs";

const { Ollama } = requireModule("ollama");
let server, ollama;

before(async () => {
  server = await startServer(["--parallel", "2", "--ctx", "1024"]);
  ollama = new Ollama({ host: server.url });
});
after(async () => { await server.stop(); });

const greedy = (extra = {}) => ({ temperature: 0, num_predict: 12, ...extra });

test("tags, show, ps, version", async () => {
  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  const m = tags.models[0];
  assert.equal(m.name, "tiny-r1:latest");
  assert.ok(m.size > 1e6);
  assert.equal(m.details.format, "gguf");
  assert.equal(m.details.family, "qwen2");
  assert.match(m.digest, /^[0-9a-f]{16}$/);
  const show = await ollama.show({ model: "tiny-r1" });
  assert.ok(show.capabilities.includes("thinking"));
  assert.equal(show.chat_format, "deepseek-r1");  // detected from the GGUF's template
  assert.equal(show.model_info["general.architecture"], "qwen2");
  assert.equal(show.model_info["qwen2.block_count"], 2);
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, "tiny-r1:latest");
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+$/);
});

test("chat: thinking apart from content, done_reason and nanosecond durations", async () => {
  const r = await ollama.chat({ model: "tiny-r1", messages: [{ role: "user", content: "Why is the sky blue?" }],
                                think: true, options: greedy() });
  assert.equal(r.done, true);
  assert.equal(r.done_reason, "length");
  assert.equal(r.message.role, "assistant");
  assert.ok(r.message.thinking.length > 0);
  assert.equal(r.message.content, "");
  assert.equal(r.eval_count, 12);
  assert.ok(r.prompt_eval_count > 0);
  assert.ok(r.eval_duration > 1e5 && r.eval_duration < 6e10, `eval_duration ${r.eval_duration} ns`);
  assert.ok(r.total_duration >= r.eval_duration + r.prompt_eval_duration);
  assert.equal(r.load_duration, 0);
  assert.ok(!Number.isNaN(Date.parse(r.created_at)));
});

test("chat streaming equals the plain reply; thinking parts come before content parts", async () => {
  const req = { model: "tiny-r1:latest", messages: [{ role: "user", content: "Count." }], think: true,
                options: greedy({ num_predict: 30, reasoning_budget: 5, logit_bias: { [tokenId(".")]: 100 } }) };
  const plain = await ollama.chat(req);
  const stream = await ollama.chat({ ...req, stream: true });
  let thinking = "", content = "", order = "", last = null;
  for await (const part of stream) {
    if (part.message.thinking) { thinking += part.message.thinking; order += "t"; }
    if (part.message.content) { content += part.message.content; order += "c"; }
    last = part;
  }
  assert.equal(thinking, ".....");
  assert.match(content, /^\.+$/);
  assert.match(order, /^t+c+$/);
  assert.equal(last.done, true);
  assert.equal(last.reasoning_closed_by, "budget");
  assert.equal(plain.message.thinking, thinking);
  assert.equal(plain.message.content, content);
  assert.equal(plain.eval_count, last.eval_count);
});

test("think: false answers at once", async () => {
  const r = await ollama.chat({ model: "tiny-r1", messages: [{ role: "user", content: "Hi" }], think: false, options: greedy() });
  assert.equal(r.message.thinking, undefined);
  assert.ok(r.message.content.length > 0);
  assert.equal(r.reasoning_closed_by, "disabled");
});

test("generate: response and thinking, streaming and not, raw mode, stop and seed", async () => {
  const plain = await ollama.generate({ model: "tiny-r1", prompt: "Tell me", think: true, options: greedy() });
  assert.ok(plain.thinking.length > 0);
  assert.equal(plain.response, "");
  assert.equal(plain.done_reason, "length");
  const stream = await ollama.generate({ model: "tiny-r1", prompt: "Tell me", think: true, options: greedy(), stream: true });
  let thinking = "";
  for await (const part of stream) thinking += part.thinking ?? "";
  assert.equal(thinking, plain.thinking);
  const raw = await ollama.generate({ model: "tiny-r1", prompt: "Once upon a time", raw: true, options: greedy({ num_predict: 6 }) });
  assert.equal(raw.thinking, undefined);
  assert.ok(raw.response.length > 0);
  assert.equal(raw.eval_count, 6);
  // A stop string taken from the middle of the greedy output cuts it there.
  const text = plain.thinking;
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  const cut = await ollama.generate({ model: "tiny-r1", prompt: "Tell me", think: true, options: greedy({ stop: [stop] }) });
  assert.equal(cut.thinking, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.done_reason, "stop");
  // Sampling with a seed is reproducible.
  const a = await ollama.generate({ model: "tiny-r1", prompt: "Seeded", options: { temperature: 1, seed: 42, num_predict: 10 } });
  const b = await ollama.generate({ model: "tiny-r1", prompt: "Seeded", options: { temperature: 1, seed: 42, num_predict: 10 } });
  assert.equal(a.thinking, b.thinking);
});

test("errors: unknown model 404, num_ctx beyond the server 400, prompt too long 400", async () => {
  await assert.rejects(ollama.chat({ model: "llama3", messages: [{ role: "user", content: "x" }] }),
                       (e) => e.name === "ResponseError" && e.status_code === 404 && /llama3/.test(e.error));
  await assert.rejects(ollama.generate({ model: "tiny-r1", prompt: "x", options: { num_ctx: 8192 } }),
                       (e) => e.status_code === 400 && /num_ctx/.test(e.error));
  await assert.rejects(ollama.generate({ model: "tiny-r1", prompt: "word ".repeat(2000) }),
                       (e) => e.status_code === 400 && /context holds 1024/.test(e.error));
  const ok = await ollama.generate({ model: "tiny-r1", prompt: "ok?", options: greedy({ num_predict: 2 }) });
  assert.equal(ok.eval_count, 2);
});

test("abort() of a stream frees its slot at once", async () => {
  const stream = await ollama.chat({ model: "tiny-r1", messages: [{ role: "user", content: "Go on forever" }],
                                     stream: true, options: { num_predict: -1, temperature: 0 } });
  let n = 0;
  for await (const part of stream) {
    if (++n === 3) break;
    assert.equal(part.done, false);
  }
  stream.abort();  // the client hangs up
  // within 500 ms: left alone, the stream would run on to the 1024-token context for about a second more
  const h = await waitHealth(server.url, (x) => x.slots_processing === 0, 500);
  assert.equal(h.slots_processing, 0, "the slot is free again");
});
