// The machines on their own, with XState's SimulatedClock driving time: no sockets, no files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor, initialTransition, SimulatedClock, transition } from "xstate";
import { createBrokerMachine, GROUPS_ID, TOPICS_ID } from "../actors/broker.machine.ts";
import { adoptRootChildren } from "../actors/snapshot-upgrade.ts";
import type { TopicsSnapshot } from "../actors/topics.logic.ts";
import { createGroupMachine } from "../actors/group.machine.ts";
import { createQueueMachine, type Hold } from "../actors/queue.machine.ts";
import { createTimerMachine } from "../actors/timer.machine.ts";
import { decode, encode } from "../protocol/mod.ts";
import { brokerDeps } from "./helpers/broker-deps.ts";

function hold(offset: number, deadline: number, reqId = 1): Hold {
  return { sessionId: "ws-1", reqId, offset, maxCount: 32, maxBytes: 1 << 20, expression: "*", deadline };
}

function queueHarness() {
  const clock = new SimulatedClock();
  const released: { holds: Hold[]; reason: string }[] = [];
  const machine = createQueueMachine({ now: () => clock.now(), releaseHolds: (_t, _q, holds, reason) => released.push({ holds, reason }) });
  const actor = createActor(machine, { clock, input: { topic: "T", queueId: 0, perm: 6 } }).start();
  return { clock, released, actor };
}

test("a held pull is released by the append that passes its offset", () => {
  const { actor, released } = queueHarness();
  actor.send({ type: "PULL", hold: hold(0, 15_000) });
  assert.is(actor.getSnapshot().value, "holding");
  actor.send({ type: "APPENDED", maxOffset: 1, lastStoreTimestamp: 5 });
  assert.is(released.length, 1);
  assert.is(released[0].reason, "wake");
  assert.is(actor.getSnapshot().value, "idle");
  assert.is(actor.getSnapshot().context.maxOffset, 1);
});

test("a hold past the new max stays held; holds expire at their own deadlines", () => {
  const { actor, released, clock } = queueHarness();
  actor.send({ type: "APPENDED", maxOffset: 5, lastStoreTimestamp: 1 });
  actor.send({ type: "PULL", hold: hold(5, 10_000, 1) });
  actor.send({ type: "PULL", hold: hold(5, 3_000, 2) }); // due sooner: re-arms the timer
  clock.increment(2_999);
  assert.is(released.length, 0);
  clock.increment(1);
  assert.is(released.length, 1);
  assert.equal(released[0].holds.map((h) => h.reqId), [2]);
  assert.is(released[0].reason, "timeout");
  clock.increment(7_000);
  assert.equal(released[1].holds.map((h) => h.reqId), [1]);
  assert.is(actor.getSnapshot().value, "idle");
});

function brokerHarness(snapshot?: unknown) {
  const clock = new SimulatedClock();
  let snapshots = 0;
  const changes: { group: string; clientIds: string[] }[] = [];
  const deps = brokerDeps({
    memberExpiryMs: 120_000,
    membersChanged: (group, clientIds) => void changes.push({ group, clientIds }),
    now: () => clock.now(),
    snapshotIntervalMs: 30_000,
    snapshot: () => void snapshots++,
    restartInput: (id) => ({ topic: id.split(":")[1], queueId: Number(id.split(":")[2]), perm: 6, maxOffset: 99 }),
  });
  const actor = createActor(createBrokerMachine(deps), { clock, input: { brokerName: "b" }, ...(snapshot ? { snapshot: snapshot as never } : {}) }).start();
  return { actor, clock, snapshots: () => snapshots, changes };
}

/** The machine's own actions among those a pure transition returns (timers XState arms and cancels left out). */
const own = <A extends { type: string }>(actions: A[]) => actions.filter((a) => !a.type.startsWith("xstate."));

test("pure transitions: an append that reaches a hold drops it from the context and leaves its release as an action", () => {
  const released: Hold[][] = [];
  const machine = createQueueMachine({ now: () => 0, releaseHolds: (_t, _q, holds) => released.push(holds) });
  const [idle] = initialTransition(machine, { topic: "T", queueId: 0, perm: 6 });
  const [appended, quiet] = transition(machine, idle, { type: "APPENDED", maxOffset: 1, lastStoreTimestamp: 1 });
  assert.equal([appended.context.maxOffset, own(quiet).map((a) => a.type)], [1, []], "an append to a queue nobody waits on runs no effect");
  const [holding] = transition(machine, idle, { type: "PULL", hold: hold(3, 15_000) });
  const [later, none] = transition(machine, holding, { type: "APPENDED", maxOffset: 2, lastStoreTimestamp: 1 });
  assert.equal([later.value, later.context.holds.length, own(none).map((a) => a.type)], ["holding", 1, ["wakeHolds"]]);
  const [woken, actions] = transition(machine, later, { type: "APPENDED", maxOffset: 4, lastStoreTimestamp: 2 });
  assert.equal([woken.value, woken.context.holds, woken.context.maxOffset], ["idle", [], 4]);
  assert.equal(own(actions).map((a) => a.type), ["wakeHolds"]);
  assert.equal(released, [], "nothing runs until the actions do");
  for (const a of own(actions)) a.exec?.(a.info, a.params);
  assert.equal(released, [[hold(3, 15_000)]], "the action answers the hold the append reached, read from the context before it");
});

