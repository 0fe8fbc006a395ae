// Routes and the cluster (the name-server ops a broker serves): a standalone broker answers from
// its embedded name server; a cluster broker (--role broker) has none, answers queryRoute and
// clusterList about itself, and refuses registerBroker naming the name servers to use.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { required } from "../args.ts";
import type { NameServerOps, ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import pkg from "../../package.json" with { type: "json" };

export function registerBroker(ctx: ProcessorContext, session: Session, req: Request): void {
  const ns = embedded(ctx, "registerBroker");
  // This broker registers with its embedded name server in-process; a registration from outside
  // under its name would send its clients' traffic to whatever address that one gives.
  if (req.brokerName === ctx.facts.brokerName) {
    throw new BrokerError(ErrorCode.NO_PERMISSION, `registerBroker: "${ctx.facts.brokerName}" is this broker; only it registers itself`, { resource: "Cluster", action: "ADMIN" });
  }
  session.reply(req.id, ns.registerBroker(req));
}

export function queryRoute(ctx: ProcessorContext, session: Session, req: Request): void {
  if (ctx.namesrv) return void ctx.namesrv.queryRoute(req).then((r) => session.reply(req.id, r), (e) => session.fail(req.id, e));
  const topic = required<string>(req, "topic", "string");
  const t = ctx.topics.forRead(topic);
  session.reply(req.id, {
    topic,
    brokers: [{ name: ctx.facts.brokerName, address: ctx.facts.address, queues: t.queues, perm: t.perm }],
  });
}

/** The brokers of this cluster: "standalone" while this broker is alone in its embedded name server. */
export function clusterList(ctx: ProcessorContext, session: Session, req: Request): void {
  const { facts, namesrv } = ctx;
  if (namesrv) {
    return void namesrv.brokers()
      .then((brokers) => namesrv.clusterList(brokers.every((b) => b.brokerName === facts.brokerName) ? "standalone" : "cluster"))
      .then((r) => session.reply(req.id, r), (e) => session.fail(req.id, e));
  }
  const now = ctx.clock.now();
  session.reply(req.id, {
    mode: "standalone",
    brokers: [{
      name: facts.brokerName,
      address: facts.address,
      topics: Object.values(ctx.topics.all()).filter((t) => !t.system).length,
      version: pkg.version,
      runtime: facts.runtime,
      startedAt: facts.startedAt,
      uptimeMs: now - facts.startedAt,
      ...(facts.groupInfo ? { group: facts.groupInfo() } : {}),
    }],
  });
}

function embedded(ctx: ProcessorContext, op: string): NameServerOps {
  if (!ctx.namesrv) throw new BrokerError(ErrorCode.UNKNOWN_OP, `${op}: broker ${ctx.facts.brokerName} runs with --role broker and has no name server; ask one of ${ctx.config.namesrvAddrs.join(", ")}`);
  return ctx.namesrv;
}
