// A cluster with --auth on everywhere, over TLS: a name server accepts the registration of a
// broker that signs in (--credentials) as a user with ADMIN on Cluster, and not of one without
// credentials or with a user lacking that right; it forwards createTopic to the broker signed in
// as itself; a client signs in to the name server and the broker alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Admin, Producer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";
import { makeCerts, opensslUnavailable } from "./helpers/tls.ts";

const noOpenssl = opensslUnavailable();
if (noOpenssl) console.log(`skipping the cluster auth test: ${noOpenssl}`);

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const BROKER = { accessKey: "broker", secretKey: "broker-secret-1" };
const NAMESRV = { accessKey: "namesrv", secretKey: "namesrv-secret-2" };
const APP = { accessKey: "app", secretKey: "app-secret-333" };

(noOpenssl ? test.skip : test)("only signed-in brokers with ADMIN on Cluster register; the name server forwards as itself", async () => {
  const certs = makeCerts();
  const dir = tempDir("actormq-cluster-auth-");
  const file = (name: string, v: unknown) => {
    const p = join(dir.path, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };
  const acl = file("acl.json", {
    users: [{ ...ROOT, super: true }, BROKER, NAMESRV, APP],
    acls: [
      { user: "broker", entries: [{ resource: "Cluster", actions: ["ADMIN"], decision: "ALLOW" }] },
      { user: "namesrv", entries: [{ resource: "Topic:*", actions: ["ADMIN"], decision: "ALLOW" }] },
      { user: "app", entries: [{ resource: "Topic:Orders", actions: ["PUB", "SUB"], decision: "ALLOW" }] },
    ],
  });
  const tls = ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-trust", certs.caCert];
  const auth = ["--auth", "on", "--acl-file", acl];
  const ns = await spawnBroker(["--role", "namesrv", "--port", "0", ...tls, ...auth, "--credentials", file("namesrv.json", NAMESRV)]);
  const broker = (name: string, creds?: object) =>
    spawnBroker(["--role", "broker", "--namesrv", ns.url, "--broker-name", name, "--port", "0", "--data-dir", join(dir.path, name), "--register-interval", "200", ...tls, ...auth, ...(creds ? ["--credentials", file(`${name}.json`, creds)] : [])]);
  const admin = new Admin({ endpoints: ns.url, tls: { ca: certs.ca }, credentials: ROOT });
  const producer = new Producer({ endpoints: ns.url, tls: { ca: certs.ca }, credentials: APP });
  try {
    const [good, anonymous, weak] = await Promise.all([broker("good", BROKER), broker("anon"), broker("weak", APP)]);
    await until("the signed-in broker registered", async () => (await admin.clusterList()).brokers.some((b) => b.name === "good"), 15_000, 50);
    await until("the others said why they are not registered", () => /cannot register.*AUTH_REQUIRED/.test(anonymous.output()) && /cannot register.*NO_PERMISSION/.test(weak.output()), 15_000, 50);
    assert.equal((await admin.clusterList()).brokers.map((b) => b.name), ["good"], "only the signed-in broker with ADMIN on Cluster");
    // createTopic through the name server: it signs in to the broker as itself (ADMIN on topics).
    const created = await admin.createTopic("Orders", 2);
    assert.equal(created.brokers?.map((r) => [r.broker, r.code]), [["good", undefined]]);
    await producer.start();
    const sent = await producer.send({ topic: "Orders", body: "signed in twice: name server, then broker" });
    assert.is(sent.queue.broker, "good");
    void good;
  } finally {
    await Promise.all([admin.shutdown(), producer.shutdown()]);
    killSpawned();
    dir.remove();
    certs.remove();
  }
});

test.run();
