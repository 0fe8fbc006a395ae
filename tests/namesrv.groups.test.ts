// The name server's routes for replicated groups (docs/REPLICATION.md): members keyed by name and
// id, a group routed to its master of the newest epoch, to a slave read-only while it has none,
// never to a slave for topic creation or auto-create routes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import { autoCreateRoute, createNamesrvMachine, topicRoute } from "../actors/namesrv.machine.ts";

const T = { T: { queues: 4, perm: 6 } };

function namesrv() {
  return createActor(createNamesrvMachine({ now: () => 5_000, brokerExpiryMs: 10_000 }), { input: undefined }).start();
}

test("a group is routed to its master; a deposed master of an older epoch is passed over", () => {
  const a = namesrv();
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 0, role: "master", epoch: 1, address: "ws://m0/ws", topics: T, autoCreateQueues: 4 });
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 1, role: "slave", epoch: 1, address: "ws://s1/ws", topics: T, autoCreateQueues: 4 });
  a.send({ type: "REGISTER_BROKER", brokerName: "b2", address: "ws://b2/ws", topics: T });
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000), [{ name: "b2", address: "ws://b2/ws", queues: 4, perm: 6 }, { name: "g1", address: "ws://m0/ws", queues: 4, perm: 6 }]);
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
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000), [{ name: "g1", address: "ws://s1/ws", queues: 4, perm: 4 }]);
  assert.equal(autoCreateRoute(a.getSnapshot().context, 5_000), []);
  // The master's registration gone (its connection closed): its key is name#id.
  a.send({ type: "REGISTER_BROKER", brokerName: "g1", brokerId: 0, role: "master", epoch: 3, address: "ws://m0/ws", topics: T });
  assert.is(topicRoute(a.getSnapshot().context, "T", 5_000)[0].perm, 6);
  a.send({ type: "UNREGISTER_BROKER", brokerName: "g1#0" });
  assert.equal(topicRoute(a.getSnapshot().context, "T", 5_000)[0], { name: "g1", address: "ws://s1/ws", queues: 4, perm: 4 });
  a.stop();
});

test.run();
