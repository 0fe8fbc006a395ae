// The topic table (RocketMQ's TopicConfigManager), owned here and nowhere else: lookups for
// reads and writes, auto-creation on a first send, round-robin queue choice, and creation,
// which appends the topic to config/topics.log and to its copy config/topics-copy.log (so a
// created topic survives a crash between snapshots, and losing either file) and tells the root
// actor which queue actors the topic needs. The table changes at once, so an
// effect running inside an actor's transition may create the topic it needs and go on: the
// root spawns the queue actors right after, before any append can reach them.
import { BrokerError, ErrorCode, isSystemTopic, topicKind } from "../../protocol/mod.ts";
import { PERM_RW, type TopicConfig } from "../../actors/broker.machine.ts";
import type { Actors, Topics } from "../context.ts";
import type { TopicFile } from "./topic-file.ts";

export interface TopicServiceDeps {
  actors: Actors;
  file: TopicFile;
  /**
   * A second copy of the table (RocketMQ keeps topics.json.bak), folded at its own times: with
   * topics.cbor and the snapshots lost, a topic still comes back with its own queue count. It
   * replaces a ConsumeQueue directory made for each new topic, which cost a third of creating
   * 10,000 topics in mkdirs on this machine's file system.
   */
  copy: TopicFile;
  defaultQueues: number;
  /** --auto-create-topics: a first send to a user topic creates it. */
  autoCreate: boolean;
  /** Called after every change of a topic (the name-server registration and the subscribers follow it). */
  changed(topic: string): void;
  /** Whether the CommitLog holds a deletion of the topic (MessageStore.deletedAt). */
  wasDeleted(topic: string): boolean;
}

export class TopicService implements Topics {
  private readonly table: Record<string, TopicConfig> = {};
  private readonly roundRobin = new Map<string, number>();
  /** Kept as topics come and go: --max-topics is checked before every new topic, and counting the table each time grew with it. */
  private users = 0;

  constructor(private readonly deps: TopicServiceDeps) {}

  get(topic: string): TopicConfig | undefined {
    return this.table[topic];
  }

  all(): Record<string, TopicConfig> {
    return this.table;
  }

  get userCount(): number {
    return this.users;
  }

  forWrite(topic: string): TopicConfig {
    const existing = this.table[topic];
    if (existing) return existing;
    if (!this.deps.autoCreate && topicKind(topic) === "user") {
      throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic}" does not exist, and this broker does not create topics on a first send (--auto-create-topics false): create it first`);
    }
    return this.ensureQueue(topic, this.deps.defaultQueues - 1);
  }

  forRead(topic: string, queueId?: number): TopicConfig {
    const t = this.table[topic];
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
    this.apply(topic, queues, perm);
    // On disk at once (one record appended to each topic log), so a crash between snapshots keeps it.
    const saved = this.save(topic, this.table[topic]);
    this.deps.changed(topic);
    return saved;
  }

  /**
   * deleteTopic's last step, once the store holds the deletion record: the topic leaves the
   * table and config/topics.log, its queue actors stop, the name servers hear the new table.
   * Resolves once the topic log has it.
   */
  remove(topic: string): Promise<void> {
    if (this.table[topic] && topicKind(topic) === "user") this.users--;
    delete this.table[topic];
    this.roundRobin.delete(topic);
    const saved = this.save(topic, null);
    this.deps.actors.send({ type: "DELETE_TOPIC", topic });
    this.deps.changed(topic);
    return saved;
  }

  ensureQueue(topic: string, queueId: number): TopicConfig {
    const t = this.table[topic];
    if (!t || t.queues <= queueId) this.create(topic, Math.max(queueId + 1, t?.queues ?? this.deps.defaultQueues), t?.perm ?? PERM_RW);
    return this.table[topic];
  }

  /**
   * At start-up: the table from config/topics.cbor and its copy, topics only an older snapshot's
   * root held, and every queue the store has data for; the root is told each, to spawn the queue
   * actors the snapshot did not have.
   */
  restore(fromSnapshot: Record<string, TopicConfig>, storeQueues: Iterable<{ topic: string; queueId: number }>): void {
    // Either file may be lost or set aside: a topic in either is kept, with the larger queue count.
    const saved = this.deps.copy.load();
    for (const [topic, t] of Object.entries(this.deps.file.load())) saved[topic] = { ...t, queues: Math.max(t.queues, saved[topic]?.queues ?? 0) };
    // An older snapshot may hold a topic deleted since; the topic logs say what exists now.
    for (const [topic, t] of Object.entries(fromSnapshot)) if (!this.deps.wasDeleted(topic) || saved[topic]) this.apply(topic, t.queues, t.perm, false);
    for (const [topic, t] of Object.entries(saved)) this.apply(topic, t.queues, t.perm, false);
    const queues = new Map<string, number>();
    for (const { topic, queueId } of storeQueues) queues.set(topic, Math.max(queues.get(topic) ?? 0, queueId + 1));
    for (const [topic, n] of queues) {
      const t = this.table[topic];
      if (!t) this.apply(topic, n, PERM_RW, false);
      else if (t.queues < n) this.apply(topic, n, t.perm, false);
    }
    // One event for the whole table: the restored queue actors are there already, the rest are
    // spawned, and those of topics deleted after the snapshot was taken are stopped.
    this.deps.actors.send({ type: "CREATE_TOPICS", topics: Object.entries(this.table).map(([topic, t]) => [topic, t.queues, t.perm]) });
  }

  /** Rewrites config/topics.cbor and its copy with the whole table (and empties the logs); resolves once they are on disk. */
  compact(): Promise<void> {
    return Promise.all([this.deps.file.compact(this.table), this.deps.copy.compact(this.table)]).then(() => {});
  }

  /** One record in each topic log; resolves once the first has it (the copy is not waited for). */
  private save(topic: string, config: TopicConfig | null): Promise<void> {
    const { file, copy } = this.deps;
    const saved = file.save(topic, config);
    void copy.save(topic, config);
    // Folded one at a time, so a crash while one rewrites its table leaves the other whole.
    if (file.wantsCompaction) void file.compact(this.table);
    else if (copy.wantsCompaction) void copy.compact(this.table);
    return saved;
  }

  /** Widens (never narrows) a topic and tells the root (unless `tell` is false: restore tells it once). */
  private apply(topic: string, queues: number, perm: number, tell = true): void {
    const existing = this.table[topic];
    if (!existing && topicKind(topic) === "user") this.users++;
    const config: TopicConfig = { queues: Math.max(existing?.queues ?? 0, queues), perm, ...(isSystemTopic(topic) ? { system: true } : {}) };
    this.table[topic] = config;
    if (tell) this.deps.actors.send({ type: "CREATE_TOPIC", topic, queues: config.queues, perm, ...(existing && existing.perm !== perm ? { permChanged: true } : {}) });
  }
}
