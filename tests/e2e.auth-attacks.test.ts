// The anonymous-client attacks, replayed against a broker with --auth on, once as a client
// that never signs in and once as "mallory", a signed-in user with rights on her own topics only.
// Each is refused (AUTH_REQUIRED / NO_PERMISSION / BAD_REQUEST), and nothing changed: the team's
// messages stay unread, its topic keeps its queues and perm, its group keeps its offsets and gets
// no DLQ, its producer's transaction is still its own to end, the route still points at the
// broker, and nothing was written outside the data directory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { Admin, Producer, PullConsumer, TransactionProducer } from "../client/mod.ts";
import { encode } from "../protocol/mod.ts";
import { until } from "./helpers/broker.ts";
import { channel, startAuthBroker } from "./helpers/auth.ts";
import { rawSocket } from "./helpers/raw-socket.ts";

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const OWNER = { accessKey: "owner", secretKey: "owner-secret-1" };
const MALLORY = { accessKey: "mallory", secretKey: "mallory-secret" };
const own = (prefix: string) => [
  { resource: `Topic:${prefix}*`, actions: ["PUB", "SUB"], decision: "ALLOW" },
  { resource: `Group:${prefix}*`, actions: ["PUB", "SUB"], decision: "ALLOW" },
];
const b = await startAuthBroker(
  { users: [{ ...ROOT, super: true }, OWNER, MALLORY], acls: [{ user: "owner", entries: own("team-") }, { user: "mallory", entries: own("mallory") }] },
  { transactionTimeoutMs: 200, transactionCheckIntervalMs: 200 },
);

// The team's state: a topic, keyed messages, a group's committed offset, a pending transaction.
const admin = new Admin({ endpoints: b.url, credentials: ROOT });
await admin.createTopic("team-orders", 2);
const producer = new Producer({ endpoints: b.url, credentials: OWNER });
await producer.start();
const sent = await producer.send({ topic: "team-orders", body: "secret body", keys: ["order-1"], queueId: 0 });
const teamConsumer = new PullConsumer({ endpoints: b.url, group: "team-cg", credentials: OWNER });
await teamConsumer.start();
await teamConsumer.commitOffset({ topic: "team-orders", queueId: 0, offset: 1 });
const { commitLogOffset } = (await teamConsumer.pull({ topic: "team-orders", queueId: 0, offset: sent.queueOffset })).msgs[0];
let checks = 0;
const txProducer = new TransactionProducer({
  endpoints: b.url,
  group: "team-pg",
  credentials: OWNER,
  check: () => {
    checks++;
    return "UNKNOWN";
  },
});
await txProducer.start();
const tx = await txProducer.sendInTransaction({ topic: "team-orders", body: "half", queueId: 1 }, () => "UNKNOWN");

const rootChannel = channel(b.url, ROOT);
const state = async () => ({
  topic: (await admin.topicList()).find((t) => t.topic === "team-orders"),
  offset: await teamConsumer.queryOffset({ topic: "team-orders", queueId: 0 }),
  dlq: (await admin.topicList()).some((t) => t.topic === "%DLQ%team-cg"),
  route: (await rootChannel.request("queryRoute", { topic: "team-orders" })).brokers,
});
const before = await state();

test.after(async () => {
  await Promise.all([producer.shutdown(), teamConsumer.shutdown(), admin.shutdown(), rootChannel.close()]);
  await txProducer.shutdown().catch(() => {});
  await b.stop();
});

const attacks: [string, string, Record<string, unknown>][] = [
  ["pull another team's messages", "pull", { topic: "team-orders", queueId: 0, offset: 0 }],
  ["query a message by key", "queryMessage", { topic: "team-orders", key: "order-1" }],
  ["set perm 0 on another team's topic", "createTopic", { topic: "team-orders", queues: 2, perm: 0 }],
  ["widen it to 1,024 queues", "createTopic", { topic: "team-orders", queues: 1024 }],
  ["rewind another group's offsets", "commitOffset", { group: "team-cg", topic: "team-orders", queueId: 0, offset: 0 }],
  ["skip them with resetOffset", "resetOffset", { group: "team-cg", topic: "team-orders", timestamp: Date.now() + 3_600_000 }],
  ["push records into its DLQ", "sendBack", { group: "team-cg", commitLogOffset, maxReconsumeTimes: 0 }],
  ["heartbeat as another producer group", "heartbeat", { clientId: "evil@1", producerGroups: ["team-pg"] }],
  ["roll back its transaction", "endTransaction", { group: "team-pg", msgId: tx.msgId, resolution: "ROLLBACK" }],
  ["delete another team's topic", "deleteTopic", { topic: "team-orders" }],
  ["delete another team's group", "deleteSubGroup", { group: "team-cg" }],
  ["hijack the route under the broker's own name", "registerBroker", { brokerName: "broker-a", address: "ws://10.6.6.6:1/ws", topics: { "team-orders": { queues: 2, perm: 6 } } }],
];

for (const [who, creds, expected] of [["an anonymous client", undefined, "AUTH_REQUIRED"], ["mallory", MALLORY, "NO_PERMISSION"]] as const) {
  for (const [name, op, args] of attacks) {
    test(`${who}: ${name} is refused (${expected})`, async () => {
      const ch = channel(b.url, creds);
      assert.is(await ch.code(op, args), expected);
      await ch.close();
    });
  }
}

test("mallory's queryMessage by id finds nothing of another team's", async () => {
  const ch = channel(b.url, MALLORY);
  assert.equal((await ch.request("queryMessage", { msgId: sent.msgId })).msgs, []);
  await ch.close();
});

test("even a super user cannot register a broker under the standalone broker's own name", async () => {
  assert.is(await rootChannel.code("registerBroker", { brokerName: "broker-a", address: "ws://10.6.6.6:1/ws", topics: {} }), "NO_PERMISSION");
});

test("a group name with ../ gets BAD_REQUEST and creates nothing on disk", async () => {
  assert.is(await rootChannel.code("sendBack", { group: "../../evil", commitLogOffset }), "BAD_REQUEST");
  assert.is(await rootChannel.code("commitOffset", { group: "x".repeat(1 << 20), topic: "team-orders", queueId: 0, offset: 0 }), "BAD_REQUEST");
  const parent = dirname(b.dir);
  assert.not.ok(existsSync(join(parent, "evil")) || existsSync(join(b.dir, "evil")), "no evil/ beside or in the data directory");
  assert.not.ok(readdirSync(join(b.dir, "consumequeue")).some((d) => d.includes("evil")));
});

test("nothing changed: topic, offsets, DLQ, route; the transaction is still the owner's", async () => {
  assert.equal(await state(), before);
  // The owner's producer, not mallory's heartbeat, is asked about the transaction.
  await until("a check reached the owner's producer", () => checks > 0, 5000, 20);
  const s = await rawSocket(b.url);
  s.send(encode({ id: 1, op: "heartbeat", clientId: "evil@2", producerGroups: ["team-pg"] }));
  assert.is((await s.next()).code, "AUTH_REQUIRED");
  s.close();
  const owner = channel(b.url, OWNER);
  const end = await owner.request("endTransaction", { group: "team-pg", msgId: tx.msgId, resolution: "COMMIT" });
  assert.is(end.state, "COMMITTED");
  await owner.close();
  // And nobody outside read the secret body: the owner still reads it where it was.
  const pulled = await teamConsumer.pull({ topic: "team-orders", queueId: 0, offset: sent.queueOffset });
  assert.equal(pulled.msgs.map((m) => m.body), ["secret body"]);
});

test.run();
