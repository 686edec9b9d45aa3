// `r1 serve` driven by the official OpenAI SDK (npm `openai`): models, plain and streaming chat with the
// reasoning in reasoning_content, usage with reasoning_tokens, thinking off, the reasoning budget and loop
// detection (steered deterministically with logit_bias on the random model), text completions, API errors,
// and 16 concurrent streams that each equal their sequential (greedy) output.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, requireModule, tokenId, metrics } from "./common.mjs";

const OpenAI = requireModule("openai");
let server, client;
const KEY = "test-key-123";

before(async () => {
  server = await startServer(["--api-key", KEY, "--parallel", "4", "--ctx", "2048"]);
  client = new OpenAI({ apiKey: KEY, baseURL: server.url + "/v1", maxRetries: 0, timeout: 120000 });
});
after(async () => { await server.stop(); });

const ask = (content, extra = {}) => ({
  model: "tiny-r1", messages: [{ role: "user", content }], temperature: 0, max_tokens: 16, ...extra,
});

async function streamed(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const out = { reasoning: "", content: "", order: [], finish: null, closedBy: undefined, usage: null, chunks: 0, role: null };
  for await (const chunk of stream) {
    out.chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) out.usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.role) out.role = c.delta.role;
    if (c.delta.reasoning_content) { out.reasoning += c.delta.reasoning_content; out.order.push("r"); }
    if (c.delta.content) { out.content += c.delta.content; out.order.push("c"); }
    if (c.finish_reason) { out.finish = c.finish_reason; out.closedBy = c.reasoning_closed_by; }
  }
  return out;
}

test("models.list names the loaded model", async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ["tiny-r1"]);
  const one = await client.models.retrieve("tiny-r1");
  assert.equal(one.id, "tiny-r1");
});

test("plain chat: the thought in reasoning_content, usage with reasoning_tokens", async () => {
  const r = await client.chat.completions.create(ask("What is 2 + 2?"));
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, "tiny-r1");
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.equal(typeof c.message.reasoning_content, "string");
  assert.ok(c.message.reasoning_content.length > 0, "the R1 prompt opens the thought: output starts as reasoning");
  assert.equal(c.message.content, "");  // 16 tokens of a random model never leave the thought
  assert.equal(c.finish_reason, "length");
  assert.equal(c.reasoning_closed_by, null);
  assert.equal(r.usage.completion_tokens, 16);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 16);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 16);
  assert.ok(r.usage.prompt_tokens > 5);
});

test("streaming: role chunk, reasoning deltas before content deltas, finish, usage, [DONE]; equals non-streamed", async () => {
  // logit_bias makes the model say "." forever; the budget of 6 closes the thought at the 6th (a sentence end).
  const params = ask("Stream it", { max_tokens: 30, reasoning_budget: 6, logit_bias: { [tokenId(".")]: 100 } });
  const s = await streamed(params);
  assert.equal(s.role, "assistant");
  assert.equal(s.reasoning, "......");
  assert.ok(s.content.length > 0 && /^\.+$/.test(s.content), JSON.stringify(s.content));
  const firstContent = s.order.indexOf("c");
  assert.ok(firstContent > 0 && !s.order.slice(firstContent).includes("r"), s.order.join(""));
  assert.equal(s.finish, "length");
  assert.equal(s.closedBy, "budget");
  assert.equal(s.usage.completion_tokens, 30);
  assert.ok(s.usage.completion_tokens_details.reasoning_tokens > 6 && s.usage.completion_tokens_details.reasoning_tokens < 30);
  const plain = await client.chat.completions.create(params);
  assert.equal(plain.choices[0].message.reasoning_content, s.reasoning);
  assert.equal(plain.choices[0].message.content, s.content);
  assert.equal(plain.choices[0].reasoning_closed_by, "budget");
  assert.deepEqual(plain.usage.completion_tokens_details, s.usage.completion_tokens_details);
  // The same budget through DeepSeek/Anthropic-style thinking.budget_tokens.
  const viaThinking = await client.chat.completions.create({ ...ask("Stream it", { max_tokens: 30, logit_bias: params.logit_bias }),
                                                             thinking: { type: "enabled", budget_tokens: 6 } });
  assert.equal(viaThinking.choices[0].message.reasoning_content, "......");
});

