// The ACL model alone (runtime/security/acl.ts): patterns, the most specific entry winning and
// DENY winning a tie, default deny, source ranges, super and disabled users, retry and DLQ topics
// following their group, the admin edits, a document with faults refused naming them; the file
// store re-reading a changed file and keeping the old ACL when the new one is broken; address
// ranges; sign-in with a nonce (replay, stale, wrong secret, no challenge).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { BrokerError, signHandshake } from "../protocol/mod.ts";
import {
  checkDocument,
  CLUSTER,
  CompiledAcl,
  createAcl,
  createUser,
  deleteAcl,
  deleteUser,
  groupResource,
  listUsers,
  topicResource,
  updateAcl,
  updateUser,
} from "../runtime/security/acl.ts";
import { AclStore } from "../runtime/security/acl-store.ts";
import { ipInRange, parseIp, parseIpRange } from "../runtime/security/ip-range.ts";
import { Security } from "../runtime/security/security.ts";
import { loadPlatform } from "../platform/select.ts";
import { tempDir } from "./helpers/broker.ts";

const doc = checkDocument({
  users: [
    { accessKey: "alice", secretKey: "alice-secret-1" },
    { accessKey: "root", secretKey: "root-secret-1", super: true },
    { accessKey: "gone", secretKey: "gone-secret-1", super: true, disabled: true },
  ],
  acls: [{
    user: "alice",
    entries: [
      { resource: "Topic:*", actions: ["SUB"], decision: "ALLOW" },
      { resource: "Topic:orders*", actions: ["pub", "sub"], decision: "allow" },
      { resource: "Topic:orders-secret", actions: ["ALL"], decision: "DENY" },
      { resource: "Topic:orders-x", actions: ["PUB"], decision: "ALLOW" },
      { resource: "Topic:orders-x", actions: ["PUB"], decision: "DENY" },
      { resource: "Group:cg-a*", actions: ["SUB"], decision: "ALLOW" },
      { resource: "Group:cg-office", actions: ["SUB"], decision: "ALLOW", sourceIps: ["10.1.0.0/16", "fd00::/8"] },
      { resource: "Cluster", actions: ["SUB"], decision: "ALLOW" },
    ],
  }],
});
const acl = new CompiledAcl(doc);
const T = (name: string) => topicResource(name);
const G = (name: string) => groupResource(name);

test("the most specific entry wins; DENY wins a tie; nothing matching is denied", () => {
  assert.ok(acl.decide("alice", T("orders"), "PUB", "127.0.0.1"), "prefix allows PUB");
  assert.ok(acl.decide("alice", T("orders-eu"), "SUB", "127.0.0.1"));
  assert.not.ok(acl.decide("alice", T("payments"), "PUB", "127.0.0.1"), "Topic:* gives SUB only");
  assert.ok(acl.decide("alice", T("payments"), "SUB", "127.0.0.1"));
  assert.not.ok(acl.decide("alice", T("orders-secret"), "SUB", "127.0.0.1"), "a literal DENY beats the prefix ALLOW");
  assert.not.ok(acl.decide("alice", T("orders-x"), "PUB", "127.0.0.1"), "DENY wins at equal specificity");
  assert.not.ok(acl.decide("alice", T("orders"), "ADMIN", "127.0.0.1"), "no entry gives ADMIN: default deny");
  assert.not.ok(acl.decide("alice", CLUSTER, "ADMIN", "127.0.0.1"));
  assert.ok(acl.decide("alice", CLUSTER, "SUB", "127.0.0.1"));
  assert.not.ok(acl.decide("nobody", T("orders"), "SUB", "127.0.0.1"), "unknown user");
});

test("retry and DLQ topics are their group's; super users may do anything, disabled ones nothing", () => {
  assert.equal(T("%RETRY%cg-a"), { type: "Group", name: "cg-a" });
  assert.equal(T("%DLQ%cg-a"), { type: "Group", name: "cg-a" });
  assert.ok(acl.decide("alice", T("%RETRY%cg-a"), "SUB", "127.0.0.1"));
  assert.not.ok(acl.decide("alice", T("%RETRY%other"), "SUB", "127.0.0.1"), "Topic:* does not reach another group's retry topic");
  assert.ok(acl.decide("root", T("anything"), "ADMIN", "1.2.3.4"));
  assert.ok(acl.decide("root", CLUSTER, "ADMIN", "1.2.3.4"));
  assert.not.ok(acl.decide("gone", T("anything"), "SUB", "1.2.3.4"));
});

