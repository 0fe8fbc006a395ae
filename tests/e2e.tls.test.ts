// TLS with certificates this test makes with openssl: a broker serving wss:// and https://, sends
// and pulls over it; a plain ws:// client to the TLS port, a client that does not trust the CA,
// and (with --tls-ca) a client without a certificate all fail cleanly while the broker keeps
// serving; a name server and a broker in TLS mode form a cluster over wss://; the inspector page
// over https:// in real Chromium.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as https from "node:https";
import { Admin, BrokerError, Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { makeCerts, opensslUnavailable, type TestCerts } from "./helpers/tls.ts";

const noOpenssl = opensslUnavailable();
if (noOpenssl) console.log(`skipping the TLS tests: ${noOpenssl}`);
const it = noOpenssl ? test.skip : test;
let certs: TestCerts;

test.before(() => {
  if (!noOpenssl) certs = makeCerts();
});
test.after(() => {
  killSpawned();
  certs?.remove();
});

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

async function failure(p: Promise<unknown>): Promise<BrokerError> {
  const started = Date.now();
  try {
    await p;
  } catch (e) {
    assert.instance(e, BrokerError);
    assert.ok(Date.now() - started < 5000, "fails at once, not at a timeout");
    return e as BrokerError;
  }
  throw new Error("expected a failure");
}

it("a broker serves wss:// and https://; a client trusting the CA sends and pulls; others fail cleanly", async () => {
  const b = await startBroker({ tlsCert: certs.serverCert, tlsKey: certs.serverKey });
  assert.match(b.url, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
  const producer = new Producer({ endpoints: b.url, tls: { ca: certs.ca } });
  const consumer = new PullConsumer({ endpoints: b.url, group: "tls-cg", tls: { ca: certs.ca } });
  // These two fail on purpose: their client logs say so, and are silenced.
  const plain = new Admin({ endpoints: b.url.replace("wss://", "ws://"), requestTimeoutMs: 4000, logLevel: "silent" });
  const untrusting = new Admin({ endpoints: b.url, requestTimeoutMs: 4000, logLevel: "silent" });
  try {
    await producer.start();
    await consumer.start();
    const sent = await producer.send({ topic: "Tls", body: "over TLS", queueId: 0 });
    const pulled = await consumer.pull({ topic: "Tls", queueId: 0, offset: sent.queueOffset });
    assert.equal(pulled.msgs.map((m) => m.body), ["over TLS"]);

    const health = await httpsGet(`https://127.0.0.1:${b.broker.port}/health`, certs.ca);
    assert.is(health.status, 200);
    assert.match(health.body, /"status":"ok"/);

    // ws:// to the TLS port: the TLS server drops the plain-text handshake; a clean CONNECTION_CLOSED.
    assert.is((await failure(plain.topicList())).code, "CONNECTION_CLOSED");
    // wss:// without the test CA: the certificate is not trusted.
    const e = await failure(untrusting.topicList());
    assert.is(e.code, "CONNECTION_CLOSED");
    // The broker still serves the trusted client.
    assert.is((await producer.send({ topic: "Tls", body: "still", queueId: 0 })).queueOffset, sent.queueOffset + 1);
  } finally {
    await Promise.all([producer.shutdown(), consumer.shutdown(), plain.shutdown(), untrusting.shutdown()]);
    await b.stop();
  }
});

it("--tls-ca: only clients with a certificate the CA signed get in", async () => {
  const b = await startBroker({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: certs.caCert });
  const { readFileSync } = await import("node:fs");
  const withCert = new Admin({ endpoints: b.url, tls: { ca: certs.ca, cert: readFileSync(certs.clientCert, "utf8"), key: readFileSync(certs.clientKey, "utf8") } });
  const without = new Admin({ endpoints: b.url, tls: { ca: certs.ca }, requestTimeoutMs: 4000, logLevel: "silent" });
  try {
    assert.ok(Array.isArray(await withCert.topicList()));
    assert.is((await failure(without.topicList())).code, "CONNECTION_CLOSED");
    assert.ok(Array.isArray(await withCert.topicList()), "and the broker serves on");
  } finally {
    await Promise.all([withCert.shutdown(), without.shutdown()]);
    await b.stop();
  }
});

it("a name server and a broker in TLS mode form a cluster over wss://", async () => {
  const tls = ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-trust", certs.caCert];
  const ns = await spawnBroker(["--role", "namesrv", "--port", "0", ...tls]);
  assert.match(ns.url, /^wss:\/\//);
  const dir = tempDir();
  const broker = await spawnBroker(["--role", "broker", "--namesrv", ns.url, "--broker-name", "tls-b1", "--port", "0", "--data-dir", dir.path, ...tls]);
  assert.match(broker.url, /^wss:\/\//);
  const admin = new Admin({ endpoints: ns.url, tls: { ca: certs.ca } });
  const producer = new Producer({ endpoints: ns.url, tls: { ca: certs.ca } });
  const consumer = new PullConsumer({ endpoints: ns.url, group: "tls-cluster-cg", tls: { ca: certs.ca } });
  try {
    await until("the broker registered over wss://", async () => (await admin.clusterList()).brokers.some((x) => x.name === "tls-b1" && x.address === broker.url), 15_000, 50);
    const created = await admin.createTopic("TlsCluster", 2); // forwarded by the name server over wss://
    assert.equal(created.brokers?.map((r) => [r.broker, r.code]), [["tls-b1", undefined]]);
    await producer.start();
    await consumer.start();
    const sent = await producer.send({ topic: "TlsCluster", body: "routed", queueId: 1 });
    const queues = await consumer.fetchMessageQueues("TlsCluster");
    assert.is(queues.length, 2);
    const pulled = await consumer.pull({ ...queues[1], offset: sent.queueOffset });
    assert.equal(pulled.msgs.map((m) => m.body), ["routed"]);
  } finally {
    await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    killSpawned();
    await Promise.all([ns.exited, broker.exited]);
    dir.remove();
  }
});

const noChromium = chromiumUnavailable();
(noOpenssl || noChromium ? test.skip : test)("the inspector page over https:// in Chromium connects over wss://", async () => {
  const b = await startBroker({ tlsCert: certs.serverCert, tlsKey: certs.serverKey });
  // Chromium trusts this one certificate (its key's pin), and nothing else it would not.
  const browser = await launchChromium([`--ignore-certificate-errors-spki-list=${certs.spki}`]);
  try {
    const page = await browser.context.newPage();
    const response = await page.goto(`https://127.0.0.1:${b.broker.port}/inspector`);
    assert.is(response?.status(), 200);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    assert.is(await page.evaluate(() => location.protocol), "https:");
    const admin = new Admin({ endpoints: b.url, tls: { ca: certs.ca } });
    await admin.createTopic("OverHttps", 1);
    await admin.shutdown();
    await until("the queue's actor on the page", () => page.evaluate(() => (globalThis as any).actormqInspector.model.actors.has("queue:OverHttps:0")), 10_000, 50);
  } finally {
    await browser.close();
    await b.stop();
  }
});

test.run();
