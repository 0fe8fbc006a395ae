// The client halves of ordered messages on their own: the selector's checks, the process
// queue's oldest-first view, and the lock book-keeping (grant, loss, validity window, one
// request per broker) with the broker's answers given by a function, not a socket.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError, type MessageView } from "../protocol/mod.ts";
import { ProcessQueue } from "../client/process-queue.ts";
import { QueueLocks } from "../client/queue-locks.ts";
import { runSelector, selectMessageQueueByHash } from "../client/queue-selector.ts";
import type { MessageQueue } from "../client/topic-route.ts";

const mq = (queueId: number, address = "ws://a/ws", broker = "a"): MessageQueue => ({ broker, address, topic: "T", queueId });
const four = [0, 1, 2, 3].map((q) => mq(q));

test("runSelector accepts an index or one of the queues, and names anything else", () => {
  const msg = { topic: "T", body: "x" };
  assert.is(runSelector(() => 2, four, msg, null), four[2]);
  assert.is(runSelector((qs) => qs[3], four, msg, null), four[3]);
  assert.is(runSelector(() => ({ ...four[1] }), four, msg, null), four[1], "an equal copy names the same queue");
  for (const bad of [4, -1, 1.5, "1", null, { broker: "b", queueId: 0 }]) {
    const e = (() => {
      try {
        runSelector(() => bad as never, four, msg, null);
      } catch (x) {
        return x as BrokerError;
      }
    })();
    assert.ok(e instanceof BrokerError && e.code === "BAD_REQUEST", `rejected ${JSON.stringify(bad)}`);
  }
  const first = runSelector(selectMessageQueueByHash, four, msg, "customer-7");
  for (let i = 0; i < 5; i++) assert.is(runSelector(selectMessageQueueByHash, four, msg, "customer-7"), first);
  const spread = new Set(Array.from({ length: 100 }, (_, i) => runSelector(selectMessageQueueByHash, four, msg, `k${i}`).queueId));
  assert.is(spread.size, 4, "100 keys reach every queue");
});

test("ProcessQueue.oldest gives the oldest unfinished messages in queue order", () => {
  const pq = new ProcessQueue(mq(0), 0);
  const m = (o: number) => ({ queueOffset: o, body: `m${o}` }) as unknown as MessageView;
  const msgs = [0, 1, 2, 3, 4].map(m);
  pq.put(msgs, 5);
  assert.equal(pq.oldest(2).map((x) => x.queueOffset), [0, 1]);
  pq.remove([msgs[0]]);
  assert.equal(pq.oldest(2).map((x) => x.queueOffset), [1, 2]);
  pq.remove([msgs[2]]); // a DLQ'd message out of the middle
  assert.equal(pq.oldest(3).map((x) => x.queueOffset), [1, 3, 4]);
  assert.is(pq.committableOffset(), 1);
});

test("QueueLocks: granted queues are held for the validity window; refused ones are dropped; one request per broker", async () => {
  const requests: { address: string; op: string; queues: number[] }[] = [];
  let grant = (q: number) => q !== 1;
  const locks = new QueueLocks({
    group: "g",
    clientId: "me",
    call: (address, op, args) => {
      const qs = args.queues as { topic: string; queueId: number }[];
      requests.push({ address, op, queues: qs.map((q) => q.queueId) });
      return Promise.resolve(op === "lockQueues" ? { locked: qs.filter((q) => grant(q.queueId)) } : { unlocked: qs });
    },
  }, 200);
  const qs = [mq(0), mq(1), mq(2, "ws://b/ws", "b")];
  const got = await locks.lock(qs);
  assert.is(got.size, 2);
  assert.equal(requests.map((r) => [r.address, r.queues]), [["ws://a/ws", [0, 1]], ["ws://b/ws", [2]]]);
  assert.ok(locks.isLocked(qs[0]) && !locks.isLocked(qs[1]) && locks.isLocked(qs[2]));
  grant = (q) => q !== 0; // someone else has 0 now
  await locks.lock([qs[0]]);
  assert.not.ok(locks.isLocked(qs[0]), "a refused renewal drops the lock");
  await new Promise((r) => setTimeout(r, 250));
  assert.not.ok(locks.isLocked(qs[2]), "not renewed within the validity window: no longer trusted");
  await locks.unlock([qs[2]]);
  assert.equal(requests.at(-1), { address: "ws://b/ws", op: "unlockQueues", queues: [2] });
  assert.equal(locks.queues(), []);
});

test("QueueLocks: a broker that does not answer changes nothing; its locks lapse on their own", async () => {
  let up = true;
  const locks = new QueueLocks({
    group: "g",
    clientId: "me",
    call: (_a, _op, args) => (up ? Promise.resolve({ locked: args.queues }) : Promise.reject(new BrokerError("TIMEOUT", "no answer"))),
  }, 200);
  await locks.lock([mq(0)]);
  up = false;
  assert.is((await locks.lock([mq(0)])).size, 0);
  assert.ok(locks.isLocked(mq(0)), "still trusted: the broker keeps it longer than the client trusts it");
  await new Promise((r) => setTimeout(r, 250));
  assert.not.ok(locks.isLocked(mq(0)));
});

test.run();
