// The browser SDK in real Chromium: a page served from a plain HTTP server loads
// dist/actormq-client.js, produces messages and consumes them with a PushConsumer inside the
// page, against a real broker; Node checks what the page saw against what the broker stored.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, PullConsumer } from "../client/mod.ts";
import { startBroker } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { pageServer } from "./helpers/page-server.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the browser SDK test: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("a page produces and consumes with dist/actormq-client.js", async () => {
  // The page is served from another origin: the broker lets it in when listed.
  const { server, base } = await pageServer("sdk");
  const env = await startBroker({ allowedOrigins: [base] });
  const browser = await launchChromium();
  const admin = new Admin({ endpoints: env.url });
  try {
    await admin.start();
    await admin.createTopic("BrowserT", 4);
    const page = await browser.context.newPage();
    await page.goto(base + "/");
    const N = 40;
    const seen = await page.evaluate(async ({ url, n, sdkPath }) => {
      // A variable, so the test's own bundler leaves the page's import alone.
      const sdk = await import(sdkPath);
      const received: { id: string; body: string; queueId: number; queueOffset: number }[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const consumer = new sdk.PushConsumer({
        endpoints: url,
        group: "browser-cg",
        subscriptions: { BrowserT: "*" },
        consumeFrom: "first",
        handler: (m: { id: string; body: string; queueId: number; queueOffset: number }) => {
          received.push({ id: m.id, body: String(m.body), queueId: m.queueId, queueOffset: m.queueOffset });
          if (received.length === n) done();
          return "SUCCESS";
        },
      });
      await consumer.start();
      const producer = new sdk.Producer({ endpoints: url, group: "browser-pg" });
      await producer.start();
      const sent = await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic: "BrowserT", body: `from the page ${i}`, tags: "web" })));
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`received ${received.length} of ${n}`)), 20_000))]);
      await producer.shutdown();
      await consumer.shutdown();
      return { sent: sent.map((r: { msgId: string; queue: { queueId: number }; queueOffset: number }) => ({ id: r.msgId, queueId: r.queue.queueId, queueOffset: r.queueOffset })), received, ws: typeof WebSocket };
    }, { url: env.url, n: N, sdkPath: "/actormq-client.js" });

    assert.is(seen.sent.length, N);
    assert.is(seen.received.length, N);
    // Every message the page sent, it received once, at the place the broker said it stored it.
    const sentById = new Map(seen.sent.map((s) => [s.id, s]));
    assert.is(new Set(seen.received.map((r) => r.id)).size, N);
    for (const r of seen.received) {
      const s = sentById.get(r.id);
      assert.ok(s, `received ${r.id} was sent`);
      assert.is(r.queueId, s!.queueId);
      assert.is(r.queueOffset, s!.queueOffset);
    }
    // Node reads the same messages from the broker: the bodies the page wrote.
    const reader = new PullConsumer({ endpoints: env.url, group: "node-check" });
    await reader.start();
    const bodies: string[] = [];
    for (let q = 0; q < 4; q++) {
      const r = await reader.pull({ topic: "BrowserT", queueId: q, offset: 0, maxCount: 100 });
      for (const m of r.msgs) bodies.push(String(m.body));
    }
    await reader.shutdown();
    assert.equal(bodies.sort(), Array.from({ length: N }, (_, i) => `from the page ${i}`).sort());
    // The page's consumer group committed everything it consumed.
    const progress = await admin.consumerProgress("browser-cg");
    assert.is(progress.totalLag, 0);
  } finally {
    await admin.shutdown();
    await browser.close();
    server.close();
    await env.stop();
  }
});

test.run();