test("pure transitions: the timer runs its effect as an action and takes its result as TICKED", () => {
  let ticks = 0;
  const machine = createTimerMachine({ now: () => 1000, timerTick: () => (++ticks, 5000) });
  const [waiting] = initialTransition(machine, { nextAt: 2000 });
  const [same, actions] = transition(machine, waiting, { type: "TICK" });
  assert.equal([same.context.nextAt, own(actions).map((a) => a.type), ticks], [2000, ["tick"], 0]);
  const [next] = transition(machine, same, { type: "TICKED", nextAt: 5000 });
  assert.equal([next.value, next.context], ["waiting", { nextAt: 5000 }]);
});

test("pure transitions: a group answers VIEW for itself, and a departure is a named effect with what it needs", () => {
  const changes: unknown[] = [];
  const machine = createGroupMachine({ now: () => 1000, memberExpiryMs: 120_000, membersChanged: (...args) => changes.push(args) });
  const [idle] = initialTransition(machine, { group: "g" });
  const [one] = transition(machine, idle, { type: "HEARTBEAT", clientId: "a", model: "clustering", subscriptions: { T: "*" } });
  const [none, left] = transition(machine, one, { type: "UNREGISTER", clientId: "a" });
  assert.equal([none.value, none.context.members], ["idle", {}]);
  assert.equal(own(left).map((a) => [a.type, a.params]), [["membersChanged", { group: "g", clientIds: [], topics: ["T"] }]]);
  const views: unknown[] = [];
  const [, answer] = transition(machine, one, { type: "VIEW", reply: (v) => views.push(v) });
  for (const a of own(answer)) a.exec?.(a.info, a.params);
  assert.equal(views, [{ members: one.context.members, offsets: {} }]);
  assert.equal(changes, []);
});

/** The topics actor's snapshot: the queue actors, and the restarts of failed ones. */
const topicsOf = (actor: { system: { get(id: string): unknown } }) => (actor.system.get(TOPICS_ID) as { getSnapshot(): TopicsSnapshot }).getSnapshot();

test("topics spawn queue children under the topics actor; APPEND_BATCH reaches exactly the touched queues", () => {
  const { actor } = brokerHarness();
  actor.send({ type: "CREATE_TOPIC", topic: "Orders", queues: 4, perm: 6 });
  assert.equal(Object.keys(actor.getSnapshot().children).sort(), [GROUPS_ID, TOPICS_ID]);
  assert.equal(Object.keys(topicsOf(actor).children).sort(), ["queue:Orders:0", "queue:Orders:1", "queue:Orders:2", "queue:Orders:3"]);
  actor.send({ type: "APPEND_BATCH", queues: [["Orders", 2, 7, 100]] });
  const max = (q: number) => actor.system.get(`queue:Orders:${q}`)!.getSnapshot().context.maxOffset;
  assert.equal([max(0), max(1), max(2), max(3)], [0, 0, 7, 0]);
  actor.send({ type: "CREATE_TOPIC", topic: "Orders", queues: 2, perm: 6 }); // never stops a queue
  assert.is(Object.keys(topicsOf(actor).children).length, 4);
});

test("the persisted tree survives CBOR and restores queues, groups and offsets", () => {
  const { actor } = brokerHarness();
  actor.send({ type: "CREATE_TOPIC", topic: "A", queues: 2, perm: 6 });
  actor.send({ type: "APPEND_BATCH", queues: [["A", 1, 42, 9]] });
  actor.send({ type: "COMMIT_OFFSET", group: "g", topic: "A", queueId: 1, offset: 40 });
  const bytes = encode(actor.getPersistedSnapshot());
  actor.stop();
  const restored = brokerHarness(decode(bytes)).actor;
  // queue:A:0 never held a message: left out of the snapshot, spawned again from the topic table.
  assert.equal(Object.keys(topicsOf(restored).children), ["queue:A:1"]);
  restored.send({ type: "CREATE_TOPICS", topics: [["A", 2, 6]] });
  assert.equal(Object.keys(topicsOf(restored).children).sort(), ["queue:A:0", "queue:A:1"]);
  assert.is(restored.system.get("queue:A:1")!.getSnapshot().context.maxOffset, 42);
  assert.equal(restored.system.get("group:g")!.getSnapshot().context.offsets, { "A:1": 40 });
  restored.send({ type: "APPEND_BATCH", queues: [["A", 1, 43, 10]] });
  assert.is(restored.system.get("queue:A:1")!.getSnapshot().context.maxOffset, 43);
});