test("thinking disabled: no reasoning, the answer starts at once", async () => {
  const r = await client.chat.completions.create(ask("Answer directly", { thinking: { type: "disabled" } }));
  const c = r.choices[0];
  assert.equal(c.message.reasoning_content, null);
  assert.ok(c.message.content.length > 0);
  assert.equal(c.reasoning_closed_by, "disabled");
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
});

test("loop detection closes a repeating thought, then the model answers", async () => {
  const bias = { [tokenId("Ġthe")]: 100 };
  const r = await client.chat.completions.create(ask("Loop", { max_tokens: 40, logit_bias: bias }));
  const c = r.choices[0];
  assert.equal(c.reasoning_closed_by, "loop");
  assert.equal(c.message.reasoning_content, "the" + " the".repeat(12));  // 10-gram seen 4 times: 13 tokens
  assert.match(c.message.content, /^the( the)*$/);
  const off = await client.chat.completions.create(ask("Loop", { max_tokens: 40, logit_bias: bias, reasoning_loop_detection: false }));
  assert.equal(off.choices[0].reasoning_closed_by, null);
  assert.equal(off.choices[0].message.content, "");
});

test("text completions", async () => {
  const r = await client.completions.create({ model: "tiny-r1", prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.choices[0].text.length > 0);
  assert.equal(r.usage.completion_tokens, 8);
  const stream = await client.completions.create({ model: "tiny-r1", prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  assert.equal(text, r.choices[0].text);
});

test("errors: wrong key 401, unknown model 404, prompt too long 400, bad values 400", async () => {
  const bad = new OpenAI({ apiKey: "wrong", baseURL: server.url + "/v1", maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create(ask("hi")), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(client.chat.completions.create({ ...ask("hi"), model: "gpt-4o" }),
                       (e) => e instanceof OpenAI.NotFoundError && /gpt-4o/.test(e.message));
  const long = "word ".repeat(3000);
  await assert.rejects(client.chat.completions.create(ask(long)),
                       (e) => e instanceof OpenAI.BadRequestError && /context holds 2048/.test(e.message));
  await assert.rejects(client.chat.completions.create(ask("hi", { max_tokens: -1 })),
                       (e) => e.status === 400 && /max_tokens/.test(e.message));
  await assert.rejects(client.chat.completions.create(ask("hi", { temperature: "hot" })),
                       (e) => e.status === 400 && /temperature/.test(e.message));
  // ... and it still serves.
  const ok = await client.chat.completions.create(ask("still there?", { max_tokens: 2 }));
  assert.equal(ok.usage.completion_tokens, 2);
});

test("16 concurrent streams all complete, each equal to its sequential output", async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Request ${i}: count to ${i + 3} and explain ${i * 7}.`);
  const sequential = [];
  for (const p of prompts) {
    const r = await client.chat.completions.create(ask(p, { max_tokens: 20 }));
    sequential.push(r.choices[0].message.reasoning_content + "|" + r.choices[0].message.content);
  }
  const t0 = Date.now();
  const results = await Promise.all(prompts.map((p) => streamed(ask(p, { max_tokens: 20 }))));
  const secs = (Date.now() - t0) / 1000;
  results.forEach((s, i) => {
    assert.equal(s.finish, "length", `stream ${i}`);
    assert.equal(s.usage.completion_tokens, 20, `stream ${i}`);
    assert.equal(s.reasoning + "|" + s.content, sequential[i], `stream ${i} differs from its sequential output`);
  });
  const m = await metrics(server.url, { Authorization: `Bearer ${KEY}` });
  assert.equal(m["r1_batch_sequences_max"], 4, "4 slots decoded together in one forward call");
  assert.equal(m["r1_slots_busy"], 0);
  assert.equal(m["r1_queue_depth"], 0);
  console.log(`16 streams x 20 tokens in ${secs.toFixed(2)} s`);
});
