// Transaction workloads: committed transactions per second with 100 in flight (each a half
// message, the local transaction, and endTransaction COMMIT), next to plain sends at the same
// concurrency against the same broker; and the broker's memory per in-flight transaction,
// measured in a child process that runs only the broker and reports its heap after a full GC.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin, TransactionProducer } from "../client/mod.ts";
import { Broker } from "../runtime/broker.ts";
import { defaults } from "../runtime/config.ts";
import { loadPlatform } from "../platform/select.ts";
import { BROKER_V8_FLAGS } from "../platform/v8-flags.ts";
import { inProcessBrokerExecArgv, produce } from "./broker-workloads.ts";
import { createActor } from "xstate";
import { createBrokerMachine, type BrokerDeps } from "../actors/broker.machine.ts";

const BODY = new Uint8Array(1024).fill(3);

/** `total` transactions, `concurrency` at a time, each committed by its local transaction: committed/s. */
export async function committedTransactions(url: string, topic: string, total: number, concurrency: number): Promise<number> {
  const tp = new TransactionProducer({ endpoints: url, group: "bench-tx", check: () => "COMMIT" });
  await tp.start();
  let next = 0;
  let committed = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      const r = await tp.sendInTransaction({ topic, body: BODY }, () => "COMMIT");
      if (r.endState === "COMMITTED") committed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = committed / ((performance.now() - started) / 1000);
  await tp.shutdown();
  if (committed !== total) throw new Error(`only ${committed} of ${total} transactions were committed`);
  return rate;
}

/** actorLifecycle in a child process with the broker's V8 flags (platform/v8-flags.ts), as the broker runs it. */
export async function actorLifecycleAsBroker(total: number): Promise<number> {
  const child = fork(new URL(import.meta.url).pathname, ["--actor-lifecycle", String(total)], { execArgv: [...BROKER_V8_FLAGS], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve(m as number));
    child.once("exit", (code) => reject(new Error(`the actor lifecycle child exited (${code}) without a result`)));
  });
}

/**
 * What the actors alone cost per transaction, in this process: the real root machine spawns each
 * under the transactions actor (TX_BEGIN), ends it (TX_DELIVER END COMMIT) and stops it, in batches of 50 as a
 * busy broker's turns carry them; the effects are no-ops. CPU µs per transaction, the lowest of
 * 5 rounds (the machine is shared). The part of a committed transaction no storage or network
 * change can remove.
 */
export function actorLifecycle(total: number): number {
  const noop = () => {};
  const deps = {
    now: () => Date.now(),
    checkIntervalMs: 30_000,
    maxChecks: 15,
    armCheck: noop,
    checkTransaction: () => true,
    writeEnd: noop,
    notInFlight: noop,
    snapshotIntervalMs: 1e9,
    snapshot: noop,
    restartInput: () => ({}),
    releaseHolds: noop,
    deliverDue: () => ({ progress: 0, dueAt: 0 }),
    timerTick: () => 1e12,
    memberExpiryMs: 1e9,
    membersChanged: noop,
  } as unknown as BrokerDeps;
  const root = createActor(createBrokerMachine(deps), { input: { brokerName: "bench" } }).start();
  let n = 0;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = process.cpuUsage();
    for (let done = 0; done < total; done += 50) {
      const ids = Array.from({ length: 50 }, () => `bench-tx-${n++}`);
      root.send({ type: "TX_BEGIN", txs: ids.map((id) => ({ id, group: "g", halfOffset: 0, checkAt: Date.now() + 60_000 })) });
      root.send({ type: "TX_DELIVER", events: ids.map((id) => [id, { type: "END", resolution: "COMMIT", group: "g", answer: noop }]) });
    }
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / total);
  }
  root.stop();
  return best;
}

/** Plain sends with the same concurrency against the same broker: the yardstick for the above. */
export async function plainSends(url: string, topic: string, total: number, concurrency: number): Promise<number> {
  return await produce(url, topic, total, concurrency);
}

interface Measure {
  heapUsed: number;
  rss: number;
  inFlight: number;
}

/**
 * Heap and RSS of a broker process before and after `n` transactions are left in flight (local
 * transaction UNKNOWN, a transaction timeout of an hour so none is checked): bytes per transaction.
 */
export async function memoryPerTransaction(n: number): Promise<{ heapPerTx: number; rssPerTx: number; inFlight: number }> {
  const dir = mkdtempSync(join(tmpdir(), "actormq-bench-txmem-"));
  const child = fork(new URL(import.meta.url).pathname, ["--tx-broker", dir], { execArgv: inProcessBrokerExecArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies: ((m: unknown) => void)[] = [];
  child.on("message", (m) => replies.shift()?.(m));
  const ask = <T>(what: string): Promise<T> => new Promise((resolve) => {
    replies.push(resolve as (m: unknown) => void);
    if (what !== "url") child.send(what);
  });
  try {
    const { url } = await ask<{ url: string }>("url");
    const admin = new Admin({ endpoints: url });
    await admin.start();
    await admin.createTopic("TxMemory", 4);
    await admin.shutdown();
    const tp = new TransactionProducer({ endpoints: url, group: "bench-txmem", check: () => "UNKNOWN" });
    await tp.start();
    const run = async (count: number, state: "COMMIT" | "UNKNOWN") => {
      let next = 0;
      await Promise.all(Array.from({ length: 100 }, async () => {
        while (next < count) {
          next++;
          await tp.sendInTransaction({ topic: "TxMemory", body: "x".repeat(100) }, () => state);
        }
      }));
    };
    await run(2000, "COMMIT"); // warm every code path
    await run(200, "UNKNOWN");
    const before = await ask<Measure>("measure");
    await run(n, "UNKNOWN");
    const after = await ask<Measure>("measure");
    await tp.shutdown();
    const added = after.inFlight - before.inFlight;
    if (added !== n) throw new Error(`expected ${n} more transactions in flight, the broker has ${added}`);
    return { heapPerTx: (after.heapUsed - before.heapUsed) / n, rssPerTx: (after.rss - before.rss) / n, inFlight: after.inFlight };
  } finally {
    child.send("stop");
    await new Promise((r) => (child as ChildProcess).once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The child of actorLifecycleAsBroker. */
if (process.argv.includes("--actor-lifecycle")) {
  process.send!(actorLifecycle(Number(process.argv[process.argv.indexOf("--actor-lifecycle") + 1])), () => process.exit(0));
}

/** The child of memoryPerTransaction: a broker in this process, measured on request after gc(). */
if (process.argv.includes("--tx-broker")) {
  const dataDir = process.argv[process.argv.indexOf("--tx-broker") + 1];
  const broker = await Broker.start(await loadPlatform(), { ...defaults, port: 0, grpcPort: 0, dataDir, transactionTimeoutMs: 3_600_000 });
  process.send!({ url: broker.address });
  process.on("message", async (m) => {
    if (m === "measure") {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      const mem = process.memoryUsage();
      process.send!({ heapUsed: mem.heapUsed, rss: mem.rss, inFlight: broker.observer.transactionsInFlight() });
    } else if (m === "stop") {
      await broker.shutdown();
      process.exit(0);
    }
  });
}
