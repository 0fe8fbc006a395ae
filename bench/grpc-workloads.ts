// RocketMQ's official Node.js client through ActorMQ's gRPC endpoint, and ActorMQ's own SDK over
// WebSocket, against the same broker process in the same run: sends, and POP receive + ack
// (SimpleConsumer on both sides), so the ratio says what the gRPC front-end and the official
// client cost next to the native path.
import rmq from "rocketmq-client-nodejs";
import { createServer } from "node:net";
import { Admin, Producer, SimpleConsumer } from "../client/mod.ts";
import { startBrokerProcess } from "./broker-workloads.ts";

const { Producer: RmqProducer, SimpleConsumer: RmqSimpleConsumer } = rmq as typeof import("rocketmq-client-nodejs");
const quiet = { info() {}, debug() {}, warn() {}, error() {} };
const BODY = new Uint8Array(1024).fill(97);

export interface GrpcBench {
  grpcSend: number;
  wsSend: number;
  grpcReceive: number;
  wsReceive: number;
}

/** Sends `total` 1 KiB messages `inFlight` at a time and drains them with `loops` receive+ack loops of 32, each way. */
export async function grpcVersusWebSocket(dataDir: string, total: number, inFlight: number, loops: number): Promise<GrpcBench> {
  const grpcPort = await freePort();
  const b = await startBrokerProcess(["--data-dir", dataDir, "--grpc-port", String(grpcPort)]);
  const grpc = `127.0.0.1:${grpcPort}`;
  try {
    const admin = new Admin({ endpoints: b.url });
    await admin.start();
    await admin.createTopic("BenchGrpc", 4);
    await admin.createTopic("BenchWs", 4);
    await admin.shutdown();

    const rp = new RmqProducer({ endpoints: grpc, namespace: "", topics: ["BenchGrpc"], logger: quiet });
    await rp.startup();
    const grpcSend = await rate(total, inFlight, () => rp.send({ topic: "BenchGrpc", body: Buffer.from(BODY) }));
    await rp.shutdown();

    const wp = new Producer({ endpoints: b.url });
    await wp.start();
    const wsSend = await rate(total, inFlight, () => wp.send({ topic: "BenchWs", body: BODY }));
    await wp.shutdown();

    const rc = new RmqSimpleConsumer({ endpoints: grpc, namespace: "", consumerGroup: "bench-grpc", subscriptions: new Map([["BenchGrpc", "*"]]), awaitDuration: 1000, logger: quiet });
    await rc.startup();
    const grpcReceive = await drain(total, loops, async () => {
      const msgs = await rc.receive(32, 30_000);
      await Promise.all(msgs.map((m) => rc.ack(m)));
      return msgs.length;
    });
    await rc.shutdown();

    const wc = new SimpleConsumer({ endpoints: b.url, group: "bench-ws", subscriptions: { BenchWs: "*" }, awaitMs: 1000 });
    await wc.start();
    const wsReceive = await drain(total, loops, async () => {
      const msgs = await wc.receive(32, 30_000);
      await Promise.all(msgs.map((m) => wc.ack(m)));
      return msgs.length;
    });
    await wc.shutdown();
    return { grpcSend, wsSend, grpcReceive, wsReceive };
  } finally {
    await b.stop();
  }
}

async function rate(total: number, inFlight: number, send: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < total) {
      next++;
      await send();
    }
  }));
  return total / ((performance.now() - started) / 1000);
}

async function drain(total: number, loops: number, receiveAndAck: () => Promise<number>): Promise<number> {
  let got = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: loops }, async () => {
    while (got < total) {
      const n = await receiveAndAck();
      got += n;
      if (n === 0 && got < total) throw new Error(`receive came back empty with ${total - got} messages left`);
    }
  }));
  return got / ((performance.now() - started) / 1000);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
