// --grpc-port: `any` binds a free port and the start-up line names it (what tests use, so no two
// brokers reach for 8081); a port already taken is one warning with a code (GRPC_PORT_IN_USE),
// not grpc-js's "E No address added" print, and the broker or name server runs without gRPC.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { Producer as AmqProducer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir } from "./helpers/broker.ts";
import { exitWhenIdle, grpcPortOf, logger, Producer, spawnGrpcBroker, stopBroker } from "./helpers/rocketmq.ts";

const holder = await spawnGrpcBroker();

test.after(async () => {
  await stopBroker(holder);
  killSpawned();
  exitWhenIdle();
});

test("--grpc-port any: the broker names the port it bound, and RocketMQ's client sends there", async () => {
  assert.ok(holder.grpcPort > 0 && holder.grpcPort !== 8081, `bound ${holder.grpcPort}`);
  const producer = new Producer({ endpoints: holder.grpc, namespace: "", topics: ["PortAny"], logger });
  await producer.startup();
  try {
    assert.type((await producer.send({ topic: "PortAny", body: Buffer.from("x") } as never)).messageId, "string");
  } finally {
    await producer.shutdown();
  }
});

/** The lines of a process's output that speak of its gRPC port. */
const grpcLines = (out: string) => out.split("\n").filter((l) => /gRPC|No address added/.test(l));

test("a broker whose gRPC port is taken says so in one line with a code, and serves WebSocket without it", async () => {
  const dir = tempDir();
  const b = await spawnBroker(["--port", "0", "--data-dir", dir.path, "--grpc-port", String(holder.grpcPort)]);
  try {
    const producer = new AmqProducer({ endpoints: b.url });
    await producer.start();
    assert.is((await producer.send({ topic: "PortTaken", body: "still serving" })).status, "SEND_OK");
    await producer.shutdown();
    const lines = grpcLines(b.output());
    assert.is(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], new RegExp(`WRN.*GRPC_PORT_IN_USE: gRPC port ${holder.grpcPort} on 127\\.0\\.0\\.1 is in use: running without the gRPC endpoint`));
    assert.is(grpcPortOf(b.output()), undefined);
  } finally {
    await stopBroker(b);
    dir.remove();
  }
});

test("a name server whose gRPC port is taken says the same, and serves its routes over WebSocket", async () => {
  const ns = await spawnBroker(["--role", "namesrv", "--port", "0", "--grpc-port", String(holder.grpcPort)]);
  try {
    const lines = grpcLines(ns.output());
    assert.is(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /GRPC_PORT_IN_USE: gRPC port \d+ on 127\.0\.0\.1 is in use/);
    const health = await fetch(new URL("/health", ns.url.replace(/^ws/, "http")));
    assert.is(health.status, 200);
    await health.body?.cancel();
  } finally {
    await stopBroker(ns);
  }
});

test.run();
