// A cluster of real processes: two name servers (--role namesrv) and two brokers (--role broker)
// registering with both. Topics created on the cluster, routes, sends spread over every queue of
// every broker, a consumer group over both brokers, a dead name server passed over, and a broker
// that stops registering leaving the routes after the expiry and coming back when restarted.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, Producer, PushConsumer, PullConsumer, TransactionProducer } from "../client/mod.ts";
import { ClientCore } from "../client/client-core.ts";
import { isDeno, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";
import { startCluster } from "./helpers/cluster.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { encode } from "../protocol/mod.ts";

const EXPIRY_MS = 2000;
const cluster = await startCluster({
  brokers: 2,
  namesrvs: 2,
  namesrvArgs: ["--broker-expiry", String(EXPIRY_MS)],
  brokerArgs: () => ["--register-interval", "300", "--default-queues", "4", "--transaction-timeout", "300", "--transaction-check-interval", "300"],
});
const admin = new Admin({ endpoints: cluster.url });
await admin.start();

const consumers: PushConsumer[] = [];

test.after(async () => {
  await Promise.all(consumers.map((c) => c.kill()));
  await admin.shutdown();
  await cluster.stop();
});

function cli(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  const [cmd, argv] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/admin-cli.ts"]] : [process.execPath, ["dist/admin.mjs"]];
  const child = spawn(cmd, [...argv, ...args, "--endpoints", cluster.url], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stdout += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout })));
}

test("a topic created on the cluster has queues on every broker; the route lists them; sends spread over all of them", async () => {
  const t = await admin.createTopic("Spread", 3);
  assert.equal(t.brokers?.map((b) => [b.broker, b.queues]).sort(), [["b1", 3], ["b2", 3]]);
  // Each broker holds the topic itself, not only the name server's table.
  for (const b of cluster.brokers) {
    const direct = new Admin({ endpoints: b.proc.url });
    await direct.start();
    assert.equal((await direct.topicStatus("Spread")).queues.length, 3, `${b.name} holds 3 queues`);
    await direct.shutdown();
  }
  const core = new ClientCore({ endpoints: cluster.url });
  const r = await core.queryRoute("Spread");
  await core.close();
  assert.ok(r);
  assert.equal(r!.route.brokers.map((b) => [b.name, b.address, b.queues, b.perm]), cluster.brokers.map((b) => [b.name, b.proc.url, 3, 6]));

  const producer = new Producer({ endpoints: cluster.url, group: "pg" });
  await producer.start();
  const perQueue = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const s = await producer.send({ topic: "Spread", body: `m${i}` });
    const k = `${s.queue.broker}:${s.queue.queueId}`;
    perQueue.set(k, (perQueue.get(k) ?? 0) + 1);
  }
  await producer.shutdown();
  // Round-robin over the 6 queues of both brokers: each gets its tenth.
  assert.equal([...perQueue.keys()].sort(), ["b1:0", "b1:1", "b1:2", "b2:0", "b2:1", "b2:2"]);
  assert.ok([...perQueue.values()].every((n) => n === 10), JSON.stringify([...perQueue]));
  for (const b of cluster.brokers) {
    const direct = new Admin({ endpoints: b.proc.url });
    await direct.start();
    const stored = (await direct.topicStatus("Spread")).queues.reduce((n, q) => n + q.maxOffset, 0);
    await direct.shutdown();
    assert.is(stored, 30, `${b.name} stored its half`);
  }
});

test("a PullConsumer through the name server reads and commits every queue of both brokers", async () => {
  const { PullConsumer } = await import("../client/mod.ts");
  const consumer = new PullConsumer({ endpoints: cluster.url, group: "pull-cg" });
  await consumer.start();
  const queues = await consumer.fetchMessageQueues("Spread");
  assert.equal(queues.map((q) => `${q.broker}:${q.queueId}`), ["b1:0", "b1:1", "b1:2", "b2:0", "b2:1", "b2:2"]);
  let total = 0;
  for (const q of queues) {
    const r = await consumer.pull({ ...q, offset: 0, maxCount: 100 });
    assert.is(r.status, "FOUND");
    total += r.msgs.length;
    await consumer.commitOffset({ ...q, offset: r.nextOffset });
    assert.is(await consumer.queryOffset(q), r.nextOffset);
  }
  assert.is(total, 60, "the 60 messages sent over both brokers");
  const e = await consumer.pull({ topic: "Spread", queueId: 0, broker: "b9", offset: 0 }).catch((x) => x);
  assert.is(e.code, "QUEUE_NOT_FOUND");
  await consumer.shutdown();
});

