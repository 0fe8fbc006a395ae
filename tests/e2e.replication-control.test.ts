// The controllers' state is etcd's, so neither an etcd restart nor a controller's death is a
// failover. etcd SIGKILLed and restarted on its data during steady state: sends go on (the data
// path never asks etcd), and once etcd is back the group is as it was (no election, same epoch).
// The controller the brokers use SIGKILLed: they move to the other one, and it acts alone: it
// elects a new master when the master is then killed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, Producer } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { ETCD, signal, startGroup } from "./helpers/replication.ts";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";

function sender(url: string) {
  const producer = new Producer({ endpoints: url, retryTimesWhenSendFailed: 0 });
  const outcomes: { ok: boolean; code?: string; at: number }[] = [];
  let stop = false;
  const done = (async () => {
    await producer.start();
    for (let i = 0; !stop; i++) {
      try {
        await producer.send({ topic: "Ctl", body: `c${i}` });
        outcomes.push({ ok: true, at: Date.now() });
      } catch (e) {
        outcomes.push({ ok: false, code: e instanceof BrokerError ? e.code : String(e), at: Date.now() });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await producer.shutdown();
  })();
  return { outcomes, stop: () => ((stop = true), done) };
}

if (!ETCD) {
  test.skip("etcd is not installed (apt-get install etcd-server)", () => {});
  test.run();
} else {
  const group = await startGroup({ controllers: 2, brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2", "--ha-max-lag-ms", "1000"] });
  test.after(() => group.stop());
  const admin = new Admin({ endpoints: group.url });
  await admin.createTopic("Ctl", 4);
  await admin.shutdown();

  test("clusterList, /metrics and the console's overview show the group's roles, epochs, SyncStateSet and lag", async () => {
    const st = await group.waitFor("all in sync", (s) => s.syncStateSet.length === 3);
    const rows = await until("three members registered", async () => {
      const r = await group.cluster();
      return r.length === 3 && r.every((b) => b.group) ? r : null;
    }, 10_000, 50);
    const master = rows.find((b) => b.group!.role === "master")!;
    assert.is(master.group!.brokerId, st.masterId);
    assert.is(master.group!.masterEpoch, st.masterEpoch);
    assert.equal(master.group!.syncStateSet, [0, 1, 2]);
    assert.equal(master.group!.replicas!.map((r) => r.brokerId).sort(), [1, 2]);
    assert.equal(rows.filter((b) => b.group!.role === "slave").map((b) => b.group!.master), [master.address, master.address]);
    const metrics = await (await fetch(master.address.replace("ws://", "http://").replace("/ws", "/metrics"))).text();
    assert.match(metrics, /actormq_replication_role\{role="master"\} 1/);
    assert.match(metrics, /actormq_replication_in_sync_replicas 3/);
    assert.match(metrics, /actormq_replication_lag_bytes\{replica="1"\} \d+/);
    const slaveMetrics = await (await fetch(rows.find((b) => b.group!.brokerId === 1)!.address.replace("ws://", "http://").replace("/ws", "/metrics"))).text();
    assert.match(slaveMetrics, /actormq_replication_lag_bytes\{replica="master"\} \d+/);
    const t = new Transport(master.address, { WebSocket: resolveWebSocket(), connectTimeoutMs: 2000 });
    try {
      // The console's overview (the inspector's data) carries the member's replication.
      const r = await t.request("overview", {}, 3000);
      const replication = (r.overview as { broker: { replication?: { role: string; syncStateSet: number[] } } }).broker.replication;
      assert.is(replication?.role, "master");
      assert.equal(replication?.syncStateSet, [0, 1, 2]);
    } finally {
      await t.close();
    }
  });

  test("etcd restarted during steady state: no send fails, no election", async () => {
    const s = sender(group.url);
    await until("sends flowing", () => s.outcomes.filter((o) => o.ok).length >= 50, 10_000, 10);
    const t0 = Date.now();
    await group.etcd.kill();
    // Down for longer than a member's lease (1 s): etcd keeps leases and extends them when it is back.
    await new Promise((r) => setTimeout(r, 2000));
    await group.etcd.start();
    const st = await group.waitFor("the controllers reading etcd again", () => true, 10_000);
    const t1 = Date.now();
    // Beats go on for several leases: a lapse would show as an election now.
    await until("sends flowing after etcd's return", () => Date.now() - t1 > 3000 && s.outcomes.filter((o) => o.ok && o.at > t1).length >= 50, 15_000, 50);
    await s.stop();
    const during = s.outcomes.filter((o) => o.at > t0);
    console.log(`etcd down ${t1 - t0} ms: ${during.filter((o) => o.ok).length} sends acknowledged meanwhile and after, ${during.filter((o) => !o.ok).length} failed`);
    assert.ok(during.every((o) => o.ok), `sends failed: ${[...new Set(during.filter((o) => !o.ok).map((o) => o.code))]}`);
    const after = await group.state();
    assert.is(after.masterId, 0);
    assert.is(after.masterEpoch, 1, "etcd's restart caused an election");
    assert.is(st.masterEpoch, 1);
    assert.equal(after.syncStateSet, [0, 1, 2]);
  });

  test("the controller in use is killed: the other serves, and elects when the master dies", async () => {
    const s = sender(group.url);
    await until("sends flowing", () => s.outcomes.filter((o) => o.ok).length >= 50, 10_000, 10);
    signal(group.controllers[0], "SIGKILL");
    await group.controllers[0].exited;
    // Members beat every 200 ms: several leases pass with only the second controller.
    await new Promise((r) => setTimeout(r, 2500));
    const steady = await group.state();
    assert.is(steady.masterEpoch, 1, "losing a controller caused an election");
    assert.ok(s.outcomes.every((o) => o.ok));
    const killAt = Date.now();
    await group.kill(group.members[0]);
    const st = await group.waitFor("a new master elected by the remaining controller", (x) => x.masterId > 0 && x.masterEpoch === 2, 10_000);
    await until("sends acknowledged by the new master", () => s.outcomes.some((o) => o.ok && o.at > killAt + 100), 10_000, 20);
    await s.stop();
    const first = s.outcomes.find((o) => o.ok && o.at > killAt + 100)!;
    console.log(`with one controller left: broker ${st.masterId} master ${first.at - killAt} ms after the kill`);
    assert.match(group.controllers[1].output(), /elected, epoch 2/);
  });

  test.run();
}
