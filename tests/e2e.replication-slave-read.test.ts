// Reads from slaves (RocketMQ's slaveReadEnable). First a consumer far behind the master
// (--slave-read-behind 256k): the master's pull answers suggest a slave, the consumer pulls
// there while its commits go to the master, and it comes back to the master once caught up.
// Then a group with no master: the controllers are down, so no election can follow the master's
// SIGKILL; the name server drops the dead master at once (its registration connection closed)
// and routes the group to a slave, read-only. Producers see no writable queue; a consumer group
// resumes on the slave from the offsets it committed on the master (they are CommitLog records,
// replicated), and receives every message once. A controller back, the group elects a master
// and takes writes again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, type MessageView, Producer, PushConsumer } from "../client/mod.ts";
import { spawnBroker, until } from "./helpers/broker.ts";
import { ETCD, type GroupMember, signal, startGroup } from "./helpers/replication.ts";

if (!ETCD) {
  test.skip("etcd is not installed (apt-get install etcd-server)", () => {});
  test.run();
} else {
  const group = await startGroup({ brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2", "--slave-read-behind", "256k"] });
  const consumers: PushConsumer[] = [];
  test.after(async () => {
    await Promise.all(consumers.map((c) => c.kill()));
    await group.stop();
  });

  /** The sum of a /metrics family's samples on a member whose labels include `labels`. */
  async function metric(m: GroupMember, name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(m.proc.url.replace(/^ws/, "http").replace(/\/ws$/, "/metrics"))).text();
    let sum = 0;
    for (const [, l, v] of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, "gm"))) {
      if (Object.entries(labels).every(([k, want]) => l.includes(`${k}="${want}"`))) sum += Number(v);
    }
    return sum;
  }

  test("a consumer far behind pulls from the slaves, commits at the master, and comes back once caught up", async () => {
    const [master, ...slaves] = group.members;
    const admin = new Admin({ endpoints: group.url });
    await admin.createTopic("Behind", 2);
    await admin.shutdown();
    const producer = new Producer({ endpoints: group.url });
    await producer.start();
    const body = new Uint8Array(1024).fill(7);
    const ids = new Set<string>();
    for (let i = 0; i < 3000; i += 100) {
      for (const r of await Promise.all(Array.from({ length: 100 }, () => producer.send({ topic: "Behind", body })))) ids.add(r.msgId);
    }
    const out = (m: GroupMember) => metric(m, "actormq_messages_out_total", { topic: "Behind" });

    const counts = new Map<string, number>();
    let gate: () => void = () => {};
    const held = new Promise<void>((r) => (gate = r));
    const c = new PushConsumer({
      endpoints: group.url,
      group: "far",
      subscriptions: { Behind: "*" },
      consumeFrom: "first",
      pullThresholdForQueue: 64,
      handler: async (m) => {
        counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
        if (counts.size > 2000) await held; // far behind still (about 1 MiB from the end)
        return "SUCCESS";
      },
    });
    consumers.push(c);
    await c.start();
    // Two thirds read, most of it from the slaves, none of it committed through them: the master
    // has the group's offsets although it served only the first pulls.
    const committed = await until("the master holding the group's commits", async () => {
      const n = await metric(master, "actormq_consumer_offset", { group: "far", topic: "Behind" });
      return n >= 1500 ? n : null;
    }, 15_000, 50);
    const fromMaster = await out(master);
    const fromSlaves = (await Promise.all(slaves.map(out))).reduce((a, b) => a + b, 0);
    assert.ok(fromMaster < 500, `the master served ${fromMaster} of the first 2,000`);
    assert.ok(fromSlaves >= 1500, `the slaves served ${fromSlaves}`);
    gate();
    await until("every message consumed", () => counts.size === ids.size, 15_000, 20);
    assert.is([...counts.values()].filter((n) => n > 1).length, 0, "a message consumed twice");

    // Caught up, the consumer is back on the master: what is sent now is read there.
    const slavesBefore = (await Promise.all(slaves.map(out))).reduce((a, b) => a + b, 0);
    const masterBefore = await out(master);
    for (let i = 0; i < 50; i++) ids.add((await producer.send({ topic: "Behind", body })).msgId);
    await until("the new messages consumed", () => counts.size === ids.size, 10_000, 20);
    assert.ok(await out(master) >= masterBefore + 50, "the new messages were not read from the master");
    assert.is((await Promise.all(slaves.map(out))).reduce((a, b) => a + b, 0), slavesBefore, "a slave served a consumer that had caught up");
    await until("the master holding every commit", async () => await metric(master, "actormq_consumer_offset", { group: "far", topic: "Behind" }) === ids.size, 10_000, 50);
    console.log(`far behind: ${fromSlaves} read from the slaves, ${fromMaster} from the master, ${committed} committed at the master meanwhile`);
    await c.shutdown();
    await producer.shutdown();
  });

  test("master down and no controller: consumers read the rest from a slave, from their committed offsets", async () => {
    const admin = new Admin({ endpoints: group.url });
    await admin.createTopic("Reads", 4);
    const producer = new Producer({ endpoints: group.url, retryTimesWhenSendFailed: 0 });
    await producer.start();
    const sent = await Promise.all(Array.from({ length: 400 }, (_, i) => producer.send({ topic: "Reads", body: `r${i}` })));
    const ids = new Set(sent.map((r) => r.msgId));

    const counts = new Map<string, number>();
    const handler = (m: MessageView) => {
      counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      return "SUCCESS" as const;
    };
    const a = new PushConsumer({ endpoints: group.url, group: "cg", subscriptions: { Reads: "*" }, consumeFrom: "first", handler, pullBatchSize: 8 });
    consumers.push(a);
    await a.start();
    await until("a part consumed", () => counts.size >= 100, 10_000, 10);
    await a.shutdown();

    // No controller: nobody can elect. Then the master goes.
    // (the one restarted later takes the same port: the brokers' --controller names it)
    const controllerArgs = ["--role", "controller", "--port", new URL(group.controllers[0].url).port, "--etcd", new URL(group.etcd.url).host, "--lease-ttl", "1", "--etcd-prefix", "/actormq-test"];
    for (const c of group.controllers) signal(c, "SIGKILL");
    await Promise.all(group.controllers.map((c) => c.exited));
    await group.kill(group.members[0]);
    await until("the group routed to a slave, read-only", async () => {
      const r = await admin.clusterList();
      return r.brokers.filter((b) => b.name === "g1").every((b) => b.group?.role === "slave");
    }, 10_000, 50);
    // The producer's cached route names the dead master until a failure makes it ask again.
    const refused = await until("a send refused for want of a writable queue", async () => {
      const e = await producer.send({ topic: "Reads", body: "refused" }).then(() => null, (e: unknown) => e);
      assert.ok(e instanceof BrokerError, "a send to a group without a master was acknowledged");
      return e.code === "SERVICE_UNAVAILABLE" ? e : null;
    }, 10_000, 100);
    assert.match(refused.message, /no writable queue/);

    const b = new PushConsumer({ endpoints: group.url, group: "cg", subscriptions: { Reads: "*" }, consumeFrom: "first", handler });
    consumers.push(b);
    await b.start();
    await until("every message consumed", () => [...ids].every((id) => counts.has(id)), 15_000, 50);
    const queues = b.assignedQueues().filter((q) => q.topic === "Reads");
    assert.ok(queues.length > 0);
    const twice = [...counts.values()].filter((c) => c > 1).length;
    assert.is(twice, 0, `${twice} messages consumed twice`);
    await b.shutdown();

    // The controller back: the group elects one of the slaves and takes writes again.
    const c = await spawnBroker(controllerArgs);
    group.controllers[0] = c; // the same address: the helper asks it as it asked the one it replaces
    const st = await group.waitFor("a master elected", (s) => s.masterId > 0, 10_000);
    await until("sends acknowledged again", () => producer.send({ topic: "Reads", body: "back" }).then(() => true, () => false), 10_000, 100);
    console.log(`consumed ${counts.size} of ${ids.size} (${ids.size - 100}+ from a slave); broker ${st.masterId} master at epoch ${st.masterEpoch} once a controller was back`);
    await producer.shutdown();
    await admin.shutdown();
  });

  test.run();
}
