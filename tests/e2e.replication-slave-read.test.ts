// Reads from a slave while its group has no master (RocketMQ's slaveReadEnable): the controllers
// are down, so no election can follow the master's SIGKILL; the name server drops the dead
// master at once (its registration connection closed) and routes the group to a slave,
// read-only. Producers see no writable queue; a consumer group resumes on the slave from the
// offsets it committed on the master (they are CommitLog records, replicated), and receives
// every message once. A controller back, the group elects a master and takes writes again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, type MessageView, Producer, PushConsumer } from "../client/mod.ts";
import { spawnBroker, until } from "./helpers/broker.ts";
import { ETCD, signal, startGroup } from "./helpers/replication.ts";

if (!ETCD) {
  test.skip("etcd is not installed (apt-get install etcd-server)", () => {});
  test.run();
} else {
  const group = await startGroup({ brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2"] });
  const consumers: PushConsumer[] = [];
  test.after(async () => {
    await Promise.all(consumers.map((c) => c.kill()));
    await group.stop();
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
