// Topic administration, routes and message lookup.
import { BrokerError, CborWriter, checkTopicName, ErrorCode, type Request } from "../../protocol/mod.ts";
import { PERM_RW } from "../../actors/broker.machine.ts";
import type { StoredRecord } from "../../storage/message-store.ts";
import { optional, required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";
import pkg from "../../package.json" with { type: "json" };
import { clusterListVia } from "./namesrv.ts";

const MAX_QUEUES = 1024;

export function createTopic(broker: Broker, conn: Connection, req: Request): void {
  const topic = checkTopicName(required<string>(req, "topic", "string"));
  const queues = optional(req, "queues", "uint", broker.config.defaultQueues);
  const perm = optional(req, "perm", "uint", PERM_RW);
  if (queues < 1 || queues > MAX_QUEUES) throw new BrokerError(ErrorCode.BAD_REQUEST, `createTopic: "queues" must be 1..${MAX_QUEUES}`);
  if (perm > 7) throw new BrokerError(ErrorCode.BAD_REQUEST, `createTopic: "perm" is a bit set 0..7 (4 read, 2 write)`);
  // Answered once topics.cbor holds it: a created topic survives a SIGKILL right after.
  const saved = broker.createTopic(topic, queues, perm);
  const t = broker.topics[topic];
  saved.then(() => broker.reply(conn, req.id, { topic, queues: t.queues, perm: t.perm }));
}

export function topicList(broker: Broker, conn: Connection, req: Request): void {
  const system = optional(req, "system", "boolean", false);
  const topics = Object.entries(broker.topics)
    .filter(([, t]) => system || !t.system)
    .map(([topic, t]) => ({ topic, queues: t.queues, perm: t.perm }));
  broker.reply(conn, req.id, { topics });
}

export function topicStatus(broker: Broker, conn: Connection, req: Request): void {
  const topic = required<string>(req, "topic", "string");
  const t = broker.topicForRead(topic);
  const { store } = broker;
  const queues = Array.from({ length: t.queues }, (_, queueId) => ({
    queueId,
    minOffset: store.minOffset(topic, queueId),
    maxOffset: store.maxOffset(topic, queueId),
    lastStoreTimestamp: store.lastStoreTimestamp(topic, queueId),
  }));
  broker.reply(conn, req.id, { topic, queues });
}

/** The brokers of this cluster: a standalone broker (the only mode so far) answers with itself. */
export function clusterList(broker: Broker, conn: Connection, req: Request): void {
  if (broker.namesrv) return broker.reply(conn, req.id, clusterListVia(broker, broker.namesrv));
  const now = broker.platform.clock.now();
  broker.reply(conn, req.id, {
    mode: "standalone",
    brokers: [{
      name: broker.config.brokerName,
      address: broker.address,
      topics: Object.values(broker.topics).filter((t) => !t.system).length,
      version: pkg.version,
      runtime: broker.platform.name,
      startedAt: broker.startedAt,
      uptimeMs: now - broker.startedAt,
    }],
  });
}

export function queryRoute(broker: Broker, conn: Connection, req: Request): void {
  if (broker.namesrv) return broker.reply(conn, req.id, broker.namesrv.queryRoute(req));
  const topic = required<string>(req, "topic", "string");
  const t = broker.topicForRead(topic);
  broker.reply(conn, req.id, {
    topic,
    brokers: [{ name: broker.config.brokerName, address: broker.address, queues: t.queues, perm: t.perm }],
  });
}

export function queryMessage(broker: Broker, conn: Connection, req: Request): void {
  const msgId = optional<string | undefined>(req, "msgId", "string", undefined);
  const max = Math.min(1000, optional(req, "max", "uint", 32));
  let records: StoredRecord[];
  if (msgId !== undefined) records = broker.store.queryById(msgId).slice(0, max);
  else {
    const topic = required<string>(req, "topic", "string");
    const key = required<string>(req, "key", "string");
    records = broker.store.queryByKey(topic, key, max);
  }
  const w = new CborWriter();
  w.map(3).text("id").value(req.id).text("code").int(0).text("msgs").array(records.length);
  for (const r of records) {
    w.array(8).text(broker.store.topicOf(r)).int(r.queueId).int(r.queueOffset).int(r.commitLogOffset)
      .int(r.storeTimestamp).int(r.reconsumeTimes).int(r.flags).raw(r.message);
  }
  if (conn.open) conn.socket.send(w.bytes());
}
