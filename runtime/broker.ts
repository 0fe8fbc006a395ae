// One broker instance: the MessageStore, the root actor and its children, snapshots, and the
// WebSocket server. Everything hangs off this object (no globals), so tests run two in a process.
import { type Actor, createActor } from "xstate";
import { BrokerError, encode, ErrorCode, isSystemTopic, type RequestId } from "../protocol/mod.ts";
import { type BrokerEvent, createBrokerMachine, PERM_RW, type TopicConfig } from "../actors/broker.machine.ts";
import { mergeTransactionShards } from "../actors/transactions.logic.ts";
import { MessageStore } from "../storage/message-store.ts";
import { SnapshotStore } from "../storage/snapshot-store.ts";
import type { BrokerConfig } from "./config.ts";
import type { Platform, Server, ServerSocket } from "./platform.ts";
import { AppendPipeline } from "./ops/append-pipeline.ts";
import { PullService } from "./ops/consume.ts";
import { replayOffsetCommits } from "./ops/offsets.ts";
import { releaseLocksOfLeft } from "./ops/order-locks.ts";
import { Metrics } from "./metrics.ts";
import { ScheduleService, scheduleTagsCode } from "./ops/schedule.ts";
import { TimerService } from "./ops/timer.ts";
import { TransactionService } from "./ops/transaction.ts";
import { createConnectionHandlers } from "./server.ts";
import { InspectService } from "./inspect.ts";
import { InspectorAssets } from "./inspector-assets.ts";
import { recoveryProgress } from "./recovery-progress.ts";
import { TopicFile } from "./topic-file.ts";
import type { NameServer } from "./namesrv.ts";
import type { BrokerRegistrar } from "./broker-registration.ts";
import { joinCluster } from "./broker-cluster.ts";

export interface Connection {
  id: string;
  socket: ServerSocket;
  open: boolean;
  clientId?: string;
  /** Consumer groups this connection's client heartbeats for: it leaves them when it closes. */
  groups: Set<string>;
}

type RootActor = Actor<ReturnType<typeof createBrokerMachine>>;

export class Broker {
  readonly connections = new Map<string, Connection>();
  readonly appends: AppendPipeline;
  readonly pulls: PullService;
  readonly schedule: ScheduleService;
  readonly timer: TimerService;
  readonly inspector: InspectService;
  private inspectorAssets?: InspectorAssets;
  readonly transactions: TransactionService;
  root!: RootActor;
  private server?: Server;
  private snapshotting: Promise<void> = Promise.resolve();
  private closing = false;
  private roundRobin = new Map<string, number>();
  readonly startedAt: number;
  /** The embedded name server of a standalone broker. */
  namesrv?: NameServer;
  registrar?: BrokerRegistrar;

  private constructor(
    readonly platform: Platform,
    readonly config: BrokerConfig,
    readonly store: MessageStore,
    private readonly snapshots: SnapshotStore,
    private readonly topicFile: TopicFile,
    readonly metrics: Metrics,
  ) {
    this.startedAt = platform.clock.now();
    this.appends = new AppendPipeline(this);
    this.pulls = new PullService(this);
    this.schedule = new ScheduleService(this);
    this.timer = new TimerService(this);
    this.inspector = new InspectService(this);
    this.transactions = new TransactionService(this);
  }

  static async start(platform: Platform, config: BrokerConfig, log: (line: string) => void = () => {}): Promise<Broker> {
    const { files, clock } = platform;
    const dir = config.dataDir.replace(/\/+$/, "");
    files.mkdir(dir);
    const started = clock.now();
    const metrics = new Metrics();
    const store = MessageStore.open(files, clock, {
      dir,
      segmentSize: config.segmentSize,
      tailBytes: config.tailBytes,
      flush: config.flush,
      flushIntervalMs: config.flushIntervalMs,
      syncFlushTimeoutMs: config.syncFlushTimeoutMs,
      tagsCodeOf: scheduleTagsCode,
      onFlush: (ms) => metrics.flushLatency.observe(ms / 1000),
    }, recoveryProgress(log, clock));
    log(`recovered CommitLog ${store.minCommitLogOffset}..${store.maxCommitLogOffset} in ${clock.now() - started} ms`);
    const broker = new Broker(platform, config, store, new SnapshotStore(files, `${dir}/snapshots`), new TopicFile(files, `${dir}/config`), metrics);
    broker.restore(log);
    broker.inspectorAssets = await InspectorAssets.locate(files, log);
    broker.server = await platform.serve({
      host: config.host,
      port: config.port,
      maxFrameSize: config.maxFrameSize,
      socket: createConnectionHandlers(broker),
      http: (method, path) => broker.http(method, path),
    });
    joinCluster(broker, log);
    return broker;
  }

