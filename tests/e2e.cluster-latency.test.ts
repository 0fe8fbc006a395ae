// Latency fault tolerance against real processes: broker b2 answers every send 600 ms late
// (the --test-send-delay-ms hook). Round-robin alone would give it half the sends; with
// sendLatencyFaultEnable it is marked after its first slow answer, gets far fewer sends than the
// healthy b1, and is tried again once its unavailable time (shortened here to 2 s) is over.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer } from "../client/mod.ts";
import { startCluster } from "./helpers/cluster.ts";

const DELAY_MS = 600;
const UNAVAILABLE_MS = 2000;
const cluster = await startCluster({ brokers: 2, brokerArgs: (i) => (i === 1 ? ["--test-send-delay-ms", String(DELAY_MS)] : []) });

test.after(() => cluster.stop());

test("without fault tolerance the slow broker gets every other send, each 600 ms late", async () => {
  const admin = new Admin({ endpoints: cluster.url });
  await admin.start();
  await admin.createTopic("Slow", 1);
  await admin.shutdown();
  const producer = new Producer({ endpoints: cluster.url, sendLatencyFaultEnable: false });
  await producer.start();
  const took: Record<string, number[]> = { b1: [], b2: [] };
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now();
    const r = await producer.send({ topic: "Slow", body: `rr${i}` });
    took[r.queue.broker].push(Date.now() - t0);
  }
  await producer.shutdown();
  assert.is(took.b1.length, 2);
  assert.is(took.b2.length, 2);
  assert.ok(took.b2.every((ms) => ms >= DELAY_MS - 20), `b2 took ${took.b2}`);
});

test("the slow broker is marked, gets far fewer sends, and is tried again after its unavailable time", async () => {
  const producer = new Producer({
    endpoints: cluster.url,
    // RocketMQ's thresholds; every duration above 100 ms shortened to 2 s so the test need not wait 30 s.
    notAvailableDuration: [0, 0, UNAVAILABLE_MS, UNAVAILABLE_MS, UNAVAILABLE_MS, UNAVAILABLE_MS, UNAVAILABLE_MS],
  });
  await producer.start();
  const sends: { broker: string; start: number; end: number }[] = [];
  const until = Date.now() + 5500;
  while (Date.now() < until) {
    const start = Date.now();
    const r = await producer.send({ topic: "Slow", body: "x" });
    sends.push({ broker: r.queue.broker, start, end: Date.now() });
  }
  await producer.shutdown();
  const slow = sends.filter((s) => s.broker === "b2");
  const fast = sends.filter((s) => s.broker === "b1");
  console.log(`b1 ${fast.length} sends, b2 ${slow.length} sends at ${slow.map((s) => s.start - sends[0].start).join(", ")} ms`);
  assert.ok(slow.length >= 2, "b2 was tried at first and again later");
  assert.ok(slow.length * 20 <= fast.length, `b2 ${slow.length} sends, b1 ${fast.length}`);
  assert.ok(slow.every((s) => s.end - s.start >= DELAY_MS - 20));
  // Between two sends to b2 lies at least its unavailable time after the first answered.
  for (let i = 1; i < slow.length; i++) {
    const gap = slow[i].start - slow[i - 1].end;
    assert.ok(gap >= UNAVAILABLE_MS - 20, `b2 tried again ${gap} ms after its slow answer (marked for ${UNAVAILABLE_MS} ms)`);
    assert.ok(gap <= UNAVAILABLE_MS + 2000, `b2 tried again ${gap} ms after its slow answer: soon after the mark ended`);
  }
});

test.run();
