// Routes in RocketMQ 5's terms (apache.rocketmq.v2.MessageQueue): each broker's queues with the
// gRPC endpoint a client reaches that broker at. A client is routed straight to the brokers, as
// RocketMQ 5's proxy in local mode (a proxy in every broker) routes it: the broker a client asks
// answers with the endpoint the client dialled (reachable as given), every other broker with the
// gRPC address it registered with the name servers. The name server of a cluster answers the
// same routes (namesrv-service.ts).
import { PERM_READ, PERM_WRITE } from "../../../actors/broker.machine.ts";
import type { RouteBroker } from "../../../actors/namesrv.machine.ts";

export interface Address {
  host?: string;
  port?: number;
}

/** apache.rocketmq.v2.Endpoints, as a client sends its access point. */
export interface AccessPoint {
  scheme?: string;
  addresses?: Address[];
}

/** A broker in a v2 route. */
export interface V2Broker {
  name: string;
  queues: number;
  perm: number;
  endpoints: AccessPoint;
}

const TYPES = ["NORMAL", "FIFO", "DELAY", "TRANSACTION"];

/**
 * Every queue of every broker (ids 0..n-1 each). The clients' load balancers keep only queue 0 of
 * each broker, and a receive naming it pops from all the broker's queues of the topic.
 */
export function messageQueues(topic: string, brokers: readonly V2Broker[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of brokers) {
    const broker = { name: b.name, id: 0, endpoints: b.endpoints };
    const permission = permissionOf(b.perm);
    for (let q = 0; q < b.queues; q++) out.push({ topic: { name: topic, resource_namespace: "" }, id: q, permission, broker, accept_message_types: TYPES });
  }
  return out;
}

function permissionOf(perm: number): string {
  const r = (perm & PERM_READ) !== 0;
  const w = (perm & PERM_WRITE) !== 0;
  return r && w ? "READ_WRITE" : r ? "READ" : w ? "WRITE" : "NONE";
}

/**
 * The brokers of a name server's route that serve gRPC, as v2 brokers. A broker that registered a
 * wildcard host (--host 0.0.0.0 without an advertised address) is given with the host the client
 * reached us at, as ActorMQ's own clients treat a wildcard address.
 */
export function fromRoute(route: readonly RouteBroker[], via: AccessPoint | undefined): V2Broker[] {
  const out: V2Broker[] = [];
  for (const b of route) {
    if (!b.grpcAddress) continue;
    const at = b.grpcAddress.lastIndexOf(":");
    let host = b.grpcAddress.slice(0, at).replace(/^\[(.*)\]$/, "$1");
    if (host === "0.0.0.0" || host === "::") host = via?.addresses?.[0]?.host ?? "127.0.0.1";
    out.push({ name: b.name, queues: b.queues, perm: b.perm, endpoints: endpointsOf(host, Number(b.grpcAddress.slice(at + 1))) });
  }
  return out;
}

export function endpointsOf(host: string, port: number): AccessPoint {
  const scheme = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? "IPv4" : host.includes(":") ? "IPv6" : "DOMAIN_NAME";
  return { scheme, addresses: [{ host, port }] };
}
