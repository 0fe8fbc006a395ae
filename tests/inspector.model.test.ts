// The inspector page's model, without a browser: snapshots and frames build the actor tree,
// rates come from the growth of the overview's counters with gaps for downtime, a reconnection's snapshot replaces the
// broker's actors but keeps external ones, and @statelyai/inspect events become actors, a
// machine and log entries.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ActorView, kindOf, Model, type OverviewView } from "../inspector/model.ts";
import { ingestStately } from "../inspector/stately.ts";

const actor = (id: string, value: unknown, context: unknown = {}): ActorView => ({ id, kind: kindOf(id), parent: id === "broker" ? null : "broker", status: "active", value, context });

/** An overview at `now` with one topic T (cumulative in/out) and one group g (lag, committed sum). */
const overview = (now: number, [msgsIn, msgsOut]: [number, number], [lag, committed]: [number, number] = [0, 0], startedAt = 1): OverviewView => ({
  now,
  broker: { name: "b", address: "", status: "ok", version: "0", runtime: "node", startedAt, connections: 1, inspectors: 1, actors: 3, memory: { rss: 0, heapUsed: 0 }, commitLog: { min: 0, max: 0 }, disk: null, dataDir: "" },
  totals: [msgsIn, 0, msgsOut, 0],
  topics: [{ topic: "T", kind: "user", queues: 1, perm: 6, messages: msgsIn, lastStoreTimestamp: now, counters: [msgsIn, 0, msgsOut, 0] }],
  groups: [{ group: "g", state: "consuming", members: [], queues: [["T", 0, committed, msgsIn, lag]], lag, committed, lastCommitAt: 0, retry: 0, dlq: 0 }],
});
const snapshot = (now: number, actors: ActorView[], o?: OverviewView) => ({ brokerName: "b", now, actors, machines: {}, ...(o ? { overview: o } : {}) });
const frame = (now: number, f: Partial<Parameters<Model["applyFrame"]>[0]>) => ({ now, actors: [], removed: [], events: [], counts: {}, seen: 0, ...f });

test("frames update and remove actors, and count events", () => {
  const m = new Model();
  let changes = 0;
  m.onChange(() => changes++);
  m.applySnapshot(snapshot(0, [actor("broker", "running"), actor("queue:T:0", "idle", { maxOffset: 0 }), actor("group:g", "idle")]));
  m.applyFrame(frame(250, {
    actors: [actor("queue:T:0", "idle", { maxOffset: 3 })],
    removed: ["group:g"],
    events: [{ t: 240, to: "queue:T:0", from: "broker", type: "APPENDED" }],
    counts: { APPENDED: 1 },
    seen: 1,
    watchedMs: 50,
  }));
  assert.equal((m.actors.get("queue:T:0")!.context as { maxOffset: number }).maxOffset, 3);
  assert.not.ok(m.actors.has("group:g"));
  assert.equal([m.seen, m.sampled, m.counts.get("APPENDED"), m.eventRate], [1, 1, 1, 20], "one event in 50 ms watched: about 20 a second");
  assert.is(changes, 2);
});

test("rates are the counters' growth between overviews; lag and commits per second per group", () => {
  const m = new Model();
  m.applySnapshot(snapshot(1000, [], overview(1000, [100, 40], [60, 40])));
  assert.equal(m.history, [], "the first overview is only a baseline");
  m.applyFrame(frame(3000, { overview: overview(3000, [500, 240], [260, 240]) }));
  const s = m.history.at(-1)!;
  assert.equal([s.in, s.out, s.topics.get("T"), s.groups.get("g")], [200, 100, [200, 100], [260, 100]]); // 400 in, 200 out, 200 commits over 2 s
  assert.equal(m.latest("groups", "g"), [260, 100]);
  m.applyFrame(frame(3250, {})); // a frame without an overview adds no point
  assert.is(m.history.length, 1);
});

