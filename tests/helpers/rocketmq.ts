// RocketMQ's official Node.js client (rocketmq-client-nodejs, an unmodified dev dependency)
// against ActorMQ's gRPC endpoint: a broker process with --grpc-port any (it names the port it bound), and the
// client's classes with a quiet logger (its default writes to ~/logs).
import rmq from "rocketmq-client-nodejs";
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { ROCKETMQ_V2_DESCRIPTOR } from "../../runtime/transports/grpc/descriptor.ts";
import { writeFileSync } from "node:fs";
import { spawnBroker, tempDir, type BrokerProcess } from "./broker.ts";

export const { Producer, SimpleConsumer, PushConsumer, ConsumeResult, FilterExpression } = rmq as typeof import("rocketmq-client-nodejs");
export type MessageView = InstanceType<typeof import("rocketmq-client-nodejs").MessageView>;

/** What the client logs at error level, kept for failing tests to show. */
export const clientErrors: string[] = [];
export const logger = {
  info() {},
  debug() {},
  warn() {},
  error(...args: unknown[]) {
    clientErrors.push(args.map(String).join(" "));
  },
};

const GRPC_LINE = /gRPC \(apache\.rocketmq\.v2[^)]*\) on \S+:(\d+)/;

/** The gRPC port a broker or name server process says it serves (its start-up line), or undefined. */
export function grpcPortOf(output: string): number | undefined {
  const m = GRPC_LINE.exec(output);
  return m ? Number(m[1]) : undefined;
}

export interface GrpcBroker extends BrokerProcess {
  /** host:port for the RocketMQ client's `endpoints`. */
  grpc: string;
  grpcPort: number;
  dataDir: string;
}

/**
 * A broker process serving gRPC on a port it picks (--grpc-port any); `dataDir` and `grpcPort`
 * to restart one where it was. Long
 * polls last at most 2 s (--max-poll 2000): a PushConsumer's shutdown waits for its
 * receives in flight, and the broker's Telemetry settings give push consumers that ceiling.
 */
export async function spawnGrpcBroker(extra: string[] = [], dataDir = tempDir().path, grpcPort?: number): Promise<GrpcBroker> {
  const config = `${dataDir}.json`;
  writeFileSync(config, JSON.stringify({ maxPoll: 2000 }));
  const b = await spawnBroker(["--port", "0", "--data-dir", dataDir, "--grpc-port", String(grpcPort ?? "any"), "--config", config, ...extra]);
  await waitFor(() => grpcPortOf(b.output()) !== undefined, `the gRPC endpoint of the broker:\n${b.output()}`);
  const port = grpcPortOf(b.output())!;
  return { ...b, grpc: `127.0.0.1:${port}`, grpcPort: port, dataDir };
}

async function waitFor(ok: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stops a broker as SIGTERM does (its streams end with a status, not a reset) and waits for it to exit. */
export async function stopBroker(b: BrokerProcess): Promise<void> {
  if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill("SIGTERM");
  await b.exited;
}

/**
 * Ends the process a second after the tests unless it ended by itself. The client's FIFO consume
 * service opens a file logger of its own (egg-logger, ~/logs/rocketmq) that nothing closes, and
 * its flush timer would keep the process alive. uvu's exit code stands.
 */
export function exitWhenIdle(): void {
  const t = setTimeout(() => process.exit(), 1000);
  if ("Deno" in globalThis) (globalThis as unknown as { Deno: { unrefTimer(id: unknown): void } }).Deno.unrefTimer(t);
  else (t as unknown as { unref(): void }).unref();
}

export const text = (b: Uint8Array | string) => (typeof b === "string" ? b : new TextDecoder().decode(b));

/**
 * On Deno, the client's shutdown can throw from its Telemetry stream after it removed the
 * stream's listeners: it closes the channel right after ending the stream, and Deno's HTTP/2
 * client resets a stream still open on close (Node's waits for the server's status). The
 * broker's part is done by then; docs/ROCKETMQ-COMPAT.md has it under known issues.
 */
export const telemetryResets: string[] = [];
process.on("uncaughtException", (e: Error) => {
  if (/RST_STREAM with code 0/.test(e.message) && /telemetry/i.test(e.stack ?? "")) {
    telemetryResets.push(e.message);
    return;
  }
  throw e;
});

/**
 * A bare apache.rocketmq.v2 client (grpc-js with the broker's own service definition), for what
 * the official client does not let a test do: hold a message and vanish, call one RPC at a time.
 */
export function rawGrpc(address: string, clientId: string) {
  const pkg = fromJSON(ROCKETMQ_V2_DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
  const Service = (grpc.loadPackageDefinition(pkg) as any).apache.rocketmq.v2.MessagingService;
  const client = new Service(address, grpc.credentials.createInsecure());
  const metadata = (extra: Record<string, string> = {}) => {
    const m = new grpc.Metadata();
    m.set("x-mq-client-id", clientId);
    for (const [k, v] of Object.entries(extra)) m.set(k, v);
    return m;
  };
  return {
    unary(method: string, req: Record<string, unknown>, headers?: Record<string, string>): Promise<Record<string, any>> {
      return new Promise((resolve, reject) => client[method](req, metadata(headers), (err: Error | null, r: Record<string, any>) => (err ? reject(err) : resolve(r))));
    },
    /** ReceiveMessage: every response of the stream. */
    receive(req: Record<string, unknown>): Promise<Record<string, any>[]> {
      return new Promise((resolve, reject) => {
        const out: Record<string, any>[] = [];
        const call = client.ReceiveMessage(req, metadata());
        call.on("data", (r: Record<string, any>) => out.push(r));
        call.on("end", () => resolve(out));
        call.on("error", reject);
      });
    },
    close: () => client.close(),
  };
}
