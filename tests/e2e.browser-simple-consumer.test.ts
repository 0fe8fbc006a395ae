// ActorMQ's SimpleConsumer (POP) from the browser bundle in real Chromium: a page served from a
// plain HTTP server loads dist/actormq-client.js and runs three SimpleConsumers of one group on
// a topic of two queues (more consumers than queues: they share it, nobody rebalances), leaves a
// message unacked to see it come back, and changes one's invisibility. Node checks the broker
// afterwards: nothing left to hand out.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, SimpleConsumer } from "../client/mod.ts";
import { startBroker } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { pageServer } from "./helpers/page-server.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the browser SimpleConsumer test: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("three SimpleConsumers in a page share a two-queue topic: each message once, an unacked one back with deliveryAttempt 2", async () => {
  // The page is served from another origin: the broker lets it in when listed.
  const { server, base } = await pageServer("pop");
  const env = await startBroker({ allowedOrigins: [base] });
  const browser = await launchChromium();
  const admin = new Admin({ endpoints: env.url });
  try {
    await admin.start();
    await admin.createTopic("BrowserPop", 2);
    const page = await browser.context.newPage();
    await page.goto(base + "/");
    const N = 60;
    const seen = await page.evaluate(async ({ url, n, sdkPath }) => {
      // A variable, so the test's own bundler leaves the page's import alone.
      const sdk = await import(sdkPath);
      type Msg = { id: string; body: string; deliveryAttempt: number; receiptHandle: string; invisibleUntil: number };
      const consumers = [0, 1, 2].map(() => new sdk.SimpleConsumer({ endpoints: url, group: "browser-pop", subscriptions: { BrowserPop: "*" }, awaitMs: 300 }));
      await Promise.all(consumers.map((c) => c.start()));
      const producer = new sdk.Producer({ endpoints: url });
      await producer.start();
      const sent = await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic: "BrowserPop", body: `pop ${i}` })));
      // All three take and ack, concurrently, until every message came.
      const byConsumer: string[][] = [[], [], []];
      let got = 0;
      const deadline = Date.now() + 20_000;
      await Promise.all(consumers.map(async (c, k) => {
        while (got < n && Date.now() < deadline) {
          const msgs: Msg[] = await c.receive(4, 30_000);
          for (const m of msgs) {
            byConsumer[k].push(m.id);
            got++;
            await c.ack(m);
          }
        }
      }));
      // One left unacked by the first consumer comes back to the second when its 800 ms are up.
      const slow = await producer.send({ topic: "BrowserPop", body: "slow" });
      let first: Msg | undefined;
      while (!first && Date.now() < deadline) [first] = await consumers[0].receive(1, 800);
      let again: Msg | undefined;
      while (!again && Date.now() < deadline) [again] = await consumers[1].receive(1, 30_000);
      // Its new handle after a change of invisibility settles it; the first delivery's is stale.
      const before = again!.receiptHandle;
      await consumers[1].changeInvisibleDuration(again!, 60_000);
      const changed = { handleChanged: again!.receiptHandle !== before, untilAhead: again!.invisibleUntil - Date.now() };
      await consumers[1].ack(again!);
      let stale = "";
      await consumers[0].ack(first!).catch((e: { code?: string }) => (stale = String(e.code)));
      await producer.shutdown();
      await Promise.all(consumers.map((c) => c.shutdown()));
      return {
        sent: sent.map((r: { msgId: string }) => r.msgId),
        byConsumer,
        slow: slow.msgId,
        first: first && { id: first.id, attempt: first.deliveryAttempt },
        again: again && { id: again.id, attempt: again.deliveryAttempt, body: String(again.body) },
        changed,
        stale,
      };
    }, { url: env.url, n: N, sdkPath: "/actormq-client.js" });

    const all = seen.byConsumer.flat();
    assert.is(all.length, N, "each message once");
    assert.equal([...all].sort(), [...seen.sent].sort());
    assert.ok(seen.byConsumer.filter((ids) => ids.length > 0).length >= 2, `shared (${seen.byConsumer.map((c) => c.length).join(", ")})`);
    assert.equal(seen.first, { id: seen.slow, attempt: 1 });
    assert.equal(seen.again, { id: seen.slow, attempt: 2, body: "slow" });
    assert.ok(seen.changed.handleChanged, "a new receipt handle");
    assert.ok(seen.changed.untilAhead > 50_000, `invisible for a minute more (${seen.changed.untilAhead} ms)`);
    assert.is(seen.stale, "INVALID_RECEIPT_HANDLE", "the first delivery's handle expired with it");
    // Nothing is left to hand out: everything was acked.
    const check = new SimpleConsumer({ endpoints: env.url, group: "browser-pop", subscriptions: { BrowserPop: "*" }, awaitMs: 300 });
    await check.start();
    assert.equal(await check.receive(16, 1000), []);
    await check.shutdown();
  } finally {
    await admin.shutdown();
    await browser.close();
    server.close();
    await env.stop();
  }
});

test.run();
