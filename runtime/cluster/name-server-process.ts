// A name server in a process of its own (--role namesrv): the NameServer service on /ws, with
// the broker's envelope rules (CBOR map, id, op, named error codes), /health over HTTP, and the
// console at / (the same page a broker serves: here it shows the cluster), and with --grpc-port
// the routes RocketMQ 5 clients ask for (runtime/transports/grpc/namesrv-service.ts). It stores
// no messages: data ops get UNKNOWN_OP naming the brokers to use instead. With --auth on, a
// connection signs in as a broker's does (hello, auth) and each op needs its right
// (registerBroker: ADMIN on Cluster); TLS and the Origin check are the broker's too.
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import type { Platform, Server, ServerSocket } from "../../platform/platform.ts";
import type { BrokerConfig } from "../config.ts";
import { InspectorAssets } from "../inspector-assets.ts";
import { NameServer, nameServerOps } from "./name-server.ts";
import { answerFrame } from "./op-frames.ts";
import { NameServerGrpc } from "../transports/grpc/namesrv-service.ts";
import { type SecuritySetup, setupSecurity } from "../security/setup.ts";
import type { SessionSecurity } from "../security/security.ts";
import { admitSocket, signInOrGuard } from "../security/small-server.ts";

export interface NameServerProcess {
  namesrv: NameServer;
  secure: SecuritySetup;
  address: string;
  port: number;
  /** host:port of its gRPC endpoint, when --grpc-port gives one and it could be bound. */
  grpcAddress?: string;
  shutdown(): Promise<void>;
}

export async function startNameServer(platform: Platform, config: BrokerConfig, log: (line: string) => void = () => {}): Promise<NameServerProcess> {
  const secure = setupSecurity(platform, config, log);
  const namesrv = new NameServer({ platform, brokerExpiryMs: config.brokerExpiryMs, log, dial: secure.dial });
  const sessions = new WeakMap<ServerSocket, SessionSecurity>();
  let closing = false;
  const page = await InspectorAssets.locate(platform.files, log);
  // Which brokers registered on each connection: a replicated group's member is dropped when its closes.
  const registeredOn = new Map<ServerSocket, Set<string>>();
  const server: Server = await platform.serve({
    host: config.host,
    port: config.port,
    tls: secure.tls,
    maxFrameSize: config.maxFrameSize,
    socket: {
      onOpen(socket) {
        const session = admitSocket(secure.security, socket, config.allowedOrigins);
        if (session) sessions.set(socket, session);
      },
      onClose(socket) {
        const keys = registeredOn.get(socket);
        registeredOn.delete(socket);
        if (keys && !closing) namesrv.connectionClosed(keys);
      },
      onMessage: (socket, data) => {
        const session = sessions.get(socket);
        if (!session) return;
        void dispatch(namesrv, socket, session, data, closing, (key) => {
          let keys = registeredOn.get(socket);
          if (!keys) registeredOn.set(socket, (keys = new Set()));
          keys.add(key);
        });
      },
    },
    http: async (method, path) =>
      path === "/health"
        ? { status: closing ? 503 : 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ status: closing ? "closing" : "ok", role: "namesrv", brokers: (await namesrv.brokers()).length }) }
        : (method === "GET" ? page.serve(path) : null) ?? { status: 404, headers: { "content-type": "text/plain" }, body: `no such page: ${path}\n` },
  });
  const grpc = config.grpcPort ? await NameServerGrpc.start(namesrv, { host: config.host, port: config.grpcPort, maxMessageSize: config.maxFrameSize, clock: platform.clock, security: secure.security, tls: secure.tls }) : undefined;
  return {
    namesrv,
    secure,
    address: `${secure.tls ? "wss" : "ws"}://${config.host}:${server.port}/ws`,
    port: server.port,
    grpcAddress: grpc && `${config.host}:${grpc.port}`,
    async shutdown() {
      closing = true;
      await server.close();
      await grpc?.close();
      await namesrv.close();
      secure.security.close();
    },
  };
}

function dispatch(ns: NameServer, socket: ServerSocket, session: SessionSecurity, data: Uint8Array, closing: boolean, registered: (key: string) => void): Promise<void> {
  return answerFrame(socket, data, async (req) => {
    if (closing) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the name server is shutting down");
    const signIn = await signInOrGuard(session, socket, req);
    if (signIn) return { role: "namesrv", ...signIn };
    // Clients greet whatever endpoint they were given; a name server takes the greeting and keeps nothing.
    if (req.op === "heartbeat") return { role: "namesrv" };
    const op = Object.hasOwn(nameServerOps, req.op) ? nameServerOps[req.op] : undefined;
    if (!op) {
      const brokers = (await ns.brokers()).map((b) => b.address).join(", ") || "none registered";
      throw new BrokerError(ErrorCode.UNKNOWN_OP, `op "${req.op.slice(0, 64)}" is not served by a name server (it serves ${Object.keys(nameServerOps).join(", ")}); brokers: ${brokers}`);
    }
    return req.op === "registerBroker" ? ns.registerBroker(req, registered) : op(ns, req, "cluster");
  });
}
