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
import { loadPlatform } from "../runtime/platform-select.ts";
import { produce } from "./broker-workloads.ts";

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
  const child = fork(new URL(import.meta.url).pathname, ["--tx-broker", dir], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
    await run(2000, "COMMIT"); // warm every code path and the shards
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

/** The child of memoryPerTransaction: a broker in this process, measured on request after gc(). */
if (process.argv.includes("--tx-broker")) {
  const dataDir = process.argv[process.argv.indexOf("--tx-broker") + 1];
  const broker = await Broker.start(await loadPlatform(), { ...defaults, port: 0, dataDir, transactionTimeoutMs: 3_600_000 });
  process.send!({ url: broker.address });
  process.on("message", async (m) => {
    if (m === "measure") {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      const mem = process.memoryUsage();
      process.send!({ heapUsed: mem.heapUsed, rss: mem.rss, inFlight: broker.transactions.inFlight() });
    } else if (m === "stop") {
      await broker.shutdown();
      process.exit(0);
    }
  });
}
