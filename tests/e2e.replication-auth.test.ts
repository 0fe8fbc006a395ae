// A replicated group with TLS and --auth on in every process (etcd, a name server, a controller,
// two brokers): the brokers sign in to the controller for their heartbeats and the slave signs in
// to its master before replicating, all over wss://. Neither the controller nor the master's
// replication serves anyone else: anonymous clients get AUTH_REQUIRED, a user without ADMIN on
// Cluster NO_PERMISSION, and a member started without credentials never joins the group.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Admin, BrokerError, Producer } from "../client/mod.ts";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import type { Credentials } from "../protocol/mod.ts";
import { spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { ETCD, signal, startGroup } from "./helpers/replication.ts";
import { makeCerts, opensslUnavailable } from "./helpers/tls.ts";

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const BROKER = { accessKey: "broker", secretKey: "broker-secret-1" };
const APP = { accessKey: "app", secretKey: "app-secret-333" };

const unavailable = ETCD ? opensslUnavailable() : "etcd is not installed (apt-get install etcd-server)";
if (unavailable) {
  console.log(`skipping the replication auth test: ${unavailable}`);
  test.skip("a replicated group with TLS and --auth on", () => {});
  test.run();
} else {
  const certs = makeCerts();
  const dir = tempDir("actormq-repl-auth-");
  const file = (name: string, v: unknown) => {
    const p = join(dir.path, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };
  const acl = file("acl.json", {
    users: [{ ...ROOT, super: true }, BROKER, APP],
    acls: [
      // Brokers and the name server sign in as "broker": ADMIN on Cluster (heartbeats, replication,
      // registration) and on topics (the name server forwards createTopic as itself).
      { user: "broker", entries: [{ resource: "Cluster", actions: ["ADMIN"], decision: "ALLOW" }, { resource: "Topic:*", actions: ["ADMIN"], decision: "ALLOW" }] },
      { user: "app", entries: [{ resource: "Topic:Repl", actions: ["PUB", "SUB"], decision: "ALLOW" }] },
    ],
  });
  const tlsArgs = ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-trust", certs.caCert];
  const authArgs = ["--auth", "on", "--acl-file", acl];
  const brokerCredentials = file("broker.json", BROKER);
  const tls = { ca: certs.ca };
  const group = await startGroup({
    members: 2,
    commonArgs: [...tlsArgs, ...authArgs, "--credentials", brokerCredentials],
    brokerArgs: ["--replication", "sync", "--min-in-sync-replicas", "2"],
    client: { credentials: ROOT, tls },
  });
  const spawned: { proc: Awaited<ReturnType<typeof spawnBroker>>; dir: { remove(): void } }[] = [];
  test.after(async () => {
    for (const s of spawned) signal(s.proc, "SIGKILL");
    await Promise.all(spawned.map((s) => s.proc.exited));
    for (const s of spawned) s.dir.remove();
    await group.stop();
    dir.remove();
    certs.remove();
  });

  /** The error code of one request to `url` as `credentials` (or anonymously); "OK" if it succeeded. */
  const code = async (url: string, op: string, args: Record<string, unknown>, credentials?: Credentials) => {
    const t = new Transport(url, { WebSocket: resolveWebSocket(tls), credentials, connectTimeoutMs: 3000 });
    try {
      return await t.request(op, args, 5000).then(() => "OK", (e) => (e instanceof BrokerError ? e.code : String(e)));
    } finally {
      await t.close();
    }
  };

  test("the group formed over wss:// with every process signed in; a sync send reaches the slave", async () => {
    assert.match(group.controllers[0].url, /^wss:\/\//);
    const st = await group.state();
    assert.is(st.masterId, 0);
    assert.equal(st.syncStateSet, [0, 1], "the slave replicates: it signed in to its master");
    const rows = await until("both members registered with the name server", async () => {
      const r = await group.cluster();
      return r.length === 2 && r.every((b) => b.group) ? r : null;
    }, 15_000, 50);
    assert.ok(rows.every((b) => b.address.startsWith("wss://")), "members advertise wss://");
    const admin = new Admin({ endpoints: group.url, credentials: ROOT, tls });
    await admin.createTopic("Repl", 2);
    await admin.shutdown();
    const producer = new Producer({ endpoints: group.url, credentials: APP, tls });
    try {
      await producer.start();
      // Sync replication with 2 in sync: the send is answered only once the slave has it.
      const sent = await producer.send({ topic: "Repl", body: "replicated over a signed-in link" });
      assert.ok(sent.msgId);
    } finally {
      await producer.shutdown();
    }
  });

  test("the controller answers only signed-in users with ADMIN on Cluster", async () => {
    const url = group.controllers[0].url;
    assert.is(await code(url, "groupState", { brokerName: "g1" }), "AUTH_REQUIRED");
    assert.is(await code(url, "groupState", { brokerName: "g1" }, APP), "NO_PERMISSION");
    const fake = { brokerName: "g1", brokerId: 7, address: "wss://10.6.6.6:1/ws", maxOffset: 1e12, epoch: 99, session: "evil" };
    assert.is(await code(url, "controllerHeartbeat", fake), "AUTH_REQUIRED");
    assert.is(await code(url, "controllerHeartbeat", fake, APP), "NO_PERMISSION");
    assert.is(await code(url, "groupState", { brokerName: "g1" }, BROKER), "OK");
    assert.equal((await group.state()).alive.sort(), [0, 1], "no member 7 joined");
  });

  test("the master's replication refuses anonymous clients and users without ADMIN on Cluster", async () => {
    const master = (await group.cluster()).find((b) => b.group?.role === "master")!;
    const handshake = { brokerName: "g1", brokerId: 7, maxOffset: 0, epoch: 0 };
    assert.is(await code(master.address, "haHandshake", handshake), "AUTH_REQUIRED");
    assert.is(await code(master.address, "haHandshake", handshake, APP), "NO_PERMISSION");
    assert.equal((await group.state()).syncStateSet, [0, 1]);
  });

  test("a member started without credentials is refused by the controller and never joins", async () => {
    const d = tempDir("actormq-repl-auth-b2-");
    const args = group.members[1].args.map((a) => (a === group.members[1].dir ? d.path : a));
    args[args.indexOf("--broker-id") + 1] = "2";
    args.splice(args.indexOf("--credentials"), 2);
    const proc = await spawnBroker(args);
    spawned.push({ proc, dir: d });
    await until("its heartbeat refused", () => /heartbeat \(AUTH_REQUIRED/.test(proc.output()), 15_000, 50);
    const st = await group.state();
    assert.equal(st.alive.sort(), [0, 1]);
    assert.equal(st.syncStateSet, [0, 1]);
  });

  test.run();
}
