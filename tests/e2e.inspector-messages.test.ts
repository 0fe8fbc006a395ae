// The console's message browser in real Chromium against a real broker: a consumer that fails a
// message sends it to its group's dead-letter topic; the overview's DLQ count leads to it; the
// browser shows its body (JSON, text, hex), its properties and its trace (stored, dead-lettered);
// "Resend" puts it back on its topic, and the group, healthy again, consumes it. Browsing by time
// range returns exactly the messages stored in it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PushConsumer } from "../client/mod.ts";
import type { MessageView } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the message browser tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("a dead letter found in the browser, resent to its topic, and consumed; browsing by time range", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  let failing = true;
  const consumed: MessageView[] = [];
  const consumer = new PushConsumer({
    endpoints: env.url,
    group: "audit",
    subscriptions: { Payments: "*" },
    maxReconsumeTimes: 0, // the first failure dead-letters
    handler: async (m) => {
      if (failing && String(m.body).includes("refund")) return "RECONSUME_LATER";
      consumed.push(m);
      return "SUCCESS";
    },
  });
  const browser = await launchChromium();
  try {
    await Promise.all([admin.start(), producer.start()]);
    await admin.createTopic("Payments", 1);
    await consumer.start();
    const sent: Awaited<ReturnType<Producer["send"]>>[] = [];
    for (const [i, kind] of ["charge", "refund", "charge"].entries()) sent.push(await producer.send({ topic: "Payments", body: JSON.stringify({ payment: i, kind }), keys: [`pay-${i}`], tags: kind }));
    await until("the refund dead-lettered", async () => {
      const dlq = (await admin.topicList({ system: true })).some((t) => t.topic === "%DLQ%audit");
      return dlq && (await admin.topicStatus("%DLQ%audit")).queues[0].maxOffset === 1 && consumed.length === 2;
    }, 15_000);

    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${new URL(env.url).port}/`);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    await until("the DLQ count", async () => (await page.locator('#groups tr[data-key="audit"] td[data-col="dlq"]').count()) > 0 && (await page.locator('#groups tr[data-key="audit"] td[data-col="dlq"]').innerText()) === "1", 10_000);
    assert.is(await page.locator('[data-figure="dlq"] .value').innerText(), "1");

    // The DLQ count leads to the dead-letter topic in the browser.
    await page.locator('#groups tr[data-key="audit"] .dlq-link').click();
    const row = page.locator(`#message-list tr[data-msg-id="${sent[1].msgId}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.is(await page.locator("#message-list tbody tr").count(), 1);
    await row.click();
    await page.locator("#message-trace li").first().waitFor({ timeout: 10_000 });
    const body = page.locator("#message-body");
    assert.is(await body.getAttribute("data-view"), "json", "a JSON body opens as JSON");
    assert.equal(JSON.parse(await body.innerText()), { payment: 1, kind: "refund" });
    await page.locator('.tabs button[data-view="hex"]').click();
    assert.match(await body.innerText(), /^00000000  7b 22 70 61 79 6d 65 6e 74 22/, "hex: offset, bytes of {\"payment\"");
    await page.locator('.tabs button[data-view="text"]').click();
    assert.is(await body.innerText(), '{"payment":1,"kind":"refund"}');
    assert.is(await page.locator('#message-props tr[data-key="ORIGIN_TOPIC"] td').innerText(), "Payments");
    const steps = await page.locator("#message-trace li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-step")));
    assert.ok(steps.includes("stored") && steps.includes("dead-lettered"), `trace: ${steps}`);
    assert.match(await page.locator('#message-trace li[data-step="stored"]').first().innerText(), /stored in Payments queue 0 at offset 1/);
    await page.screenshot({ path: screenshotPath("messages-1440.png"), fullPage: true });

    // Resend: confirmed, reported, stored in Payments again; the group, healthy now, consumes it.
    failing = false;
    await page.locator("#resend").click();
    await page.locator("#confirm[open]").waitFor({ timeout: 5000 });
    assert.match(await page.locator("#confirm .question").innerText(), /Resend message .* from %DLQ%audit to Payments\?/);
    await page.locator('#confirm button[value="confirm"]').click();
    const outcome = page.locator("#action-log li").first();
    await until("the resend's outcome", async () => (await outcome.getAttribute("data-outcome")) === "ok", 10_000);
    assert.match(await outcome.locator(".outcome").innerText(), /stored in Payments queue 0 at offset 3/);
    await until("the resent message consumed", () => consumed.some((m) => m.id === sent[1].msgId), 15_000);
    const again = consumed.find((m) => m.id === sent[1].msgId)!;
    assert.equal([String(again.body), again.props?.RESENT_FROM, again.props?.ORIGIN_TOPIC], ['{"payment":1,"kind":"refund"}', "%DLQ%audit", undefined]);
    await until("the trace shows the resend", async () => (await page.locator('#message-trace li[data-step="resent"]').count()) === 1, 10_000);

    // Browsing a time range: exactly the messages stored in it.
    const all = await admin.queryMessage({ topic: "Payments", key: "pay-2" });
    const t2 = all[0].storeTimestamp;
    const r = await page.evaluate(([from, to]) => (globalThis as any).actormqInspector.conn.request("browseMessages", { topic: "Payments", from, to }), [t2, t2]);
    assert.ok((r.msgs as unknown[]).length >= 1 && (r.msgs as [string, number, number][]).every((m) => m[0] === "Payments"));
    await page.locator("#browse-mode").selectOption("topic");
    await page.locator("#browse-topic").fill("Payments");
    await page.locator("#browse button[type=submit]").click();
    await until("four messages in Payments", async () => (await page.locator("#message-list tbody tr").count()) === 4, 10_000);
    assert.equal(await page.locator("#message-list tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-msg-id"))), [sent[0].msgId, sent[1].msgId, sent[2].msgId, sent[1].msgId], "oldest first, the resent copy last");
    // By key.
    await page.locator("#browse-mode").selectOption("key");
    await page.locator("#browse-key").fill("pay-2");
    await page.locator("#browse button[type=submit]").click();
    await page.locator(`#message-list tr[data-msg-id="${sent[2].msgId}"]`).waitFor({ timeout: 10_000 });
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await browser.close();
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
