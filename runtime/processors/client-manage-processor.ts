// heartbeat (RocketMQ's ClientManageProcessor): a client says who it is, which consumer groups
// it is a member of (with their model and subscriptions) and which producer groups it sends
// for. The first heartbeat binds the connection to its client id. Its size is capped before
// anything in it is looked at (--max-heartbeat-groups), every name is checked, and the session
// needs SUB on each consumer group and subscribed topic and PUB on each producer group.
import { BrokerError, checkClientId, checkGroupName, checkTopicName, ErrorCode, parseSubscription, type Request, RETRY_PREFIX } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import type { ConsumeModel } from "../../actors/group.machine.ts";
import { optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { groupResource, topicResource } from "../security/acl.ts";
import { limitError } from "../security/limits.ts";
import { checkGroupLimit } from "./limit-checks.ts";

/** Topics one group member subscribes to, and an expression's length: a heartbeat's size stays small. */
const MAX_SUBSCRIPTIONS = 1000;
const MAX_EXPRESSION = 4096;

interface GroupHeartbeat {
  group: string;
  model: ConsumeModel;
  subscriptions: Record<string, string>;
}

export function heartbeat(ctx: ProcessorContext, session: Session, req: Request): void {
  const clientId = checkClientId(required<string>(req, "clientId", "string"));
  const rawGroups = optional<unknown[]>(req, "consumerGroups", "array", []);
  const rawProducerGroups = optional<unknown[]>(req, "producerGroups", "array", []);
  const max = ctx.config.maxHeartbeatGroups;
  if (rawGroups.length + rawProducerGroups.length > max) {
    throw limitError(ctx.security.counters, "heartbeatGroups", `heartbeat: ${rawGroups.length + rawProducerGroups.length} groups in one heartbeat, the limit is ${max} (--max-heartbeat-groups)`);
  }
  const groups = rawGroups.map(checkGroupHeartbeat);
  const producerGroups = producerGroupsOf(req);
  for (const g of groups) {
    session.security.authorize(groupResource(g.group), "SUB");
    for (const topic of Object.keys(g.subscriptions)) session.security.authorize(topicResource(topic), "SUB");
  }
  for (const g of producerGroups) session.security.authorizeProducerGroup(g);
  for (const g of groups) checkGroupLimit(ctx, g.group);
  if (session.clientId !== undefined && session.clientId !== clientId) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: this connection belongs to client "${session.clientId}"`);
  }
  session.clientId = clientId;
  ctx.producers.heartbeat(session, producerGroups);
  const now = new Set(groups.map((g) => g.group));
  for (const old of session.groups) if (!now.has(old)) ctx.actors.send({ type: "UNREGISTER", group: old, clientId });
  session.groups = now;
  session.subscribed = new Set(groups.flatMap((g) => Object.keys(g.subscriptions)));
  for (const g of groups) {
    // Clustering groups get their retry topic, which every member subscribes to.
    const retry = RETRY_PREFIX + g.group;
    if (g.model === "clustering" && !ctx.topics.get(retry)) ctx.topics.create(retry, 1, PERM_RW);
    ctx.actors.send({ type: "HEARTBEAT", group: g.group, clientId, model: g.model, subscriptions: g.subscriptions });
  }
  session.reply(req.id, {});
}

/** The producerGroups of a heartbeat: an array of group names. */
function producerGroupsOf(req: Request): string[] {
  const groups = optional<unknown[]>(req, "producerGroups", "array", []);
  groups.forEach((g, i) => checkGroupName(g, `heartbeat: producerGroups[${i}]`));
  return groups as string[];
}

function checkGroupHeartbeat(g: unknown, i: number): GroupHeartbeat {
  if (g === null || typeof g !== "object" || Array.isArray(g)) throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}] must be a map`);
  const { group, model = "clustering", subscriptions = {} } = g as Record<string, unknown>;
  if (typeof group !== "string") throw new BrokerError(group === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}].group must be a string`);
  checkGroupName(group, `heartbeat: consumerGroups[${i}].group`);
  if (model !== "clustering" && model !== "broadcasting" && model !== "pop") throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: model must be "clustering", "broadcasting" or "pop"`);
  if (subscriptions === null || typeof subscriptions !== "object" || Array.isArray(subscriptions)) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}].subscriptions must be a map of topic to expression`);
  }
  if (Object.keys(subscriptions).length > MAX_SUBSCRIPTIONS) throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: at most ${MAX_SUBSCRIPTIONS} subscriptions per group`);
  for (const [topic, expr] of Object.entries(subscriptions)) {
    checkTopicName(topic);
    if (typeof expr !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: the expression for "${topic}" must be a string`);
    if (expr.length > MAX_EXPRESSION) throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: the expression for "${topic}" is longer than ${MAX_EXPRESSION} characters`);
    parseSubscription(expr);
  }
  return { group, model, subscriptions: subscriptions as Record<string, string> };
}