test("source ranges: an entry applies only from its addresses (IPv4, IPv6, IPv4-mapped)", () => {
  assert.ok(acl.decide("alice", G("cg-office"), "SUB", "10.1.2.3"), "inside the range the entry applies");
  assert.not.ok(acl.decide("alice", G("cg-office"), "SUB", "10.2.0.1"), "outside it nothing matches: denied");
  assert.ok(acl.decide("alice", G("cg-office"), "SUB", "::ffff:10.1.9.9"), "IPv4-mapped is IPv4");
  assert.ok(acl.decide("alice", G("cg-office"), "SUB", "fd12::1"));
  assert.not.ok(acl.decide("alice", G("cg-office"), "SUB", "garbage"));
  assert.ok(ipInRange(parseIp("192.168.1.77")!, parseIpRange("192.168.1.0/25")!));
  assert.not.ok(ipInRange(parseIp("192.168.1.200")!, parseIpRange("192.168.1.0/25")!));
  assert.ok(ipInRange(parseIp("::1")!, parseIpRange("::1")!));
  assert.ok(ipInRange(parseIp("1.2.3.4")!, parseIpRange("0.0.0.0/0")!));
  for (const bad of ["10.0.0.0/33", "1.2.3", "1.2.3.256", "::1::2", "10.0.0.1/8/1", "fd00::/129"]) assert.is(parseIpRange(bad), null, bad);
});

test("documents with faults are refused, naming the fault", () => {
  const fails = (d: unknown, re: RegExp) => {
    try {
      checkDocument(d);
    } catch (e) {
      assert.instance(e, BrokerError);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`accepted ${JSON.stringify(d)}`);
  };
  fails([], /must be a map/);
  fails({ users: [{ accessKey: "a b", secretKey: "12345678" }] }, /accessKey/);
  fails({ users: [{ accessKey: "a", secretKey: "short" }] }, /secretKey must be 8/);
  fails({ users: [{ accessKey: "a", secretKey: "12345678" }, { accessKey: "a", secretKey: "12345678" }] }, /listed twice/);
  fails({ users: [], acls: [{ user: "x", entries: [] }] }, /not in users/);
  const u = [{ accessKey: "a", secretKey: "12345678" }];
  fails({ users: u, acls: [{ user: "a", entries: [{ resource: "Topic:../x", actions: ["PUB"], decision: "ALLOW" }] }] }, /resource/);
  fails({ users: u, acls: [{ user: "a", entries: [{ resource: "Queue:x", actions: ["PUB"], decision: "ALLOW" }] }] }, /resource/);
  fails({ users: u, acls: [{ user: "a", entries: [{ resource: "Topic:x", actions: ["READ"], decision: "ALLOW" }] }] }, /action "READ"/);
  fails({ users: u, acls: [{ user: "a", entries: [{ resource: "Topic:x", actions: ["PUB"], decision: "MAYBE" }] }] }, /ALLOW or DENY/);
  fails({ users: u, acls: [{ user: "a", entries: [{ resource: "Topic:x", actions: ["PUB"], decision: "ALLOW", sourceIps: ["10.0.0.0/99"] }] }] }, /CIDR/);
});

test("admin edits: users and ACL entries created, updated, deleted; secrets never listed", () => {
  let d = checkDocument({ users: [] });
  d = createUser(d, { accessKey: "bob", secretKey: "bob-secret-1" });
  assert.throws(() => createUser(d, { accessKey: "bob", secretKey: "bob-secret-2" }), /exists/);
  d = updateUser(d, { accessKey: "bob", secretKey: "bob-secret-2" });
  assert.is(d.users[0].secretKey, "bob-secret-2");
  assert.throws(() => updateUser(d, { accessKey: "carol", secretKey: "x" }), /no user/);
  assert.equal(listUsers(d), [{ accessKey: "bob" }]);
  d = createAcl(d, "bob", [{ resource: "Topic:t", actions: ["PUB"], decision: "ALLOW" }]);
  assert.throws(() => createAcl(d, "bob", [{ resource: "Topic:t", actions: ["SUB"], decision: "ALLOW" }]), /updateAcl/);
  assert.ok(new CompiledAcl(d).decide("bob", T("t"), "PUB", ""));
  d = updateAcl(d, "bob", [{ resource: "Topic:t", actions: ["SUB"], decision: "ALLOW" }, { resource: "Group:g", actions: ["SUB"], decision: "ALLOW" }]);
  const c = new CompiledAcl(d);
  assert.not.ok(c.decide("bob", T("t"), "PUB", ""), "updateAcl replaced the entry for Topic:t");
  assert.ok(c.decide("bob", T("t"), "SUB", ""));
  d = deleteAcl(d, "bob", "Topic:t");
  assert.equal(d.acls[0].entries.map((e) => e.resource), ["Group:g"]);
  assert.throws(() => createAcl(d, "nobody", [{ resource: "Topic:t", actions: ["SUB"], decision: "ALLOW" }]), /no user/);
  d = deleteUser(d, "bob");
  assert.equal(d, { users: [], acls: [] }, "a deleted user's ACL goes with it");
});

