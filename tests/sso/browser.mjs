// A browser signing in, for the single sign-on tests: Debian's headless Chromium driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: NUL-ended JSON messages on its fds 3 and
// 4, no WebSocket and no package, so any Node runs it). It opens --url, waits for the provider's
// login form, signs in with --user/--password, waits until the page (its URL and text) matches
// --until, optionally opens --then-url and waits for --then-until, takes a screenshot and prints
// one JSON line: {matched, url, text, screenshot}.
//
//   node tests/sso/browser.mjs --url http://127.0.0.1:5000/ \
//     --user alice --password pw --until 'MLflow' [--then-url URL --then-until RE] \
//     [--resolve 'MAP host 127.0.0.1'] --screenshot out.png [--timeout 90]
//
// Exit code 0 when every wait matched, 1 otherwise (the JSON says where it stopped).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, word, i, all) => {
    if (word.startsWith("--")) pairs.push([word.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const timeoutMs = Number(args.timeout || 90) * 1000;
const profile = mkdtempSync(join(tmpdir(), "kmlf-chromium-"));
const flags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  `--user-data-dir=${profile}`, "--remote-debugging-pipe", "--window-size=1280,900",
];
if (args.resolve) flags.push(`--host-resolver-rules=${args.resolve}`);
const chromium = spawn(args.chromium || "/usr/bin/chromium", [...flags, "about:blank"], {
  stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
});
let log = "";
chromium.stderr.on("data", (chunk) => { log += chunk; });
let done = false;

function finish(code, result) {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(result) + "\n");
  chromium.kill("SIGKILL");
  setTimeout(() => { rmSync(profile, { recursive: true, force: true }); process.exit(code); }, 300);
}
chromium.on("error", (err) => finish(1, { matched: false, error: `chromium did not start: ${err}` }));
chromium.on("exit", (code) => finish(1, { matched: false, error: `chromium exited (${code}):\n${log}` }));
// (a protocol answer that never comes must not hang the test)
setTimeout(() => finish(1, { matched: false, error: `no result within ${(4 * timeoutMs) / 1000} s:\n${log}` }), 4 * timeoutMs);

// The protocol: requests with an id on fd 3, answers (and events, ignored) on fd 4.
const [toChromium, fromChromium] = [chromium.stdio[3], chromium.stdio[4]];
let next = 0;
let received = Buffer.alloc(0);
const waiting = new Map();
fromChromium.on("data", (chunk) => {
  received = Buffer.concat([received, chunk]);
  for (let end = received.indexOf(0); end !== -1; end = received.indexOf(0)) {
    const message = JSON.parse(received.subarray(0, end).toString("utf8"));
    received = received.subarray(end + 1);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject } = waiting.get(message.id);
      waiting.delete(message.id);
      message.error ? reject(new Error(JSON.stringify(message.error))) : resolve(message.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = ++next;
  toChromium.write(JSON.stringify({ id, method, params, sessionId }) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

const { targetId } = await send("Target.createTarget", { url: "about:blank" });
const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
const page = (method, params) => send(method, params, sessionId);
await page("Page.enable");
await page("Runtime.enable");
const evaluate = async (expression) =>
  (await page("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })).result.value;
const state = async () => {
  try {
    return await evaluate("({url: location.href, text: document.body ? document.body.innerText : ''})");
  } catch {
    return { url: "", text: "" };
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(test, what) {
  const deadline = Date.now() + timeoutMs;
  let now = await state();
  while (Date.now() < deadline) {
    now = await state();
    if (await test(now)) return { ok: true, now };
    await sleep(500);
  }
  return { ok: false, now, waitedFor: what };
}

async function screenshot() {
  if (!args.screenshot) return null;
  const { data } = await page("Page.captureScreenshot", { format: "png" });
  writeFileSync(args.screenshot, Buffer.from(data, "base64"));
  return args.screenshot;
}

async function stop(ok, now, extra = {}) {
  const shot = await screenshot().catch((err) => `screenshot failed: ${err}`);
  finish(ok ? 0 : 1, { matched: ok, url: now.url, text: now.text.slice(0, 3000), screenshot: shot, ...extra });
}

await page("Page.navigate", { url: args.url });
const form = await until(
  async () => (await evaluate("!!document.querySelector('input[type=password]')")) === true,
  "the provider's login form",
);
if (!form.ok) await stop(false, form.now, { waitedFor: form.waitedFor });
else {
  await evaluate(`(() => {
    const set = (el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); };
    set(document.querySelector('input[name=username], input[type=email], input[type=text]'), ${JSON.stringify(args.user)});
    set(document.querySelector('input[type=password]'), ${JSON.stringify(args.password)});
    const form = document.querySelector('input[type=password]').form;
    form.requestSubmit ? form.requestSubmit() : form.submit();
  })()`);
  await sleep(500);
  const pattern = new RegExp(args.until);
  const first = await until(async (now) => pattern.test(`${now.url}\n${now.text}`), args.until);
  if (!first.ok || !args["then-url"]) await stop(first.ok, first.now, { waitedFor: first.ok ? undefined : args.until });
  else {
    await page("Page.navigate", { url: args["then-url"] });
    const then = new RegExp(args["then-until"]);
    const second = await until(async (now) => then.test(`${now.url}\n${now.text}`), args["then-until"]);
    await sleep(1000); // the list renders its rows after the first match
    await stop(second.ok, await state(), { waitedFor: second.ok ? undefined : args["then-until"] });
  }
}
