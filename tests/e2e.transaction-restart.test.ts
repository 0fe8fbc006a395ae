// Transactions across a broker SIGKILL (a child process), restarted on the same port: in-flight
// transactions come back (from the snapshot, or by replaying the half and op topics when there
// is none), an endTransaction the client could not deliver while the broker was down is
// retried and lands, unresolved ones are checked and resolved, and nothing is lost or doubled.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { type Answer, type LocalTransactionState, PullConsumer, TransactionProducer, type TransactionSendResult } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";

const dirs: { remove(): void }[] = [];

async function inFlight(url: string): Promise<number> {
  const text = await (await fetch(url.replace("ws://", "http://").replace("/ws", "/metrics"))).text();
  const line = text.split("\n").find((l) => l.startsWith("actormq_transactions_in_flight "));
  return Number(line?.split(" ")[1] ?? NaN);
}

async function readTopic(url: string, topic: string, queues: number): Promise<string[]> {
  const c = new PullConsumer({ endpoints: url, group: "reader" });
  await c.start();
  const ids: string[] = [];
  try {
    for (let q = 0; q < queues; q++) {
      let offset = 0;
      for (;;) {
        const r = await c.pull({ topic, queueId: q, offset, maxCount: 500 });
        if (r.msgs.length === 0) break;
        ids.push(...r.msgs.map((m) => m.id));
        offset = r.nextOffset;
      }
    }
  } finally {
    await c.shutdown();
  }
  return ids;
}

async function scenario(label: string, withSnapshot: boolean) {
  const dir = tempDir();
  dirs.push(dir);
  const base = ["--data-dir", dir.path, "--transaction-timeout", "5000", "--transaction-check-interval", "200", "--snapshot-interval", withSnapshot ? "100" : "600000"];
  const first = await spawnBroker(["--port", "0", ...base]);
  const port = new URL(first.url).port;
  const answers = new Map<string, LocalTransactionState>();
  const tp = new TransactionProducer({ endpoints: first.url, group: "tpg-restart", heartbeatIntervalMs: 200, endTransactionRetryMs: 30_000, check: (m) => answers.get(m.id) ?? "UNKNOWN" });
  await tp.start();
  const topic = `TxRestart${withSnapshot ? "Snap" : "Log"}`;
  const send = (n: number, local: () => Answer<LocalTransactionState>) => tp.sendInTransaction({ topic, body: `m${n}` }, local);

  // Committed before the kill: must not be committed again by the replay.
  const before = await Promise.all(Array.from({ length: 10 }, (_, n) => send(n, () => "COMMIT")));
  // Unknown before the kill: checked after the restart, half committed and half rolled back.
  const unknown = await Promise.all(Array.from({ length: 20 }, (_, n) => send(100 + n, () => "UNKNOWN")));
  unknown.forEach((r, i) => answers.set(r.msgId, i % 2 === 0 ? "COMMIT" : "ROLLBACK"));
  if (withSnapshot) {
    const health = async () => (await (await fetch(first.url.replace("ws://", "http://").replace("/ws", "/health"))).json()).commitLogOffset as number;
    const end = await health();
    await until("a snapshot holding the unknown transactions", () => readdirSync(`${dir.path}/snapshots`).some((n) => n.endsWith(".cbor") && Number(n.slice(0, 20)) >= end), 10_000);
  }
  // Between half and commit: the local transactions commit, but the broker dies first.
  let started = 0;
  let release!: () => void;
  const killed = new Promise<void>((r) => (release = r));
  const pending: Promise<TransactionSendResult>[] = Array.from({ length: 10 }, (_, n) =>
    send(200 + n, async () => {
      started++;
      await killed;
      return "COMMIT";
    }));
  await until("10 half messages stored", () => started === 10);
  first.child.kill("SIGKILL");
  assert.is(await first.exited, "SIGKILL");
  release();

  const second = await spawnBroker(["--port", port, ...base]);
  try {
    const late = await Promise.all(pending);
    for (const r of late) assert.ok(["COMMITTED", "NOT_IN_FLIGHT"].includes(r.endState), `endTransaction after the restart: ${r.endState}`);
    await until("every transaction resolved", async () => (await inFlight(second.url)) === 0, 20_000);
    const ids = await readTopic(second.url, topic, 4);
    const expected = [...before.map((r) => r.msgId), ...late.map((r) => r.msgId), ...unknown.filter((_, i) => i % 2 === 0).map((r) => r.msgId)];
    assert.is(new Set(ids).size, ids.length, "nothing committed twice");
    assert.equal(new Set(ids), new Set(expected), "nothing lost, nothing rolled back delivered");
    console.log(`  ${label}: ${expected.length} committed exactly once (${before.length} before the kill, ${late.length} retried after it, ${unknown.length / 2} by check); ${unknown.length / 2} rolled back by check`);
    assert.match(second.output(), withSnapshot ? /from snapshot at \d+/ : /from storage alone/);
    assert.match(second.output(), /\d+ transactions in flight/);
  } finally {
    await tp.shutdown();
    second.child.kill("SIGTERM");
    await second.exited;
  }
}

test("SIGKILL between half and commit, restored from a snapshot: resolved, nothing lost or doubled", async () => {
  await scenario("from snapshot", true);
});

test("SIGKILL between half and commit, no snapshot (replay of half and op topics): resolved, nothing lost or doubled", async () => {
  await scenario("from the half and op topics", false);
});

test.after(() => {
  killSpawned();
  for (const d of dirs) d.remove();
});

test.run();
