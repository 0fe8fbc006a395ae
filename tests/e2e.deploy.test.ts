// Deployment basics: --advertised-address is what a broker gives clients in routes and what it
// registers with name servers (and the listening line says both); the example config file of
// docs/DEPLOY.md is a valid one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import { parseConfig } from "../runtime/config.ts";
import { killSpawned, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";

test.after(() => killSpawned());

test("routes name the advertised address, not the listening one; a broker registers it with its name server", async () => {
  const env = await startBroker({ advertisedAddress: "mq1.example.com:19876" });
  const t = new Transport(env.url, { WebSocket: resolveWebSocket() });
  try {
    await t.request("createTopic", { topic: "Advertised", queues: 2 }, 3000);
    const route = await t.request("queryRoute", { topic: "Advertised" }, 3000);
    assert.equal((route.brokers as { address: string }[]).map((b) => b.address), ["ws://mq1.example.com:19876/ws"]);
  } finally {
    await t.close();
    await env.stop();
  }

  const data = tempDir();
  const ns = await spawnBroker(["--role", "namesrv", "--port", "0", "--grpc-port", "0"]);
  const broker = await spawnBroker([
    "--role", "broker", "--namesrv", new URL(ns.url).host, "--port", "0", "--grpc-port", "0", "--data-dir", data.path,
    "--advertised-address", "ws://10.1.2.3:10911/ws",
  ]);
  try {
    assert.match(broker.output(), /listening on ws:\/\/127\.0\.0\.1:\d+\/ws \(advertised as ws:\/\/10\.1\.2\.3:10911\/ws\)/);
    const nsLink = new Transport(ns.url, { WebSocket: resolveWebSocket() });
    const listed = await until("registered", async () => {
      const r = await nsLink.request("clusterList", {}, 3000);
      return (r.brokers as { address: string }[] | undefined)?.find((b) => b.address.includes("10.1.2.3"));
    });
    assert.is(listed.address, "ws://10.1.2.3:10911/ws");
    await nsLink.close();
  } finally {
    broker.child.kill("SIGTERM");
    ns.child.kill("SIGTERM");
    await Promise.all([broker.exited, ns.exited]);
    data.remove();
  }
});

test("a bad advertised address is refused at start, naming the option", () => {
  assert.throws(() => parseConfig(["--advertised-address", "no port"], () => ""), /--advertised-address: expected host:port or a ws:\/\/ URL/);
});

test("docs/DEPLOY.md's config file (examples/broker.json) is valid, and is the one the guide shows", () => {
  const c = parseConfig(["--config", "examples/broker.json"], (p) => readFileSync(p, "utf8"))!;
  assert.equal([c.host, c.port, c.advertisedAddress, c.dataDir, c.flush, c.flushIntervalMs, c.logFormat], ["0.0.0.0", 9876, "mq1.example.com:9876", "/var/lib/actormq", "sync", 500, "json"]);
  assert.ok(readFileSync("docs/DEPLOY.md", "utf8").includes(readFileSync("examples/broker.json", "utf8").trim()), "the guide shows the file as it is");
});

test.run();
