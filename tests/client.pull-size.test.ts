// The PushConsumer's pull loop and handler loop on their own, with the broker's answers given by a
// function: how much a pull asks for (pullBatchSize when caught up, up to 1,000 while the queue is
// behind, never past flow control's room), and a handler that succeeds at once finishing its
// messages before submit returns.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSubscription } from "../protocol/mod.ts";
import { ConsumeConcurrentlyService } from "../client/consume-concurrently-service.ts";
import { ProcessQueue } from "../client/process-queue.ts";
import { CATCH_UP_PULL_MAX, PullService } from "../client/pull-service.ts";
import type { Transport } from "../client/transport.ts";

const mq = { broker: "a", address: "ws://a/ws", topic: "T", queueId: 0 };

/** A queue of `total` messages: answers pulls from it and records each pull's maxCount. */
function fakeQueue(total: number, pq: () => ProcessQueue) {
  const asked: number[] = [];
  const transport = {
    request(_op: string, args: Record<string, unknown>) {
      const offset = args.offset as number;
      asked.push(args.maxCount as number);
      if (offset >= total) {
        pq().drop(); // caught up: the test ends here
        return Promise.resolve({ code: 0, status: "NO_NEW_MSG", nextOffset: offset, minOffset: 0, maxOffset: total });
      }
      const n = Math.min(args.maxCount as number, total - offset);
      const msgs = Array.from({ length: n }, (_, i) => [offset + i, 0, 1, 0, 0, { topic: "T", body: new Uint8Array(8) }]);
      return Promise.resolve({ code: 0, status: "FOUND", nextOffset: offset + n, minOffset: 0, maxOffset: total, msgs });
    },
  } as unknown as Transport;
  return { asked, transport };
}

function consumer(total: number, handler: () => unknown) {
  const pq = new ProcessQueue(mq, 0);
  const { asked, transport } = fakeQueue(total, () => pq);
  const counters = { succeeded: 0, failed: 0, sentBack: 0 };
  const service = new ConsumeConcurrentlyService({
    group: "g",
    model: "clustering",
    consume: handler,
    batchSize: 1,
    concurrency: 20,
    maxReconsumeTimes: 16,
    call: () => Promise.reject(new Error("no broker")),
    counters,
    later: () => {},
  });
  const puller = new PullService({
    group: "g",
    model: "clustering",
    subs: new Map([["T", parseSubscription("*")]]),
    retryTopic: "%RETRY%g",
    pullBatchSize: 32,
    pullThresholdForQueue: 1000,
    pullThresholdSizeForQueue: 100 * 1024 * 1024,
    maxSpan: 1_000_000,
    pollMs: 1000,
    requestTimeoutMs: 1000,
    transport: () => transport,
    mayPull: () => true,
    submit: (q, msgs) => service.submit(q, msgs),
    connectionLost: () => {},
    queueGone: () => {},
  });
  return { pq, asked, counters, loop: () => puller.pullLoop(pq) };
}

test("a queue that is behind is pulled up to 1,000 at a time; caught up, pullBatchSize", async () => {
  const c = consumer(5000, () => "SUCCESS");
  await c.loop();
  assert.equal(c.asked, [32, CATCH_UP_PULL_MAX, CATCH_UP_PULL_MAX, CATCH_UP_PULL_MAX, CATCH_UP_PULL_MAX, 968, 32]);
  assert.is(c.counters.succeeded, 5000);
  assert.is(c.pq.cachedCount, 0);
});

test("a larger pull never asks past pullThresholdForQueue's room; then flow control pauses the queue", async () => {
  const c = consumer(5000, () => new Promise(() => {})); // handlers that never finish: everything stays cached
  const loop = c.loop();
  while (c.pq.pausedCount === 0) await new Promise((r) => setTimeout(r, 1));
  assert.equal(c.asked, [32, 968, 32], "32, the room left under 1,000, then pullBatchSize when there is none");
  assert.is(c.pq.cachedCount, 1032);
  c.pq.drop();
  await loop;
});

test("a handler that succeeds at once has finished its messages when submit returns", () => {
  const pq = new ProcessQueue(mq, 0);
  let calls = 0;
  const counters = { succeeded: 0, failed: 0, sentBack: 0 };
  const service = new ConsumeConcurrentlyService({
    group: "g", model: "clustering", consume: () => (calls++, "SUCCESS"), batchSize: 1, concurrency: 2, maxReconsumeTimes: 16,
    call: () => Promise.reject(new Error("no broker")), counters, later: () => {},
  });
  const msgs = Array.from({ length: 50 }, (_, i) => ({ topic: "T", queueOffset: i, body: "x" }) as never);
  pq.put(msgs, 50);
  service.submit(pq, msgs);
  assert.is(calls, 50, "no more than `concurrency` at once applies to handlers still running, not finished ones");
  assert.is(counters.succeeded, 50);
  assert.is(pq.cachedCount, 0);
  assert.is(service.running, 0);
});

test("a handler that throws at once, or answers later, still counts: the failure is sent back, the success finishes", async () => {
  const pq = new ProcessQueue(mq, 0);
  const counters = { succeeded: 0, failed: 0, sentBack: 0 };
  const sentBack: unknown[] = [];
  const service = new ConsumeConcurrentlyService({
    group: "g", model: "clustering", batchSize: 1, concurrency: 20, maxReconsumeTimes: 16, counters, later: () => {},
    consume: (ms: unknown) => {
      const [m] = ms as { queueOffset: number }[];
      if (m.queueOffset === 0) throw new Error("handler failed");
      return Promise.resolve("SUCCESS");
    },
    call: (_a: string, _op: string, args: Record<string, unknown>) => (sentBack.push(args), Promise.resolve({ code: 0 })),
  });
  const msgs = [0, 1].map((i) => ({ topic: "T", queueOffset: i, commitLogOffset: 100 + i, body: "x" }) as never);
  pq.put(msgs, 2);
  service.submit(pq, msgs);
  await service.idle(1000);
  assert.is(counters.succeeded, 1);
  assert.is(counters.failed, 1);
  assert.is(counters.sentBack, 1);
  assert.is((sentBack[0] as { commitLogOffset: number }).commitLogOffset, 100);
  assert.is(pq.cachedCount, 0);
});

test.run();
