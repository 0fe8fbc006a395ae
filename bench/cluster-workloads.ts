// Cluster workloads: one name server process and two broker processes (--role broker) on this
// machine. Produce throughput through the name server across both brokers, and recovery from a
// broker's SIGKILL: the time from the kill to the producer's sends succeeding 100% again.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Admin, Producer } from "../client/mod.ts";
import { type BrokerHandle, produce, startBrokerProcess } from "./broker-workloads.ts";

export interface ClusterHandle {
  url: string;
  namesrv: BrokerHandle;
  brokers: BrokerHandle[];
  stop(): Promise<void>;
}

export async function startClusterProcesses(root: string, brokerArgs: string[] = []): Promise<ClusterHandle> {
  const namesrv = await startBrokerProcess(["--role", "namesrv"]);
  const ns = new URL(namesrv.url).host;
  const brokers = await Promise.all([1, 2].map((i) =>
    startBrokerProcess(["--role", "broker", "--namesrv", ns, "--broker-name", `b${i}`, "--data-dir", mkdtempSync(join(root, `cluster-b${i}-`)), ...brokerArgs])
  ));
  const admin = new Admin({ endpoints: namesrv.url });
  await admin.start();
  // Both brokers register on start; wait until the name server lists them.
  for (;;) {
    if ((await admin.clusterList()).brokers.length === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await admin.shutdown();
  return {
    url: namesrv.url,
    namesrv,
    brokers,
    async stop() {
      await Promise.all(brokers.filter((b) => b.child.exitCode === null && b.child.signalCode === null).map((b) => b.stop()));
      await namesrv.stop();
    },
  };
}

async function createTopic(url: string, topic: string, queues: number): Promise<void> {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic(topic, queues);
  await admin.shutdown();
}

/** Produce through the name server across both brokers (4 queues each): messages/s. */
export async function clusterProduce(c: ClusterHandle, total: number, inFlight: number): Promise<number> {
  await createTopic(c.url, "ClusterBench", 4);
  return produce(c.url, "ClusterBench", total, inFlight);
}

export interface KillRecovery {
  /** From the SIGKILL to the end of the last failed send (0: no send failed), ms. */
  recoveryMs: number;
  failed: number;
  sent: number;
  /** The slowest send that completed after the kill, ms. */
  maxLatencyMs: number;
}

/**
 * A producer keeps `inFlight` sends outstanding through the name server; after `warmupMs` one
 * broker is SIGKILLed, and sending goes on for `afterMs`. Each send's outcome and end time are
 * recorded; recovery is the time from the kill to the last failure.
 */
export async function killRecovery(c: ClusterHandle, inFlight: number, retries: number, warmupMs: number, afterMs: number): Promise<KillRecovery> {
  await createTopic(c.url, "KillBench", 4);
  const producer = new Producer({ endpoints: c.url, retryTimesWhenSendFailed: retries });
  await producer.start();
  const body = new Uint8Array(1024).fill(7);
  const t0 = performance.now();
  let killAt = Infinity;
  let lastFailure = -Infinity;
  let failed = 0;
  let sent = 0;
  let maxLatencyMs = 0;
  const stopAt = t0 + warmupMs + afterMs;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const start = performance.now();
      try {
        await producer.send({ topic: "KillBench", body });
      } catch {
        failed++;
        lastFailure = performance.now();
      }
      sent++;
      if (start >= killAt || performance.now() >= killAt) maxLatencyMs = Math.max(maxLatencyMs, performance.now() - start);
    }
  };
  const killer = new Promise<void>((resolve) =>
    setTimeout(() => {
      killAt = performance.now();
      c.brokers[1].child.kill("SIGKILL");
      resolve();
    }, warmupMs)
  );
  await Promise.all([killer, ...Array.from({ length: inFlight }, worker)]);
  await producer.shutdown();
  return { recoveryMs: lastFailure > killAt ? lastFailure - killAt : 0, failed, sent, maxLatencyMs };
}
