// Allocation strategies against RocketMQ's expected assignments: every member computes its own
// share from the same sorted lists, so the shares must partition the queues exactly.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allocate,
  type AllocatableQueue,
  allocateAveragely,
  allocateAveragelyByCircle,
  allocateConsistentHash,
  type AllocateContext,
  queueKey,
  sortQueues,
} from "../client/allocate.ts";

function queues(n: number, brokers = ["broker-a"]): AllocatableQueue[] {
  const out: AllocatableQueue[] = [];
  for (const broker of brokers) for (let q = 0; q < n; q++) out.push({ broker, topic: "T", queueId: q });
  return sortQueues(out);
}

const members = (m: number) => Array.from({ length: m }, (_, i) => `client-${i}`);

/** Each member's share, as queue indexes into the sorted list. */
function shares(strategy: (ctx: AllocateContext) => AllocatableQueue[], n: number, m: number, brokers?: string[]): number[][] {
  const qs = queues(n, brokers);
  const ms = members(m);
  return ms.map((clientId) => strategy({ group: "g", clientId, members: ms, queues: qs }).map((q) => qs.indexOf(q)));
}

function assertPartition(s: number[][], n: number) {
  const all = s.flat().sort((a, b) => a - b);
  assert.equal(all, Array.from({ length: n }, (_, i) => i), "every queue exactly once");
}

test("averagely: RocketMQ's arithmetic for several shapes", () => {
  assert.equal(shares(allocateAveragely, 8, 3), [[0, 1, 2], [3, 4, 5], [6, 7]]);
  assert.equal(shares(allocateAveragely, 8, 4), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.equal(shares(allocateAveragely, 8, 1), [[0, 1, 2, 3, 4, 5, 6, 7]]);
  assert.equal(shares(allocateAveragely, 10, 4), [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]);
  assert.equal(shares(allocateAveragely, 3, 5), [[0], [1], [2], [], []]);
  assert.equal(shares(allocateAveragely, 8, 8), [[0], [1], [2], [3], [4], [5], [6], [7]]);
  assert.equal(shares(allocateAveragely, 1, 2), [[0], []]);
  assert.equal(shares(allocateAveragely, 0, 2), [[], []]);
  for (const [n, m] of [[8, 3], [16, 5], [7, 7], [3, 5], [100, 9], [33, 4]]) assertPartition(shares(allocateAveragely, n, m), n);
});

test("averagelyByCircle: queue i to member i % m", () => {
  assert.equal(shares(allocateAveragelyByCircle, 8, 3), [[0, 3, 6], [1, 4, 7], [2, 5]]);
  assert.equal(shares(allocateAveragelyByCircle, 8, 4), [[0, 4], [1, 5], [2, 6], [3, 7]]);
  assert.equal(shares(allocateAveragelyByCircle, 3, 5), [[0], [1], [2], [], []]);
  for (const [n, m] of [[8, 3], [16, 5], [3, 5], [100, 9]]) assertPartition(shares(allocateAveragelyByCircle, n, m), n);
});

test("queues sort by broker name, then queue id, across brokers", () => {
  const qs = sortQueues([
    { broker: "b", topic: "T", queueId: 1 },
    { broker: "a", topic: "T", queueId: 1 },
    { broker: "b", topic: "T", queueId: 0 },
    { broker: "a", topic: "T", queueId: 0 },
  ]);
  assert.equal(qs.map((q) => `${q.broker}${q.queueId}`), ["a0", "a1", "b0", "b1"]);
  // 2 brokers x 4 queues over 3 members: the first member takes a0..a2.
  assert.equal(shares(allocateAveragely, 4, 3, ["broker-b", "broker-a"]), [[0, 1, 2], [3, 4, 5], [6, 7]]);
  const first = allocateAveragely({ group: "g", clientId: "client-0", members: members(3), queues: queues(4, ["broker-b", "broker-a"]) });
  assert.equal(first.map((q) => `${q.broker}:${q.queueId}`), ["broker-a:0", "broker-a:1", "broker-a:2"]);
});

test("a member missing from the list (its heartbeat not seen yet) takes nothing", () => {
  const qs = queues(8);
  for (const f of [allocateAveragely, allocateAveragelyByCircle, allocateConsistentHash]) {
    assert.equal(f({ group: "g", clientId: "stranger", members: members(3), queues: qs }), []);
  }
});

test("consistentHash: every queue exactly once; a new member moves a minority of queues", () => {
  for (const [n, m] of [[8, 3], [16, 5], [3, 5], [64, 4], [128, 10]]) assertPartition(shares(allocateConsistentHash, n, m), n);
  const n = 64;
  const owner = (m: number) => {
    const s = shares(allocateConsistentHash, n, m);
    const o: number[] = [];
    s.forEach((qs, member) => qs.forEach((q) => (o[q] = member)));
    return o;
  };
  const before = owner(4);
  const after = owner(5);
  const moved = before.filter((o, q) => after[q] !== o).length;
  // Only queues taken by the newcomer move; about n/5 of them.
  assert.ok(before.every((o, q) => after[q] === o || after[q] === 4), "queues move only to the new member");
  assert.ok(moved > 0 && moved < n / 2, `moved ${moved} of ${n}`);
  // Every member gets something at this size (10 virtual nodes each).
  assert.ok(shares(allocateConsistentHash, n, 5).every((s) => s.length > 0));
  // Removing a member moves only that member's queues.
  const fewer = owner(3);
  assert.ok(before.every((o, q) => o === 3 || fewer[q] === o), "only the leaver's queues move");
});

test("a user function: only queues from the list count, each once", () => {
  const qs = queues(8);
  const ctx = { group: "g", clientId: "client-1", members: members(2), queues: qs };
  const evens = allocate((c) => c.queues.filter((q) => q.queueId % 2 === (c.members.indexOf(c.clientId) === 0 ? 0 : 1)), ctx);
  assert.equal(evens.map((q) => q.queueId), [1, 3, 5, 7]);
  const invented = allocate(() => [{ broker: "broker-a", topic: "T", queueId: 99 }, { ...qs[2] }, { ...qs[2] }], ctx);
  assert.equal(invented, [qs[2]]);
  assert.throws(() => allocate(() => null as never, ctx), /array/);
  assert.throws(() => allocate("roundRobin" as never, ctx), /unknown allocation strategy/);
  assert.is(allocate("averagely", ctx).length, 4);
  assert.ok(queueKey(qs[0]).includes("queueId=0"));
});

test.run();
