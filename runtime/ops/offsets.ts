// Committed consumer offsets. A commit is a small record in the CommitLog topic
// RMQ_SYS_CONSUMER_OFFSETS (as Kafka's __consumer_offsets), applied to the group actor right
// after the append: it is as durable as a message, and a restart replays the commits made
// after the last snapshot from that topic's ConsumeQueue.
import { BrokerError, CONSUMER_OFFSETS_TOPIC, decode, encode, type Request } from "../../protocol/mod.ts";
import { groupActorId, PERM_RW, queueActorId } from "../../actors/broker.machine.ts";
import { offsetKey, type GroupContext } from "../../actors/group.machine.ts";
import { required } from "../args.ts";
import type { Broker, Connection } from "../broker.ts";

interface CommitBody {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

export function commitOffset(broker: Broker, group: string, topic: string, queueId: number, offset: number, done: (err?: BrokerError) => void): void {
  if (!broker.topics[CONSUMER_OFFSETS_TOPIC]) broker.createTopic(CONSUMER_OFFSETS_TOPIC, 1, PERM_RW);
  const body: CommitBody = { group, topic, queueId, offset };
  const now = broker.platform.clock.now();
  const id = `${group}:${topic}:${queueId}:${now}`;
  const bytes = encode({ topic: CONSUMER_OFFSETS_TOPIC, body: encode(body), id, born: now });
  broker.appends.append(
    [{ topic: CONSUMER_OFFSETS_TOPIC, queueId: 0, bytes, tagsCode: 0, msgId: id }],
    (results) => done(results[0] instanceof BrokerError ? results[0] : undefined),
    () => broker.send({ type: "COMMIT_OFFSET", group, topic, queueId, offset }),
  );
}

export function handleCommitOffset(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  const topic = required<string>(req, "topic", "string");
  const queueId = required<number>(req, "queueId", "uint");
  const offset = required<number>(req, "offset", "uint");
  broker.topicForRead(topic, queueId);
  commitOffset(broker, group, topic, queueId, offset, (err) => (err ? broker.replyError(conn, req.id, err) : broker.reply(conn, req.id, {})));
}

export function handleQueryOffset(broker: Broker, conn: Connection, req: Request): void {
  const group = required<string>(req, "group", "string");
  const topic = required<string>(req, "topic", "string");
  const queueId = required<number>(req, "queueId", "uint");
  broker.reply(conn, req.id, { offset: committedOffset(broker, group, topic, queueId) });
}

export function committedOffset(broker: Broker, group: string, topic: string, queueId: number): number {
  const actor = broker.root.system.get(groupActorId(group));
  const ctx = actor?.getSnapshot().context as GroupContext | undefined;
  return ctx?.offsets[offsetKey(topic, queueId)] ?? -1;
}

/** Re-applies the commits recorded after the restored snapshot; returns how many. */
export function replayOffsetCommits(broker: Broker): number {
  const store = broker.store;
  const queueActor = broker.root.system.get(queueActorId(CONSUMER_OFFSETS_TOPIC, 0));
  let offset = (queueActor?.getSnapshot().context.maxOffset as number | undefined) ?? 0;
  const end = store.maxOffset(CONSUMER_OFFSETS_TOPIC, 0);
  let replayed = 0;
  while (offset < end) {
    const r = store.getMessages(CONSUMER_OFFSETS_TOPIC, 0, offset, 1000, 64 * 1024 * 1024);
    if (r.records.length === 0) break;
    for (const rec of r.records) {
      const msg = decode(rec.message) as { body: Uint8Array };
      const c = decode(msg.body) as CommitBody;
      broker.send({ type: "COMMIT_OFFSET", group: c.group, topic: c.topic, queueId: c.queueId, offset: c.offset });
      replayed++;
    }
    offset = r.nextOffset;
  }
  return replayed;
}