  get port(): number {
    return this.server?.port ?? this.config.port;
  }

  get address(): string {
    return `ws://${this.config.host}:${this.port}/ws`;
  }

  get topics(): Record<string, TopicConfig> {
    return this.root.getSnapshot().context.topics;
  }

  send(event: BrokerEvent): void {
    this.root.send(event);
  }

  /** The topic's config, creating it with the default queue count when auto-creation applies. */
  topicForWrite(topic: string): TopicConfig {
    const existing = this.topics[topic];
    if (existing) return existing;
    this.createTopic(topic, this.config.defaultQueues, PERM_RW);
    return this.topics[topic];
  }

  topicForRead(topic: string, queueId?: number): TopicConfig {
    const t = this.topics[topic];
    if (!t) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic}" does not exist`);
    if (queueId !== undefined && queueId >= t.queues) {
      throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `topic "${topic}" has ${t.queues} queues; queue ${queueId} does not exist`);
    }
    return t;
  }

  /** Round-robin queue choice for sends that name no queue. */
  nextQueue(topic: string, queues: number): number {
    const n = (this.roundRobin.get(topic) ?? -1) + 1;
    this.roundRobin.set(topic, n);
    return n % queues;
  }

  /** Creates or widens a topic; the promise says when its config is on disk (createTopic answers then). */
  createTopic(topic: string, queues: number, perm: number): Promise<void> {
    this.send({ type: "CREATE_TOPIC", topic, queues, perm, ...(isSystemTopic(topic) ? { system: true } : {}) });
    // Topic config is tiny and rare: keep it on disk at once so a crash between snapshots keeps it.
    const saved = this.topicFile.save(this.topics);
    this.registrar?.topicsChanged();
    return saved;
  }

  reply(conn: Connection, id: RequestId, result: Record<string, unknown>): void {
    if (conn.open) conn.socket.send(encode({ id, code: 0, ...result }));
  }

  replyError(conn: Connection, id: RequestId | null, e: unknown): void {
    const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
    const message = e instanceof Error ? e.message : String(e);
    if (code === ErrorCode.INTERNAL_ERROR) console.error("internal error:", e);
    const details = e instanceof BrokerError ? e.details : undefined;
    if (conn.open) conn.socket.send(encode({ id, code, message, ...details }));
  }

  /** Sends a push frame to every open connection of these clients. */
  push(clientIds: string[], frame: Record<string, unknown>): void {
    const wanted = new Set(clientIds);
    const bytes = encode(frame);
    for (const conn of this.connections.values()) {
      if (conn.open && conn.clientId !== undefined && wanted.has(conn.clientId)) conn.socket.send(bytes);
    }
  }

  /** Captures the tree and its CommitLog offset now, writes it in the background. */
  snapshot(): Promise<void> {
    const snap = {
      version: 1 as const,
      commitLogOffset: this.store.maxCommitLogOffset,
      createdAt: this.platform.clock.now(),
      root: this.root.getPersistedSnapshot(),
    };
    this.snapshotting = this.snapshotting.then(() => this.snapshots.write(snap)).catch((e) => console.error("snapshot failed:", e));
    return this.snapshotting;
  }

  /** Flush, snapshot, close: what SIGINT/SIGTERM do. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.server?.close();
    await this.registrar?.close();
    await this.namesrv?.close();
    await this.appends.drain();
    await this.snapshot();
    this.inspector.close();
    this.root.stop();
    this.timer.close();
    this.transactions.close();
    await this.store.close();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  private restore(log: (line: string) => void): void {
    const { clock } = this.platform;
    const snap = this.snapshots.readNewest(this.store.maxCommitLogOffset);
    if (snap) mergeTransactionShards(snap.root as Parameters<typeof mergeTransactionShards>[0]);
    const machine = createBrokerMachine({
      now: () => clock.now(),
      snapshotIntervalMs: this.config.snapshotIntervalMs,
      snapshot: () => void this.snapshot(),
      releaseHolds: (topic, queueId, holds, reason) => this.pulls.release(topic, queueId, holds, reason),
      restartInput: (id) => this.restartInput(id),
      deliverDue: (level, progress) => this.schedule.deliverDue(level, progress),
      timerTick: () => this.timer.tick(),
      memberExpiryMs: this.config.clientExpiryMs,
      membersChanged: (group, clientIds) => {
        releaseLocksOfLeft(this, group, clientIds);
        this.push(clientIds, { op: "rebalance", group, clientIds });
      },
      checkIntervalMs: this.config.transactionCheckIntervalMs,
      maxChecks: this.config.transactionCheckMax,
      armCheck: (id, at) => this.transactions.armCheck(id, at),
      checkTransaction: (tx) => this.transactions.checkTransaction(tx),
      writeEnd: (tx, action) => this.transactions.writeEnd(tx, action),
    });
    this.root = createActor(machine, { input: { brokerName: this.config.brokerName }, ...(snap ? { snapshot: snap.root as never } : {}) });
    this.root.start();
    if (snap) this.send({ type: "REARM" });
    // Topics: the config file (written on every change) and every queue the store has data for.
    for (const [topic, t] of Object.entries(this.topicFile.load())) this.send({ type: "CREATE_TOPIC", topic, ...t });
    const queues = new Map<string, number>();
    for (const { topic, queueId } of this.store.queueKeys()) queues.set(topic, Math.max(queues.get(topic) ?? 0, queueId + 1));
    for (const [topic, n] of queues) {
      if (!this.topics[topic] || this.topics[topic].queues < n) {
        this.send({ type: "CREATE_TOPIC", topic, queues: Math.max(n, this.topics[topic] ? 0 : this.config.defaultQueues), perm: PERM_RW, ...(isSystemTopic(topic) ? { system: true } : {}) });
      }
    }
    // Offset commits after the snapshot, then every queue's offsets as the store has them now.
    const replayed = replayOffsetCommits(this);
    // Delay levels: actors spawned or configured, progress from the CommitLog, due messages re-put.
    const delayProgress = this.schedule.start();
    // The timing wheel: the timer actor started from the wheel's cursor; seconds missed while down are delivered at once.
    const timer = this.timer.start();
    // Transactions: half and op records after the snapshot replayed, then every one re-armed.
    const tx = this.transactions.start();
    this.send({
      type: "APPEND_BATCH",
      queues: this.store.queueKeys().map(({ topic, queueId }) => [topic, queueId, this.store.maxOffset(topic, queueId), this.store.lastStoreTimestamp(topic, queueId)]),
    });
    this.topicFile.save(this.topics);
    log(`restored ${Object.keys(this.topics).length} topics from ${snap ? `snapshot at ${snap.commitLogOffset}` : "storage alone"}, replayed ${replayed} offset commits, ${delayProgress} delay-level progress records, timer ${timer.behind} s behind${timer.relinked ? ` (${timer.relinked} timers relinked)` : ""}, ${tx.inFlight} transactions in flight (${tx.begun} from half messages after the snapshot, ${tx.ended} ended by op records)`);
  }

  private restartInput(id: string): Record<string, unknown> {
    const [kind, ...rest] = id.split(":");
    if (kind === "queue") {
      const queueId = Number(rest.pop());
      const topic = rest.join(":");
      return {
        topic,
        queueId,
        perm: this.topics[topic]?.perm ?? PERM_RW,
        minOffset: this.store.minOffset(topic, queueId),
        maxOffset: this.store.maxOffset(topic, queueId),
        lastStoreTimestamp: this.store.lastStoreTimestamp(topic, queueId),
      };
    }
    if (kind === "timer") return { ...this.timer.restartInput() };
    if (kind === "delay") return { ...this.schedule.restartInput(Number(rest[0])) };
    if (kind === "txs") return {}; // the transactions actor takes no input
    return { group: rest.join(":") };
  }

  private http(method: string, path: string) {
    if (path === "/health") {
      return {
        status: this.closing ? 503 : 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ status: this.closing ? "closing" : "ok", broker: this.config.brokerName, commitLogOffset: this.store.maxCommitLogOffset }),
      };
    }
    if (path.split("?")[0] === "/metrics" && method === "GET") {
      return { status: 200, headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" }, body: this.metrics.render(this) };
    }
    const page = path.startsWith("/inspector") && method === "GET" ? this.inspectorAssets?.serve(path) : null;
    if (page) return page;
    return { status: 404, headers: { "content-type": "text/plain" }, body: `no such page: ${method} ${path}\n` };
  }
}
