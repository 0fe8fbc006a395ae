// Name-server ops served by a broker: a standalone broker answers them from its embedded name
// server; a cluster broker (--role broker) has none and says so.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import type { Broker, Connection } from "../broker.ts";
import type { NameServer } from "../namesrv.ts";

function embedded(broker: Broker, op: string): NameServer {
  if (!broker.namesrv) throw new BrokerError(ErrorCode.UNKNOWN_OP, `${op}: broker ${broker.config.brokerName} runs with --role broker and has no name server; ask one of ${broker.config.namesrvAddrs.join(", ")}`);
  return broker.namesrv;
}

export function registerBroker(broker: Broker, conn: Connection, req: Request): void {
  broker.reply(conn, req.id, embedded(broker, "registerBroker").registerBroker(req));
}

/** clusterList from the embedded name server: "standalone" while this broker is alone in it. */
export function clusterListVia(broker: Broker, ns: NameServer): Record<string, unknown> {
  const alone = ns.brokers.every((b) => b.brokerName === broker.config.brokerName);
  return ns.clusterList(alone ? "standalone" : "cluster");
}