test("a send to a topic no broker holds yet creates it on the brokers it reaches (RocketMQ's auto-create route)", async () => {
  const producer = new Producer({ endpoints: cluster.url });
  await producer.start();
  const sent = [];
  for (let i = 0; i < 16; i++) sent.push(await producer.send({ topic: "Auto", body: `a${i}` }));
  await producer.shutdown();
  // The provisional route named both brokers with their --default-queues (4): round-robin over 8 queues.
  assert.equal(new Set(sent.map((s) => `${s.queue.broker}:${s.queue.queueId}`)).size, 8);
  const core = new ClientCore({ endpoints: cluster.url });
  await until("Auto routable on both brokers", async () => (await core.queryRoute("Auto"))?.route.brokers.map((b) => `${b.name}:${b.queues}`).join() === "b1:4,b2:4", 5000, 50);
  await core.close();
});

test("a consumer group over two brokers owns every queue of both, one member per queue, and consumes everything", async () => {
  await admin.createTopic("Group2", 4);
  const got = new Map<string, string>();
  const members = Array.from({ length: 3 }, (_, i) =>
    new PushConsumer({
      endpoints: cluster.url,
      group: "cg2",
      subscriptions: { Group2: "*" },
      consumeFrom: "first",
      handler: (m: MessageView) => {
        got.set(m.id, `member${i}`);
        return "SUCCESS";
      },
    })
  );
  consumers.push(...members);
  await Promise.all(members.map((m) => m.start()));
  const owned = () => {
    const owners = new Map<string, number>();
    for (const m of members) for (const q of m.assignedQueues()) if (q.topic === "Group2") owners.set(`${q.broker}:${q.queueId}`, (owners.get(`${q.broker}:${q.queueId}`) ?? 0) + 1);
    return owners;
  };
  await until("8 queues of 2 brokers owned once each", () => {
    const o = owned();
    return o.size === 8 && [...o.values()].every((n) => n === 1);
  }, 15_000, 50);
  assert.equal([...owned().keys()].sort(), ["b1:0", "b1:1", "b1:2", "b1:3", "b2:0", "b2:1", "b2:2", "b2:3"]);
  assert.ok(members.every((m) => m.assignedQueues().some((q) => q.topic === "Group2")), "every member has a share");

  const producer = new Producer({ endpoints: cluster.url });
  await producer.start();
  const sent = await Promise.all(Array.from({ length: 400 }, (_, i) => producer.send({ topic: "Group2", body: `g${i}` })));
  assert.equal(new Set(sent.map((s) => s.queue.broker)), new Set(["b1", "b2"]));
  await until("400 messages consumed", () => sent.every((s) => got.has(s.msgId)), 15_000, 20);
  await producer.shutdown();
  await Promise.all(members.map((m) => m.shutdown()));
});

test("transactions on both brokers through the name server: each broker checks back with the producer, which heartbeats to it", async () => {
  // The producer's endpoint is a name server: only heartbeats to the brokers themselves let the
  // broker holding a half message find a live producer of its group.
  await admin.createTopic("TxCluster", 2);
  const asked = new Set<string>();
  const tp = new TransactionProducer({
    endpoints: cluster.url,
    group: "tx-cluster",
    check: (m) => {
      asked.add(m.id);
      return m.props?.decide === "yes" ? "COMMIT" : "ROLLBACK";
    },
  });
  await tp.start();
  const reader = new PullConsumer({ endpoints: cluster.url, group: "tx-cluster-reader" });
  try {
    const sent = await Promise.all(Array.from({ length: 8 }, (_, i) => tp.sendInTransaction({ topic: "TxCluster", body: `t${i}`, props: { decide: i % 2 ? "yes" : "no" } }, () => "UNKNOWN")));
    assert.equal(new Set(sent.map((s) => s.queue.broker)), new Set(["b1", "b2"]), "halves on both brokers");
    assert.ok(sent.every((s) => s.endState === "IN_FLIGHT"));
    await until("every transaction checked back", () => sent.every((s) => asked.has(s.msgId)), 15_000, 50);
    await reader.start();
    const committed = sent.filter((_, i) => i % 2).map((s) => s.msgId).sort();
    const read = async () => {
      const ids: string[] = [];
      for (const s of sent) {
        const r = await reader.pull({ topic: "TxCluster", queueId: s.queue.queueId, broker: s.queue.broker, offset: 0, maxCount: 32 });
        ids.push(...r.msgs.map((m) => m.id));
      }
      return [...new Set(ids)].sort();
    };
    await until("the checked commits are stored", async () => (await read()).length === committed.length, 15_000, 50);
    assert.equal(await read(), committed, "committed by the check answers, the others rolled back");
  } finally {
    await reader.shutdown();
    await tp.shutdown();
  }
});

