// Real Firefox for browser tests: Debian's firefox-esr, headless, driven over WebDriver BiDi (the
// W3C protocol Firefox speaks natively on --remote-debugging-port) with our ws dependency, since
// playwright-core drives only Playwright's own patched Firefox builds, which this machine cannot
// download. Enough of BiDi for our tests: open a page and evaluate expressions in it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";

export const FIREFOX = "/usr/bin/firefox-esr";

/** Why Firefox tests cannot run here, or null when they can. */
export function firefoxUnavailable(): string | null {
  return existsSync(FIREFOX) ? null : `no Firefox at ${FIREFOX} (apt-get install firefox-esr)`;
}

export interface FirefoxPage {
  /** The value of a JavaScript expression in the page (awaited if it is a promise). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/** Starts headless Firefox with a fresh profile and opens `url` in it. */
export async function openInFirefox(url: string): Promise<FirefoxPage> {
  const profile = mkdtempSync(join(tmpdir(), "actormq-firefox-"));
  const child: ChildProcess = spawn(FIREFOX, ["--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: "1" },
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`Firefox did not open its BiDi port in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`Firefox exited ${code}:\n${out}`)));
  });
  const ws = new WebSocket(`${endpoint}/session`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let nextId = 0;
  const pending = new Map<number, (m: { type: string; result?: any; error?: string; message?: string }) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(String(data));
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  const command = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, (m) => (m.type === "success" ? resolve(m.result) : reject(new Error(`${method}: ${m.error} ${m.message}`))));
      ws.send(JSON.stringify({ id, method, params }));
    });
  await command("session.new", { capabilities: {} });
  const { contexts } = await command("browsingContext.getTree");
  const context = contexts[0].context;
  await command("browsingContext.navigate", { context, url, wait: "complete" });
  return {
    async evaluate<T>(expression: string) {
      const r = await command("script.evaluate", { expression, target: { context }, awaitPromise: true, resultOwnership: "none" });
      if (r.type === "exception") throw new Error(`in the page: ${r.exceptionDetails?.text}`);
      return deserialize(r.result) as T;
    },
    async close() {
      await command("session.end").catch(() => {});
      ws.close();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** BiDi's remote values for what our expressions return: primitives, arrays, plain objects. */
function deserialize(v: { type: string; value?: any }): unknown {
  switch (v.type) {
    case "undefined":
      return undefined;
    case "null":
      return null;
    case "array":
      return (v.value as { type: string }[]).map(deserialize);
    case "object":
      return Object.fromEntries((v.value as [string, { type: string }][]).map(([k, x]) => [k, deserialize(x)]));
    default:
      return v.value;
  }
}
