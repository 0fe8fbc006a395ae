// The inspector page in real Chromium against a real broker child process: the actor tree
// shows the test's topic, a queue's max offset rises as messages are sent, the event log shows
// the sends, a msgId search finds a message (and which group consumed it), @statelyai/inspect
// events posted to the page appear beside the broker's actors, and after the broker restarts on
// the same data directory and port the page reconnects by itself.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { artifactPath, chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the inspector browser tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

const TOPIC = "InspectMe";

it("the inspector page shows the live actor tree, events, search, and reconnects after a restart", async () => {
  const dir = tempDir();
  let broker = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  const port = Number(new URL(broker.url).port);
  const browser = await launchChromium();
  const admin = new Admin({ endpoints: broker.url });
  const producer = new Producer({ endpoints: broker.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: broker.url, group: "inspect-cg" });
  try {
    await Promise.all([admin.start(), producer.start(), consumer.start()]);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/inspector`);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });

    // The tree gains the queues of a topic created now.
    await admin.createTopic(TOPIC, 4);
    for (let q = 0; q < 4; q++) await page.locator(`#tree [data-actor="queue:${TOPIC}:${q}"]`).waitFor({ timeout: 10_000 });
    assert.match(await page.locator('#counts [data-kind="queue"]').innerText(), /queue\s+\d+/);

    // Select queue 2: its context shows maxOffset 0, then the count of messages sent to it.
    await page.locator(`#tree [data-actor="queue:${TOPIC}:2"]`).click();
    const maxOffset = page.locator('#context tr[data-key="maxOffset"] td');
    assert.is(await maxOffset.innerText(), "0");
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await producer.send({ topic: TOPIC, body: `hello ${i}`, keys: [`k-${i}`], queueId: 2 }));
    assert.equal(sent.map((r) => r.queueOffset), [0, 1, 2, 3, 4]);
    await until("the page to show maxOffset 5", async () => (await maxOffset.innerText()) === "5", 10_000);
    // The machine view marks the queue's current state.
    assert.is(await page.locator("#machine .state.current .name").first().innerText(), "idle");

    // The event log shows the appends to that queue (the broker's APPENDED after each send).
    const appended = page.locator(`#log .log-row[data-type="APPENDED"][data-actor="queue:${TOPIC}:2"]`);
    await until("APPENDED events in the log", async () => (await appended.count()) > 0, 10_000);
    // Filtering by event type hides everything else.
    await page.locator("#log-type").selectOption("APPENDED");
    const types = await page.locator("#log .log-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    assert.ok(types.length > 0 && types.every((t) => t === "APPENDED"), `only APPENDED rows: ${types}`);

    // A group consumes the first three messages and commits: the search says so.
    const pulled = await consumer.pull({ topic: TOPIC, queueId: 2, offset: 0, maxCount: 3 });
    assert.is(pulled.msgs.length, 3);
    await consumer.commitOffset({ topic: TOPIC, queueId: 2, offset: 3 });
    await page.locator('#tree [data-actor="group:inspect-cg"]').waitFor({ timeout: 10_000 });
    await until("the group's committed offset in the page", () =>
      page.evaluate(() => (globalThis as any).actormqInspector.model.actors.get("group:inspect-cg")?.context?.offsets?.["InspectMe:2"] === 3), 10_000);

    const find = async (msgId: string) => {
      await page.locator("#search-input").fill(msgId);
      await page.locator("#search button[type=submit]").click();
      const result = page.locator(`#search-results [data-msg-id="${msgId}"]`);
      await result.waitFor({ timeout: 10_000 });
      const cell = (k: string) => result.locator(`tr[data-key="${k}"] td`).innerText();
      return { topic: await cell("topic"), queue: await cell("queue"), offset: await cell("offset"), consumedBy: await cell("consumed by") };
    };
    assert.equal(await find(sent[1].msgId), { topic: TOPIC, queue: "2", offset: "1", consumedBy: "inspect-cg" });
    assert.equal(await find(sent[4].msgId), { topic: TOPIC, queue: "2", offset: "4", consumedBy: "no group yet" });

    // Events in @statelyai/inspect's form, posted to the page, show up as external actors.
    await page.evaluate(() => {
      const base = { rootId: "x:1", createdAt: new Date().toISOString(), _version: "1.0.0" };
      const definition = JSON.stringify({ key: "light", type: "compound", initial: { target: ["#light.green"] }, on: {}, states: { green: { key: "green", type: "atomic", on: { TIMER: [{ target: ["#light.yellow"] }] }, states: {} }, yellow: { key: "yellow", type: "atomic", on: {}, states: {} } } });
      window.postMessage({ ...base, id: "1", type: "@xstate.actor", sessionId: "x:1", name: "light", parentId: undefined, definition, snapshot: { status: "active", value: "green", context: {} } }, "*");
      window.postMessage({ ...base, id: "2", type: "@xstate.event", sessionId: "x:1", sourceId: undefined, event: { type: "TIMER" } }, "*");
      window.postMessage({ ...base, id: "3", type: "@xstate.snapshot", sessionId: "x:1", event: { type: "TIMER" }, snapshot: { status: "active", value: "yellow", context: {} } }, "*");
    });
    const external = page.locator('#tree [data-actor="ext:x:1"]');
    await external.waitFor({ timeout: 10_000 });
    await until("the external actor's state", async () => (await external.locator(".value").innerText()) === "yellow", 10_000);
    await external.click();
    assert.is(await page.locator("#machine .state.current .name").innerText(), "yellow");

    await page.locator("#log-type").selectOption("");

    // Paused, the log holds still while events keep coming; resumed, it shows them.
    const queue3 = page.locator(`#log .log-row[data-type="APPENDED"][data-actor="queue:${TOPIC}:3"]`);
    await page.locator("#log-pause").click();
    assert.is(await page.locator("#log-pause").innerText(), "Resume");
    await producer.send({ topic: TOPIC, body: "while paused", queueId: 3 });
    await until("the page to receive the paused-time append", () =>
      page.evaluate(() => (globalThis as any).actormqInspector.model.events.some((e: { to: string; type: string }) => e.to === "queue:InspectMe:3" && e.type === "APPENDED")), 10_000);
    assert.is(await queue3.count(), 0, "nothing new in a paused log");
    await page.locator("#log-pause").click();
    await until("the append in the resumed log", async () => (await queue3.count()) > 0, 10_000);

    // Live charts: the topic's in/out rates and the group's lag.
    await page.locator(`#charts figure[data-chart="rate:${TOPIC}"] canvas`).waitFor({ timeout: 10_000 });
    await page.locator('#charts figure[data-chart="lag:inspect-cg"] canvas').waitFor({ timeout: 10_000 });
    await page.locator(`#tree [data-actor="queue:${TOPIC}:2"]`).click();
    await page.screenshot({ path: artifactPath("inspector.png"), fullPage: true });

    // Restart the broker on the same data directory and port: the page reconnects by itself.
    broker.child.kill("SIGTERM");
    await broker.exited;
    await page.locator('#status[data-status="reconnecting"]').waitFor({ timeout: 10_000 });
    broker = await spawnBroker(["--port", String(port), "--data-dir", dir.path]);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 20_000 });
    assert.match(broker.output(), /CommitLog recovery: verified \d+ bytes of \d+ bytes in \d+ ms/);
    await until("maxOffset 5 after the restart", async () => (await maxOffset.innerText()) === "5", 10_000);
    // And it is live: a send after the restart moves the queue again.
    const after = new Producer({ endpoints: broker.url, group: "pg2" });
    await after.start();
    await after.send({ topic: TOPIC, body: "after restart", queueId: 2 });
    await after.shutdown();
    await until("maxOffset 6 after a send to the restarted broker", async () => (await maxOffset.innerText()) === "6", 10_000);
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await browser.close();
    killSpawned();
    dir.remove();
  }
});

test("/inspector serves the page, its script and its style sheet", async () => {
  const dir = tempDir();
  const broker = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  try {
    const base = `http://127.0.0.1:${new URL(broker.url).port}`;
    const html = await fetch(`${base}/inspector`);
    assert.is(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await html.text(), /<script type="module" src="\/inspector\/inspector.js">/);
    const js = await fetch(`${base}/inspector/inspector.js`);
    assert.is(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await js.text()).length > 1000);
    assert.is((await fetch(`${base}/inspector/inspector.css`)).status, 200);
    assert.is((await fetch(`${base}/inspector/nothing.js`)).status, 404);
  } finally {
    killSpawned();
    dir.remove();
  }
});

test.run();