test("downtime is a gap: disconnection, reconnection and a broker restart never draw a rate across it", () => {
  const m = new Model();
  m.applySnapshot(snapshot(1000, [], overview(1000, [100, 0])));
  m.applyFrame(frame(2000, { overview: overview(2000, [200, 0]) }));
  m.disconnected(2500);
  assert.equal(m.history.map((s) => s.in), [100, null]);
  assert.is(m.latest("topics", "T"), undefined, "no current rate while disconnected");
  // Back: the snapshot's overview is a new baseline, not compared with the one before the gap.
  m.applySnapshot(snapshot(9000, [], overview(9000, [900, 0])));
  assert.equal(m.history.map((s) => s.in), [100, null]);
  m.applyFrame(frame(10_000, { overview: overview(10_000, [1000, 0]) }));
  assert.equal(m.history.map((s) => s.in), [100, null, 100]);
  // The broker restarted (a new start time, counters from zero) without the page noticing a disconnection.
  m.applyFrame(frame(11_000, { overview: overview(11_000, [30, 0], [0, 0], 2) }));
  assert.equal(m.history.map((s) => s.in), [100, null, 100, null]);
  m.applyFrame(frame(12_000, { overview: overview(12_000, [80, 0], [0, 0], 2) }));
  assert.equal(m.history.map((s) => s.in), [100, null, 100, null, 50]);
});

test("a reconnection's snapshot replaces the broker's actors and keeps external ones", () => {
  const m = new Model();
  m.applySnapshot(snapshot(0, [actor("broker", "running"), actor("queue:Old:0", "idle")]));
  assert.ok(ingestStately(m, { type: "@xstate.actor", sessionId: "x:1", snapshot: { status: "active", value: "a", context: {} } }));
  m.applySnapshot(snapshot(10, [actor("broker", "running"), actor("queue:New:0", "idle")]));
  assert.equal([...m.actors.keys()].sort(), ["broker", "ext:x:1", "queue:New:0"]);
});

test("@statelyai/inspect events: actor with its machine, snapshot, event; anything else is refused", () => {
  const m = new Model();
  const definition = JSON.stringify({
    key: "light", type: "compound", initial: { target: ["#light.green"] }, on: { RESET: [{ target: ["#light.green"] }] },
    states: { green: { key: "green", type: "atomic", on: { TIMER: [{ target: ["#light.yellow"] }] }, states: {} }, yellow: { key: "yellow", type: "atomic", on: {}, states: {} } },
  });
  ingestStately(m, { type: "@xstate.actor", sessionId: "x:1", parentId: "x:0", definition, snapshot: { status: "active", value: "green", context: { n: 1 } } });
  const a = m.actors.get("ext:x:1")!;
  assert.equal([a.parent, a.value, a.origin], ["ext:x:0", "green", "external"]);
  const machine = m.machines["ext:x:1"];
  assert.equal([machine.initial, Object.keys(machine.states)], ["green", ["green", "yellow"]]);
  assert.equal(machine.states.green.on, [["TIMER", "yellow"]]);
  assert.equal(machine.on, [["RESET", "green"]]);
  ingestStately(m, { type: "@xstate.snapshot", sessionId: "x:1", event: { type: "TIMER" }, snapshot: { status: "active", value: "yellow", context: { n: 2 } } });
  assert.equal([m.actors.get("ext:x:1")!.value, m.actors.get("ext:x:1")!.context], ["yellow", { n: 2 }]);
  ingestStately(m, { type: "@xstate.event", sessionId: "x:1", sourceId: "x:0", createdAt: "2026-01-01T00:00:00.000Z", event: { type: "TIMER", by: 1 } });
  assert.equal(m.events[m.events.length - 1], { t: Date.parse("2026-01-01T00:00:00.000Z"), to: "ext:x:1", from: "ext:x:0", type: "TIMER", data: { by: 1 } });
  for (const junk of [null, "x", { type: "hello" }, { type: "@xstate.event" }, { type: "@statelyai.connected" }]) assert.not.ok(ingestStately(m, junk));
});

test.run();
