// Shared helpers for the node tests of `r1 serve`: start a real server process on a free port of 127.0.0.1,
// load the client packages from .cache/node (installed by scripts/fetch-assets.sh), and small HTTP helpers.
//
// Environment (set by tests/server/CMakeLists.txt): R1_BIN (the r1 binary), R1_TEST_MODEL (tiny random
// R1-style GGUF), R1_NODE_MODULES (.cache/node/node_modules), R1_ASSETS_DIR (tokenizer.json files),
// R1_TEST_OUT (where screenshots go).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set (run these tests through ctest)`);
  return v;
};

// require() from the cached node_modules (ESM resolution would not look there).
export const requireModule = (name) => {
  const req = createRequire(path.join(env("R1_NODE_MODULES"), "noop.js"));
  try {
    return req(name);
  } catch (e) {
    throw new Error(`cannot load '${name}' from ${env("R1_NODE_MODULES")} (run scripts/fetch-assets.sh): ${e.message}`);
  }
};

// Starts `r1 serve` with the tiny model on a free port; resolves to {url, port, proc, stop(), log()}.
export async function startServer(extraArgs = [], { timeoutMs = 30000 } = {}) {
  const args = ["serve", "-m", env("R1_TEST_MODEL"), "--alias", "tiny-r1", "--port", "0", ...extraArgs];
  const proc = spawn(env("R1_BIN"), args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (d) => { log += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + log)), timeoutMs);
    proc.stderr.on("data", (d) => {
      log += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${log}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.once("exit", (code) => resolve(code));
    proc.kill("SIGTERM");
    setTimeout(() => proc.kill("SIGKILL"), 10000).unref();
  });
  return { url, port, proc, stop, log: () => log };
}

// Token id of an exact vocabulary string ("." or "Ġthe") in the DeepSeek-V3 tokenizer the test model uses.
let vocab = null;
export function tokenId(text) {
  if (!vocab) vocab = JSON.parse(readFileSync(path.join(env("R1_ASSETS_DIR"), "deepseek_v3", "tokenizer.json"), "utf8")).model.vocab;
  const id = vocab[text];
  if (id === undefined) throw new Error(`'${text}' is not in the vocabulary`);
  return id;
}

export async function getJson(url, headers = {}) {
  const r = await fetch(url, { headers });
  return { status: r.status, body: await r.json() };
}

// Polls /health until fn(health) is true or the time runs out; returns the last health object.
export async function waitHealth(url, fn, timeoutMs = 5000) {
  const t0 = Date.now();
  let h = null;
  while (Date.now() - t0 < timeoutMs) {
    h = (await getJson(url + "/health")).body;
    if (fn(h)) return h;
    await new Promise((r) => setTimeout(r, 25));
  }
  return h;
}

export async function metrics(url, headers = {}) {
  const r = await fetch(url + "/metrics", { headers });
  const text = await r.text();
  const values = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    values[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return values;
}
