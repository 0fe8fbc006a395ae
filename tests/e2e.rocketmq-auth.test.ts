// --auth on for RocketMQ 5's own clients over gRPC: the official Node.js client signs its
// requests (MQv2-HMAC-SHA1 of x-mq-date-time, `sessionCredentials`), and the gRPC front-end
// checks the same ACL as the WebSocket one. A producer with PUB sends; on a topic it may not
// write it gets FORBIDDEN and nothing is stored; with a wrong secret, or none, its requests are
// UNAUTHORIZED (the client reports that it could not fetch routes; the broker's counters say
// why); a group name with ../ is refused. The refusals are counted in /metrics.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { PullConsumer } from "../client/mod.ts";
import { killSpawned, tempDir } from "./helpers/broker.ts";
import { exitWhenIdle, logger, Producer, SimpleConsumer, spawnGrpcBroker, stopBroker } from "./helpers/rocketmq.ts";

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const APP = { accessKey: "app", secretKey: "app-secret-11" };
const dir = tempDir("actormq-grpc-auth-");
const aclFile = `${dir.path}/acl.json`;
writeFileSync(aclFile, JSON.stringify({
  users: [{ ...ROOT, super: true }, APP],
  acls: [{ user: "app", entries: [
    { resource: "Topic:GrpcOk", actions: ["PUB", "SUB"], decision: "ALLOW" },
    { resource: "Topic:GrpcLocked", actions: ["SUB"], decision: "ALLOW" },
    { resource: "Group:grpc-cg", actions: ["SUB"], decision: "ALLOW" },
  ] }],
}));
const broker = await spawnGrpcBroker(["--auth", "on", "--acl-file", aclFile]);
const reader = new PullConsumer({ endpoints: broker.url, group: "grpc-reader", credentials: ROOT });
await reader.start();
const stored = async (topic: string) => (await reader.pull({ topic, queueId: 0, offset: 0, maxCount: 100 }).catch(() => ({ msgs: [] }))).msgs.length;
const rmqCredentials = (c: { accessKey: string; secretKey: string }) => ({ accessKey: c.accessKey, accessSecret: c.secretKey });

test.after(async () => {
  await reader.shutdown();
  await stopBroker(broker);
  killSpawned();
  dir.remove();
  exitWhenIdle();
});

test("a signed-in RocketMQ producer sends where it may, and gets FORBIDDEN where it may not", async () => {
  const producer = new Producer({ endpoints: broker.grpc, namespace: "", topics: ["GrpcOk", "GrpcLocked"], logger, sessionCredentials: rmqCredentials(APP) });
  await producer.startup();
  try {
    const ok = await producer.send({ topic: "GrpcOk", body: Buffer.from("over gRPC, signed"), tag: "a" } as never);
    assert.type(ok.messageId, "string");
    let refused: unknown;
    try {
      await producer.send({ topic: "GrpcLocked", body: Buffer.from("no") } as never);
    } catch (e) {
      refused = e;
    }
    assert.match(String((refused as Error)?.message ?? refused), /FORBIDDEN|403|may not PUB Topic:GrpcLocked/);
    assert.is(await stored("GrpcOk"), 1);
    assert.is(await stored("GrpcLocked"), 0, "nothing stored");
  } finally {
    await producer.shutdown();
  }
});

test("a wrong secret, or none, is UNAUTHORIZED", async () => {
  for (const creds of [{ ...APP, secretKey: "not-the-secret" }, undefined]) {
    const producer = new Producer({ endpoints: broker.grpc, namespace: "", topics: ["GrpcOk"], logger, requestTimeout: 2000, ...(creds ? { sessionCredentials: rmqCredentials(creds) } : {}) });
    let failed: unknown;
    try {
      await producer.startup();
      await producer.send({ topic: "GrpcOk", body: Buffer.from("x") } as never);
    } catch (e) {
      failed = e;
    }
    // The client wraps it ("Failed to fetch topic routes"); the broker's counters say why, below.
    assert.ok(failed, "the client could not start or send");
    await producer.shutdown().catch(() => {});
  }
  assert.is(await stored("GrpcOk"), 1, "nothing more stored");
  const metrics = await (await fetch(broker.url.replace("ws://", "http://").replace(/\/ws$/, "/metrics"), { headers: { authorization: `Bearer ${ROOT.accessKey}:${ROOT.secretKey}` } })).text();
  assert.match(metrics, /actormq_auth_failures_total\{reason="bad_signature"\} [1-9]/, "the wrong secret");
  assert.match(metrics, /actormq_auth_failures_total\{reason="not_signed_in"\} [1-9]/, "no credentials");
  assert.match(metrics, /actormq_permission_denied_total\{action="PUB",resource_type="Topic"\} [1-9]/);
});

test("a RocketMQ consumer with SUB on the topic and its group receives; a group with ../ is refused", async () => {
  const consumer = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: "grpc-cg", subscriptions: new Map([["GrpcOk", "*"]]), awaitDuration: 1000, logger, sessionCredentials: rmqCredentials(APP) });
  await consumer.startup();
  const got = await consumer.receive(10, 5000);
  assert.is(got.length, 1);
  await consumer.shutdown();
  const evil = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: "../../evil", subscriptions: new Map([["GrpcOk", "*"]]), awaitDuration: 1000, logger, sessionCredentials: rmqCredentials(ROOT) });
  let refused: unknown;
  try {
    await evil.startup();
    await evil.receive(1, 2000);
  } catch (e) {
    refused = e;
  }
  assert.match(String((refused as Error)?.message ?? refused), /BAD_REQUEST|ILLEGAL|400|must be 1\.\.120/, String(refused));
  await evil.shutdown().catch(() => {});
});

test.run();
