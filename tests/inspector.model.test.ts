// The inspector page's model, without a browser: snapshots and frames build the actor tree,
// rates come from the broker's cumulative counters, a reconnection's snapshot replaces the
// broker's actors but keeps external ones, and @statelyai/inspect events become actors, a
// machine and log entries.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ActorView, kindOf, Model } from "../inspector/model.ts";
import { ingestStately } from "../inspector/stately.ts";

const actor = (id: string, value: unknown, context: unknown = {}): ActorView => ({ id, kind: kindOf(id), parent: id === "broker" ? null : "broker", status: "active", value, context });
const snapshot = (now: number, actors: ActorView[], topics: Record<string, number[]> = {}) => ({ brokerName: "b", now, actors, machines: {}, topics, lag: {} });
const frame = (now: number, f: Partial<Parameters<Model["applyFrame"]>[0]>) => ({ now, actors: [], removed: [], events: [], counts: {}, seen: 0, topics: {}, lag: {}, ...f });

test("frames update and remove actors, and count events", () => {
  const m = new Model();
  let changes = 0;
  m.onChange(() => changes++);
  m.applySnapshot(snapshot(0, [actor("broker", "running"), actor("queue:T:0", "idle", { maxOffset: 0 }), actor("group:g", "idle")]));
  m.applyFrame(frame(250, {
    actors: [actor("queue:T:0", "idle", { maxOffset: 3 })],
    removed: ["group:g"],
    events: [{ t: 240, to: "queue:T:0", from: "broker", type: "APPENDED" }],
    counts: { APPENDED: 5, APPEND_BATCH: 5 },
    seen: 10,
  }));
  assert.equal((m.actors.get("queue:T:0")!.context as { maxOffset: number }).maxOffset, 3);
  assert.not.ok(m.actors.has("group:g"));
  assert.equal([m.seen, m.sampled, m.counts.get("APPENDED")], [10, 1, 5]);
  assert.is(changes, 2);
});

test("rates are messages per second between counter samples at least a second apart", () => {
  const m = new Model();
  m.applySnapshot(snapshot(1000, [], { T: [100, 0, 40, 0] }));
  m.applyFrame(frame(1500, { topics: { T: [150, 0, 40, 0] } })); // under a second: no point yet
  assert.is(m.rates.get("T"), undefined);
  m.applyFrame(frame(3000, { topics: { T: [500, 0, 240, 0] } }));
  assert.equal(m.rates.get("T")!.map((p) => p.values), [[200, 100]]); // 400 in, 200 out over 2 s
  m.applyFrame(frame(4000, { topics: { T: [500, 0, 240, 0] }, lag: { g: 7 } }));
  assert.equal(m.rates.get("T")!.map((p) => p.values), [[200, 100], [0, 0]]);
  assert.equal(m.lag.get("g")!.map((p) => p.values), [[7]]);
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
