// The name server's routes for replicated groups (docs/REPLICATION.md): members keyed by name and
// id, a group routed to its master of the newest epoch, to a slave read-only while it has none,
// never to a slave for topic creation or auto-create routes; and the rule by which members
// suggest where a consumer pulls next (runtime/ha/read-suggestion.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import * as v from "valibot";
import { autoCreateRoute, createNamesrvMachine, topicRoute } from "../actors/namesrv.machine.ts";
import { masterSuggestion, slaveSuggestion } from "../runtime/ha/read-suggestion.ts";
import { OPTIONS } from "../runtime/options.ts";

const T = { T: { queues: 4, perm: 6 } };

function namesrv() {
  return createActor(createNamesrvMachine({ now: () => 5_000, brokerExpiryMs: 10_000 }), { input: undefined }).start();
}

test("a group is routed to its master; a deposed master of an older epoch is passed over", () => {
  const a = namesrv();
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 0, role: "master", epoch: 1, address: "ws://m0/ws", topics: T, autoCreateQueues: 4 });
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 1, role: "slave", epoch: 1, address: "ws://s1/ws", topics: T, autoCreateQueues: 4 });
  a.send({ type: "REGISTER_BROKER", brokerName: "b2", address: "ws://b2/ws", topics: T });
  // A group's route lists its members (where a pull's suggestWhichBrokerId points); a broker alone has none.
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000), [
    { name: "b2", address: "ws://b2/ws", queues: 4, perm: 6 },
    { name: "g1", address: "ws://m0/ws", queues: 4, perm: 6, brokerAddrs: { 0: "ws://m0/ws", 1: "ws://s1/ws" } },
  ]);
  // Broker 1 promoted (epoch 2) while broker 0 still claims epoch 1.
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 1, role: "master", epoch: 2, address: "ws://s1/ws", topics: T, autoCreateQueues: 4 });
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000).find((b) => b.name === "g1")?.address, "ws://s1/ws");
  assert.equal(autoCreateRoute(a.getSnapshot().context, 5_000).filter((b) => b.name === "g1").map((b) => b.address), ["ws://s1/ws"]);
  a.stop();
});

test("a group without a master is read from a slave, read-only, and never auto-created on", () => {
  const a = namesrv();
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 2, role: "slave", epoch: 3, address: "ws://s2/ws", topics: T, autoCreateQueues: 4 });
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 1, role: "slave", epoch: 3, address: "ws://s1/ws", topics: T, autoCreateQueues: 4 });
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000), [{ name: "g1", address: "ws://s1/ws", queues: 4, perm: 4, brokerAddrs: { 1: "ws://s1/ws", 2: "ws://s2/ws" } }]);
  assert.equal(autoCreateRoute(a.getSnapshot().context, 5_000), []);
  // The master's registration gone (its connection closed): its key is name#id.
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 0, role: "master", epoch: 3, address: "ws://m0/ws", topics: T });
  assert.is(topicRoute(a.getSnapshot().context, "T", 5_000)[0].perm, 6);
  a.send({ type: "CONNECTION_CLOSED", keys: ["g1#0"] });
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000)[0], { name: "g1", address: "ws://s1/ws", queues: 4, perm: 4, brokerAddrs: { 1: "ws://s1/ws", 2: "ws://s2/ws" } });
  a.stop();
});

test("which member a pull is suggested: a slave far behind the master's end, the master again within half of it", () => {
  const rule = { enabled: true, behindBytes: 1000 };
  const slaves = [{ brokerId: 1, ackOffset: 10_000, inSync: true }, { brokerId: 2, ackOffset: 10_000, inSync: true }, { brokerId: 3, ackOffset: 10_000, inSync: false }];
  // The master (id 0), its end at 10,000.
  assert.is(masterSuggestion(rule, 0, 10_000, 0, 9_000, slaves), 0, "at the line: the master");
  assert.is(masterSuggestion(rule, 0, 10_000, 0, undefined, slaves), 0, "nothing found: the master");
  assert.equal([0, 1, 2, 3].map((q) => masterSuggestion(rule, 0, 10_000, q, 8_999, slaves)), [1, 2, 1, 2], "in-sync slaves, spread over queues");
  assert.is(masterSuggestion(rule, 0, 10_000, 0, 100, [slaves[2]]), 3, "an out-of-sync slave when no other holds more");
  assert.is(masterSuggestion(rule, 0, 10_000, 0, 100, [{ brokerId: 1, ackOffset: 100, inSync: true }]), 0, "no slave holds more than was read");
  assert.is(masterSuggestion({ ...rule, enabled: false }, 0, 10_000, 0, 100, slaves), 0, "--no-slave-read-enable");
  // A slave (id 1) of master 0 whose end is 10,000.
  assert.is(slaveSuggestion(rule, 1, 0, 10_000, 8_000), 1, "still far behind: here");
  assert.is(slaveSuggestion(rule, 1, 0, 10_000, 9_500), 0, "within half the distance: the master");
  assert.is(slaveSuggestion(rule, 1, 0, 10_000, undefined), 0, "nothing more here: the master");
  assert.is(slaveSuggestion(rule, 1, undefined, 10_000, undefined), 1, "no master to go back to: here");
  assert.is(slaveSuggestion({ ...rule, enabled: false }, 1, 0, 10_000, 100), 0, "--no-slave-read-enable: the master");
});

test("--slave-read-behind takes a size or a share of memory", () => {
  const kind = OPTIONS.slaveReadBehind;
  assert.equal(v.parse(kind.schema, "40%"), { percent: 40 });
  assert.equal(v.parse(kind.schema, "256k"), { bytes: 262_144 });
  assert.equal(v.parse(kind.schema, 4096), { bytes: 4096 });
  for (const bad of ["0%", "101%", "0", "lots", "-1"]) assert.not.ok(v.safeParse(kind.schema, bad).success, bad);
  assert.is(kind.show({ percent: 40 }), "40%");
  assert.is(kind.show({ bytes: 262_144 }), "256k");
});

test.run();
