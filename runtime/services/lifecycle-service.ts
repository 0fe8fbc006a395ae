// Topics and consumer groups going away (RocketMQ's deleteTopic and deleteSubscriptionGroup).
//
// deleteTopic writes, alone in one append batch and after everything sent before it, a record in
// RMQ_SYS_TOPIC_DELETIONS (the store drops the topic's queues as it writes it, and again whenever
// it rebuilds or replicates queues from the CommitLog: the records below it never come back) and
// a record in RMQ_SYS_CONSUMER_OFFSETS (every group forgets its offsets of the topic, also when
// the commits after a snapshot are replayed). Then the topic leaves the table and config/topics.log,
// its queue actors stop (held pulls answered), and the name servers hear the new table. The
// bytes stay in the CommitLog until retention deletes their segments.
//
// deleteSubGroup writes a record in RMQ_SYS_CONSUMER_OFFSETS (its group actor and POP actor stop,
// its offsets with them, also on replay), forgets the group's settings, and, as RocketMQ's
// mqadmin deleteSubGroup does, deletes its %RETRY% and %DLQ% topics unless asked to keep them.
import { BrokerError, DLQ_PREFIX, encode, ErrorCode, RETRY_PREFIX, TOPIC_DELETIONS_TOPIC, topicKind } from "../../protocol/mod.ts";
import type { AppendItem } from "../../storage/message-store.ts";
import type { Actors, Appender, Clock, Lifecycle, Topics } from "../context.ts";

export interface LifecycleServiceDeps {
  clock: Clock;
  topics: Topics;
  appends: Appender;
  actors: Actors;
  /** The RMQ_SYS_CONSUMER_OFFSETS records (OffsetService). */
  offsets: { forgetTopicItem(topic: string): AppendItem; deleteGroupItem(group: string): AppendItem };
  /** The groups' settings (SubscriptionGroups). */
  settings: { remove(group: string): Promise<void> };
}

export class LifecycleService implements Lifecycle {
  constructor(private readonly deps: LifecycleServiceDeps) {}

  deleteTopic(topic: string): Promise<void> {
    const { topics, appends, actors, offsets } = this.deps;
    if (!topics.get(topic)) return Promise.reject(new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `deleteTopic: topic "${topic}" does not exist`));
    if (topicKind(topic) === "system") return Promise.reject(new BrokerError(ErrorCode.BAD_REQUEST, `deleteTopic: "${topic}" is one of the broker's own topics and cannot be deleted`));
    if (!topics.get(TOPIC_DELETIONS_TOPIC)) topics.ensureQueue(TOPIC_DELETIONS_TOPIC, 0);
    const items = [this.record(topic), offsets.forgetTopicItem(topic)];
    return new Promise((resolve, reject) => {
      let removed: Promise<void> | null = null;
      appends.appendAlone(
        items,
        (results) => {
          const failed = results.find((r) => r instanceof BrokerError);
          if (failed) return reject(failed);
          (removed ?? Promise.resolve()).then(resolve, reject);
        },
        // In the turn of the write: the store has dropped the queues; nothing reaches the old ones after this.
        () => {
          removed = topics.remove(topic);
          actors.send({ type: "FORGET_TOPIC", topic });
        },
      );
    });
  }

  async deleteGroup(group: string, keepRetryTopics = false): Promise<string[]> {
    const { appends, actors, offsets, settings, topics } = this.deps;
    await new Promise<void>((resolve, reject) => {
      appends.appendAlone(
        [offsets.deleteGroupItem(group)],
        (results) => (results[0] instanceof BrokerError ? reject(results[0]) : resolve()),
        () => actors.send({ type: "DELETE_GROUP", group }),
      );
    });
    await settings.remove(group);
    const deleted: string[] = [];
    if (!keepRetryTopics) {
      for (const topic of [RETRY_PREFIX + group, DLQ_PREFIX + group]) {
        if (!topics.get(topic)) continue;
        await this.deleteTopic(topic);
        deleted.push(topic);
      }
    }
    return deleted;
  }

  private record(topic: string): AppendItem {
    const now = this.deps.clock.now();
    const id = `delete:${topic}:${now}`;
    return { topic: TOPIC_DELETIONS_TOPIC, queueId: 0, bytes: encode({ topic: TOPIC_DELETIONS_TOPIC, body: topic, id, born: now }), tagsCode: 0, msgId: id };
  }
}
