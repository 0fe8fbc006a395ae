// The console's actions in real Chromium against a real broker, each confirmed in the page's
// dialog and reported in its action log: a group's offsets reset to a time replay exactly the
// messages stored from then on; a topic created, its permission changed; a test message sent;
// a retention pass run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the inspector action tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

/** A time as a datetime-local input wants it, in the local time zone (the browser's and ours). */
function localInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

it("actions from the page: reset offsets by time replays exactly the later messages; create topic, permission, test send", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: env.url, group: "replay-cg" });
  const browser = await launchChromium();
  try {
    await Promise.all([admin.start(), producer.start(), consumer.start()]);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${new URL(env.url).port}/inspector/#actions`);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    /** Submits an action form, confirms the dialog, and returns the action log's newest entry. */
    const act = async (form: string, expectDialog = /./) => {
      await page.locator(`#${form} button[type=submit]`).click();
      await page.locator("#confirm[open]").waitFor({ timeout: 5000 });
      assert.match(await page.locator("#confirm .question").innerText(), expectDialog);
      const before = await page.locator("#action-log li").count();
      await page.locator('#confirm button[value="confirm"]').click();
      await until("the action's outcome", async () => (await page.locator("#action-log li").count()) > before && (await page.locator("#action-log li").first().getAttribute("data-outcome")) !== "running", 10_000);
      const li = page.locator("#action-log li").first();
      return { outcome: await li.getAttribute("data-outcome"), text: await li.locator(".outcome").innerText() };
    };

    // Two batches, a whole second apart (the form takes seconds); the group has consumed both.
    await admin.createTopic("Replay", 2);
    for (let i = 0; i < 6; i++) await producer.send({ topic: "Replay", body: `early ${i}`, queueId: i % 2 });
    const cut = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await until("the next second", () => Date.now() >= cut + 20, 2000, 5);
    for (let i = 0; i < 4; i++) await producer.send({ topic: "Replay", body: `late ${i}`, queueId: i % 2 });
    for (const q of [0, 1]) await consumer.commitOffset({ topic: "Replay", queueId: q, offset: 5 });
    await page.locator('#reset-group option[value="replay-cg"]').waitFor({ state: "attached", timeout: 10_000 });

    // Cancel changes nothing.
    await page.locator("#reset-group").selectOption("replay-cg");
    await page.locator('#reset-offsets input[name="topic"]').fill("Replay");
    await page.locator('#reset-offsets input[name="time"]').fill(localInput(cut));
    await page.locator("#reset-offsets button[type=submit]").click();
    await page.locator("#confirm[open]").waitFor({ timeout: 5000 });
    await page.locator('#confirm button[value="cancel"]').click();
    assert.equal((await admin.consumerProgress("replay-cg")).queues.map((q) => q.consumerOffset), [5, 5]);

    const reset = await act("reset-offsets", /Move replay-cg's offsets on every queue of Replay/);
    assert.is(reset.outcome, "ok", reset.text);
    assert.match(reset.text, /queue 0 → 3, queue 1 → 3/);
    const progress = await admin.consumerProgress("replay-cg");
    assert.equal(progress.queues.map((q) => q.consumerOffset), [3, 3]);
    const replayed: string[] = [];
    for (const q of progress.queues) {
      const r = await consumer.pull({ topic: "Replay", queueId: q.queueId, offset: q.consumerOffset, maxCount: 32 });
      replayed.push(...r.msgs.map((m) => String(m.body)));
    }
    assert.equal(replayed.sort(), ["late 0", "late 1", "late 2", "late 3"], "exactly the messages stored at or after the chosen second");

    // Create a topic, then make it read-only.
    await page.locator('#create-topic input[name="name"]').fill("FromConsole");
    await page.locator('#create-topic input[name="queues"]').fill("3");
    const created = await act("create-topic", /Create topic FromConsole with 3 queues, read\/write/);
    assert.is(created.outcome, "ok", created.text);
    assert.equal((await admin.topicList()).find((t) => t.topic === "FromConsole"), { topic: "FromConsole", queues: 3, perm: 6 });
    await page.locator('#set-perm input[name="topic"]').fill("FromConsole");
    await until("the topic in the overview", () => page.evaluate(() => (globalThis as any).actormqInspector.model.overview?.topics.some((t: { topic: string }) => t.topic === "FromConsole")), 10_000);
    await page.locator('#set-perm select[name="perm"]').selectOption("4");
    const perm = await act("set-perm", /Make FromConsole read only \(it is read\/write now\)\? Producers will be refused/);
    assert.is(perm.outcome, "ok", perm.text);
    assert.is((await admin.topicList()).find((t) => t.topic === "FromConsole")!.perm, 4);

    // A test message: stored, found by its key; to the read-only topic it is refused, and the log says why.
    await page.locator('#send-test input[name="topic"]').fill("Replay");
    await page.locator('#send-test textarea[name="body"]').fill('{"test":true}');
    await page.locator('#send-test input[name="key"]').fill("console-key");
    const sent = await act("send-test", /test message to Replay/);
    assert.is(sent.outcome, "ok", sent.text);
    const found = await admin.queryMessage({ topic: "Replay", key: "console-key" });
    assert.is(found.length, 1);
    assert.is(String(found[0].body), '{"test":true}');
    assert.match(sent.text, new RegExp(`message ${found[0].id} stored in queue ${found[0].queueId}`));
    await page.locator('#send-test input[name="topic"]').fill("FromConsole");
    const refused = await act("send-test");
    assert.is(refused.outcome, "error");
    assert.match(refused.text, /FromConsole/);
    // A retention pass: a fresh broker has nothing past its retention time, and the log says so.
    const retention = await act("retention", /Run a retention pass now\?/);
    assert.is(retention.outcome, "ok", retention.text);
    assert.match(retention.text, /^deleted 0 segments \(0 B\), 0 queues truncated; the CommitLog now starts at 0/);
    await page.screenshot({ path: screenshotPath("actions-1440.png"), fullPage: true });
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await browser.close();
    await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