test("brokers register with every name server: both list both brokers and answer the same routes", async () => {
  const [ns1, ns2] = cluster.namesrvs;
  const routes = [];
  for (const ns of [ns1, ns2]) {
    const a = new Admin({ endpoints: ns.url });
    await a.start();
    assert.equal((await a.clusterList()).brokers.map((b) => [b.name, b.address]), cluster.brokers.map((b) => [b.name, b.proc.url]));
    await a.shutdown();
    const core = new ClientCore({ endpoints: ns.url });
    routes.push((await core.queryRoute("Spread"))!.route);
    await core.close();
  }
  assert.equal(routes[0], routes[1]);
  assert.is(routes[0].brokers.length, 2);
});

test("a client given a dead name server first uses the next one", async () => {
  // The second name server is killed; clients that list it first pass over it.
  const [ns1, ns2] = cluster.namesrvs;
  ns2.child.kill("SIGKILL");
  await ns2.exited;
  const dead = ns2.url;
  const producer = new Producer({ endpoints: [dead, ns1.url] });
  await producer.start();
  const s = await producer.send({ topic: "Group2", body: "via the second name server" });
  assert.ok(["b1", "b2"].includes(s.queue.broker));
  await producer.shutdown();
  const core = new ClientCore({ endpoints: [dead, ns1.url] });
  const r = await core.queryRoute("Spread");
  assert.is(r?.via, ns1.url);
  await core.close();
  // A push consumer too: it joins and takes queues through the living name server.
  const consumer = new PushConsumer({ endpoints: [dead, ns1.url], group: "cg-ns", subscriptions: { Spread: "*" }, handler: () => "SUCCESS" });
  consumers.push(consumer);
  await consumer.start();
  await until("the consumer owns Spread's 6 queues", () => consumer.assignedQueues().filter((q) => q.topic === "Spread").length === 6, 10_000, 50);
  await consumer.shutdown();
});

test("the admin CLI lists the cluster: brokers, addresses, topics, last registration", async () => {
  const j = await cli("clusterList", "--json");
  const c = JSON.parse(j.stdout);
  assert.equal(c.brokers.map((b: { name: string }) => b.name), ["b1", "b2"]);
  assert.ok(c.brokers.every((b: { lastUpdate: number }) => Date.now() - b.lastUpdate < 5000));
  const r = await cli("clusterList");
  assert.is(r.code, 0, r.stdout);
  assert.match(r.stdout, /cluster \(cluster\): 2 broker\(s\)/);
  for (const b of cluster.brokers) {
    const listed = c.brokers.find((x: { name: string }) => x.name === b.name);
    // Spread, Group2 and the groups' retry topics, on every broker.
    assert.ok(["Group2", "Spread", "%RETRY%cg2"].every((t) => listed.topicNames.includes(t)), listed.topicNames.join());
    assert.is(listed.topics, listed.topicNames.length);
    assert.match(r.stdout, new RegExp(`^${b.name}\\s+${b.proc.url.replace(/[.]/g, "\\.")}\\s+${listed.topics}\\s+\\d+\\.\\d+\\.\\d+\\s+(node|deno)\\s`, "m"));
    const names = listed.topicNames.join(",").replace(/[%]/g, "\\%");
    assert.match(r.stdout, new RegExp(`^${b.name}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+ \\(\\d+s ago\\)\\s+${names}$`, "m"));
  }
});

