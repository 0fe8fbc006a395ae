// --auth on over real sockets, as a table of cases: no credentials, a wrong secret, a replayed or
// stale signature, a user without PUB on the topic, with SUB but not on the group, DENY winning
// over ALLOW, an address outside the entry's range, admin ops without ADMIN. Each is refused
// (AUTH_REQUIRED, AUTH_FAILED or NO_PERMISSION naming the resource and action), nothing is
// stored, and the broker serves the others; the same user with the right permission succeeds; a
// change of the ACL file, or an ACL admin command, takes effect without a restart; /metrics
// takes a bearer token and counts the refusals.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, Producer, PullConsumer } from "../client/mod.ts";
import { encode, signHandshake } from "../protocol/mod.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { until } from "./helpers/broker.ts";
import { type AclFile, channel, startAuthBroker } from "./helpers/auth.ts";

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const ALICE = { accessKey: "alice", secretKey: "alice-secret-1" };
const BOB = { accessKey: "bob", secretKey: "bob-secret-22" };
const CAROL = { accessKey: "carol", secretKey: "carol-secret-3" };
const DAVE = { accessKey: "dave", secretKey: "dave-secret-44" };
const PROM = { accessKey: "prometheus", secretKey: "prom-secret-5" };

const acl: AclFile = {
  users: [{ ...ROOT, super: true }, ALICE, BOB, CAROL, DAVE, PROM],
  acls: [
    {
      user: "alice",
      entries: [
        { resource: "Topic:orders*", actions: ["PUB", "SUB"], decision: "ALLOW" },
        { resource: "Topic:orders-locked", actions: ["PUB"], decision: "DENY" },
        { resource: "Group:cg-alice", actions: ["SUB"], decision: "ALLOW" },
      ],
    },
    { user: "bob", entries: [{ resource: "Topic:orders", actions: ["SUB"], decision: "ALLOW" }] },
    { user: "carol", entries: [{ resource: "Topic:*", actions: ["PUB"], decision: "ALLOW", sourceIps: ["10.0.0.0/8"] }] },
    { user: "dave", entries: [{ resource: "Topic:dave*", actions: ["PUB", "SUB"], decision: "ALLOW" }] },
    { user: "prometheus", entries: [{ resource: "Cluster", actions: ["SUB"], decision: "ALLOW" }] },
  ],
};

const b = await startAuthBroker(acl);
const msg = (topic: string, body: string) => encode({ topic, body, id: `id-${topic}-${body}-${Math.random()}`, born: Date.now() });
const root = channel(b.url, ROOT);
await root.request("createTopic", { topic: "orders", queues: 1 });
await root.request("createTopic", { topic: "orders-locked", queues: 1 });
const maxOffset = async (topic: string) => Number(((await root.request("topicStatus", { topic })).queues as { maxOffset: number }[])[0].maxOffset);

test.after(async () => {
  await root.close();
  await b.stop();
});

test("the start-up summary and hello say auth is on", async () => {
  const anon = channel(b.url);
  const hello = await anon.request("hello");
  assert.is(hello.auth, true);
  assert.type(hello.nonce, "string");
  await anon.close();
});

interface Case {
  name: string;
  who?: { accessKey: string; secretKey: string };
  op: string;
  args: Record<string, unknown>;
  code: string;
  /** What the refusal must name. */
  says?: RegExp;
  /** Topic whose max offset must not move. */
  unchanged?: string;
}