test("the ACL file is re-read when it changes; a broken one leaves the old ACL in force", async () => {
  const platform = await loadPlatform();
  const dir = tempDir();
  const path = `${dir.path}/acl.json`;
  const write = (d: unknown) => writeFileSync(path, JSON.stringify(d));
  const users = [{ accessKey: "u", secretKey: "u-secret-12" }];
  write({ users, acls: [{ user: "u", entries: [{ resource: "Topic:a", actions: ["PUB"], decision: "ALLOW" }] }] });
  const lines: string[] = [];
  const store = AclStore.open(platform.files, path, (l) => lines.push(l));
  assert.ok(store.acl.decide("u", T("a"), "PUB", ""));
  assert.not.ok(store.reloadIfChanged(), "unchanged: not re-read");
  write({ users, acls: [{ user: "u", entries: [{ resource: "Topic:b", actions: ["PUB"], decision: "ALLOW" }, { resource: "Topic:c", actions: ["PUB"], decision: "ALLOW" }] }] });
  const v = store.version;
  assert.ok(store.reloadIfChanged());
  assert.is(store.version, v + 1);
  assert.not.ok(store.acl.decide("u", T("a"), "PUB", ""));
  assert.ok(store.acl.decide("u", T("b"), "PUB", ""));
  writeFileSync(path, "{ not json");
  assert.not.ok(store.reloadIfChanged());
  assert.ok(store.acl.decide("u", T("b"), "PUB", ""), "the previous ACL stays");
  assert.match(lines.at(-1)!, /not applied, the previous ACL stays in force: .*not JSON/);
  await store.edit((d) => createUser(d, { accessKey: "w", secretKey: "w-secret-12" }));
  const reread = AclStore.open(platform.files, path);
  assert.equal(reread.document.users.map((u) => u.accessKey), ["u", "w"], "an edit is written to the file");
  store.close();
  assert.throws(() => AclStore.open(platform.files, `${dir.path}/missing.json`), /does not exist/);
  dir.remove();
});

test("sign-in: a nonce answers one auth; stale, replayed and wrong signatures fail; the counters say why", async () => {
  const platform = await loadPlatform();
  const dir = tempDir();
  const path = `${dir.path}/acl.json`;
  writeFileSync(path, JSON.stringify({ users: [{ accessKey: "alice", secretKey: "alice-secret-1" }] }));
  const clock = { t: 1_800_000_000_000, now() { return this.t; }, setTimeout, clearTimeout };
  const security = new Security({ auth: true, acl: AclStore.open(platform.files, path), maxSkewMs: 60_000, clock });
  const alice = { accessKey: "alice", secretKey: "alice-secret-1" };
  const code = async (p: Promise<unknown>) => p.then(() => "OK", (e) => (e as BrokerError).code);

  const s = security.session("127.0.0.1");
  assert.not.ok(s.signedIn);
  assert.throws(() => s.authorize(T("x"), "SUB"), /sign in first/);
  assert.is(await code(s.signIn({ id: 1, op: "auth", ...(await signHandshake(alice, "made-up", clock.t)) })), "AUTH_FAILED", "no hello: no challenge");
  const { nonce } = s.hello() as { nonce: string };
  const frame = { id: 2, op: "auth", ...(await signHandshake(alice, nonce, clock.t)) };
  assert.is(await code(s.signIn({ ...frame, signature: (await signHandshake({ ...alice, secretKey: "wrong-secret" }, nonce, clock.t)).signature })), "AUTH_FAILED", "wrong secret");
  assert.is(await code(s.signIn(frame)), "AUTH_FAILED", "the nonce was used up by the failed attempt");
  const s2 = security.session("127.0.0.1");
  s2.hello();
  assert.is(await code(s2.signIn(frame)), "AUTH_FAILED", "replayed on another connection: another nonce");
  const s3 = security.session("127.0.0.1");
  const n3 = (s3.hello() as { nonce: string }).nonce;
  assert.is(await code(s3.signIn({ id: 3, op: "auth", ...(await signHandshake(alice, n3, clock.t - 61_000)) })), "AUTH_FAILED", "stale");
  const n4 = (s3.hello() as { nonce: string }).nonce;
  assert.is(await code(s3.signIn({ id: 4, op: "auth", ...(await signHandshake(alice, n4, clock.t + 30_000)) })), "OK", "within the window");
  assert.ok(s3.signedIn);
  assert.is(s3.user, "alice");
  const text = security.counters.families().map((f) => JSON.stringify(f.samples)).join(" ");
  for (const reason of ["no_challenge", "bad_signature", "stale", "not_signed_in"]) assert.ok(text.includes(reason), reason);
  security.close();
  dir.remove();
});

test.run();
