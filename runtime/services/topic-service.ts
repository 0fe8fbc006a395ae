// The topic table (RocketMQ's TopicConfigManager): lookups for reads and writes, auto-creation
// on a first send, round-robin queue choice, and creation, which spawns the queue actors and
// rewrites config/topics.cbor so a created topic survives a crash between snapshots.
import { BrokerError, ErrorCode, isSystemTopic } from "../../protocol/mod.ts";
import { PERM_RW, type TopicConfig } from "../../actors/broker.machine.ts";
import type { Actors, Topics } from "../context.ts";
import type { TopicFile } from "./topic-file.ts";

export interface TopicServiceDeps {
  actors: Actors;
  /** The table as the root actor holds it. */
  table(): Record<string, TopicConfig>;
  file: TopicFile;
  defaultQueues: number;
  /** Called after every change of a topic (the name-server registration and the subscribers follow it). */
  changed(topic: string): void;
  /** The store makes each queue's ConsumeQueue directory: queue counts survive losing the topic table. */
  declareQueues(topic: string, queues: number): void;
}

export class TopicService implements Topics {
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly deps: TopicServiceDeps) {}

  get(topic: string): TopicConfig | undefined {
    return this.deps.table()[topic];
  }

  all(): Record<string, TopicConfig> {
    return this.deps.table();
  }

  forWrite(topic: string): TopicConfig {
    const existing = this.get(topic);
    if (existing) return existing;
    this.create(topic, this.deps.defaultQueues, PERM_RW);
    return this.get(topic)!;
  }

  forRead(topic: string, queueId?: number): TopicConfig {
    const t = this.get(topic);
    if (!t) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic}" does not exist`);
    if (queueId !== undefined && queueId >= t.queues) {
      throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `topic "${topic}" has ${t.queues} queues; queue ${queueId} does not exist`);
    }
    return t;
  }

  nextQueue(topic: string, queues: number): number {
    const n = (this.roundRobin.get(topic) ?? -1) + 1;
    this.roundRobin.set(topic, n);
    return n % queues;
  }

  create(topic: string, queues: number, perm: number): Promise<void> {
    this.deps.actors.send({ type: "CREATE_TOPIC", topic, queues, perm, ...(isSystemTopic(topic) ? { system: true } : {}) });
    this.deps.declareQueues(topic, this.get(topic)?.queues ?? queues);
    // Topic config is tiny and rare: keep it on disk at once so a crash between snapshots keeps it.
    const saved = this.save();
    this.deps.changed(topic);
    return saved;
  }

  ensureQueueSoon(topic: string, queueId: number, then?: () => void): void {
    // The root may be busy with the very transition that asks: create right after it.
    queueMicrotask(() => {
      const t = this.get(topic);
      if (!t || t.queues <= queueId) this.create(topic, Math.max(queueId + 1, t?.queues ?? this.deps.defaultQueues), t?.perm ?? PERM_RW);
      then?.();
    });
  }

  /** The table config/topics.cbor holds (read at start-up). */
  load(): Record<string, TopicConfig> {
    return this.deps.file.load();
  }

  /** Rewrites config/topics.cbor if the table changed; resolves once it is on disk. */
  save(): Promise<void> {
    return this.deps.file.save(this.all());
  }
}
