// A controller in a process of its own (--role controller): the Controller on /ws with the
// broker's envelope rules (CBOR map, id, op, named error codes) and /health over HTTP. It keeps
// nothing itself: etcd (--etcd) holds the state, so any number of these may run side by side.
// Its security is a name server's (TLS, Origin, with --auth on a signed-in user with ADMIN on
// Cluster for every op: only a group's brokers talk to it).
import { BrokerError, checkTopicName, ErrorCode, type Request } from "../../protocol/mod.ts";
import { optional, required } from "../args.ts";
import type { BrokerConfig } from "../config.ts";
import type { Platform, Server, ServerSocket } from "../../platform/platform.ts";
import { Controller } from "./controller.ts";
import { answerFrame } from "../cluster/op-frames.ts";
import type { ControllerStore } from "./etcd-store.ts";
import { type SecuritySetup, setupSecurity } from "../security/setup.ts";
import type { SessionSecurity } from "../security/security.ts";
import { admitSocket, signInOrGuard } from "../security/small-server.ts";

export interface ControllerProcess {
  controller: Controller;
  secure: SecuritySetup;
  address: string;
  port: number;
  shutdown(): Promise<void>;
}

type Op = (c: Controller, req: Request) => Promise<Record<string, unknown>>;

const ops: Record<string, Op> = {
  controllerHeartbeat: async (c, req) => {
    const brokerId = required<number>(req, "brokerId", "uint");
    const state = await c.heartbeat({
      brokerName: checkTopicName(required<string>(req, "brokerName", "string")),
      brokerId,
      address: wsAddress(req),
      maxOffset: required<number>(req, "maxOffset", "uint"),
      epoch: required<number>(req, "epoch", "uint"),
      session: required<string>(req, "session", "string"),
    });
    return { ...state };
  },
  alterSyncStateSet: async (c, req) => {
    const set = required<unknown[]>(req, "syncStateSet", "array");
    if (!set.every((id) => Number.isInteger(id) && (id as number) >= 0)) throw new BrokerError(ErrorCode.WRONG_TYPE, "alterSyncStateSet: syncStateSet must be broker ids");
    const state = await c.alterSyncStateSet(
      checkTopicName(required<string>(req, "brokerName", "string")),
      required<number>(req, "masterId", "uint"),
      required<number>(req, "masterEpoch", "uint"),
      required<number>(req, "syncStateSetEpoch", "uint"),
      set as number[],
    );
    return { ...state };
  },
  groupState: async (c, req) => ({ groups: await c.groups(optional<string | undefined>(req, "brokerName", "string", undefined)) }),
};

export async function startController(platform: Platform, config: BrokerConfig, store: ControllerStore, log: (line: string) => void = () => {}): Promise<ControllerProcess> {
  const secure = setupSecurity(platform, config, log);
  const controller = new Controller(store, { prefix: config.etcdPrefix, leaseTtlSeconds: config.leaseTtlSeconds, log });
  let closing = false;
  const sessions = new WeakMap<ServerSocket, SessionSecurity>();
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
      onClose() {},
      onMessage: (socket, data) => {
        const session = sessions.get(socket);
        if (session) void dispatch(controller, socket, session, data, closing);
      },
    },
    http: (_method, path) =>
      path === "/health"
        ? { status: closing ? 503 : 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ status: closing ? "closing" : "ok", role: "controller" }) }
        : { status: 404, headers: { "content-type": "text/plain" }, body: `no such page: ${path}\n` },
  });
  return {
    controller,
    secure,
    address: `${secure.tls ? "wss" : "ws"}://${config.host}:${server.port}/ws`,
    port: server.port,
    async shutdown() {
      closing = true;
      await server.close();
      await controller.close();
      secure.security.close();
    },
  };
}

function wsAddress(req: Request): string {
  const address = required<string>(req, "address", "string");
  if (!/^wss?:\/\/[^\s]+$/.test(address)) throw new BrokerError(ErrorCode.BAD_REQUEST, `${req.op}: "address" must be a ws:// URL, not "${address.slice(0, 100)}"`);
  return address;
}

function dispatch(c: Controller, socket: ServerSocket, session: SessionSecurity, data: Uint8Array, closing: boolean): Promise<void> {
  return answerFrame(socket, data, async (req) => {
    if (closing) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the controller is shutting down");
    const signIn = await signInOrGuard(session, socket, req);
    if (signIn) return { role: "controller", ...signIn };
    if (req.op === "heartbeat") return { role: "controller" };
    const op = Object.hasOwn(ops, req.op) ? ops[req.op] : undefined;
    if (!op) throw new BrokerError(ErrorCode.UNKNOWN_OP, `op "${req.op.slice(0, 64)}" is not served by a controller (it serves controllerHeartbeat, alterSyncStateSet, groupState)`);
    return op(c, req);
  });
}
