// The gRPC server itself, for the broker's endpoint (endpoint.ts) and the name server's
// (namesrv-service.ts): @grpc/grpc-js serving apache.rocketmq.v2.MessagingService, with the
// service definition from RocketMQ's own .proto files (descriptor.ts). It runs on Node and on
// Deno (whose node:http2 carries grpc-js's server).
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import type { Clock, TlsFiles } from "../../../platform/platform.ts";
import { Buffer } from "node:buffer";
import { getLogger } from "../../log.ts";
import { ROCKETMQ_V2_DESCRIPTOR } from "./descriptor.ts";

const log = getLogger(["actormq", "grpc"]);

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
  /** A port, or below 0 (--grpc-port any) for any free one. */
  port: number;
  maxMessageSize: number;
  /** Serve over TLS (--tls-cert, --tls-key; with a CA, clients present certificates): RocketMQ's signatures have no nonce. */
  tls?: TlsFiles;
}

/**
 * grpc-js prints "E No address added out of total 1 resolved" on stderr when a bind fails,
 * before its callback says why; serveGrpc reports that itself, in one line with a code. Every
 * other line grpc-js logs goes where its own default logger puts it.
 */
const BIND_FAILED = /^No address added /;
let quietBindFailures = false;
function quietenBindFailures(): void {
  if (quietBindFailures) return;
  quietBindFailures = true;
  const print = (level: string) => (message: unknown, ...rest: unknown[]) => console.error(`${level} ${message}`, ...rest);
  const error = print("E");
  grpc.setLogger({ error: (message?: unknown, ...rest: unknown[]) => void (BIND_FAILED.test(String(message)) || error(message, ...rest)), info: print("I"), debug: print("D") });
}

/**
 * TLS from the broker's certificate and key; with a CA, clients must present a certificate it
 * signed. Not ServerCredentials.createSsl: without a CA it takes GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
 * (the system's bundle on many machines) as the server's `ca`, which Deno's node:tls sends inside
 * the certificate chain (200 KB: clients give up the handshake, "excessive message size"). A
 * certificate provider (grpc-js's own interface) leaves `ca` unset; it answers after the server
 * listens, as a file watcher would.
 */
function tlsCredentials(tls: TlsFiles): grpc.ServerCredentials {
  const provider = <T>(update: T | null) => {
    const add = (listener: (u: T | null) => void) => queueMicrotask(() => listener(update));
    return { addCaCertificateListener: add, removeCaCertificateListener() {}, addIdentityCertificateListener: add, removeIdentityCertificateListener() {} } as unknown as grpc.experimental.CertificateProvider;
  };
  const identity = provider({ certificate: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) });
  const ca = tls.ca === undefined ? null : provider({ caCertificate: Buffer.from(tls.ca) });
  return grpc.experimental.createCertificateProviderServerCredentials(identity, ca, ca !== null);
}

/**
 * Serves the service `implementation(port)` makes on host:port. A port that cannot be bound is
 * not fatal: the process says so in one warning (GRPC_PORT_IN_USE or GRPC_PORT_UNAVAILABLE) and
 * runs without gRPC (resolves undefined), as a RocketMQ proxy port is optional to the broker.
 */
export async function serveGrpc(o: ServeOptions, implementation: (port: number) => object): Promise<{ server: grpc.Server; port: number } | undefined> {
  quietenBindFailures();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageSize,
    "grpc.max_send_message_length": o.maxMessageSize,
    // Channelz counts and traces every call for a debugging service this server does not offer.
    "grpc.enable_channelz": 0,
  });
  const credentials = o.tls ? tlsCredentials(o.tls) : grpc.ServerCredentials.createInsecure();
  const bound = await new Promise<number | Error>((resolve) =>
    server.bindAsync(`${o.host.includes(":") ? `[${o.host}]` : o.host}:${Math.max(0, o.port)}`, credentials, (err, p) => resolve(err ?? p))
  );
  if (bound instanceof Error) {
    server.forceShutdown();
    const inUse = /EADDRINUSE|address already in use/i.test(bound.message);
    const why = inUse ? "is in use" : `cannot be served (${bound.message.replace(/^.*errors: \[|\]$/g, "")})`;
    log.warn(`{code}: gRPC port {port} on {host} ${why}: running without the gRPC endpoint (--grpc-port <n> for another port, any for a free one, 0 for none)`, {
      code: inUse ? "GRPC_PORT_IN_USE" : "GRPC_PORT_UNAVAILABLE",
      port: o.port,
      host: o.host,
    });
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
