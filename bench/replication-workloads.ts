// Replication workloads (docs/REPLICATION.md), real processes as in the tests: etcd, a name
// server, a controller and a group of three brokers. Produce throughput and p99 send latency
// for the group under async and sync replication, against one broker alone in the same run; and
// failover: SIGKILL the master while a producer sends, time to the first acknowledged send, the
// killed broker restarted as a slave before the next kill.
import { Admin, Producer } from "../client/mod.ts";
import { percentile } from "./stats.ts";
import { startGroup } from "../tests/helpers/replication.ts";
import { until } from "../tests/helpers/broker.ts";
import { brokerNodeArgs, cpuMs } from "./broker-workloads.ts";

const BODY = new Uint8Array(1024).fill(42);

/** One producer, `inFlight` sends outstanding: messages/s, the p99 of each send's latency (ms), and this process's CPU per message (µs: the client's share of the machine). */
export async function produceWithLatency(url: string, topic: string, total: number, inFlight: number): Promise<{ rate: number; p99: number; clientCpuUs: number }> {
  const admin = new Admin({ endpoints: url });
  await admin.createTopic(topic, 4);
  await admin.shutdown();
  const producer = new Producer({ endpoints: url, group: "bench" });
  await producer.start();
  await producer.send({ topic, body: BODY }); // the route is cached
  const latencies = new Float64Array(total);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await producer.send({ topic, body: BODY });
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const rate = total / ((performance.now() - started) / 1000);
  const used = process.cpuUsage(cpu);
  await producer.shutdown();
  return { rate, p99: percentile([...latencies].sort((a, b) => a - b), 99), clientCpuUs: (used.user + used.system) / total };
}

/**
 * A group of three (its brokers' flags added), measured by produceWithLatency through its name
 * server; with each member's CPU time per message sent (µs, from /proc): the master's, and the
 * slaves' mean.
 */
export async function groupProduce(mode: "async" | "sync", total: number, inFlight: number): Promise<{ rate: number; p99: number; clientCpuUs: number; masterCpuUs: number; slaveCpuUs: number }> {
  const g = await startGroup({ nodeArgs: brokerNodeArgs, brokerArgs: ["--segment-size", "1g", "--replication", mode, "--min-in-sync-replicas", mode === "sync" ? "2" : "1"] });
  try {
    const cpu = () => g.members.map((m) => cpuMs(m.proc.child.pid!));
    const before = cpu();
    const r = await produceWithLatency(g.url, `Repl${mode}`, total, inFlight);
    // What the slaves still had to write when the last send was acknowledged (async) is theirs too.
    const metrics = g.members[0].proc.url.replace(/^ws/, "http").replace(/\/ws$/, "/metrics");
    await until("the slaves caught up", async () => {
      const lags = [...(await (await fetch(metrics)).text()).matchAll(/^actormq_replication_lag_bytes\{[^}]*\} (\d+)/gm)];
      return lags.length === 2 && lags.every((m) => m[1] === "0");
    }, 30_000, 20);
    const used = cpu().map((ms, i) => (ms - before[i]) * 1000 / total);
    return { ...r, masterCpuUs: used[0], slaveCpuUs: (used[1] + used[2]) / 2 };
  } catch (e) {
    // A member that died says why in its output.
    for (const m of g.members) if (m.proc.child.exitCode !== null || m.proc.child.signalCode !== null) console.error(`broker ${m.id} exited (${m.proc.child.exitCode ?? m.proc.child.signalCode}):\n${m.proc.output().slice(-3000)}`);
    throw e;
  } finally {
    await g.stop(brokerNodeArgs.length > 0);
  }
}

/**
 * Failover times, ms: a group of three (--replication sync --min-in-sync-replicas 2 --flush sync,
 * the controllers' default 2 s lease and 500 ms heartbeats), a producer keeping `inFlight` sends
 * outstanding through the name server (no retries: each failure is counted, the next send is a
 * new one), the master SIGKILLed `kills` times; each time from the kill to the first
 * acknowledged send. The killed broker is restarted, and the next kill waits until it is back in
 * the SyncStateSet.
 */
export async function failoverTimes(kills: number, inFlight: number, log: (line: string) => void): Promise<number[]> {
  const g = await startGroup({
    leaseTtl: 2,
    brokerArgs: ["--segment-size", "1g", "--replication", "sync", "--min-in-sync-replicas", "2", "--flush", "sync", "--controller-heartbeat-interval", "500", "--ha-max-lag-ms", "3000"],
  });
  const times: number[] = [];
  try {
    const admin = new Admin({ endpoints: g.url });
    await admin.createTopic("Failover", 4);
    await admin.shutdown();
    const producer = new Producer({ endpoints: g.url, retryTimesWhenSendFailed: 0 });
    await producer.start();
    let stop = false;
    let lastAck = 0;
    const worker = async () => {
      while (!stop) {
        try {
          await producer.send({ topic: "Failover", body: BODY });
          lastAck = Date.now();
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    const workers = Array.from({ length: inFlight }, worker);
    for (let k = 0; k < kills; k++) {
      const s = await g.waitFor("all three in sync", (st) => st.syncStateSet.length === 3 && st.alive.length === 3, 30_000);
      await until("sends flowing", () => Date.now() - lastAck < 100, 10_000, 10);
      const master = g.members[s.masterId];
      const killAt = Date.now();
      await g.kill(master);
      await until("a send acknowledged after the kill", () => lastAck > killAt, 30_000, 5);
      const ms = lastAck - killAt;
      times.push(ms);
      const after = await g.state();
      log(`  kill ${k + 1}: master ${s.masterId} -> ${after.masterId} (epoch ${after.masterEpoch}) in ${ms} ms`);
      await g.restart(master);
    }
    stop = true;
    await Promise.all(workers);
    await producer.shutdown();
  } finally {
    await g.stop();
  }
  return times;
}
