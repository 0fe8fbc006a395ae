// The admin CLI as a child process against a real broker (in this process, on port 0): every
// command in table form and in --json form, and failures exiting non-zero with the error code.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer, PullConsumer } from "../client/mod.ts";
import { isDeno, startBroker } from "./helpers/broker.ts";

const env = await startBroker({ segmentSize: 8 * 1024 * 1024, brokerName: "broker-adm" });
const producer = new Producer({ endpoints: env.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: env.url, group: "ag" });
await Promise.all([producer.start(), consumer.start()]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI (never spawnSync: the broker answering it lives in this process). */
function admin(...args: string[]): Promise<Run> {
  const [cmd, argv] = isDeno
    ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/admin-cli.ts"]]
    : [process.execPath, ["dist/admin.mjs"]];
  const child = spawn(cmd, [...argv, ...args, "--endpoints", env.url], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

async function ok(...args: string[]): Promise<string> {
  const r = await admin(...args);
  assert.is(r.code, 0, `${args.join(" ")} exits 0\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function json(...args: string[]): Promise<any> {
  return JSON.parse(await ok(...args, "--json"));
}

const ids: string[] = [];

test("createTopic", async () => {
  assert.match(await ok("createTopic", "AdminT", "--queues", "3"), /^topic AdminT: 3 queues, perm 6 \(rw\)$/m);
  assert.equal(await json("createTopic", "AdminT", "--queues", "4"), { topic: "AdminT", queues: 4, perm: 6 });
  for (let i = 0; i < 8; i++) {
    const r = await producer.send({ topic: "AdminT", body: `order ${i}`, keys: [`k-${i % 2}`], tags: "paid", queueId: i % 4 });
    ids.push(r.msgId);
  }
});

test("topicList", async () => {
  const table = await ok("topicList");
  assert.match(table, /^TOPIC\s+QUEUES\s+PERM$/m);
  assert.match(table, /^AdminT\s+4\s+6 \(rw\)$/m);
  assert.not.match(table, /RMQ_SYS_/, "system topics only with --system");
  const { topics } = await json("topicList");
  assert.equal(topics.find((t: { topic: string }) => t.topic === "AdminT"), { topic: "AdminT", queues: 4, perm: 6 });
});

test("topicStatus", async () => {
  const table = await ok("topicStatus", "AdminT");
  assert.match(table, /^topic AdminT: 4 queues, 8 messages stored$/m);
  assert.match(table, /^QUEUE\s+MIN_OFFSET\s+MAX_OFFSET\s+LAST_STORED$/m);
  for (let q = 0; q < 4; q++) assert.match(table, new RegExp(`^\\s*${q}\\s+0\\s+2\\s+\\d{4}-\\d\\d-\\d\\dT`, "m"));
  const s = await json("topicStatus", "AdminT");
  assert.is(s.topic, "AdminT");
  assert.equal(s.queues.map((q: { maxOffset: number }) => q.maxOffset), [2, 2, 2, 2]);
});

test("queryMsgById", async () => {
  const table = await ok("queryMsgById", ids[5]);
  assert.match(table, new RegExp(`^msgId\\s+${ids[5]}$`, "m"));
  assert.match(table, /^topic\s+AdminT$/m);
  assert.match(table, /^queueId\s+1$/m);
  assert.match(table, /^queueOffset\s+1$/m);
  assert.match(table, /^body\s+order 5$/m);
  const { msgs } = await json("queryMsgById", ids[5]);
  assert.is(msgs.length, 1);
  assert.is(msgs[0].id, ids[5]);
  assert.is(msgs[0].body, "order 5");
  assert.equal(msgs[0].keys, ["k-1"]);
});

test("queryMsgByKey", async () => {
  const table = await ok("queryMsgByKey", "AdminT", "k-0");
  assert.match(table, /^4 message\(s\) with key "k-0" in AdminT$/m);
  for (const i of [0, 2, 4, 6]) assert.match(table, new RegExp(`^${ids[i]}\\s+AdminT\\s+${i % 4}\\s+${Math.floor(i / 4)}\\s+\\S+\\s+paid\\s+k-0\\s+order ${i}$`, "m"));
  const { msgs } = await json("queryMsgByKey", "AdminT", "k-0");
  assert.equal(msgs.map((m: { id: string }) => m.id).sort(), [ids[0], ids[2], ids[4], ids[6]].sort());
});

test("consumerProgress", async () => {
  await consumer.commitOffset({ topic: "AdminT", queueId: 0, offset: 2 });
  await consumer.commitOffset({ topic: "AdminT", queueId: 1, offset: 1 });
  const table = await ok("consumerProgress", "ag");
  assert.match(table, /^group ag: total lag 5, 0 member\(s\)$/m);
  assert.match(table, /^AdminT\s+0\s+2\s+2\s+0\s/m);
  assert.match(table, /^AdminT\s+1\s+2\s+1\s+1\s/m);
  assert.match(table, /^AdminT\s+3\s+2\s+-1\s+2\s/m);
  const p = await json("consumerProgress", "ag");
  assert.is(p.totalLag, 5);
  assert.equal(p.queues.map((q: { lag: number }) => q.lag), [0, 1, 2, 2]);
});

test("resetOffsetByTime: ms and ISO time", async () => {
  const table = await ok("resetOffsetByTime", "ag", "AdminT", "0");
  assert.match(table, /^group ag on AdminT reset to 1970-01-01T00:00:00.000Z$/m);
  assert.match(table, /^QUEUE\s+NEW_OFFSET$/m);
  for (let q = 0; q < 4; q++) assert.match(table, new RegExp(`^${q}\\s+0$`, "m"));
  assert.is((await json("consumerProgress", "ag")).totalLag, 8);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const r = await json("resetOffsetByTime", "ag", "AdminT", future);
  assert.equal(r.offsets, { 0: 2, 1: 2, 2: 2, 3: 2 });
  assert.is(r.timestamp, Date.parse(future));
  assert.is((await json("consumerProgress", "ag")).totalLag, 0);
});

test("clusterList", async () => {
  const table = await ok("clusterList");
  assert.match(table, /standalone broker/);
  assert.match(table, /^BROKER\s+ADDRESS\s+TOPICS\s+VERSION\s+RUNTIME\s+UPTIME\s+STARTED$/m);
  assert.match(table, new RegExp(`^broker-adm\\s+${env.url.replace(/[.]/g, "\\.")}\\s+\\d+\\s+\\d+\\.\\d+\\.\\d+\\s+(node|deno)\\s`, "m"));
  const c = await json("clusterList");
  assert.is(c.mode, "standalone");
  assert.is(c.brokers.length, 1);
  assert.is(c.brokers[0].name, "broker-adm");
  assert.is(c.brokers[0].address, env.url);
  assert.is(c.brokers[0].topics, 1, "AdminT; system topics are not counted");
  assert.ok(c.brokers[0].uptimeMs >= 0);
});

test("updateTopic (a permission, the queue count kept), deleteTopic, deleteSubGroup", async () => {
  await ok("createTopic", "AdminDoomed", "--queues", "2");
  assert.match(await ok("updateTopic", "AdminDoomed", "--perm", "4"), /^topic AdminDoomed: 2 queues, perm 4 \(r-\)$/m);
  assert.is((await admin("updateTopic", "AdminNew", "--perm", "4")).code, 2, "a new topic needs --queues");
  assert.match(await ok("deleteTopic", "AdminDoomed"), /^topic AdminDoomed deleted$/m);
  const again = await admin("deleteTopic", "AdminDoomed");
  assert.is(again.code, 1);
  assert.match(again.stderr, /TOPIC_NOT_FOUND/);
  await ok("createTopic", "%RETRY%admin-gone", "--queues", "1");
  assert.match(await ok("deleteSubGroup", "admin-gone"), /^group admin-gone deleted, with %RETRY%admin-gone$/m);
  assert.equal(await json("deleteSubGroup", "admin-gone", "--keep-retry-topics"), { group: "admin-gone", topicsDeleted: [] });
});

test("failures exit non-zero with the error code and message", async () => {
  const r = await admin("topicStatus", "NoSuchTopic");
  assert.is(r.code, 1);
  assert.match(r.stderr, /TOPIC_NOT_FOUND: topic "NoSuchTopic" does not exist/);
  const j = await admin("topicStatus", "NoSuchTopic", "--json");
  assert.is(j.code, 1);
  assert.is(JSON.parse(j.stdout).error.code, "TOPIC_NOT_FOUND");
  const usage = await admin("createTopic", "X");
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /--queues/);
  assert.is((await admin("noSuchCommand")).code, 2);
  const bad = await admin("resetOffsetByTime", "ag", "AdminT", "yesterday");
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /ISO 8601/);
});

test.after(async () => {
  await Promise.all([producer.shutdown(), consumer.shutdown()]);
  await env.stop();
});

test.run();
