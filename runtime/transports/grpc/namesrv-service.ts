// The name server's gRPC endpoint (--role namesrv --grpc-port <n>): what RocketMQ 5 clients take
// as their access point in a cluster. It routes them straight to the brokers, as RocketMQ 5's
// proxies in local mode do (a proxy in every broker): QueryRoute and QueryAssignment answer with
// every broker that holds the topic and serves gRPC, at the gRPC address the broker registered.
// A client then sends, receives, acks, heartbeats and holds its Telemetry streams with those
// brokers, and only calls its access point again for routes and for RecallMessage, which is
// forwarded to the broker the recall handle names. Anything else sent here is refused with a
// status that says where to send it: the official clients never do. With --auth on a call is
// signed as a broker's are (RocketMQ 5's headers), and a route needs a right on its topic.
import * as grpc from "@grpc/grpc-js";
import { BrokerError, ErrorCode } from "../../../protocol/mod.ts";
import { PERM_READ } from "../../../actors/broker.machine.ts";
import type { RouteBroker } from "../../../actors/namesrv.machine.ts";
import type { Clock, TlsFiles } from "../../../platform/platform.ts";
import type { Security, SessionSecurity } from "../../security/security.ts";
import { topicResource } from "../../security/acl.ts";
import { peerAddress } from "./grpc-session.ts";
import type { NameServer } from "../../cluster/name-server.ts";
import { statusOf } from "./mapping.ts";
import { parseRecallHandle } from "./messaging.ts";
import { fromRoute, messageQueues } from "./routes.ts";
import { serveGrpc, serviceDefinition, stopGrpc } from "./server.ts";

type Unary = (call: grpc.ServerUnaryCall<Record<string, any>, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

const OK = { code: "OK", message: "OK" };

export class NameServerGrpc {
  private readonly forwards = new Map<string, grpc.Client>();

  private constructor(private readonly server: grpc.Server, readonly port: number, private readonly clock: Clock) {}

  static async start(ns: NameServer, o: { host: string; port: number; maxMessageSize: number; clock: Clock; security: Security; tls?: TlsFiles }): Promise<NameServerGrpc | undefined> {
    let self: NameServerGrpc | undefined;
    const served = await serveGrpc(o, () => service(ns, o.security, (address) => self!.client(address)));
    if (!served) return undefined;
    self = new NameServerGrpc(served.server, served.port, o.clock);
    return self;
  }

  /** A client to a broker's gRPC endpoint, kept for the next forward. */
  private client(address: string): grpc.Client {
    let c = this.forwards.get(address);
    if (!c) this.forwards.set(address, (c = new grpc.Client(address, grpc.credentials.createInsecure())));
    return c;
  }

  close(): Promise<void> {
    for (const c of this.forwards.values()) c.close();
    return stopGrpc(this.server, this.clock);
  }
}

function service(ns: NameServer, security: Security, client: (address: string) => grpc.Client) {
  const unary = (body: (req: Record<string, any>, reply: (r: Record<string, unknown>) => void, call: grpc.ServerUnaryCall<Record<string, any>, unknown>, sec: SessionSecurity) => void | Promise<void>): Unary => (call, callback) => {
    const reply = (r: Record<string, unknown>) => callback(null, { status: OK, ...r });
    const header = (name: string) => {
      const v = call.metadata.get(name)[0];
      return typeof v === "string" && v !== "" ? v : undefined;
    };
    security.rocketmqSession(header("authorization"), header("x-mq-date-time"), peerAddress(call.getPeer())).then((sec) => {
      sec.requireSignedIn("gRPC");
      return body(call.request, reply, call, sec);
    }).catch((e) => callback(null, { status: statusOf(e) }));
  };

  /** The brokers holding a topic (or, for a topic none holds, those that create it on a first send) with a gRPC endpoint. */
  const routeOf = async (topic: string): Promise<RouteBroker[]> => {
    const brokers = ((await ns.queryRoute({ id: 0, op: "queryRoute", topic, autoCreate: true })).brokers ?? []) as RouteBroker[];
    const served = brokers.filter((b) => b.grpcAddress);
    if (served.length === 0) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `no broker serving gRPC holds topic "${topic.slice(0, 200)}" (a broker serves gRPC with --grpc-port)`);
    return served;
  };

  const refused = (name: string): Unary => (_call, callback) =>
    callback(null, { status: { code: "NOT_IMPLEMENTED", message: `${name} goes to a broker: this name server gives routes (QueryRoute), whose queues name each broker's gRPC endpoint` } });

  const definition = serviceDefinition();
  const implementation: Record<string, unknown> = {};
  for (const name of Object.keys(definition)) {
    const m = definition[name];
    implementation[name] = m.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({ status: { code: "NOT_IMPLEMENTED", message: `${name} goes to a broker: this name server gives routes (QueryRoute)` } });
        call.end();
      }
      : refused(name);
  }
  return Object.assign(implementation, {
    QueryRoute: unary(async (req, reply, _call, sec) => {
      const topic = resourceName(req.topic);
      sec.authorizeAny(topicResource(topic), ["PUB", "SUB", "ADMIN"]);
      reply({ message_queues: messageQueues(topic, fromRoute(await routeOf(topic), req.endpoints)) });
    }),

    QueryAssignment: unary(async (req, reply, _call, sec) => {
      const topic = resourceName(req.topic);
      sec.authorize(topicResource(topic), "SUB");
      const readable = fromRoute(await routeOf(topic), req.endpoints).filter((b) => (b.perm & PERM_READ) !== 0).map((b) => ({ ...b, queues: 1 }));
      reply({ assignments: messageQueues(topic, readable).map((message_queue) => ({ message_queue })) });
    }),

    /** Forwarded to the broker the recall handle names, with the caller's headers. */
    RecallMessage: unary(async (req, reply, call) => {
      const topic = resourceName(req.topic);
      const handle = parseRecallHandle(String(req.recall_handle ?? ""));
      if (!handle) throw new BrokerError(ErrorCode.BAD_REQUEST, "not a recall handle");
      const broker = (await routeOf(topic)).find((b) => b.name === handle.brokerName);
      if (!broker) throw new BrokerError("NOT_FOUND", `broker "${handle.brokerName}" of the recall handle is not in the route of topic "${topic}"`);
      const m = definition.RecallMessage;
      client(broker.grpcAddress!).makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, call.metadata, (err, r) =>
        err ? reply({ status: { code: "PROXY_TIMEOUT", message: `broker ${broker.name} at ${broker.grpcAddress}: ${err.message}` } }) : reply(r as Record<string, unknown>));
    }),

    /** Clients heartbeat to their route's brokers; one that heartbeats here has nothing to renew. */
    Heartbeat: unary((_req, reply) => reply({})),
    NotifyClientTermination: unary((_req, reply) => reply({})),
  });
}

function resourceName(r: { name?: string } | undefined): string {
  if (!r?.name) throw new BrokerError(ErrorCode.MISSING_FIELD, "topic is missing");
  return r.name;
}
