// Deleting from the console, in real Chromium against a real broker: the Delete button of a queue
// actor's detail deletes its topic, the one of a group actor's detail its consumer group (with its
// %RETRY% topic), and the Actions view's forms do the same by name; each asks first (Cancel
// changes nothing) and reports the broker's answer in the action log.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { BrokerError } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the inspector delete tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

const codeOf = (p: Promise<unknown>) => p.then(() => "OK", (e) => (e instanceof BrokerError ? e.code : String(e)));

it("Delete buttons on a topic's queue and a group, and the Actions forms: confirmed, done, reported", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: env.url, group: "old-cg" });
  const browser = await launchChromium();
  try {
    await Promise.all([admin.start(), producer.start(), consumer.start()]);
    for (const topic of ["Gone", "ByForm", "Kept"]) await admin.createTopic(topic, 2);
    await admin.createTopic("%RETRY%old-cg", 1);
    await producer.send({ topic: "Gone", body: "x", queueId: 0 });
    await consumer.commitOffset({ topic: "Kept", queueId: 0, offset: 0 });
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    /** Clicks `button`, checks the dialog's question, answers it; on Confirm, the action log's new entry once settled. */
    const answer = async (button: string, question: RegExp, choice: "confirm" | "cancel") => {
      await page.locator(button).click();
      await page.locator("#confirm[open]").waitFor({ timeout: 5000 });
      assert.match(await page.locator("#confirm .question").innerText(), question);
      const before = await page.locator("#action-log li").count();
      await page.locator(`#confirm button[value="${choice}"]`).click();
      if (choice === "cancel") return { outcome: null, text: "" };
      const li = page.locator("#action-log li").first();
      await until("the action's outcome", async () => (await page.locator("#action-log li").count()) > before && (await li.getAttribute("data-outcome")) !== "running", 10_000);
      return { outcome: await li.getAttribute("data-outcome"), text: (await li.locator(".outcome").textContent()) ?? "" };
    };

    // The topic, from its queue actor's detail: Cancel first, then Delete.
    await page.goto(`http://127.0.0.1:${new URL(env.url).port}/inspector/#actors?actor=queue:Gone:0`);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    await page.locator("#detail-delete-topic").waitFor({ timeout: 10_000 });
    await answer("#detail-delete-topic", /Delete topic Gone\?/, "cancel");
    assert.is((await admin.topicStatus("Gone")).queues.length, 2, "Cancel deletes nothing");
    const topicDone = await answer("#detail-delete-topic", /Delete topic Gone\?/, "confirm");
    assert.is(topicDone.outcome, "ok", topicDone.text);
    assert.match(topicDone.text, /Gone deleted/);
    assert.is(await codeOf(admin.topicStatus("Gone")), "TOPIC_NOT_FOUND");
    await until("the queue actor gone from the page", () => page.evaluate(() => !(globalThis as any).actormqInspector.model.actors.has("queue:Gone:0")), 10_000);

    // The group, from its actor's detail: its %RETRY% topic goes with it.
    await page.goto(`http://127.0.0.1:${new URL(env.url).port}/inspector/#actors?actor=group:old-cg`);
    await page.locator("#detail-delete-group").waitFor({ timeout: 10_000 });
    const groupDone = await answer("#detail-delete-group", /Delete consumer group old-cg with its %RETRY%old-cg and %DLQ%old-cg topics\?/, "confirm");
    assert.is(groupDone.outcome, "ok", groupDone.text);
    assert.match(groupDone.text, /old-cg deleted, with %RETRY%old-cg/);
    assert.is(await codeOf(admin.consumerProgress("old-cg")), "BAD_REQUEST", "the group is gone");
    assert.not.ok((await admin.topicList()).some((t) => t.topic === "%RETRY%old-cg"));

    // The Actions view's form, by name; a topic that is not there is reported as the broker's error.
    await page.goto(`http://127.0.0.1:${new URL(env.url).port}/inspector/#actions`);
    await page.locator('#delete-topic input[name="topic"]').fill("ByForm");
    assert.is((await answer("#delete-topic button[type=submit]", /Delete topic ByForm\?/, "confirm")).outcome, "ok");
    assert.is(await codeOf(admin.topicStatus("ByForm")), "TOPIC_NOT_FOUND");
    await page.locator('#delete-topic input[name="topic"]').fill("Nowhere");
    const missing = await answer("#delete-topic button[type=submit]", /Delete topic Nowhere\?/, "confirm");
    assert.is(missing.outcome, "error");
    assert.match(missing.text, /does not exist/);
    assert.is((await admin.topicStatus("Kept")).queues.length, 2, "other topics are untouched");
    assert.equal(errors, []);
  } finally {
    await browser.close();
    await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
