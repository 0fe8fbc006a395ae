// The gRPC server itself, for the broker's endpoint (endpoint.ts) and the name server's
// (namesrv-service.ts): @grpc/grpc-js serving apache.rocketmq.v2.MessagingService, with the
// service definition from RocketMQ's own .proto files (descriptor.ts). It runs on Node and on
// Deno (whose node:http2 carries grpc-js's server).
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import type { Clock } from "../../../platform/platform.ts";
import { ROCKETMQ_V2_DESCRIPTOR } from "./descriptor.ts";

let definition: grpc.ServiceDefinition | undefined;

export function serviceDefinition(): grpc.ServiceDefinition {
  if (!definition) {
    const pkg = fromJSON(ROCKETMQ_V2_DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as { apache: { rocketmq: { v2: { MessagingService: { service: grpc.ServiceDefinition } } } } };
    definition = loaded.apache.rocketmq.v2.MessagingService.service;
  }
  return definition;
}

export interface ServeOptions {
  host: string;
  port: number;
  maxMessageSize: number;
  log: (line: string) => void;
}

/**
 * Serves the service `implementation(port)` makes on host:port. A port that cannot be bound is
 * not fatal: the process says so (log) and runs without gRPC (resolves undefined), as a RocketMQ
 * proxy port is optional to the broker.
 */
export async function serveGrpc(o: ServeOptions, implementation: (port: number) => object): Promise<{ server: grpc.Server; port: number } | undefined> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageSize,
    "grpc.max_send_message_length": o.maxMessageSize,
    // Channelz counts and traces every call for a debugging service this server does not offer.
    "grpc.enable_channelz": 0,
  });
  const bound = await new Promise<number | Error>((resolve) =>
    server.bindAsync(`${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => resolve(err ?? p))
  );
  if (bound instanceof Error) {
    server.forceShutdown();
    const inUse = /EADDRINUSE|address already in use/i.test(bound.message);
    o.log(`gRPC port ${o.port} ${inUse ? "is in use" : `cannot be served (${bound.message})`}: running without the gRPC endpoint (--grpc-port <n> for another port, 0 for none)`);
    return undefined;
  }
  server.addService(serviceDefinition(), implementation(bound) as grpc.UntypedServiceImplementation);
  return { server, port: bound };
}

/** Stops serving: calls in flight get a second (long polls are cut: clients retry, their messages reappear when due). */
export function stopGrpc(server: grpc.Server, clock: Clock): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => server.forceShutdown(), 1000);
    server.tryShutdown(() => {
      clock.clearTimeout(timer);
      resolve();
    });
  });
}
