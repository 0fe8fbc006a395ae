// The producer's latency fault tolerance (RocketMQ's MQFaultStrategy) with an injected clock:
// the latency -> unavailable-duration table, isolation after a failure, the queue choice that
// skips marked brokers and avoids the broker a retry failed on, the least bad broker when all
// are marked, and a marked broker chosen again once its time is up.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ISOLATION_LATENCY_MS, LatencyFaultTolerance, selectAvoiding } from "../client/latency-fault-tolerance.ts";
import { TopicPublishInfo } from "../client/topic-route.ts";

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Two brokers with 2 queues each: b1:0 b1:1 b2:0 b2:1, index starting at 0. */
function route(brokers = ["b1", "b2"], queues = 2) {
  return new TopicPublishInfo({ topic: "T", brokers: brokers.map((name) => ({ name, address: `ws://${name}/ws`, queues, perm: 6 })) }, (a) => a, 0);
}

const names = (qs: ({ broker: string; queueId: number } | undefined)[]) => qs.map((q) => `${q!.broker}:${q!.queueId}`);

test("RocketMQ's table: latency 50 100 550 1000 2000 3000 15000 ms -> 0 0 30 60 120 180 600 s", () => {
  const f = new LatencyFaultTolerance({ now: clock().now });
  const cases: [number, number][] = [[0, 0], [49, 0], [50, 0], [120, 0], [549, 0], [550, 30_000], [999, 30_000], [1000, 60_000], [2000, 120_000], [3000, 180_000], [14_999, 180_000], [15_000, 600_000], [60_000, 600_000]];
  for (const [latency, ms] of cases) assert.is(f.notAvailableFor(latency), ms, `${latency} ms`);
  // A failure counts as RocketMQ 5's isolation latency, 10 s: the 3000 ms class.
  assert.is(f.notAvailableFor(ISOLATION_LATENCY_MS), 180_000);
});

test("round-robin over every queue of every broker while none is marked", () => {
  const f = new LatencyFaultTolerance({ now: clock().now });
  const info = route();
  assert.equal(names(Array.from({ length: 6 }, () => f.selectQueue(info))), ["b1:0", "b1:1", "b2:0", "b2:1", "b1:0", "b1:1"]);
});

test("a slow broker is skipped until its unavailable time is over, then chosen again", () => {
  const c = clock();
  const f = new LatencyFaultTolerance({ now: c.now });
  const info = route();
  f.update("b1", 600, false); // >= 550 ms: 30 s
  assert.not.ok(f.isAvailable("b1"));
  assert.is(f.availableAt("b1"), c.t + 30_000);
  assert.equal(names(Array.from({ length: 4 }, () => f.selectQueue(info))), ["b2:0", "b2:1", "b2:0", "b2:1"]);
  c.t += 29_999;
  assert.is(f.selectQueue(info)!.broker, "b2");
  c.t += 1;
  assert.ok(f.isAvailable("b1"));
  const next = Array.from({ length: 4 }, () => f.selectQueue(info)!.broker);
  assert.ok(next.includes("b1"), next.join());
  // A fast send clears the mark at once (0 s for < 100 ms).
  f.update("b1", 700, false);
  f.update("b1", 20, false);
  assert.ok(f.isAvailable("b1"));
});

test("a failed send isolates its broker for the 3000 ms class (180 s) whatever it took", () => {
  const c = clock();
  const f = new LatencyFaultTolerance({ now: c.now });
  f.update("b2", 3, true); // connection refused: fast, but a failure
  assert.is(f.availableAt("b2"), c.t + 180_000);
  c.t += 179_999;
  assert.not.ok(f.isAvailable("b2"));
  c.t += 1;
  assert.ok(f.isAvailable("b2"));
});

test("a retry avoids the broker it failed on while another is available", () => {
  const f = new LatencyFaultTolerance({ now: clock().now });
  const info = route();
  for (let i = 0; i < 8; i++) assert.is(f.selectQueue(info, "b1")!.broker, "b2");
  // Only one broker: the retry goes to it anyway.
  const one = route(["b1"]);
  assert.is(f.selectQueue(one, "b1")!.broker, "b1");
  // Without fault tolerance, RocketMQ's selectOneMessageQueue(lastBrokerName).
  for (let i = 0; i < 8; i++) assert.is(selectAvoiding(info, "b2")!.broker, "b1");
  assert.is(selectAvoiding(one, "b1")!.broker, "b1");
});

test("every broker marked: the least bad one (lowest latency) takes the sends", () => {
  const c = clock();
  const f = new LatencyFaultTolerance({ now: c.now });
  const info = route(["b1", "b2", "b3"]);
  f.update("b1", 2500, false); // 120 s
  f.update("b2", 5, true); // failed: judged as 10 s latency
  f.update("b3", 700, false); // 30 s
  assert.equal(Array.from({ length: 4 }, () => f.selectQueue(info)!.broker), ["b3", "b3", "b3", "b3"]);
  assert.is(f.leastBad(["b1", "b2"]), "b1");
  // The least bad broker's queues still rotate.
  assert.equal(new Set(Array.from({ length: 4 }, () => f.selectQueue(info)!.queueId)), new Set([0, 1]));
  // Once b1's and b3's marks expire (b2's has not), they share the sends again.
  c.t += 120_000;
  assert.equal(new Set(Array.from({ length: 12 }, () => f.selectQueue(info)!.broker)), new Set(["b1", "b3"]));
});

test("injected durations: the table is the caller's", () => {
  const c = clock();
  const f = new LatencyFaultTolerance({ now: c.now, latencyMax: [50, 550], notAvailableDuration: [0, 2000] });
  f.update("b1", 600, false);
  assert.is(f.availableAt("b1"), c.t + 2000);
  assert.throws(() => new LatencyFaultTolerance({ latencyMax: [1, 2], notAvailableDuration: [0] }), /as long as/);
});

test.run();
