// The gRPC front-end: apache.rocketmq.v2.MessagingService over HTTP/2 (@grpc/grpc-js, with the
// service definition from RocketMQ's own .proto files, descriptor.ts), so RocketMQ 5's clients
// (Java, Go, Python, C#, C++, Node.js) use ActorMQ unchanged. It runs on Node and on Deno (whose
// node:http2 carries grpc-js's server). The RPCs are messaging.ts; this file starts and stops
// the server. Each client is a session of the broker (grpc-session.ts), registered with the broker's
// sessions as a WebSocket's is.
import type * as grpc from "@grpc/grpc-js";
import type { ProcessorContext } from "../../context.ts";
import type { TlsFiles } from "../../../platform/platform.ts";
import type { SessionRegistry } from "../../session.ts";
import { type ClusterRoute, messagingService } from "./messaging.ts";
import { Renewals } from "./renewals.ts";
import { serveGrpc, stopGrpc } from "./server.ts";
import { GrpcSession, GrpcSessions } from "./grpc-session.ts";

/** The RocketMQ proxy's gRPC port: a standalone broker's default. */
export const DEFAULT_GRPC_PORT = 8081;

export interface GrpcEndpointOptions {
  host: string;
  port: number;
  /** A cluster broker's: the cluster's routes from its name servers (QueryRoute, QueryAssignment). */
  clusterRoute?: ClusterRoute;
  /** The broker's TLS: gRPC is served over it too. */
  tls?: TlsFiles;
}

export class GrpcEndpoint {
  readonly sessions: GrpcSessions;
  readonly renewals: Renewals;
  private sweeper: unknown;
  private server?: grpc.Server;
  port = 0;

  private constructor(private readonly ctx: ProcessorContext, registry: SessionRegistry) {
    this.sessions = new GrpcSessions(registry, () => ctx.clock.now(), ctx.config.brokerName, ctx.security);
    this.renewals = new Renewals(ctx, ctx.config.autoRenewMs);
    // What a client held with auto-renewal comes back soon once it is gone.
    registry.onClose((s) => s instanceof GrpcSession && this.renewals.release(s));
  }

  /** Serves on host:port; undefined (and a log line) when the port cannot be bound. */
  static async start(ctx: ProcessorContext, registry: SessionRegistry, o: GrpcEndpointOptions): Promise<GrpcEndpoint | undefined> {
    const endpoint = new GrpcEndpoint(ctx, registry);
    const served = await serveGrpc({ ...o, maxMessageSize: ctx.config.maxFrameSize }, (port) => messagingService(ctx, endpoint.sessions, endpoint.renewals, port, o.clusterRoute));
    if (!served) {
      endpoint.renewals.close();
      return undefined;
    }
    endpoint.server = served.server;
    endpoint.port = served.port;
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
    this.ctx.clock.clearTimeout(this.sweeper);
    // Clients leave their groups as WebSocket clients do when the server closes; their Telemetry streams end.
    this.sessions.closeAll();
    this.renewals.close();
    return stopGrpc(this.server!, this.ctx.clock);
  }
}
