// The console in real Firefox (Debian's firefox-esr, over WebDriver BiDi) against a real broker:
// `/` leads to the overview; after a known workload its figures are the broker's own counters
// (messages in per topic, stored messages, a group's lag, connections), its charts are drawn, and
// the actor view follows a queue's offsets live.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { firefoxUnavailable, openInFirefox } from "./helpers/firefox.ts";

const unavailable = firefoxUnavailable();
if (unavailable) console.log(`skipping the Firefox inspector test: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("Firefox: the overview's figures are the broker's counters; the actor view follows a queue live", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: env.url, group: "fox-cg" });
  await Promise.all([admin.start(), producer.start(), consumer.start()]);
  const page = await openInFirefox(`http://127.0.0.1:${new URL(env.url).port}/`);
  const has = (selector: string) => page.evaluate<boolean>(`document.querySelector(${JSON.stringify(selector)}) !== null`);
  const text = (selector: string) => page.evaluate<string | null>(`document.querySelector(${JSON.stringify(selector)})?.innerText ?? null`);
  const cell = (table: string, key: string, col: string) => text(`#${table} tr[data-key="${key}"] td[data-col="${col}"]`);
  try {
    await until("the page connected", () => has('#status[data-status="connected"]'), 20_000);
    assert.is(await page.evaluate<string>("location.pathname"), "/inspector/");
    await admin.createTopic("FoxTopic", 3);
    for (let i = 0; i < 30; i++) await producer.send({ topic: "FoxTopic", body: `fox ${i}`, queueId: i % 3 });
    for (let q = 0; q < 3; q++) await consumer.commitOffset({ topic: "FoxTopic", queueId: q, offset: 4 + q });

    await until("the overview to show the workload", async () => (await cell("topics", "FoxTopic", "totalIn")) === "30" && (await cell("groups", "fox-cg", "lag")) === "15", 15_000);
    const { broker } = env;
    const counters = broker.metrics.topics.get("FoxTopic")!;
    const stored = [0, 1, 2].reduce((n, q) => n + broker.store.maxOffset("FoxTopic", q) - broker.store.minOffset("FoxTopic", q), 0);
    const lag = (await admin.consumerProgress("fox-cg")).queues.filter((q) => q.topic === "FoxTopic").reduce((n, q) => n + q.lag, 0);
    assert.is(await cell("topics", "FoxTopic", "totalIn"), String(counters.msgsIn));
    assert.is(await cell("topics", "FoxTopic", "messages"), String(stored));
    assert.is(await cell("topics", "FoxTopic", "queues"), "3");
    assert.is(await cell("groups", "fox-cg", "lag"), String(lag));
    await until("connections", async () => (await text('[data-figure="connections"] .value')) === String(broker.sessions.size), 10_000);
    await until("the charts drawn", async () => (await has("#chart-traffic canvas")) && (await has("#chart-lag canvas")), 10_000);
    assert.match((await text("#chart-lag figcaption")) ?? "", /fox-cg 15/, "the caption says the current lag, not the axis maximum");

    // The actor view: the selected queue's max offset follows the sends.
    await page.evaluate(`location.hash = "actors"`);
    await until("the queue in the tree", () => has('#tree [data-actor="queue:FoxTopic:1"]'), 10_000);
    await page.evaluate(`document.querySelector('#tree [data-actor="queue:FoxTopic:1"]').click()`);
    const maxOffset = '#context tr[data-key="maxOffset"] td';
    await until("maxOffset 10", async () => (await text(maxOffset)) === "10", 10_000);
    for (let i = 0; i < 3; i++) await producer.send({ topic: "FoxTopic", body: `more ${i}`, queueId: 1 });
    await until("maxOffset 13 in the page", async () => (await text(maxOffset)) === "13", 10_000);
    assert.ok(await has('#machine g.state.current[data-state="queue.idle"]'), "the statechart lights idle");
    await until("APPENDED in the event log", () => has('#log .log-row[data-type="APPENDED"][data-actor="queue:FoxTopic:1"]'), 10_000);
  } finally {
    await page.close();
    await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
