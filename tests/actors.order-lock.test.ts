// Order locks on the queue machine, with XState's SimulatedClock driving time: grant, renew,
// refusal while a live member holds it, expiry, unlock, loss on leaving, and survival of a
// persisted snapshot (the expiry is an absolute time in context).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor, SimulatedClock } from "xstate";
import { createBrokerMachine } from "../actors/broker.machine.ts";
import { lockHolder } from "../actors/order-lock.ts";
import { createQueueMachine } from "../actors/queue.machine.ts";
import { decode, encode } from "../protocol/mod.ts";
import { brokerDeps } from "./helpers/broker-deps.ts";

const EXPIRY = 60_000;

function harness() {
  const clock = new SimulatedClock();
  const actor = createActor(createQueueMachine({ now: () => clock.now(), releaseHolds: () => {} }), { clock, input: { topic: "T", queueId: 0, perm: 6 } }).start();
  const lock = (clientId: string, members = ["a", "b"], group = "g") =>
    actor.send({ type: "LOCK", group, clientId, members, now: clock.now(), expiresAt: clock.now() + EXPIRY });
  const holder = (group = "g") => lockHolder(actor.getSnapshot().context.locks, group, clock.now());
  return { clock, actor, lock, holder };
}

test("the first member to ask gets the lock; another member of the group is refused while it is held", () => {
  const { lock, holder } = harness();
  assert.is(holder(), undefined);
  lock("a");
  assert.is(holder(), "a");
  lock("b");
  assert.is(holder(), "a", "b is refused: a is a live member and its lock has not expired");
});

test("renewal moves the expiry forward; an unrenewed lock expires and goes to the next to ask", () => {
  const { lock, holder, clock, actor } = harness();
  lock("a");
  clock.increment(50_000);
  lock("a"); // renewal at 50 s: now held until 110 s
  assert.is(actor.getSnapshot().context.locks!.g.expiresAt, 110_000);
  clock.increment(59_999);
  lock("b");
  assert.is(holder(), "a", "still 1 ms to go");
  clock.increment(1);
  assert.is(holder(), undefined, "expired: nobody holds it, though the record is still there");
  lock("b");
  assert.is(holder(), "b");
});

test("unlock frees the lock only for its holder", () => {
  const { lock, holder, actor } = harness();
  lock("a");
  actor.send({ type: "UNLOCK", group: "g", clientId: "b" });
  assert.is(holder(), "a", "b cannot free a's lock");
  actor.send({ type: "UNLOCK", group: "g", clientId: "a" });
  assert.is(holder(), undefined);
  lock("b");
  assert.is(holder(), "b");
});

test("a holder that left the group loses its lock: at once on RELEASE_LEFT, and at the next LOCK anyway", () => {
  const { lock, holder, actor } = harness();
  lock("a");
  actor.send({ type: "RELEASE_LEFT", group: "g", members: ["a", "b"] });
  assert.is(holder(), "a", "a is still a member");
  actor.send({ type: "RELEASE_LEFT", group: "g", members: ["b"] });
  assert.is(holder(), undefined);
  lock("a", ["a", "b"]);
  // a leaves without the broker telling the queue: b's request carries the members list.
  lock("b", ["b"]);
  assert.is(holder(), "b");
});

test("only a member can hold a lock; groups lock the same queue independently", () => {
  const { lock, holder } = harness();
  lock("x", ["a", "b"]);
  assert.is(holder(), undefined, "x is not a member of g");
  lock("a", ["a"], "g");
  lock("b", ["b"], "h");
  assert.is(holder("g"), "a");
  assert.is(holder("h"), "b");
});

test("locks survive a persisted snapshot of the tree with their absolute expiry", () => {
  const clock = new SimulatedClock();
  const deps = () => brokerDeps({ now: () => clock.now(), memberExpiryMs: 120_000, snapshotIntervalMs: 30_000 });
  const first = createActor(createBrokerMachine(deps()), { clock, input: { brokerName: "b" } }).start();
  first.send({ type: "CREATE_TOPIC", topic: "T", queues: 2, perm: 6 });
  first.system.get("queue:T:1")!.send({ type: "LOCK", group: "g", clientId: "a", members: ["a", "b"], now: clock.now(), expiresAt: clock.now() + EXPIRY });
  const bytes = encode(first.getPersistedSnapshot());
  first.stop();
  clock.increment(30_000);
  const second = createActor(createBrokerMachine(deps()), { clock, input: { brokerName: "b" }, snapshot: decode(bytes) as never }).start();
  second.send({ type: "REARM" });
  const q = second.system.get("queue:T:1")!;
  assert.is(lockHolder(q.getSnapshot().context.locks, "g", clock.now()), "a");
  q.send({ type: "LOCK", group: "g", clientId: "b", members: ["a", "b"], now: clock.now(), expiresAt: clock.now() + EXPIRY });
  assert.is(lockHolder(q.getSnapshot().context.locks, "g", clock.now()), "a", "still a's after the restore");
  clock.increment(30_000);
  q.send({ type: "LOCK", group: "g", clientId: "b", members: ["a", "b"], now: clock.now(), expiresAt: clock.now() + EXPIRY });
  assert.is(lockHolder(q.getSnapshot().context.locks, "g", clock.now()), "b", "a's expiry (60 s after it locked) carried over the restore");
});

test("a queue restored from a snapshot taken before locks existed accepts locks", () => {
  const clock = new SimulatedClock();
  const machine = createQueueMachine({ now: () => clock.now(), releaseHolds: () => {} });
  const old = createActor(machine, { clock, input: { topic: "T", queueId: 0, perm: 6 } }).start();
  const snap = old.getPersistedSnapshot() as unknown as { context: Record<string, unknown> };
  delete snap.context.locks;
  // The input is ignored when a snapshot is given (XState's types ask for it all the same).
  const actor = createActor(machine, { clock, input: { topic: "T", queueId: 0, perm: 6 }, snapshot: snap as never }).start();
  actor.send({ type: "LOCK", group: "g", clientId: "a", members: ["a"], now: clock.now(), expiresAt: EXPIRY });
  assert.is(lockHolder(actor.getSnapshot().context.locks, "g", clock.now()), "a");
});

test.run();
