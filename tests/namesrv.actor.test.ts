// The namesrv actor with an injected clock: registrations, routes over brokers, topics created
// through the name server, expiry of silent brokers at their absolute due time, and a restored
// snapshot re-arming the expiry from its context alone.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import { createNamesrvMachine, liveBrokers, topicRoute } from "../actors/namesrv.machine.ts";
import { until } from "./helpers/broker.ts";

function setup(expiryMs = 1000) {
  const c = { t: 5_000, expired: [] as string[] };
  const machine = createNamesrvMachine({ now: () => c.t, brokerExpiryMs: expiryMs, brokerExpired: (name) => c.expired.push(name) });
  return { c, machine };
}

test("routes list the brokers holding a topic, sorted, with queues and perm", () => {
  const { machine } = setup();
  const a = createActor(machine, { input: undefined }).start();
  a.send({ type: "REGISTER_BROKER", brokerName: "b2", address: "ws://h2/ws", topics: { T: { queues: 4, perm: 6 }, U: { queues: 1, perm: 4 } } });
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h1/ws", topics: { T: { queues: 2, perm: 6 } } });
  const ctx = a.getSnapshot().context;
  assert.equal(topicRoute(ctx, "T", 5_000), [{ name: "b1", address: "ws://h1/ws", queues: 2, perm: 6 }, { name: "b2", address: "ws://h2/ws", queues: 4, perm: 6 }]);
  assert.equal(topicRoute(ctx, "U", 5_000).map((b) => b.name), ["b2"]);
  assert.equal(topicRoute(ctx, "Nope", 5_000), []);
  assert.equal(topicRoute(ctx, "constructor", 5_000), [], "no prototype keys");
  assert.is(ctx.brokers.b1.expiresAt, 6_000, "an absolute due time in context");
  a.send({ type: "TOPIC_CREATED", brokerName: "b1", topic: "V", queues: 8, perm: 6 });
  assert.equal(topicRoute(a.getSnapshot().context, "V", 5_000), [{ name: "b1", address: "ws://h1/ws", queues: 8, perm: 6 }]);
  a.stop();
});

test("a broker silent past its due time is dropped; one that registered again stays", async () => {
  const { c, machine } = setup(1000);
  const a = createActor(machine, { input: undefined }).start();
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h1/ws", topics: { T: { queues: 1, perm: 6 } } });
  a.send({ type: "REGISTER_BROKER", brokerName: "b2", address: "ws://h2/ws", topics: { T: { queues: 1, perm: 6 } } });
  c.t += 600;
  a.send({ type: "REGISTER_BROKER", brokerName: "b2", address: "ws://h2/ws", topics: { T: { queues: 1, perm: 6 } } });
  c.t += 400; // b1 due now, b2 at +600
  // Routes already leave it out before the timer fires: they compare due times with the clock.
  assert.equal(liveBrokers(a.getSnapshot().context, c.t).map((b) => b.brokerName), ["b2"]);
  a.send({ type: "REARM" }); // recomputes the delay from the due times: 0 for b1
  await until("b1 expired", () => c.expired.includes("b1"), 2000);
  assert.equal(Object.keys(a.getSnapshot().context.brokers), ["b2"]);
  c.t += 600;
  a.send({ type: "REARM" });
  await until("b2 expired", () => c.expired.includes("b2"), 2000);
  assert.equal(a.getSnapshot().context.brokers, {});
  assert.is(a.getSnapshot().value, "idle");
  a.stop();
});

test("a restored snapshot keeps the table and expires from the due times in it", async () => {
  const { c, machine } = setup(1000);
  const a = createActor(machine, { input: undefined }).start();
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h1/ws", topics: { T: { queues: 1, perm: 6 } } });
  const snap = a.getPersistedSnapshot();
  a.stop();
  const b = createActor(machine, { input: undefined, snapshot: snap as never }).start();
  assert.equal(Object.keys(b.getSnapshot().context.brokers), ["b1"]);
  c.t += 1000;
  b.send({ type: "REARM" });
  await until("b1 expired after restore", () => c.expired.includes("b1"), 2000);
  b.stop();
});

test("VIEW answers the table; registration and disconnect are told by the actor, a refresh is not", () => {
  const told: string[] = [];
  const a = createActor(createNamesrvMachine({
    now: () => 5_000,
    brokerExpiryMs: 1000,
    brokerRegistered: (b) => told.push(`registered ${b.brokerName}${b.brokerId !== undefined ? `#${b.brokerId} ${b.role} ${b.epoch}` : ""} ${b.address}`),
    brokerDisconnected: (b) => told.push(`disconnected ${b.brokerName}#${b.brokerId}`),
  }), { input: undefined }).start();
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h1/ws", topics: {} });
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h1/ws", topics: { T: { queues: 1, perm: 6 } } });
  a.send({ type: "REGISTER_BROKER", brokerName: "b1", address: "ws://h9/ws", topics: {} });
  a.send({ type: "REGISTER_BROKER", brokerName: "g", brokerId: 0, role: "master", epoch: 1, address: "ws://g0/ws", topics: {} });
  a.send({ type: "REGISTER_BROKER", brokerName: "g", brokerId: 0, role: "master", epoch: 1, address: "ws://g0/ws", topics: {} });
  a.send({ type: "REGISTER_BROKER", brokerName: "g", brokerId: 0, role: "master", epoch: 2, address: "ws://g0/ws", topics: {} });
  // A closed connection drops a group's member at once; a broker alone waits for its expiry.
  a.send({ type: "CONNECTION_CLOSED", keys: ["b1", "g#0", "nobody"] });
  assert.equal(told, ["registered b1 ws://h1/ws", "registered b1 ws://h9/ws", "registered g#0 master 1 ws://g0/ws", "registered g#0 master 2 ws://g0/ws", "disconnected g#0"]);
  const seen: string[][] = [];
  a.send({ type: "VIEW", reply: (view) => seen.push(Object.keys(view.brokers)) });
  assert.equal(seen, [["b1"]]);
  a.stop();
});

test.run();
