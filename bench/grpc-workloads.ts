// RocketMQ's official Node.js client through ActorMQ's gRPC endpoint, and ActorMQ's own SDK over
// WebSocket, against the same broker process in the same run: sends, and POP receive + ack
// (SimpleConsumer on both sides), so the ratio says what the gRPC front-end and the official
// client cost next to the native path; the broker's CPU per message on each path; and the
// official client's send against a gRPC server in a process of its own that answers at once
// (no broker behind it): the client's own ceiling on this machine, and that server's CPU per
// call, the part of the broker's figure that is grpc-js and HTTP/2 alone.
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import rmq from "rocketmq-client-nodejs";
import { fork } from "node:child_process";
import { createServer } from "node:net";
import { Admin, Producer, SimpleConsumer } from "../client/mod.ts";
import { ROCKETMQ_V2_DESCRIPTOR } from "../runtime/transports/grpc/descriptor.ts";
import { cpuMs, startBrokerProcess } from "./broker-workloads.ts";

const { Producer: RmqProducer, SimpleConsumer: RmqSimpleConsumer } = rmq as typeof import("rocketmq-client-nodejs");
const quiet = { info() {}, debug() {}, warn() {}, error() {} };
const BODY = new Uint8Array(1024).fill(97);

export interface GrpcBench {
  grpcSend: number;
  wsSend: number;
  grpcReceive: number;
  wsReceive: number;
  /** Broker CPU per message, µs. */
  grpcSendCpu: number;
  wsSendCpu: number;
  grpcReceiveCpu: number;
  wsReceiveCpu: number;
  /** The official client's send against a server that answers at once. */
  nullSend: number;
  /** That server's CPU per send, µs: grpc-js and node:http2 with nothing behind them. */
  nullSendCpu: number;
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

    /** A workload's rate and the broker's CPU per message while it ran. */
    const measured = async (n: number, work: () => Promise<number>) => {
      const cpu = b.cpuMs();
      const r = await work();
      return [r, ((b.cpuMs() - cpu) * 1000) / n];
    };

    const rp = new RmqProducer({ endpoints: grpc, namespace: "", topics: ["BenchGrpc"], logger: quiet });
    await rp.startup();
    const [grpcSend, grpcSendCpu] = await measured(total, () => rate(total, inFlight, () => rp.send({ topic: "BenchGrpc", body: Buffer.from(BODY) })));
    await rp.shutdown();

    const wp = new Producer({ endpoints: b.url });
    await wp.start();
    const [wsSend, wsSendCpu] = await measured(total, () => rate(total, inFlight, () => wp.send({ topic: "BenchWs", body: BODY })));
    await wp.shutdown();

    const rc = new RmqSimpleConsumer({ endpoints: grpc, namespace: "", consumerGroup: "bench-grpc", subscriptions: new Map([["BenchGrpc", "*"]]), awaitDuration: 1000, logger: quiet });
    await rc.startup();
    const [grpcReceive, grpcReceiveCpu] = await measured(total, () =>
      drain(total, loops, async () => {
        const msgs = await rc.receive(32, 30_000);
        await Promise.all(msgs.map((m) => rc.ack(m)));
        return msgs.length;
      }));
    await rc.shutdown();

    const wc = new SimpleConsumer({ endpoints: b.url, group: "bench-ws", subscriptions: { BenchWs: "*" }, awaitMs: 1000 });
    await wc.start();
    const [wsReceive, wsReceiveCpu] = await measured(total, () =>
      drain(total, loops, async () => {
        const msgs = await wc.receive(32, 30_000);
        await Promise.all(msgs.map((m) => wc.ack(m)));
        return msgs.length;
      }));
    await wc.shutdown();
    const [nullSend, nullSendCpu] = await clientCeiling(total, inFlight);
    return { grpcSend, wsSend, grpcReceive, wsReceive, grpcSendCpu, wsSendCpu, grpcReceiveCpu, wsReceiveCpu, nullSend, nullSendCpu };
  } finally {
    await b.stop();
  }
}

/** The official client's send rate against a gRPC server (a child process) that answers every send at once, and that server's CPU per send (µs). */
async function clientCeiling(total: number, inFlight: number): Promise<[number, number]> {
  const child = fork(new URL(import.meta.url).pathname, ["--grpc-null-server"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(Number(m))));
    const rp = new RmqProducer({ endpoints: `127.0.0.1:${port}`, namespace: "", topics: ["Null"], logger: quiet });
    await rp.startup();
    const cpu = cpuMs(child.pid!);
    const r = await rate(total, inFlight, () => rp.send({ topic: "Null", body: Buffer.from(BODY) }));
    const serverCpu = ((cpuMs(child.pid!) - cpu) * 1000) / total;
    await rp.shutdown();
    // A graceful stop: a stream the client has let go of must not see the connection drop.
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send("stop");
    await exited;
    return [r, serverCpu];
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

/**
 * A gRPC server that does nothing but answer: routes to itself, settings with what the client
 * needs, every send OK. Tells its port to the parent.
 */
async function serveNull(): Promise<void> {
  const pkg = fromJSON(ROCKETMQ_V2_DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
  const service = (grpc.loadPackageDefinition(pkg) as any).apache.rocketmq.v2.MessagingService.service;
  const OK = { code: "OK", message: "OK" };
  // As the broker's server is made (runtime/transports/grpc/server.ts): channelz off.
  const server = new grpc.Server({ "grpc.enable_channelz": 0 });
  let port = 0;
  server.addService(service, {
    QueryRoute: (call: any, cb: any) =>
      cb(null, { status: OK, message_queues: [{ topic: call.request.topic, id: 0, permission: "READ_WRITE", broker: { name: "null", id: 0, endpoints: { scheme: "IPv4", addresses: [{ host: "127.0.0.1", port }] } }, accept_message_types: ["NORMAL"] }] }),
    Heartbeat: (_call: any, cb: any) => cb(null, { status: OK }),
    NotifyClientTermination: (_call: any, cb: any) => cb(null, { status: OK }),
    Telemetry(call: any) {
      call.on("data", (cmd: any) => {
        if (!cmd.settings) return;
        const backoff_policy = { max_attempts: 3, exponential_backoff: { initial: { nanos: 10_000_000 }, max: { seconds: 1 }, multiplier: 2 } };
        call.write({ status: OK, settings: { ...cmd.settings, backoff_policy, publishing: { topics: cmd.settings.publishing?.topics ?? [], max_body_size: 4 << 20, validate_message_type: false } } });
      });
      call.on("end", () => call.end());
    },
    SendMessage: (call: any, cb: any) =>
      cb(null, { status: OK, entries: call.request.messages.map((m: any) => ({ status: OK, message_id: m.system_properties.message_id, transaction_id: "", offset: 0 })) }),
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  process.send!(port);
  process.once("message", () => server.tryShutdown(() => process.exit(0)));
}

if (process.argv.includes("--grpc-null-server")) await serveNull();

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
