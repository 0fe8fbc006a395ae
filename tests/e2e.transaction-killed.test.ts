// Check-back after the producer that sent the half message is SIGKILLed: a child process (this
// file, started with ACTORMQ_TX_SENDER set) sends a half message and dies inside its local
// transaction; another producer of the group, in this process, is asked and commits it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PullConsumer, TransactionProducer } from "../client/mod.ts";
import { isDeno, startBroker, until } from "./helpers/broker.ts";

const senderUrl = process.env.ACTORMQ_TX_SENDER;
if (senderUrl) {
  // The sender: its local transaction never finishes; the parent kills it meanwhile.
  const tp = new TransactionProducer({ endpoints: senderUrl, group: "tpg-killed", heartbeatIntervalMs: 100, check: () => new Promise(() => {}) });
  await tp.start();
  await tp.sendInTransaction({ topic: "TxKilled", body: "orphaned by a SIGKILL" }, (_m, sent) => {
    console.log(`HALF ${sent.msgId}`);
    return new Promise(() => {});
  });
} else {
  const env = await startBroker({ transactionTimeoutMs: 300, transactionCheckIntervalMs: 100 });

  test("the sender is SIGKILLed mid local transaction: another producer of the group answers the check", async () => {
    const self = fileURLToPath(import.meta.url);
    const [cmd, args] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", self]] : [process.execPath, [self]];
    const child = spawn(cmd, args, { env: { ...process.env, ACTORMQ_TX_SENDER: env.url }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const exited = new Promise((r) => child.on("close", (code, signal) => r(signal ?? code)));
    const msgId = await until("the half message stored by the child", () => /HALF (\w+)/.exec(out)?.[1], 20_000);
    child.kill("SIGKILL");
    assert.is(await exited, "SIGKILL");
    assert.is(env.broker.observer.transactionsInFlight(), 1, "its transaction stays in flight");

    const asked: string[] = [];
    const other = new TransactionProducer({ endpoints: env.url, group: "tpg-killed", heartbeatIntervalMs: 100, check: (m) => (asked.push(m.id), "COMMIT") });
    await other.start();
    await until("the check answered and the transaction ended", () => env.broker.observer.transactionsInFlight() === 0, 10_000);
    assert.ok(asked.includes(msgId), "the other producer was asked about the dead sender's transaction");
    const reader = new PullConsumer({ endpoints: env.url, group: "reader" });
    await reader.start();
    const all = [];
    for (let q = 0; q < 4; q++) all.push(...(await reader.pull({ topic: "TxKilled", queueId: q, offset: 0, maxCount: 10 })).msgs.map((m) => m.id));
    assert.equal(all, [msgId], "committed once, by the other producer's answer");
    await Promise.allSettled([other.shutdown(), reader.shutdown()]);
  });

  test.after(() => env.stop());
  test.run();
}
