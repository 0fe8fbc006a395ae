// A slave cut off (SIGSTOP, so its sockets stay open and say nothing) from a group of three.
// sync, --min-in-sync-replicas 2: sends wait at most --ha-max-lag-ms for it, then the master drops
// it from the SyncStateSet (through the controller) and sends go on acknowledged by the master
// and the other slave; with both slaves stopped the set is too small, and sends fail with
// IN_SYNC_REPLICAS_NOT_ENOUGH instead of being acknowledged unsafely. async: sends never wait
// for a slave. Resumed (SIGCONT), a slave catches up and rejoins the set.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, Producer } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { ETCD, type ReplicatedGroup, startGroup } from "./helpers/replication.ts";

const LAG_MS = 1000;

const senders: { stop(): Promise<void> }[] = [];

/** Sends one at a time until stopped; each outcome with its latency. */
function sender(url: string) {
  const producer = new Producer({ endpoints: url, retryTimesWhenSendFailed: 0 });
  const outcomes: { ok: boolean; code?: string; ms: number; at: number }[] = [];
  let stop = false;
  const done = (async () => {
    await producer.start();
    for (let i = 0; !stop; i++) {
      const t0 = Date.now();
      try {
        await producer.send({ topic: "Part", body: `p${i}` });
        outcomes.push({ ok: true, ms: Date.now() - t0, at: Date.now() });
      } catch (e) {
        outcomes.push({ ok: false, code: e instanceof BrokerError ? e.code : String(e), ms: Date.now() - t0, at: Date.now() });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await producer.shutdown();
  })();
  const s = { outcomes, stop: () => ((stop = true), done) };
  senders.push(s);
  return s;
}

async function topic(g: ReplicatedGroup): Promise<void> {
  const admin = new Admin({ endpoints: g.url });
  await admin.createTopic("Part", 4);
  await admin.shutdown();
}

function stopped(g: ReplicatedGroup, id: number, signal: "SIGSTOP" | "SIGCONT"): void {
  g.signal(g.members[id], signal);
}

if (!ETCD) {
  test.skip("etcd is not installed (apt-get install etcd-server)", () => {});
  test.run();
} else {
  const groups: ReplicatedGroup[] = [];
  // A failed test leaves its sender running: stopped here, or it keeps the file alive until the runner's timeout.
  test.after(async () => {
    await Promise.all(senders.map((s) => s.stop()));
    for (const g of groups) for (const m of g.members) g.signal(m, "SIGCONT");
    for (const g of groups) await g.stop();
  });

  test("sync: a stopped slave leaves the SyncStateSet after --ha-max-lag-ms; two stopped: IN_SYNC_REPLICAS_NOT_ENOUGH; resumed, they rejoin", async () => {
    const g = await startGroup({ brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2", "--ha-max-lag-ms", String(LAG_MS)] });
    groups.push(g);
    await topic(g);
    const s = sender(g.url);
    await until("sends flowing", () => s.outcomes.filter((o) => o.ok).length >= 50, 10_000, 10);

    const t0 = Date.now();
    stopped(g, 2, "SIGSTOP");
    await g.waitFor("slave 2 out of the SyncStateSet", (st) => st.syncStateSet.join() === "0,1", 10_000);
    const shrunk = Date.now() - t0;
    await until("sends acknowledged without slave 2", () => s.outcomes.filter((o) => o.ok && o.at > t0 + shrunk).length >= 50, 10_000, 10);
    const during = s.outcomes.filter((o) => o.at > t0);
    console.log(`slave 2 stopped: out of the set after ${shrunk} ms; slowest send meanwhile ${Math.max(...during.map((o) => o.ms))} ms`);
    assert.ok(during.every((o) => o.ok), `sends failed with one slave stopped: ${during.filter((o) => !o.ok).map((o) => o.code)}`);
    assert.ok(Math.max(...during.map((o) => o.ms)) < LAG_MS + 3000, "a send waited far longer than --ha-max-lag-ms");

    // Both slaves stopped: the set shrinks to the master alone, and sends are refused by name.
    const t1 = Date.now();
    stopped(g, 1, "SIGSTOP");
    await g.waitFor("the SyncStateSet down to the master", (st) => st.syncStateSet.join() === "0", 10_000);
    await until("sends refused", () => s.outcomes.filter((o) => !o.ok && o.at > t1).length >= 5, 10_000, 10);
    const refused = s.outcomes.filter((o) => !o.ok && o.at > t1);
    assert.ok(refused.every((o) => o.code === "IN_SYNC_REPLICAS_NOT_ENOUGH" || o.code === "FLUSH_SLAVE_TIMEOUT"), `codes: ${[...new Set(refused.map((o) => o.code))]}`);
    assert.ok(refused.some((o) => o.code === "IN_SYNC_REPLICAS_NOT_ENOUGH"));

    stopped(g, 1, "SIGCONT");
    stopped(g, 2, "SIGCONT");
    await g.waitFor("both slaves back in the set", (st) => st.syncStateSet.join() === "0,1,2" && st.masterId === 0, 15_000);
    const t2 = Date.now();
    await until("sends acknowledged again", () => s.outcomes.filter((o) => o.ok && o.at > t2).length >= 20, 10_000, 10);
    await s.stop();
    const st = await g.state();
    assert.is(st.masterEpoch, 1, "the master stayed master");
    await g.stop();
    groups.length = 0;
  });

  test("async: sends never wait for a stopped slave; it leaves the set and rejoins", async () => {
    const g = await startGroup({ brokerArgs: ["--replication", "async", "--ha-max-lag-ms", String(LAG_MS)] });
    groups.push(g);
    await topic(g);
    const s = sender(g.url);
    await until("sends flowing", () => s.outcomes.filter((o) => o.ok).length >= 50, 10_000, 10);
    const t0 = Date.now();
    stopped(g, 2, "SIGSTOP");
    await g.waitFor("slave 2 out of the SyncStateSet", (st) => st.syncStateSet.join() === "0,1", 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const during = s.outcomes.filter((o) => o.at > t0);
    const slowest = Math.max(...during.map((o) => o.ms));
    console.log(`async: ${during.length} sends while slave 2 was stopped, slowest ${slowest} ms`);
    assert.ok(during.every((o) => o.ok));
    assert.ok(slowest < LAG_MS / 2, `a send waited ${slowest} ms for a stopped slave under async replication`);
    stopped(g, 2, "SIGCONT");
    await g.waitFor("slave 2 back in the set", (st) => st.syncStateSet.join() === "0,1,2", 15_000);
    await s.stop();
  });

  test.run();
}