test("a snapshot from when queues and groups were children of the root restores under the topics and groups actors", () => {
  const { actor } = brokerHarness();
  actor.send({ type: "CREATE_TOPIC", topic: "A", queues: 2, perm: 6 });
  actor.send({ type: "APPEND_BATCH", queues: [["A", 0, 1, 9], ["A", 1, 42, 9]] });
  actor.send({ type: "COMMIT_OFFSET", group: "g", topic: "A", queueId: 1, offset: 40 });
  // The old layout: every queue and group a child of the root.
  const now = decode(encode(actor.getPersistedSnapshot())) as { children: Record<string, { snapshot: { children: Record<string, unknown> } }> };
  const { [TOPICS_ID]: topics, [GROUPS_ID]: groups, ...rest } = now.children;
  const old = { ...now, children: { ...rest, ...topics.snapshot.children, ...groups.snapshot.children } };
  actor.stop();
  adoptRootChildren(old as never);
  const restored = brokerHarness(old).actor;
  assert.equal(Object.keys(topicsOf(restored).children).sort(), ["queue:A:0", "queue:A:1"]);
  assert.is(restored.system.get("queue:A:1")!.getSnapshot().context.maxOffset, 42);
  assert.equal(restored.system.get("group:g")!.getSnapshot().context.offsets, { "A:1": 40 });
  assert.equal(Object.keys(restored.getSnapshot().children).sort(), [GROUPS_ID, TOPICS_ID]);
});

test("a restored root snapshots again after REARM (XState does not restore timers)", () => {
  const first = brokerHarness();
  first.clock.increment(10_000);
  const restored = brokerHarness(decode(encode(first.actor.getPersistedSnapshot())));
  restored.clock.increment(60_000);
  assert.is(restored.snapshots(), 0, "without REARM the restored timer is gone");
  restored.actor.send({ type: "REARM" });
  restored.clock.increment(1);
  assert.is(restored.snapshots(), 1, "due long ago: fires at once");
  restored.clock.increment(30_000);
  assert.is(restored.snapshots(), 2);
});

test("the root asks for a snapshot every interval, re-armed from its absolute due time", () => {
  const { clock, snapshots } = brokerHarness();
  clock.increment(29_999);
  assert.is(snapshots(), 0);
  clock.increment(1);
  assert.is(snapshots(), 1);
  clock.increment(30_000);
  assert.is(snapshots(), 2);
});

test("a child that throws is restarted from the state the broker vouches for", () => {
  const clock = new SimulatedClock();
  let fail = true;
  const deps = brokerDeps({
    now: () => clock.now(),
    releaseHolds: () => {
      if (fail) throw new Error("boom");
    },
    snapshotIntervalMs: 30_000,
    restartInput: () => ({ topic: "T", queueId: 0, perm: 6, maxOffset: 5 }),
  });
  const actor = createActor(createBrokerMachine(deps), { clock, input: { brokerName: "b" } }).start();
  actor.send({ type: "CREATE_TOPIC", topic: "T", queues: 1, perm: 6 });
  actor.send({ type: "PULL", topic: "T", queueId: 0, hold: hold(0, 1_000) });
  actor.send({ type: "APPEND_BATCH", queues: [["T", 0, 5, 1]] }); // waking the hold throws
  assert.is(topicsOf(actor).context.restarts["queue:T:0"], 1);
  const q = actor.system.get("queue:T:0")!;
  assert.is(q.getSnapshot().status, "active");
  assert.is(q.getSnapshot().context.maxOffset, 5);
  fail = false;
});

test("group members join, leave and expire; each change asks the members to rebalance", () => {
  const { actor, clock, changes } = brokerHarness();
  const hb = (clientId: string) => actor.send({ type: "HEARTBEAT", group: "g", clientId, model: "clustering", subscriptions: { T: "*" } });
  hb("a");
  hb("b");
  assert.equal(changes.map((c) => c.clientIds), [["a"], ["a", "b"]]);
  clock.increment(60_000);
  hb("a"); // a renews; b does not
  assert.is(changes.length, 2, "a renewal is not a change");
  clock.increment(60_000);
  assert.equal(changes.at(-1)!.clientIds, ["a"], "b expired 120 s after its last heartbeat");
  actor.send({ type: "UNREGISTER", group: "g", clientId: "a" });
  assert.equal(changes.at(-1)!.clientIds, []);
  assert.is(actor.system.get("group:g")!.getSnapshot().value, "idle");
});

test("a restored group re-arms member expiry from the heartbeat times in its context", () => {
  const first = brokerHarness();
  first.actor.send({ type: "HEARTBEAT", group: "g", clientId: "a", model: "clustering", subscriptions: { T: "*" } });
  const bytes = encode(first.actor.getPersistedSnapshot());
  first.actor.stop();
  const second = brokerHarness(decode(bytes));
  second.actor.send({ type: "REARM" }); // what Broker.restore does after a restore
  assert.equal(Object.keys(second.actor.system.get("group:g")!.getSnapshot().context.members), ["a"]);
  second.clock.increment(120_000);
  assert.equal(second.changes.at(-1)!.clientIds, [], "expired after restore, without any new event");
});

test.run();
