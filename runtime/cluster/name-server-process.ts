// A name server in a process of its own (--role namesrv): the NameServer service on /ws, with
// the broker's envelope rules (CBOR map, id, op, named error codes), /health over HTTP, and the
// console at / (the same page a broker serves: here it shows the cluster). It stores no
// messages: data ops get UNKNOWN_OP naming the brokers to use instead.
import { BrokerError, decode, encode, ErrorCode, type Request, type RequestId } from "../../protocol/mod.ts";
import type { Platform, Server, ServerSocket } from "../../platform/platform.ts";
import type { BrokerConfig } from "../config.ts";
import { InspectorAssets } from "../inspector-assets.ts";
import { NameServer, nameServerOps } from "./name-server.ts";

export interface NameServerProcess {
  namesrv: NameServer;
  address: string;
  port: number;
  shutdown(): Promise<void>;
}

export async function startNameServer(platform: Platform, config: BrokerConfig, log: (line: string) => void = () => {}): Promise<NameServerProcess> {
  const namesrv = new NameServer({ platform, brokerExpiryMs: config.brokerExpiryMs, log });
  let closing = false;
  const page = await InspectorAssets.locate(platform.files, log);
  const server: Server = await platform.serve({
    host: config.host,
    port: config.port,
    maxFrameSize: config.maxFrameSize,
    socket: {
      onOpen() {},
      onClose() {},
      onMessage: (socket, data) => void dispatch(namesrv, socket, data, closing),
    },
    http: (method, path) =>
      path === "/health"
        ? { status: closing ? 503 : 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ status: closing ? "closing" : "ok", role: "namesrv", brokers: namesrv.brokers.length }) }
        : (method === "GET" ? page.serve(path) : null) ?? { status: 404, headers: { "content-type": "text/plain" }, body: `no such page: ${path}\n` },
  });
  return {
    namesrv,
    address: `ws://${config.host}:${server.port}/ws`,
    port: server.port,
    async shutdown() {
      closing = true;
      await server.close();
      await namesrv.close();
    },
  };
}

async function dispatch(ns: NameServer, socket: ServerSocket, data: Uint8Array, closing: boolean): Promise<void> {
  let id: RequestId | null = null;
  try {
    let req: Request;
    try {
      req = decode(data) as Request;
    } catch {
      throw new BrokerError(ErrorCode.MALFORMED_FRAME, "the frame is not valid CBOR");
    }
    if (req === null || typeof req !== "object" || Array.isArray(req) || req instanceof Uint8Array) throw new BrokerError(ErrorCode.MALFORMED_FRAME, "a frame must be a CBOR map");
    if (typeof req.id !== "number" && typeof req.id !== "string") {
      throw new BrokerError(req.id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "id" (an integer or a string)');
    }
    id = req.id;
    if (typeof req.op !== "string") throw new BrokerError(req.op === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "op" string');
    if (closing) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the name server is shutting down");
    // Clients greet whatever endpoint they were given; a name server takes the greeting and keeps nothing.
    if (req.op === "heartbeat") return socket.send(encode({ id, code: 0, role: "namesrv" }));
    const op = Object.hasOwn(nameServerOps, req.op) ? nameServerOps[req.op] : undefined;
    if (!op) {
      const brokers = ns.brokers.map((b) => b.address).join(", ") || "none registered";
      throw new BrokerError(ErrorCode.UNKNOWN_OP, `op "${req.op.slice(0, 64)}" is not served by a name server (it serves registerBroker, queryRoute, clusterList, createTopic); brokers: ${brokers}`);
    }
    const result = await op(ns, req, "cluster");
    socket.send(encode({ id, code: 0, ...result }));
  } catch (e) {
    const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
    if (code === ErrorCode.INTERNAL_ERROR) console.error("internal error:", e);
    try {
      socket.send(encode({ id, code, message: e instanceof Error ? e.message : String(e) }));
    } catch { /* the socket is gone */ }
  }
}
