// The web chat at / end to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
// type a question, see the reasoning and then the answer stream in, stop a running generation (and see the
// server free the slot), start a new chat; the API key from the settings; screenshots go to $R1_TEST_OUT.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer, requireModule, env, waitHealth } from "./common.mjs";

const { chromium } = requireModule("playwright-core");
const CHROMIUM = process.env.R1_CHROMIUM || "/usr/bin/chromium";
let server, browser, page, profile;
const pageErrors = [];

before(async () => {
  server = await startServer(["--parallel", "2", "--ctx", "16384", "--api-key", "web-key"]);
  profile = mkdtempSync(path.join(os.tmpdir(), "r1-chromium-"));
  // This machine has no network beyond loopback: background networking would only produce refused
  // connections, so it is switched off; a fresh profile (--user-data-dir) keeps runs independent.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(server.url + "/");
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const shot = async (name) => {
  const file = path.join(env("R1_TEST_OUT"), name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(statSync(file).size > 5000, `${file} is a real image`);
};

async function setSetting(id, value) {
  if (!(await page.locator("#settings").evaluate((e) => e.classList.contains("open")))) await page.click("#settings-toggle");
  await page.fill(`#${id}`, String(value));
  await page.dispatchEvent(`#${id}`, "change");
}

test("the page loads, asks for the API key, then names the model", async () => {
  assert.equal(await page.title(), "r1.cpp chat");
  await page.waitForFunction(() => /API key/.test(document.getElementById("model-name").textContent));
  await setSetting("api-key", "web-key");
  await page.waitForFunction(() => document.getElementById("model-name").textContent === "tiny-r1");
});

test("a question streams reasoning, then the answer", async () => {
  // A budget of 12 closes the random model's thought (at a sentence end, or 64 tokens later), then it answers.
  await setSetting("temperature", 0);
  await setSetting("budget", 12);
  await setSetting("max-tokens", 120);
  await page.fill("#prompt", "What is the capital of France?");
  await page.keyboard.press("Enter");
  const msg = page.locator(".msg.assistant").last();
  // The stream may finish within a few frames on a fast machine, so check the end state rather than racing it:
  // the reasoning was streamed into its (now folded) block, and the answer below it.
  await msg.locator(".note").filter({ hasText: "finish" }).waitFor({ timeout: 30000 });
  assert.match(await msg.locator(".reasoning-text").textContent(), /\S/, "reasoning was streamed");
  assert.match(await msg.locator(".answer").textContent(), /\S/, "the answer follows the reasoning");
  const note = await msg.locator(".note").textContent();
  assert.match(note, /reasoning closed by (budget|loop|model)/);
  assert.match(note, /\d+ tokens \(\d+ reasoning\)/);
  assert.equal(await page.locator(".msg.user .text").last().textContent(), "What is the capital of France?");
  // The thought folds once the answer starts; it can be opened again.
  assert.equal(await msg.locator("details.reasoning").evaluate((d) => d.open), false);
  await msg.locator("details.reasoning summary").click();
  assert.equal(await msg.locator("details.reasoning").evaluate((d) => d.open), true);
  await shot("web-chat-answer.png");
});

test("stop ends a running generation and frees the server's slot", async () => {
  await setSetting("budget", -1);
  // a long thought: only the stop button ends it early (the tiny model makes 3000 tokens in about 5 s, which a
  // loaded machine can spend before the click)
  await setSetting("max-tokens", 16000);
  await page.fill("#prompt", "Think about this for a long time.");
  await page.keyboard.press("Enter");
  const msg = page.locator(".msg.assistant").last();
  await msg.locator(".reasoning-text").filter({ hasText: /\S/ }).waitFor({ timeout: 30000 });
  assert.equal(await page.locator("#stop").isVisible(), true, "the stop button shows while streaming");
  const busy = await waitHealth(server.url, (h) => h.slots_processing === 1, 3000);
  assert.equal(busy.slots_processing, 1);
  await page.click("#stop");
  await msg.locator(".note").filter({ hasText: "stopped" }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator("#send").isVisible(), true);
  const idle = await waitHealth(server.url, (h) => h.slots_processing === 0, 3000);
  assert.equal(idle.slots_processing, 0, "the stopped stream's slot is free");
  const len = (await msg.locator(".reasoning-text").textContent()).length;
  await page.waitForTimeout(300);
  assert.equal((await msg.locator(".reasoning-text").textContent()).length, len, "no text after stop");
  await shot("web-chat-stopped.png");
});

test("thinking off and new chat", async () => {
  await page.click("#thinking");  // uncheck
  await page.dispatchEvent("#thinking", "change");
  await setSetting("max-tokens", 20);
  await page.fill("#prompt", "Quick answer please.");
  await page.keyboard.press("Enter");
  const msg = page.locator(".msg.assistant").last();
  await msg.locator(".note").filter({ hasText: "finish" }).waitFor({ timeout: 30000 });
  assert.equal(await msg.locator("details.reasoning").isVisible(), false, "no reasoning block");
  assert.ok((await msg.locator(".answer").textContent()).length > 0);
  assert.match(await msg.locator(".note").textContent(), /reasoning closed by disabled/);
  await page.click("#new-chat");
  assert.equal(await page.locator(".msg").count(), 0);
});

test("no script errors on the page", () => {
  assert.deepEqual(pageErrors, []);
});
