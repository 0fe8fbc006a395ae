// Consumer groups: heartbeats (membership), the member list clients rebalance over, progress
// and offset reset. The group actor keeps the state; these ops read it and feed it events.
import { BrokerError, checkTopicName, ErrorCode, parseSubscription, type Request, RETRY_PREFIX } from "../../protocol/mod.ts";
import { groupActorId, PERM_RW } from "../../actors/broker.machine.ts";
import type { ConsumeModel, GroupContext } from "../../actors/group.machine.ts";
import { optional, required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";
import { commitOffset, committedOffset } from "./offsets.ts";
import { producerGroupsOf } from "./transaction.ts";

interface GroupHeartbeat {
  group: string;
  model: ConsumeModel;
  subscriptions: Record<string, string>;
}

export function heartbeat(broker: Broker, conn: Connection, req: Request): void {
  const clientId = required<string>(req, "clientId", "string");
  const groups = optional<unknown[]>(req, "consumerGroups", "array", []).map(checkGroupHeartbeat);
  const producerGroups = producerGroupsOf(req);
  if (conn.clientId !== undefined && conn.clientId !== clientId) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: this connection belongs to client "${conn.clientId}"`);
  }
  conn.clientId = clientId;
  broker.transactions.producerHeartbeat(conn, producerGroups);
  const now = new Set(groups.map((g) => g.group));
  for (const old of conn.groups) if (!now.has(old)) broker.send({ type: "UNREGISTER", group: old, clientId });
  conn.groups = now;
  for (const g of groups) {
    // Clustering groups get their retry topic, which every member subscribes to.
    const retry = RETRY_PREFIX + g.group;
    if (g.model === "clustering" && !broker.topics[retry]) broker.createTopic(retry, 1, PERM_RW);
    broker.send({ type: "HEARTBEAT", group: g.group, clientId, model: g.model, subscriptions: g.subscriptions });
  }
  broker.reply(conn, req.id, {});
}

export function consumerList(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  broker.reply(conn, req.id, { group, clientIds: Object.keys(groupContext(broker, group)?.members ?? {}).sort() });
}

export function consumerProgress(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  const ctx = groupContext(broker, group);
  if (!ctx) throw new BrokerError(ErrorCode.BAD_REQUEST, `consumer group "${group}" does not exist`);
  const topics = new Set<string>();
  for (const m of Object.values(ctx.members)) for (const t of Object.keys(m.subscriptions)) topics.add(t);
  for (const key of Object.keys(ctx.offsets)) topics.add(key.slice(0, key.lastIndexOf(":")));
  const { store } = broker;
  const queues = [];
  let totalLag = 0;
  for (const topic of [...topics].sort()) {
    const t = broker.topics[topic];
    if (!t) continue;
    for (let queueId = 0; queueId < t.queues; queueId++) {
      const brokerOffset = store.maxOffset(topic, queueId);
      const consumerOffset = committedOffset(broker, group, topic, queueId);
      const lag = Math.max(0, brokerOffset - Math.max(0, consumerOffset));
      totalLag += lag;
      queues.push({ topic, queueId, brokerOffset, consumerOffset, lag, lastTimestamp: store.lastStoreTimestamp(topic, queueId) });
    }
  }
  const members = Object.entries(ctx.members).map(([clientId, m]) => ({ clientId, model: m.model, subscriptions: m.subscriptions }));
  broker.reply(conn, req.id, { group, queues, totalLag, members });
}

/** Moves a group to the first message stored at or after a time, on every queue of a topic. */
export function resetOffset(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  const topic = required<string>(req, "topic", "string");
  const timestamp = required<number>(req, "timestamp", "uint");
  const t = broker.topicForRead(topic);
  const offsets: Record<number, number> = {};
  for (let q = 0; q < t.queues; q++) offsets[q] = broker.store.offsetForTimestamp(topic, q, timestamp);
  let left = t.queues;
  let failed: BrokerError | undefined;
  for (let q = 0; q < t.queues; q++) {
    commitOffset(broker, group, topic, q, offsets[q], (err) => {
      failed ??= err;
      if (--left > 0) return;
      if (failed) return broker.replyError(conn, req.id, failed);
      // Members drop what they hold of this topic and pull again from the new offsets.
      broker.push(Object.keys(groupContext(broker, group)?.members ?? {}), { op: "resetOffset", group, topic, offsets });
      broker.reply(conn, req.id, { group, topic, offsets });
    });
  }
}

export function groupContext(broker: Broker, group: string): GroupContext | undefined {
  return broker.root.system.get(groupActorId(group))?.getSnapshot().context as GroupContext | undefined;
}

function checkGroupHeartbeat(g: unknown, i: number): GroupHeartbeat {
  if (g === null || typeof g !== "object" || Array.isArray(g)) throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}] must be a map`);
  const { group, model = "clustering", subscriptions = {} } = g as Record<string, unknown>;
  if (typeof group !== "string") throw new BrokerError(group === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}].group must be a string`);
  checkTopicName(group); // group names follow the topic rules
  if (model !== "clustering" && model !== "broadcasting") throw new BrokerError(ErrorCode.BAD_REQUEST, `heartbeat: model must be "clustering" or "broadcasting"`);
  if (subscriptions === null || typeof subscriptions !== "object" || Array.isArray(subscriptions)) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: consumerGroups[${i}].subscriptions must be a map of topic to expression`);
  }
  for (const [topic, expr] of Object.entries(subscriptions)) {
    checkTopicName(topic);
    if (typeof expr !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `heartbeat: the expression for "${topic}" must be a string`);
    parseSubscription(expr);
  }
  return { group, model, subscriptions: subscriptions as Record<string, string> };
}
