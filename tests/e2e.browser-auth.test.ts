// Browsers, in real Chromium: a page from another origin than the broker's is refused when its
// origin is not listed (the WebSocket closes with ORIGIN_NOT_ALLOWED before any frame is read);
// with its origin in --allowed-origins and --auth on, the browser SDK (dist/actormq-client.js)
// signs in with Web Crypto and produces and pulls, and without credentials gets AUTH_REQUIRED.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { pageServer } from "./helpers/page-server.ts";
import { startAuthBroker } from "./helpers/auth.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the browser auth tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

const ALICE = { accessKey: "alice", secretKey: "alice-secret-1" };
const ACL = {
  users: [ALICE],
  acls: [{ user: "alice", entries: [{ resource: "Topic:Web*", actions: ["PUB", "SUB"], decision: "ALLOW" }] }],
};

/** In the page: sign in (or not), send, pull back; the outcome, or the error's code and message. */
async function inPage({ url, credentials, sdkPath }: { url: string; credentials?: typeof ALICE; sdkPath: string }) {
  const sdk = await import(sdkPath);
  const producer = new sdk.Producer({ endpoints: url, credentials, logLevel: "silent" });
  const consumer = new sdk.PullConsumer({ endpoints: url, group: "unused", credentials, logLevel: "silent" });
  try {
    await producer.start();
    const sent = await producer.send({ topic: "WebOrders", body: "signed in a browser", queueId: 0 });
    await consumer.start();
    const pulled = await consumer.pull({ topic: "WebOrders", queueId: 0, offset: sent.queueOffset });
    return { ok: true, bodies: pulled.msgs.map((m: { body: unknown }) => String(m.body)), secure: isSecureContext };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code, message: String((e as Error).message) };
  } finally {
    await producer.shutdown();
    await consumer.shutdown();
  }
}

it("a page from another origin: refused unless listed; listed and signed in, it produces and pulls", async () => {
  const { server, base } = await pageServer();
  const closed = await startAuthBroker(ACL); // no --allowed-origins
  const open = await startAuthBroker(ACL, { allowedOrigins: [base] });
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(base + "/");
    const run = (url: string, credentials?: typeof ALICE) => page.evaluate(inPage, { url, credentials, sdkPath: "/actormq-client.js" });

    const refused = await run(closed.url, ALICE);
    assert.is(refused.ok, false);
    assert.is(refused.code, "CONNECTION_CLOSED");
    assert.match(String(refused.message), /1008 ORIGIN_NOT_ALLOWED: http:\/\/127\.0\.0\.1:\d+ is not in --allowed-origins/);

    const anonymous = await run(open.url);
    assert.equal([anonymous.ok, anonymous.code], [false, "AUTH_REQUIRED"]);

    const signed = await run(open.url, ALICE);
    assert.equal(signed, { ok: true, bodies: ["signed in a browser"], secure: true });

    const health = await (await fetch(closed.url.replace("ws://", "http://").replace(/\/ws$/, "/health"))).json();
    assert.is(health.status, "ok", "the refusing broker serves on");
  } finally {
    await browser.close();
    server.close();
    await closed.stop();
    await open.stop();
  }
});

test.after(() => {
  // Deno keeps the refused socket's connection task for ~15 s after the broker stopped: leave
  // once idle (uvu's exit code stands).
  const t = setTimeout(() => process.exit(), 1000);
  if ("Deno" in globalThis) (globalThis as unknown as { Deno: { unrefTimer(id: unknown): void } }).Deno.unrefTimer(t);
  else (t as unknown as { unref(): void }).unref();
});

test.run();
