// Automatic failover of a replicated group, all real processes: etcd, a name server, a
// controller, and a group of three brokers (--replication sync --min-in-sync-replicas 2
// --flush sync). A producer sends continuously; the master is SIGKILLed. Within the bound a
// slave is master (a new epoch), sends succeed again, and a consumer group resuming from its
// committed offsets receives every acknowledged message exactly once. The old master, restarted
// on its data directory, rejoins as a slave: whatever its log held past the new master's epoch
// start was never acknowledged, is cut, and its log converges byte for byte with the master's.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, type MessageView, Producer, PushConsumer } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { ETCD, startGroup } from "./helpers/replication.ts";
import { readEpochs, readLog } from "./helpers/commit-log-files.ts";

/** The bound this test holds failover to (kill to first acknowledged send); the target is 5 s. */
const FAILOVER_BOUND_MS = 8000;
const IN_FLIGHT = 32;

if (!ETCD) {
  test.skip("etcd is not installed (apt-get install etcd-server)", () => {});
  test.run();
} else {
  // --ha-max-lag-ms well above the second case's stop of both slaves (up to ~1 s, longer when the
  // machine is loaded): a set shrunk to the master alone before the kill leaves nobody electable.
  const group = await startGroup({ brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2", "--flush", "sync", "--ha-max-lag-ms", "5000"] });
  const consumers: PushConsumer[] = [];
  test.after(async () => {
    await Promise.all(consumers.map((c) => c.kill()));
    await group.stop();
  });

  test("SIGKILL of the master: a slave takes over, nothing acknowledged is lost or repeated, the old master's tail is cut", async () => {
    const admin = new Admin({ endpoints: group.url });
    await admin.createTopic("Orders", 4);
    await admin.shutdown();

    // Phase A: a consumer group consumes a prefix and leaves (committing), while sends go on.
    const counts = new Map<string, number>();
    const seen = (m: MessageView) => {
      counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      return "SUCCESS" as const;
    };
    const a = new PushConsumer({ endpoints: group.url, group: "cg", subscriptions: { Orders: "*" }, consumeFrom: "first", handler: seen });
    consumers.push(a);
    await a.start();

    // One attempt per send: a retry after a lost answer would store a message twice, which is
    // the producer's at-least-once, not what this test is about.
    const producer = new Producer({ endpoints: group.url, group: "pg", retryTimesWhenSendFailed: 0 });
    await producer.start();
    const acked = new Map<string, { at: number }>();
    const failures: unknown[] = [];
    let stop = false;
    let killAt = Infinity;
    let firstAckAfterKill = Infinity;
    let n = 0;
    const loop = async () => {
      while (!stop) {
        const i = n++;
        try {
          const r = await producer.send({ topic: "Orders", body: `o${i}`, keys: [`k${i}`] });
          const now = Date.now();
          acked.set(r.msgId, { at: now });
          if (now > killAt && now < firstAckAfterKill) firstAckAfterKill = now;
        } catch (e) {
          failures.push(e);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const loops = Array.from({ length: IN_FLIGHT }, loop);
    await until("phase A: 1,500 acknowledged and 500 consumed", () => acked.size >= 1500 && counts.size >= 500, 20_000, 20);
    await a.shutdown();
    const consumedA = counts.size;

    const [m0] = group.members;
    killAt = Date.now();
    await group.kill(m0);
    const s = await group.waitFor("a slave elected master", (st) => st.masterId !== 0 && st.masterId >= 0, 10_000);
    await until("a send acknowledged after the kill", () => firstAckAfterKill < Infinity, FAILOVER_BOUND_MS + 2000, 10);
    const ackedBeforeKill = [...acked.values()].filter((v) => v.at <= killAt).length;
    await until("500 more acknowledged", () => [...acked.values()].filter((v) => v.at > killAt).length >= 500, 15_000, 20);
    stop = true;
    await Promise.all(loops);
    await producer.shutdown();
    const failoverMs = firstAckAfterKill - killAt;
    console.log(`failover: broker ${s.masterId} master at epoch ${s.masterEpoch}, SyncStateSet [${s.syncStateSet}]; first ack ${failoverMs} ms after the SIGKILL; acked ${ackedBeforeKill} before, ${acked.size - ackedBeforeKill} after; ${failures.length} sends failed`);
    assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms (bound ${FAILOVER_BOUND_MS} ms)`);
    assert.is(s.masterEpoch, 2);
    for (const e of failures) assert.ok(e instanceof BrokerError && e.code !== "", String(e));

    // The old master's log as the kill left it: what lies past the new epoch's start was never acknowledged.
    const master = group.members[s.masterId];
    const epochStart = (await until("the new master's epoch entry", () => readEpochs(master.dir).find(([e]) => e === s.masterEpoch), 5000, 20))[1];
    const old = readLog(m0.dir);
    const tail = old.records.filter((r) => r.offset >= epochStart);
    console.log(`old master's log ends at ${old.end}; the new epoch starts at ${epochStart}: ${tail.length} records (${old.end - epochStart} bytes) to cut`);
    for (const r of tail) assert.not.ok(acked.has(r.id), `message ${r.id} at ${r.offset} was acknowledged but is only on the dead master`);

    // Phase B: the same group resumes from its committed offsets on the new master.
    const b = new PushConsumer({ endpoints: group.url, group: "cg", subscriptions: { Orders: "*" }, consumeFrom: "first", handler: seen });
    consumers.push(b);
    await b.start();
    const missing = () => [...acked.keys()].filter((id) => !counts.has(id));
    await until("every acknowledged message consumed", () => missing().length === 0, 20_000, 50).catch(() => {
      throw new Error(`${missing().length} of ${acked.size} acknowledged messages never consumed, e.g. ${missing().slice(0, 3)}`);
    });
    // Quiet for a moment: anything delivered twice would have arrived by now.
    let last = -1;
    await until("consumption settled", () => {
      const total = [...counts.values()].reduce((x, y) => x + y, 0);
      const settled = total === last;
      last = total;
      return settled;
    }, 10_000, 500);
    const twice = [...counts.entries()].filter(([, c]) => c > 1);
    assert.is(twice.length, 0, `${twice.length} messages consumed more than once, e.g. ${twice.slice(0, 3).map(([id]) => id)}`);
    const tailIds = new Set(tail.map((r) => r.id));
    assert.ok([...counts.keys()].every((id) => !tailIds.has(id)), "a message of the cut tail was consumed");
    console.log(`consumed ${consumedA} before the kill, ${counts.size - consumedA} after, each once`);
    await b.shutdown();

    // The old master restarts as a slave: its tail is cut and its log converges with the master's.
    await group.restart(m0);
    await group.waitFor("broker 0 back in the SyncStateSet", (st) => st.masterId === s.masterId && st.syncStateSet.includes(0) && st.alive.includes(0), 15_000);
    const masterEnd = readLog(master.dir).end;
    await until("broker 0's log as long as the master's", () => readLog(m0.dir).end === masterEnd, 10_000, 50);
    const mine = readLog(m0.dir);
    const theirs = readLog(master.dir);
    assert.is(mine.end, theirs.end);
    assert.ok(Buffer.compare(mine.bytes, theirs.bytes) === 0, "the replicas' CommitLogs differ");
    if (tail.length > 0) assert.match(m0.proc.output(), /cut the CommitLog from \d+ to \d+/);
    const rows = await group.cluster();
    const row0 = rows.find((r) => r.group?.brokerId === 0);
    assert.is(row0?.group?.role, "slave");
  });

  test("a master killed with an unreplicated tail (its slaves stopped): the tail was never acknowledged, and is cut when it rejoins", async () => {
    const before = await group.waitFor("all three in sync", (st) => st.syncStateSet.length === 3);
    const master = group.members[before.masterId];
    const slaves = group.members.filter((m) => m.id !== before.masterId);
    const producer = new Producer({ endpoints: group.url, retryTimesWhenSendFailed: 0 });
    await producer.start();
    await producer.send({ topic: "Orders", body: "warm" }); // the route is cached
    // Both slaves stopped: the master writes what nobody else gets, and acknowledges none of it.
    // A stopped process's sockets still take bytes (kernel buffers, and the master's own send
    // buffer), so the master must write more than those hold: 24 MiB.
    const health = async () => (await (await fetch(`http://${new URL(master.proc.url).host}/health`)).json()).commitLogOffset as number;
    const start = await health();
    for (const m of slaves) group.signal(m, "SIGSTOP");
    const t0 = Date.now();
    const acked: string[] = [];
    const body = new Uint8Array(64 * 1024).fill(7);
    const sends = Array.from({ length: 384 }, () => producer.send({ topic: "Orders", body }).then((r) => void acked.push(r.msgId), () => {}));
    // Killed well within --ha-max-lag-ms: the set still holds both slaves, so one is elected.
    await until("24 MiB written on the master", async () => (await health()) - start >= 24 * 1024 * 1024 || Date.now() - t0 > 600, 5000, 20);
    await group.kill(master);
    for (const m of slaves) group.signal(m, "SIGCONT");
    await Promise.all(sends);
    await producer.shutdown();
    assert.is(acked.length, 0, "a send was acknowledged while no slave could hold it");
    // Generous: the slaves just resumed from SIGSTOP on a loaded machine (the failover bound is the first case's).
    const after = await group.waitFor("a new master", (st) => st.masterEpoch === before.masterEpoch + 1 && st.masterId !== before.masterId, 20_000);
    // The elected broker hears of it at its next heartbeat, and records the epoch before its first write.
    const epochStart = (await until("the new master's epoch entry", () => readEpochs(group.members[after.masterId].dir).find(([e]) => e === after.masterEpoch), 5000, 20))[1];
    const old = readLog(master.dir);
    const tail = old.records.filter((r) => r.offset >= epochStart);
    console.log(`killed master ${before.masterId} held ${tail.length} records (${old.end - epochStart} bytes) past the new epoch's start; broker ${after.masterId} is master at epoch ${after.masterEpoch}`);
    assert.ok(tail.length > 0, "the killed master had no unreplicated tail");
    await group.restart(master);
    await group.waitFor(`broker ${master.id} back in the SyncStateSet`, (st) => st.syncStateSet.includes(master.id) && st.alive.includes(master.id), 15_000);
    const end = readLog(group.members[after.masterId].dir).end;
    await until("the rejoined slave's log as long as the master's", () => readLog(master.dir).end === end, 10_000, 50);
    assert.match(master.proc.output(), /cut the CommitLog from \d+ to \d+/);
    const mine = readLog(master.dir);
    const theirs = readLog(group.members[after.masterId].dir);
    assert.ok(Buffer.compare(mine.bytes, theirs.bytes) === 0, "the replicas' CommitLogs differ");
    assert.ok(mine.records.every((r) => !tail.some((t) => t.id === r.id && t.offset === r.offset)) || tail.every((t) => !mine.records.some((r) => r.id === t.id)), "a record of the cut tail survived");
  });

  test.run();
}
