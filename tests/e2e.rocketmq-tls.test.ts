// RocketMQ's official Node.js client over TLS with credentials, as a RocketMQ 5 proxy is used in
// production: the broker serves gRPC with --tls-cert/--tls-key and --auth on; the client runs
// with `sslEnabled: true` and `sessionCredentials` (its MQv2-HMAC-SHA1 signature on every call).
// The client trusts the test CA the way grpc-js is told to (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,
// read when grpc-js loads), so it runs in a child process: this file, started with RMQ_TLS_CASE.
// A client without the CA, a plaintext client and a wrong secret get nothing through. On Deno
// both sides are Deno's: its node:tls sends a server's `ca` inside the certificate chain, which
// grpc-js's createSsl fills from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (see server.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PullConsumer } from "../client/mod.ts";
import { isDeno, killSpawned, tempDir } from "./helpers/broker.ts";
import { exitWhenIdle, logger, Producer, SimpleConsumer, spawnGrpcBroker, stopBroker } from "./helpers/rocketmq.ts";
import { makeCerts, opensslUnavailable } from "./helpers/tls.ts";

const APP = { accessKey: "tls-app", secretKey: "tls-app-secret-1" };
const ROOT = { accessKey: "tls-root", secretKey: "tls-root-secret-1" };
const rmqCredentials = (c: { accessKey: string; secretKey: string }) => ({ accessKey: c.accessKey, accessSecret: c.secretKey });

/** The child: one client case against RMQ_TLS_ENDPOINT; prints what it saw, one line each. */
async function clientCase(which: string, endpoints: string): Promise<void> {
  const credentials = rmqCredentials(which === "wrong-secret" ? { ...APP, secretKey: "not-the-secret" } : APP);
  const options = { endpoints, namespace: "", logger, sslEnabled: true, sessionCredentials: credentials, requestTimeout: 3000 };
  const producer = new Producer({ ...options, topics: ["RqTls"] });
  try {
    await producer.startup();
    for (let i = 0; i < 3; i++) console.log(`SENT ${(await producer.send({ topic: "RqTls", tag: "t", keys: [`k${i}`], body: Buffer.from(`tls ${i}`) } as never)).messageId}`);
    const consumer = new SimpleConsumer({ ...options, consumerGroup: "rq-tls", subscriptions: new Map([["RqTls", "*"]]), awaitDuration: 1000 });
    await consumer.startup();
    let got = 0;
    for (let tries = 0; got < 3 && tries < 10; tries++) {
      for (const m of await consumer.receive(8, 10_000)) {
        await consumer.ack(m);
        console.log(`GOT ${m.messageId} ${Buffer.from(m.body).toString()}`);
        got++;
      }
    }
    await consumer.shutdown();
  } catch (e) {
    console.log(`FAILED ${String((e as Error)?.message ?? e).split("\n")[0]}`);
  }
  await producer.shutdown().catch(() => {});
  process.exit(0);
}

const childCase = process.env.RMQ_TLS_CASE;
const skip = childCase ? null : opensslUnavailable();
if (childCase) await clientCase(childCase, process.env.RMQ_TLS_ENDPOINT!);
else if (skip) {
  console.log(`skipping e2e.rocketmq-tls: ${skip}`);
  test.run();
} else {
  const certs = makeCerts();
  const dir = tempDir("actormq-grpc-tls-");
  const aclFile = `${dir.path}/acl.json`;
  writeFileSync(aclFile, JSON.stringify({
    users: [{ ...ROOT, super: true }, APP],
    acls: [{ user: APP.accessKey, entries: [
      { resource: "Topic:RqTls", actions: ["PUB", "SUB"], decision: "ALLOW" },
      { resource: "Group:rq-tls", actions: ["SUB"], decision: "ALLOW" },
    ] }],
  }));
  const broker = await spawnGrpcBroker(["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--auth", "on", "--acl-file", aclFile]);

  /** Runs one client case in a child process, trusting the test CA or not; resolves with its lines. */
  const runClient = (which: string, trustCa: boolean): Promise<string[]> => {
    const self = fileURLToPath(import.meta.url);
    const [cmd, args] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", self]] : [process.execPath, [self]];
    // A host name, which the certificate names: Deno's TLS refuses an IP address as the server name.
    const env: Record<string, string> = { ...process.env as Record<string, string>, RMQ_TLS_CASE: which, RMQ_TLS_ENDPOINT: `localhost:${broker.grpcPort}` };
    if (trustCa) env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = certs.caCert;
    else delete env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    return new Promise((resolve) => child.on("close", (code) => {
      clearTimeout(killer);
      resolve([...out.split("\n").filter((l) => /^(SENT|GOT|FAILED) /.test(l)), ...(code === 0 ? [] : [`EXIT ${code} ${err.slice(-500)}`])]);
    }));
  };

  test.after(async () => {
    await stopBroker(broker);
    killSpawned();
    certs.remove();
    dir.remove();
    exitWhenIdle();
  });

  test("over TLS with credentials: the official client sends, receives and acks; the bytes are ActorMQ's", async () => {
    const lines = await runClient("signed", true);
    const sent = lines.filter((l) => l.startsWith("SENT ")).map((l) => l.split(" ")[1]);
    const got = lines.filter((l) => l.startsWith("GOT "));
    assert.is(sent.length, 3, lines.join("\n"));
    assert.equal(got.map((l) => l.split(" ")[1]).sort(), [...sent].sort(), lines.join("\n"));
    assert.equal(got.map((l) => l.split(" ").slice(2).join(" ")).sort(), ["tls 0", "tls 1", "tls 2"]);
    // Stored as sent, read back over wss:// by ActorMQ's SDK signed in as another user.
    const reader = new PullConsumer({ endpoints: broker.url, group: "rq-tls-reader", credentials: ROOT, tls: { ca: certs.ca } });
    await reader.start();
    try {
      const stored = [];
      for (let q = 0; q < 4; q++) stored.push(...(await reader.pull({ topic: "RqTls", queueId: q, offset: 0, maxCount: 10 })).msgs);
      assert.equal(stored.map((m) => m.id).sort(), [...sent].sort());
      assert.equal(stored.map((m) => m.tags), ["t", "t", "t"]);
    } finally {
      await reader.shutdown();
    }
  });

  test("a wrong secret over TLS, a client that does not trust the certificate, and a plaintext client get nothing through", async () => {
    for (const [which, trust] of [["wrong-secret", true], ["untrusting", false]] as const) {
      const lines = await runClient(which, trust);
      assert.ok(lines.length === 1 && lines[0].startsWith("FAILED "), `${which}: ${lines.join("\n")}`);
    }
    const plain = new Producer({ endpoints: broker.grpc, namespace: "", topics: ["RqTls"], logger, requestTimeout: 2000, sessionCredentials: rmqCredentials(APP) });
    let failed: unknown;
    try {
      await plain.startup();
      await plain.send({ topic: "RqTls", body: Buffer.from("plaintext") } as never);
    } catch (e) {
      failed = e;
    }
    assert.ok(failed, "a plaintext client cannot reach a TLS endpoint");
    await plain.shutdown().catch(() => {});
  });

  test.run();
}
