// The gRPC front-end: apache.rocketmq.v2.MessagingService over HTTP/2 (@grpc/grpc-js, with the
// service definition from RocketMQ's own .proto files, descriptor.ts), so RocketMQ 5's clients
// (Java, Go, Python, C#, C++, Node.js) use ActorMQ unchanged. It runs on Node and on Deno (whose
// node:http2 carries grpc-js's server). The RPCs are messaging.ts; this file starts and stops
// the server. Each client is a session of the broker (session.ts), registered with the broker's
// sessions as a WebSocket's is.
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import type { ProcessorContext } from "../../context.ts";
import type { SessionRegistry } from "../../session.ts";
import { ROCKETMQ_V2_DESCRIPTOR } from "./descriptor.ts";
import { messagingService } from "./messaging.ts";
import { Renewals } from "./renewals.ts";
import { GrpcSession, GrpcSessions } from "./session.ts";

/** The RocketMQ proxy's gRPC port: a standalone broker's default. */
export const DEFAULT_GRPC_PORT = 8081;

let definition: grpc.ServiceDefinition | undefined;

function serviceDefinition(): grpc.ServiceDefinition {
  if (!definition) {
    const pkg = fromJSON(ROCKETMQ_V2_DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as { apache: { rocketmq: { v2: { MessagingService: { service: grpc.ServiceDefinition } } } } };
    definition = loaded.apache.rocketmq.v2.MessagingService.service;
  }
  return definition;
}

export class GrpcEndpoint {
  readonly sessions: GrpcSessions;
  readonly renewals: Renewals;
  private sweeper: unknown;

  private constructor(private server: grpc.Server, readonly port: number, private ctx: ProcessorContext, registry: SessionRegistry) {
    this.sessions = new GrpcSessions(registry, () => ctx.clock.now(), ctx.config.brokerName);
    this.renewals = new Renewals(ctx, ctx.config.autoRenewMs);
    // What a client held with auto-renewal comes back soon once it is gone.
    registry.onClose((s) => s instanceof GrpcSession && this.renewals.release(s));
  }

  /**
   * Serves on host:port. A port in use is not fatal: the broker says so (log) and runs without
   * the endpoint (resolves undefined), as a RocketMQ proxy port is optional to the broker.
   */
  static async start(ctx: ProcessorContext, registry: SessionRegistry, host: string, port: number, log: (line: string) => void): Promise<GrpcEndpoint | undefined> {
    const server = new grpc.Server({
      "grpc.max_receive_message_length": ctx.config.maxFrameSize,
      "grpc.max_send_message_length": ctx.config.maxFrameSize,
      // Channelz counts and traces every call for a debugging service this server does not offer.
      "grpc.enable_channelz": 0,
    });
    const bound = await new Promise<number | Error>((resolve) =>
      server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => resolve(err ?? p))
    );
    if (bound instanceof Error) {
      server.forceShutdown();
      const inUse = /EADDRINUSE|address already in use/i.test(bound.message);
      log(`gRPC port ${port} ${inUse ? "is in use" : `cannot be served (${bound.message})`}: running without the gRPC endpoint (--grpc-port <n> for another port, 0 for none)`);
      return undefined;
    }
    const endpoint = new GrpcEndpoint(server, bound, ctx, registry);
    server.addService(serviceDefinition(), messagingService(ctx, endpoint.sessions, endpoint.renewals, bound) as unknown as grpc.UntypedServiceImplementation);
    endpoint.sweep();
    return endpoint;
  }

  private sweep(): void {
    this.sweeper = this.ctx.clock.setTimeout(() => {
      this.sessions.sweep();
      this.sweep();
    }, 30_000);
  }

  /** host:port as RocketMQ clients take it (their `endpoints` option). */
  address(host: string): string {
    return `${host}:${this.port}`;
  }

  close(): Promise<void> {
    const { clock } = this.ctx;
    clock.clearTimeout(this.sweeper);
    // Clients leave their groups as WebSocket clients do when the server closes; their Telemetry streams end.
    this.sessions.closeAll();
    this.renewals.close();
    return new Promise((resolve) => {
      // In-flight long polls are cut: clients retry elsewhere, their messages reappear when due.
      const timer = clock.setTimeout(() => this.server.forceShutdown(), 1000);
      this.server.tryShutdown(() => {
        clock.clearTimeout(timer);
        resolve();
      });
    });
  }
}
