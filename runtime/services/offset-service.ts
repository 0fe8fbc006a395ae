// Committed consumer offsets. A commit is a small record in the CommitLog topic
// RMQ_SYS_CONSUMER_OFFSETS (as Kafka's __consumer_offsets), applied to the group actor right
// after the append: it is as durable as a message, and a restart replays the commits made
// after the last snapshot from that topic's ConsumeQueue. The group actors own the offsets;
// this service writes and replays the records. deleteTopic and deleteSubGroup write records here
// too (a topic's offsets forgotten, a group gone), so a replay applies them in order.
import { BrokerError, CONSUMER_OFFSETS_TOPIC, decode, encode } from "../../protocol/mod.ts";
import { type BrokerEvent, PERM_RW } from "../../actors/broker.machine.ts";
import { offsetKey } from "../../actors/group.machine.ts";
import type { Actors, Appender, Clock, Groups, MessageStore, Offsets, Topics } from "../context.ts";
import type { AppendItem } from "../../storage/message-store.ts";
import { replayQueue } from "./queue-replay.ts";

interface CommitBody {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

/** The other records of the topic: a deleted topic's offsets forgotten by every group, a deleted group. */
type OffsetsBody = CommitBody | { forgetTopic: string } | { deleteGroup: string };

/** What a RMQ_SYS_CONSUMER_OFFSETS record's body tells the group actors (replayed at start, applied on a slave). */
export function offsetsEvent(body: Uint8Array): BrokerEvent {
  const c = decode(body) as OffsetsBody;
  if ("forgetTopic" in c) return { type: "FORGET_TOPIC", topic: c.forgetTopic };
  if ("deleteGroup" in c) return { type: "DELETE_GROUP", group: c.deleteGroup };
  return { type: "COMMIT_OFFSET", group: c.group, topic: c.topic, queueId: c.queueId, offset: c.offset };
}

export interface OffsetServiceDeps {
  clock: Clock;
  store: Pick<MessageStore, "getMessages" | "maxOffset">;
  topics: Topics;
  appends: Appender;
  actors: Actors;
  groups: Groups;
  /** A replicated group's slave keeps commits in memory: the log is its master's. */
  isSlave(): boolean;
}

export class OffsetService implements Offsets {
  constructor(private readonly deps: OffsetServiceDeps) {}

  /** The record of a commit, for a caller that appends it with other records (it creates the topic if it is missing). */
  item(group: string, topic: string, queueId: number, offset: number): AppendItem {
    return this.record({ group, topic, queueId, offset }, `${group}:${topic}:${queueId}`);
  }

  /** deleteTopic's record: every group forgets its offsets of `topic`. */
  forgetTopicItem(topic: string): AppendItem {
    return this.record({ forgetTopic: topic }, `forget:${topic}`);
  }

  /** deleteSubGroup's record: the group's actor stops, its offsets with it. */
  deleteGroupItem(group: string): AppendItem {
    return this.record({ deleteGroup: group }, `delete:${group}`);
  }

  private record(body: OffsetsBody, key: string): AppendItem {
    const { topics, clock } = this.deps;
    if (!topics.get(CONSUMER_OFFSETS_TOPIC)) topics.create(CONSUMER_OFFSETS_TOPIC, 1, PERM_RW);
    const now = clock.now();
    const id = `${key}:${now}`;
    const bytes = encode({ topic: CONSUMER_OFFSETS_TOPIC, body: encode(body), id, born: now });
    return { topic: CONSUMER_OFFSETS_TOPIC, queueId: 0, bytes, tagsCode: 0, msgId: id };
  }

  commit(group: string, topic: string, queueId: number, offset: number, done: (err?: BrokerError) => void): void {
    const { appends, actors } = this.deps;
    if (this.deps.isSlave()) {
      // A consumer reading from a slave while its group has no master: kept in the group actor
      // (and so in the slave's snapshots, should it be promoted), not in a log that is the master's.
      actors.send({ type: "COMMIT_OFFSET", group, topic, queueId, offset });
      return done();
    }
    appends.append(
      [this.item(group, topic, queueId, offset)],
      (results) => done(results[0] instanceof BrokerError ? results[0] : undefined),
      () => actors.send({ type: "COMMIT_OFFSET", group, topic, queueId, offset }),
    );
  }

  /**
   * Moves a group's offset now, for a caller that appends the commit's record (item()) itself with
   * records of its own (POP: the offset moves before the record is written, so the next receive
   * reads on from it; a failed write moves it back).
   */
  apply(group: string, topic: string, queueId: number, offset: number): void {
    this.deps.actors.send({ type: "COMMIT_OFFSET", group, topic, queueId, offset });
  }

  committed(group: string, topic: string, queueId: number, answer: (offset: number) => void): void {
    this.deps.groups.view(group, (view) => answer(view?.offsets[offsetKey(topic, queueId)] ?? -1));
  }

  /** Re-applies the commits recorded from queue offset `from` (where the snapshot left off); returns how many. */
  replay(from: number): number {
    let replayed = 0;
    for (const rec of replayQueue(this.deps.store, CONSUMER_OFFSETS_TOPIC, 0, from, { batch: 1000, bytes: 64 * 1024 * 1024 })) {
      let event: BrokerEvent;
      try {
        event = offsetsEvent((decode(rec.message) as { body: Uint8Array }).body);
      } catch (e) {
        console.error(`${CONSUMER_OFFSETS_TOPIC}: the record at ${rec.commitLogOffset} is unreadable (${(e as Error).message}); skipped`);
        continue;
      }
      this.deps.actors.send(event);
      replayed++;
    }
    return replayed;
  }
}