const cases: Case[] = [
  { name: "no credentials: send", op: "send", args: { msg: msg("orders", "anon") }, code: "AUTH_REQUIRED", says: /sign in first/, unchanged: "orders" },
  { name: "no credentials: pull", op: "pull", args: { topic: "orders", queueId: 0, offset: 0 }, code: "AUTH_REQUIRED" },
  { name: "a user without PUB on the topic", who: BOB, op: "send", args: { msg: msg("orders", "bob") }, code: "NO_PERMISSION", says: /"bob" may not PUB Topic:orders/, unchanged: "orders" },
  { name: "SUB on the topic but not on the group", who: BOB, op: "pull", args: { topic: "orders", queueId: 0, offset: 0, group: "cg-alice", commitOffset: 0 }, code: "NO_PERMISSION", says: /may not SUB Group:cg-alice/ },
  { name: "SUB on the topic, commitOffset for another group", who: BOB, op: "commitOffset", args: { topic: "orders", queueId: 0, offset: 1, group: "cg-alice" }, code: "NO_PERMISSION", says: /Group:cg-alice/ },
  { name: "DENY wins over ALLOW", who: ALICE, op: "send", args: { msg: msg("orders-locked", "alice") }, code: "NO_PERMISSION", says: /may not PUB Topic:orders-locked/, unchanged: "orders-locked" },
  { name: "an address outside the entry's range", who: CAROL, op: "send", args: { msg: msg("orders", "carol") }, code: "NO_PERMISSION", says: /"carol" may not PUB/, unchanged: "orders" },
  { name: "admin op without ADMIN: createTopic", who: DAVE, op: "createTopic", args: { topic: "orders", queues: 64, perm: 0 }, code: "NO_PERMISSION", says: /may not ADMIN Topic:orders/ },
  { name: "admin op without ADMIN: createUser", who: DAVE, op: "createUser", args: { accessKey: "eve", secretKey: "eve-secret-9", super: true }, code: "NO_PERMISSION", says: /may not ADMIN Cluster/ },
  { name: "admin op without ADMIN: resetOffset", who: ALICE, op: "resetOffset", args: { group: "cg-alice", topic: "orders", timestamp: 0 }, code: "NO_PERMISSION", says: /may not ADMIN Group:cg-alice/ },
  { name: "admin op without ADMIN: inspect", who: DAVE, op: "inspect", args: {}, code: "NO_PERMISSION", says: /may not SUB Cluster/ },
];

for (const c of cases) {
  test(`refused: ${c.name} (${c.code})`, async () => {
    const ch = channel(b.url, c.who);
    const before = c.unchanged ? await maxOffset(c.unchanged) : 0;
    try {
      await ch.request(c.op, c.args);
      assert.unreachable(`${c.op} was accepted`);
    } catch (e) {
      assert.instance(e, BrokerError);
      assert.is((e as BrokerError).code, c.code, (e as Error).message);
      if (c.says) assert.match((e as Error).message, c.says);
    }
    if (c.unchanged) assert.is(await maxOffset(c.unchanged), before, "nothing stored");
    await ch.close();
    // The broker still serves a user with the right.
    assert.is(await root.code("topicList"), "OK");
  });
}

test("NO_PERMISSION names the resource and action in its fields", async () => {
  const bob = channel(b.url, BOB);
  const s = await rawSocket(b.url);
  // Sign in by hand, then ask for something bob may not do.
  s.send(encode({ id: 1, op: "hello" }));
  const hello = await s.next();
  s.send(encode({ id: 2, op: "auth", ...(await signHandshake(BOB, String(hello.nonce), Date.now())) }));
  assert.is((await s.next()).code, 0);
  s.send(encode({ id: 3, op: "send", msg: msg("orders", "bob") }));
  const r = await s.next();
  assert.equal([r.code, r.resource, r.action], ["NO_PERMISSION", "Topic:orders", "PUB"]);
  s.close();
  await bob.close();
});

