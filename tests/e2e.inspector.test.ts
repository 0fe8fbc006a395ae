// The console in real Chromium against a real broker child process: `/` leads to it; after a
// known workload the overview's figures are the broker's own (its /metrics and admin answers);
// the actor view lights the state a queue is in (idle, holding a long poll, idle again) and
// flashes the transition; the event log hides internal events until asked; @statelyai/inspect
// events posted to the page appear beside the broker's actors; when the broker stops the page
// says so and greys what it shows, and after a restart it reconnects by itself.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the inspector browser tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

/** Sum of a metric's samples whose labels include all of `labels`. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

it("overview figures match the broker's counters; the statechart lights the state; the page reconnects after a restart", async () => {
  const dir = tempDir();
  let broker = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  const port = Number(new URL(broker.url).port);
  const base = `http://127.0.0.1:${port}`;
  const browser = await launchChromium();
  const admin = new Admin({ endpoints: broker.url });
  const producer = new Producer({ endpoints: broker.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: broker.url, group: "billing" });
  try {
    await Promise.all([admin.start(), producer.start(), consumer.start()]);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    assert.is(new URL(page.url()).pathname, "/inspector/", "/ leads to the console");
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });

    // A known workload: 40 orders over 4 queues, 6 payments over 2; billing consumes and commits part of Orders.
    await admin.createTopic("Orders", 4);
    await admin.createTopic("Payments", 2);
    for (let i = 0; i < 40; i++) await producer.send({ topic: "Orders", body: `order ${i}`, queueId: i % 4 });
    for (let i = 0; i < 6; i++) await producer.send({ topic: "Payments", body: `payment ${i}`, queueId: i % 2 });
    const committed = [10, 10, 5, 0];
    for (let q = 0; q < 4; q++) await consumer.commitOffset({ topic: "Orders", queueId: q, offset: committed[q] });

    const cell = (table: string, key: string, col: string) => page.locator(`#${table} tr[data-key="${key}"] td[data-col="${col}"]`).innerText();
    await until("the overview to show the workload", async () => (await page.locator('#topics tr[data-key="Orders"]').count()) > 0 && (await cell("topics", "Orders", "totalIn")) === "40" && (await page.locator('#groups tr[data-key="billing"]').count()) > 0 && (await cell("groups", "billing", "lag")) === "15", 15_000);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const progress = await admin.consumerProgress("billing");
    const status = await admin.topicStatus("Orders");
    const stored = status.queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
    assert.is(await cell("topics", "Orders", "totalIn"), String(metric(metrics, "actormq_messages_in_total", { topic: "Orders" })));
    assert.is(await cell("topics", "Orders", "messages"), String(stored));
    assert.is(await cell("topics", "Orders", "queues"), "4");
    assert.is(await cell("topics", "Payments", "totalIn"), String(metric(metrics, "actormq_messages_in_total", { topic: "Payments" })));
    assert.is(await cell("groups", "billing", "lag"), String(metric(metrics, "actormq_consumer_lag", { group: "billing" })));
    assert.is(await cell("groups", "billing", "lag"), String(progress.queues.filter((q) => q.topic === "Orders").reduce((n, q) => n + q.lag, 0)));
    assert.is(await cell("groups", "billing", "members"), "0");
    assert.is(await cell("groups", "billing", "state"), "no members");
    assert.match(await page.locator('[data-figure="in"] .sub').innerText(), /^46 messages since start/);
    assert.match(await page.locator('[data-figure="connections"] .value').innerText(), String(metric(metrics, "actormq_connections", {})));
    // User topics first; the broker's own are folded away below, %RETRY% and all.
    assert.equal(await page.locator("#topics tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key"))), ["Orders", "Payments"]);
    assert.not.ok(await page.locator("#system-topics-box").getAttribute("open"));
    // Sorting and filtering.
    await page.locator('#topics th[data-col="messages"]').click();
    const order = () => page.locator("#topics tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
    assert.equal(await order(), ["Orders", "Payments"], "most messages first");
    await page.locator('#topics th[data-col="messages"]').click();
    assert.equal(await order(), ["Payments", "Orders"], "fewest first");
    await page.locator('[data-filter="topics"]').fill("pay");
    assert.equal(await page.locator("#topics tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key"))), ["Payments"]);
    await page.locator('[data-filter="topics"]').fill("");
    await page.locator("#chart-traffic canvas").first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: screenshotPath("overview-1440.png"), fullPage: true });

    // The actor view: a queue's statechart lights "idle", then "holding" while a long poll waits, then "idle".
    await page.locator('#nav a[data-view="actors"]').click();
    await page.locator('#tree [data-actor="queue:Orders:3"]').click();
    const lit = () => page.locator("#machine g.state.current").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-state")));
    await until("idle lit", async () => (await lit()).join() === "queue.idle", 10_000);
    assert.is(await page.locator('#context tr[data-key="maxOffset"] td').innerText(), "10");
    const held = consumer.pull({ topic: "Orders", queueId: 3, offset: 10, pollMs: 10_000 });
    await until("holding lit while the pull waits", async () => (await lit()).join() === "queue.holding", 10_000);
    assert.is(await page.locator("#actor-state").innerText(), "holding");
    assert.ok(await page.locator('#machine g.transition.fired[data-events~="PULL"]').count() > 0, "the PULL transition flashed");
    await producer.send({ topic: "Orders", body: "wake up", queueId: 3 });
    assert.is((await held).msgs.length, 1);
    await until("idle lit again", async () => (await lit()).join() === "queue.idle", 10_000);
    await until("maxOffset 11", async () => (await page.locator('#context tr[data-key="maxOffset"] td').innerText()) === "11", 10_000);

    // The event log: APPENDED to the queue shows; the root's routing copies are hidden until asked
    // for. A delayed message's write goes through the root (its delay level's actor follows the
    // schedule queue): an APPEND_BATCH the root routes.
    await producer.send({ topic: "Payments", body: "later", delayLevel: 1 });
    await page.locator('#log .log-row[data-type="APPENDED"][data-actor="queue:Orders:3"]').first().waitFor({ timeout: 10_000 });
    assert.is(await page.locator('#log .log-row[data-type="APPEND_BATCH"]').count(), 0, "internal events hidden by default");
    await page.locator("#log-internal").check();
    await page.locator('#log .log-row[data-type="APPEND_BATCH"]').first().waitFor({ timeout: 10_000 });
    assert.match(await page.locator("#log-explain").innerText(), /at most 200 per frame, one frame every 250 ms/);
    await page.locator("#log-type").selectOption("APPENDED");
    const types = await page.locator("#log .log-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    assert.ok(types.length > 0 && types.every((t) => t === "APPENDED"), `only APPENDED rows: ${types}`);
    // The same events as a sequence diagram.
    await page.locator('#log-mode input[value="sequence"]').check({ force: true });
    await page.locator('#sequence svg .message[data-type="APPENDED"][data-to="queue:Orders:3"]').first().waitFor({ timeout: 10_000 });
    await page.locator('#log-mode input[value="log"]').check({ force: true });
    await page.locator("#log-type").selectOption("");
    await page.screenshot({ path: screenshotPath("actors-1440.png"), fullPage: true });

    // A group's detail: its lag per queue, the same as the broker's.
    await page.locator('#tree [data-actor="group:billing"]').click();
    await page.locator('#group-lag tr[data-key="Orders:3"]').waitFor({ timeout: 10_000 });
    assert.is(await page.locator('#group-lag tr[data-key="Orders:2"] td:last-child').innerText(), "5");

    // Paused, the log holds still while events keep coming; resumed, it shows them.
    await page.locator('#tree [data-actor="queue:Orders:1"]').click();
    const queue1 = page.locator('#log .log-row[data-type="APPENDED"][data-actor="queue:Orders:1"]');
    await page.locator("#log-pause").click();
    assert.is(await page.locator("#log-pause").innerText(), "Resume");
    const before = await queue1.count();
    await producer.send({ topic: "Orders", body: "while paused", queueId: 1 });
    await until("the page to receive the paused-time append", () =>
      page.evaluate(() => (globalThis as any).actormqInspector.model.events.some((e: { to: string; type: string; data?: { maxOffset?: number } }) => e.to === "queue:Orders:1" && e.type === "APPENDED" && e.data?.maxOffset === 11)), 10_000);
    assert.is(await queue1.count(), before, "nothing new in a paused log");
    await page.locator("#log-pause").click();
    await until("the append in the resumed log", async () => (await queue1.count()) > before, 10_000);

    // Events in @statelyai/inspect's form, posted to the page, show up as external actors with their chart.
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
    await until("yellow lit", async () => (await lit()).join() === "light.yellow", 10_000);

    // The broker stops: the page says so and greys what it shows; restarted, it reconnects by itself.
    await page.locator('#nav a[data-view="overview"]').click();
    broker.child.kill("SIGTERM");
    await broker.exited;
    await page.locator('#status[data-status="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.locator("#banner:not([hidden])").waitFor({ timeout: 5000 });
    assert.match(await page.locator("#banner").innerText(), /Disconnected from broker-a since/);
    assert.ok(await page.locator("body.stale").count(), "stale data greyed");
    await page.screenshot({ path: screenshotPath("disconnected-1440.png") });
    broker = await spawnBroker(["--port", String(port), "--data-dir", dir.path]);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 20_000 });
    await page.locator("#banner[hidden]").waitFor({ state: "attached", timeout: 5000 });
    assert.is(await page.locator("body.stale").count(), 0);
    await until("the figures after the restart", async () => (await cell("topics", "Orders", "messages")) === "42", 10_000);
    // The rates chart has a gap where the broker was down (a null point between two real ones).
    const gaps = await page.evaluate(() => (globalThis as any).actormqInspector.model.history.map((s: { in: number | null }) => s.in === null));
    assert.ok(gaps.includes(true), "a gap in the history");
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await browser.close();
    killSpawned();
    dir.remove();
  }
});

it("/ and /inspector lead to the console; its script and style sheet are served", async () => {
  const dir = tempDir();
  const broker = await spawnBroker(["--port", "0", "--data-dir", dir.path]);
  try {
    const base = `http://127.0.0.1:${new URL(broker.url).port}`;
    for (const path of ["/", "/inspector"]) {
      const r = await fetch(`${base}${path}`, { redirect: "manual" });
      assert.is(r.status, 302);
      assert.is(r.headers.get("location"), "inspector/", "a relative redirect, so a path prefix survives it");
    }
    const html = await fetch(`${base}/inspector/`);
    assert.is(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await html.text(), /<script type="module" src="inspector.js">/);
    const js = await fetch(`${base}/inspector/inspector.js`);
    assert.is(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await js.text()).includes("uPlot"), "the chart library is bundled");
    const css = await fetch(`${base}/inspector/inspector.css`);
    assert.is(css.status, 200);
    assert.match(await css.text(), /\.uplot/);
    assert.is((await fetch(`${base}/inspector/nothing.js`)).status, 404);
  } finally {
    killSpawned();
    dir.remove();
  }
});

test.run();