test("the name server answers bad input with named codes and keeps running", async () => {
  const ws = await rawSocket(cluster.url);
  const ask = async (frame: unknown) => {
    ws.send(encode(frame));
    return await ws.next();
  };
  ws.send(new Uint8Array([0xff, 0x00]));
  assert.is((await ws.next()).code, "MALFORMED_FRAME");
  assert.is((await ask({ id: 1, op: "registerBroker", address: "ws://x/ws", topics: {} })).code, "MISSING_FIELD");
  assert.is((await ask({ id: 2, op: "registerBroker", brokerName: "bx", address: "not a url", topics: {} })).code, "BAD_REQUEST");
  const badTopic = await ask({ id: 3, op: "registerBroker", brokerName: "bx", address: "ws://x/ws", topics: { T: { queues: 0, perm: 6 } } });
  assert.is(badTopic.code, "BAD_REQUEST");
  assert.match(String(badTopic.message), /topic "T" needs/);
  const send = await ask({ id: 4, op: "send", msg: new Uint8Array([1]) });
  assert.is(send.code, "UNKNOWN_OP");
  assert.match(String(send.message), /not served by a name server/);
  const create = await ask({ id: 5, op: "createTopic", topic: "Nope", brokers: ["b9"] });
  assert.is(create.code, "BAD_REQUEST");
  assert.is((await ask({ id: 6, op: "queryRoute", topic: "Nope" })).code, "TOPIC_NOT_FOUND");
  assert.is((await ask({ id: 7, op: "heartbeat", clientId: "c" })).code, 0);
  ws.close();
  // Nothing of it was registered.
  assert.equal((await admin.clusterList()).brokers.map((b) => b.name), ["b1", "b2"]);
  // A cluster broker has no name server of its own.
  const direct = await rawSocket(cluster.brokers[0].proc.url);
  direct.send(encode({ id: 1, op: "registerBroker", brokerName: "bx", address: "ws://x/ws", topics: {} }));
  const r = await direct.next();
  assert.is(r.code, "UNKNOWN_OP");
  assert.match(String(r.message), /--role broker/);
  direct.close();
});

test("a standalone broker's embedded name server takes registrations from cluster brokers", async () => {
  const standalone = await startBroker({ brokerName: "solo" });
  const a = new Admin({ endpoints: standalone.url });
  await a.start();
  assert.is((await a.clusterList()).mode, "standalone");
  await a.createTopic("Mixed", 2);
  const dir = tempDir("actormq-cluster-b3-");
  const b3 = await spawnBroker(["--role", "broker", "--namesrv", new URL(standalone.url).host, "--broker-name", "b3", "--port", "0", "--data-dir", dir.path]);
  const direct = new Admin({ endpoints: b3.url });
  await direct.start();
  await direct.createTopic("Mixed", 3);
  await direct.shutdown();
  // b3 registers on start and again after the topic change.
  const core = new ClientCore({ endpoints: standalone.url });
  await until("the route of Mixed lists solo and b3", async () => (await core.queryRoute("Mixed"))?.route.brokers.map((b) => `${b.name}:${b.queues}`).join() === "b3:3,solo:2", 10_000, 50);
  await core.close();
  const c = await a.clusterList();
  assert.is(c.mode, "cluster");
  assert.equal(c.brokers.map((b) => b.name), ["b3", "solo"]);
  await a.shutdown();
  b3.child.kill("SIGKILL");
  await b3.exited;
  await standalone.stop();
  dir.remove();
});

test("a broker that stops registering leaves the routes after the expiry; restarted, it comes back", async () => {
  const [b1, b2] = cluster.brokers;
  const killedAt = Date.now();
  await cluster.kill(b2);
  const core = new ClientCore({ endpoints: cluster.url });
  // Still listed until the expiry: the name server cannot tell silence from a slow network.
  await until("b2 gone from the route", async () => {
    const r = await core.queryRoute("Spread");
    return r && r.route.brokers.map((b) => b.name).join() === "b1";
  }, 10_000, 50);
  const gone = Date.now() - killedAt;
  // Its last registration was up to one --register-interval (300 ms) before the kill.
  assert.ok(gone >= EXPIRY_MS - 300 - 100, `dropped after ${gone} ms, not before the ${EXPIRY_MS} ms expiry (less its last registration's age)`);
  assert.equal((await admin.clusterList()).brokers.map((b) => b.name), ["b1"]);

  await cluster.restart(b2);
  await until("b2 back in the route", async () => {
    const r = await core.queryRoute("Spread");
    return r && r.route.brokers.map((b) => `${b.name}=${b.address}`).join() === `b1=${b1.proc.url},b2=${b2.proc.url}`;
  }, 10_000, 50);
  await core.close();
  // Its data survived: the restarted broker still holds its 30 messages.
  const direct = new Admin({ endpoints: b2.proc.url });
  await direct.start();
  assert.is((await direct.topicStatus("Spread")).queues.reduce((n, q) => n + q.maxOffset, 0), 30);
  await direct.shutdown();
});

test.run();