test("a wrong secret, a replayed and a stale signature fail with AUTH_FAILED", async () => {
  const wrong = channel(b.url, { ...ALICE, secretKey: "not-alices-secret" });
  assert.is(await wrong.code("topicList"), "AUTH_FAILED");
  await wrong.close();

  // A signature captured from one connection, replayed on another: its nonce is not that one's.
  const first = await rawSocket(b.url);
  first.send(encode({ id: 1, op: "hello" }));
  const n1 = String((await first.next()).nonce);
  const captured = { id: 2, op: "auth", ...(await signHandshake(ALICE, n1, Date.now())) };
  first.send(encode(captured));
  assert.is((await first.next()).code, 0, "the original sign-in works");
  first.send(encode({ ...captured, id: 3 }));
  assert.is((await first.next()).code, "BAD_REQUEST", "a second auth on a signed-in connection");
  first.close();
  const second = await rawSocket(b.url);
  second.send(encode({ id: 1, op: "hello" }));
  await second.next();
  second.send(encode(captured));
  assert.is((await second.next()).code, "AUTH_FAILED", "replayed");
  // Stale: signed for this nonce but ten minutes ago (the window is five).
  second.send(encode({ id: 4, op: "hello" }));
  const n2 = String((await second.next()).nonce);
  second.send(encode({ id: 5, op: "auth", ...(await signHandshake(ALICE, n2, Date.now() - 600_000)) }));
  const stale = await second.next();
  assert.is(stale.code, "AUTH_FAILED");
  assert.match(String(stale.message), /-600 s from the broker's clock/);
  // A third failure closes the connection.
  second.send(encode({ id: 6, op: "hello" }));
  await second.next();
  second.send(encode({ ...captured, id: 7 }));
  assert.is((await second.next()).code, "AUTH_FAILED");
  assert.equal(await second.closed, { code: 1008, reason: "AUTH_FAILED: too many failed sign-ins" });
});

test("the same users with the right permission succeed", async () => {
  const producer = new Producer({ endpoints: b.url, credentials: ALICE });
  const consumer = new PullConsumer({ endpoints: b.url, group: "cg-alice", credentials: ALICE });
  try {
    await producer.start();
    await consumer.start();
    const sent = await producer.send({ topic: "orders", body: "allowed", queueId: 0 });
    const pulled = await consumer.pull({ topic: "orders", queueId: 0, offset: sent.queueOffset });
    assert.equal(pulled.msgs.map((m) => m.body), ["allowed"]);
    await consumer.commitOffset({ topic: "orders", queueId: 0, offset: sent.queueOffset + 1 });
    assert.is(await consumer.queryOffset({ topic: "orders", queueId: 0 }), sent.queueOffset + 1);
    // bob reads what alice wrote (SUB on Topic:orders, no group).
    const bob = new PullConsumer({ endpoints: b.url, group: "unused", credentials: BOB });
    await bob.start();
    assert.equal((await bob.pull({ topic: "orders", queueId: 0, offset: sent.queueOffset })).msgs.map((m) => m.body), ["allowed"]);
    await bob.shutdown();
    // topicList shows a user only the topics it has rights to.
    const dave = new Admin({ endpoints: b.url, credentials: DAVE });
    assert.equal(await dave.topicList(), []);
    await dave.shutdown();
  } finally {
    await producer.shutdown();
    await consumer.shutdown();
  }
});

test("a change of the ACL file takes effect without a restart", async () => {
  const bob = channel(b.url, BOB);
  assert.is(await bob.code("send", { msg: msg("orders", "bob-1") }), "NO_PERMISSION");
  const next = structuredClone(acl);
  next.acls!.find((a) => a.user === "bob")!.entries.push({ resource: "Topic:orders", actions: ["PUB"], decision: "ALLOW" });
  b.writeAcl(next);
  // The same connection: its cached decisions go with the old ACL.
  await until("bob may send", async () => (await bob.code("send", { msg: msg("orders", "bob-2") })) === "OK", 5000, 100);
  b.writeAcl(acl);
  await until("bob may not send again", async () => (await bob.code("send", { msg: msg("orders", "bob-3") })) === "NO_PERMISSION", 5000, 100);
  await bob.close();
});

test("users and ACLs managed with admin commands, written to the file", async () => {
  const admin = new Admin({ endpoints: b.url, credentials: ROOT });
  const frank = { accessKey: "frank", secretKey: "frank-secret-6" };
  try {
    await admin.createUser(frank);
    assert.ok((await admin.listUsers()).some((u) => u.accessKey === "frank" && !("secretKey" in u)), "listed without its secret");
    const f = channel(b.url, frank);
    assert.is(await f.code("send", { msg: msg("frank-t", "1") }), "NO_PERMISSION");
    await admin.createAcl("frank", [{ resource: "Topic:frank-*", actions: ["PUB"], decision: "ALLOW" }]);
    assert.is(await f.code("send", { msg: msg("frank-t", "2") }), "OK");
    assert.equal((await admin.listAcls("frank"))[0].entries.map((e) => e.resource), ["Topic:frank-*"]);
    await admin.updateUser({ accessKey: "frank", disabled: true });
    const again = channel(b.url, frank);
    assert.is(await again.code("topicList"), "AUTH_FAILED", "a disabled user cannot sign in");
    await again.close();
    await admin.deleteUser("frank");
    const { readFileSync } = await import("node:fs");
    assert.not.ok(readFileSync(b.aclFile, "utf8").includes("frank"), "the file no longer has frank");
    b.writeAcl(acl);
    await f.close();
  } finally {
    await admin.shutdown();
  }
});

test("the admin CLI signs in with --credentials and manages users and ACLs", async () => {
  const { spawn } = await import("node:child_process");
  const { writeFileSync } = await import("node:fs");
  const creds = b.aclFile.replace(/acl\.json$/, "root.json");
  writeFileSync(creds, JSON.stringify(ROOT));
  const cli = (...args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const [cmd, argv] = "Deno" in globalThis ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/admin-cli.ts"]] : [process.execPath, ["dist/admin.mjs"]];
    const child = spawn(cmd, [...argv, ...args, "--endpoints", b.url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
  const refused = await cli("listUser");
  assert.is(refused.code, 1);
  assert.match(refused.out, /AUTH_REQUIRED/);
  assert.is((await cli("createUser", "gina", "--secret-key", "gina-secret-7", "--credentials", creds)).code, 0);
  assert.is((await cli("createAcl", "gina", "Topic:gina-*", "--actions", "pub,sub", "--decision", "allow", "--source-ips", "127.0.0.1", "--credentials", creds)).code, 0);
  const listed = await cli("listAcl", "--user", "gina", "--credentials", creds);
  assert.match(listed.out, /gina\s+Topic:gina-\*\s+PUB,SUB\s+ALLOW\s+127\.0\.0\.1/);
  const gina = channel(b.url, { accessKey: "gina", secretKey: "gina-secret-7" });
  assert.is(await gina.code("send", { msg: msg("gina-t", "1") }), "OK");
  await gina.close();
  assert.is((await cli("deleteUser", "gina", "--credentials", creds)).code, 0);
  b.writeAcl(acl);
});

test("/metrics needs a bearer token of a user with SUB on Cluster, and counts the refusals", async () => {
  const url = `${b.url.replace("ws://", "http://").replace(/\/ws$/, "")}/metrics`;
  assert.is((await fetch(url)).status, 401);
  assert.is((await fetch(url, { headers: { authorization: `Bearer ${DAVE.accessKey}:${DAVE.secretKey}` } })).status, 403);
  assert.is((await fetch(url, { headers: { authorization: `Bearer ${PROM.accessKey}:wrong` } })).status, 401);
  const r = await fetch(url, { headers: { authorization: `Bearer ${PROM.accessKey}:${PROM.secretKey}` } });
  assert.is(r.status, 200);
  const text = await r.text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  assert.ok(value(/actormq_permission_denied_total\{action="PUB",resource_type="Topic"\} (\d+)/) >= 4, "PUB refusals counted");
  assert.ok(value(/actormq_permission_denied_total\{action="ADMIN",resource_type="Cluster"\} (\d+)/) >= 1);
  assert.ok(value(/actormq_auth_failures_total\{reason="not_signed_in"\} (\d+)/) >= 2);
  assert.ok(value(/actormq_auth_failures_total\{reason="bad_signature"\} (\d+)/) >= 2);
  assert.ok(value(/actormq_auth_sign_ins_total (\d+)/) >= 5);
});

test("a raw client that never signs in gets AUTH_REQUIRED for every op, whatever it carries", async () => {
  const s = await rawSocket(b.url);
  for (const op of ["topicList", "clusterList", "queryRoute", "heartbeat", "queryMessage", "registerBroker", "listUser"]) {
    s.send(encode({ id: op, op }));
    const r = await s.next();
    assert.is(r.code, "AUTH_REQUIRED", `${op}: ${JSON.stringify(r)}`);
  }
  s.close();
});

test.run();
