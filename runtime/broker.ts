// One broker instance, and the composition root: it makes the MessageStore, the services and
// the root actor, hands each service the narrow interfaces it uses (runtime/context.ts), wires
// the actors' injected effects to the services, and starts the front-end. Everything hangs off
// this object (no globals), so tests run two in a process.
import { type Actor, type AnyActorRef, createActor } from "xstate";
import { BrokerError, CONSUMER_OFFSETS_TOPIC, ErrorCode, isSystemTopic, type ReplicaInfo, RETRY_PREFIX } from "../protocol/mod.ts";
import { normalizeEndpoint } from "../protocol/endpoint-url.ts";
import { type BrokerEvent, createBrokerMachine, groupActorId, GROUPS_ID, PERM_RW, queueActorId } from "../actors/broker.machine.ts";
import type { GroupsSnapshot } from "../actors/groups.logic.ts";
import type { QueueContext } from "../actors/queue.machine.ts";
import { upgradeSnapshot } from "../actors/snapshot-upgrade.ts";
import { cancelTimers } from "../actors/children.ts";
import { MessageStore } from "../storage/message-store.ts";
import { SnapshotStore } from "../storage/snapshot-store.ts";
import type { HttpHeaders, Platform, Server } from "../platform/platform.ts";
import type { BrokerConfig } from "./config.ts";
import type { Actors, BrokerFacts, Groups, ProcessorContext, Replication, ReplicationOps } from "./context.ts";
import { type Session, SessionRegistry } from "./session.ts";
import { AppendPipeline, queueNotifier } from "./services/append-pipeline.ts";
import { InspectService } from "./services/inspect-service.ts";
import { OverviewService } from "./services/overview-service.ts";
import { MemoryReducer } from "./services/memory-reducer.ts";
import { type GaugeSources, Metrics, type ReplicationGauges } from "./services/metrics.ts";
import { OffsetService } from "./services/offset-service.ts";
import { OrderLockService } from "./services/order-lock-service.ts";
import { ProducerRegistry } from "./services/producer-registry.ts";
import { PullHoldService } from "./services/pull-hold-service.ts";
import { scheduleTagsCode } from "./services/reput.ts";
import { ScheduleService } from "./services/schedule-service.ts";
import { TimerService } from "./services/timer-service.ts";
import { DEAD_LETTER_TOPIC, DeadLetters } from "./services/dead-letter.ts";
import { RetentionService } from "./services/retention-service.ts";
import { TopicFile } from "./services/topic-file.ts";
import { TopicService } from "./services/topic-service.ts";
import { TransactionService } from "./services/transaction-service.ts";
import { webSocketHandlers } from "./transports/websocket.ts";
import { InspectorAssets } from "./inspector-assets.ts";
import { recoveryProgress } from "./recovery-progress.ts";
import { ActorObserver } from "./observer.ts";
import { restoredTree } from "./restored-tree.ts";
import type { NameServer } from "./cluster/name-server.ts";
import type { BrokerRegistrar } from "./cluster/broker-registrar.ts";
import { joinCluster } from "./cluster/join-cluster.ts";
import { PopService } from "./services/pop-service.ts";
import { SubscriptionGroups } from "./services/subscription-groups.ts";
import { LifecycleService } from "./services/lifecycle-service.ts";
import { GrpcEndpoint } from "./transports/grpc/endpoint.ts";
import { topicTableProblem, vetSnapshot } from "./snapshot-shape.ts";
import type { HAService } from "./ha/ha-service.ts";
import type { HAClient } from "./ha/ha-client.ts";
import { notMaster } from "./ha/not-master.ts";

/**
 * standalone: a broker alone (the default); master / slave: a member of a replicated group
 * (--controller), its role given by the controllers (runtime/ha/replica-node.ts).
 */
export type BrokerRole = "standalone" | "master" | "slave";
import type { PeerDial } from "./cluster/peer-link.ts";
import { type SecuritySetup, setupSecurity } from "./security/setup.ts";
import { metricsRefusal } from "./security/http.ts";
import { ConnectionLimits } from "./security/limits.ts";
import { nameServerOrigins } from "./security/origin.ts";

type RootActor = Actor<ReturnType<typeof createBrokerMachine>>;

export class Broker implements BrokerFacts {
  /** Every front-end's open sessions; a front-end registers each one it opens and closes. */
  readonly sessions = new SessionRegistry();
  readonly actors: Actors;
  readonly topics: TopicService;
  /** deleteTopic, deleteSubGroup. */
  readonly lifecycle: LifecycleService;
  readonly appends: AppendPipeline;
  readonly groups: Groups;
  readonly offsets: OffsetService;
  readonly locks: OrderLockService;
  readonly pulls: PullHoldService;
  readonly schedule: ScheduleService;
  readonly timer: TimerService;
  readonly retention: RetentionService;
  private readonly memoryReducer: MemoryReducer;
  readonly producers: ProducerRegistry;
  readonly transactions: TransactionService;
  /** POP consumption (SimpleConsumer, RocketMQ 5 clients) and the subscription groups' settings. */
  readonly pop: PopService;
  /** The gRPC endpoint for RocketMQ 5 clients, when --grpc-port gives one and it could be bound. */
  grpc?: GrpcEndpoint;
  readonly inspector: InspectService;
  readonly overview: OverviewService;
  /** What request handlers get: every service, through its interface. */
  readonly context: ProcessorContext;
  /** Read-only views of the actor tree (gauges, tests). */
  readonly observer: ActorObserver;
  root!: RootActor;
  private inspectorAssets?: InspectorAssets;
  private server?: Server;
  private snapshotting: Promise<void> = Promise.resolve();
  private closing = false;
  readonly startedAt: number;
  /** The embedded name server of a standalone broker. */
  namesrv?: NameServer;
  registrar?: BrokerRegistrar;
  /** A replicated group's master: its slaves, the SyncStateSet, sync acknowledgements. */
  ha?: HAService;
  /** A replicated group's slave: its replication from the master. */
  replica?: HAClient;
  /** A group member's view of its group, for registrations, clusterList, /metrics and the inspector (set by its ReplicaNode). */
  groupInfo?: () => ReplicaInfo;
  /** A group member's suggestion, with each pull answer, of the member to pull that queue from next (set by its ReplicaNode). */
  readSuggestion?: (queueId: number, pulledTo: number | undefined) => number;
  /** Auth, ACL, TLS files and how this broker dials others (runtime/security/). */
  secure!: SecuritySetup;
  private limits?: ConnectionLimits;

  private constructor(
    readonly platform: Platform,
    readonly config: BrokerConfig,
    readonly store: MessageStore,
    private readonly snapshots: SnapshotStore,
    private readonly topicFiles: { file: TopicFile; copy: TopicFile },
    readonly metrics: Metrics,
    public role: BrokerRole,
  ) {
    const { clock } = platform;
    // deno-lint-ignore no-this-alias
    const broker = this;
    this.startedAt = clock.now();
    const isClosing = () => this.closing;
    this.actors = {
      send: (event) => this.root.send(event),
      sendToQueue: (topic, queueId, event) => {
        const queue = this.root.system.get(queueActorId(topic, queueId));
        queue?.send(event);
        return queue !== undefined;
      },
      queueHolds: (topic, queueId) => (this.root.system.get(queueActorId(topic, queueId))?.getSnapshot() as { context: QueueContext } | undefined)?.context.holds ?? [],
    };
    const actors = this.actors;
    this.topics = new TopicService({
      actors,
      ...topicFiles,
      defaultQueues: config.defaultQueues,
      autoCreate: config.autoCreateTopics,
      changed: (topic) => {
        this.registrar?.topicsChanged();
        this.ha?.topicsChanged();
        this.tellSubscribers(topic);
      },
      wasDeleted: (topic) => store.deletedAt(topic) >= 0,
    });
    const topics = this.topics;
    const isSlave = () => this.role === "slave";
    // A group member registers as one from its first registration on (its ReplicaNode then says more).
    if (role !== "standalone") {
      this.groupInfo = () => ({ brokerId: config.brokerId, role: "slave", epoch: 0, masterEpoch: 0, masterId: -1, syncStateSet: [], maxOffset: store.maxCommitLogOffset, replication: config.replication });
    }
    // A group member's part in each write: a slave refuses it, a sync master waits for its set.
    const replication: Replication = {
      checkWritable: () => {
        if (this.role === "slave") throw notMaster(config.brokerName, this.replica?.master);
        this.ha?.checkWritable();
      },
      appended: () => this.ha?.appended(),
      replicated: (end) => (this.ha?.mode === "sync" ? this.ha.waitReplicated(end) : null),
    };
    const replicationOps: ReplicationOps = {
      writeRefusal: () => (this.role === "slave" ? notMaster(config.brokerName, this.replica?.master) : undefined),
      handshake: (session, req) => {
        if (!this.ha) throw this.role === "slave" ? notMaster(config.brokerName, this.replica?.master) : new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "haHandshake: this broker is not master yet");
        return this.ha.handshake(session, req as never);
      },
      ack: (session, offset) => this.ha?.ack(session, offset),
    };
    this.appends = new AppendPipeline({ store, afterTurn: (fn) => platform.afterTurn(fn), sendGathered: () => platform.sendGathered(), flush: config.flush, ...(role !== "standalone" ? { replication } : {}) });
    const appends = this.appends;
    // The group actor answers for itself (no group actor: the root answers undefined).
    this.groups = {
      view: (group, reply) => actors.send({ type: "VIEW", group, reply }),
      // For --max-groups: whether the group has an actor, and how many do (the system's registry).
      exists: (group) => this.root.system.get(groupActorId(group)) !== undefined,
      count: () => (this.root.system.get(GROUPS_ID)?.getSnapshot() as GroupsSnapshot | undefined)?.size ?? 0,
    };
    this.offsets = new OffsetService({ clock, store, topics, appends, actors, groups: this.groups, isSlave });
    this.locks = new OrderLockService({ clock, actors, expiryMs: config.orderLockExpiryMs });
    const sessions = this.sessions;
    this.pulls = new PullHoldService({
      clock,
      store,
      actors,
      sessions,
      delivered: (topic, n, bytes) => metrics.delivered(topic, n, bytes),
      suggest: (queueId, pulledTo) => this.readSuggestion?.(queueId, pulledTo),
    });
    const deadLetters = new DeadLetters({ refusal: (item) => store.refusal(item), ensureTopic: () => void topics.ensureQueue(DEAD_LETTER_TOPIC, 0) });
    this.schedule = new ScheduleService({ clock, delayLevels: config.delayLevels, store, topics, appends, actors, isClosing, isSlave, deadLetters });
    this.timer = new TimerService({
      deadLetters,
      clock,
      files: platform.files,
      dir: `${config.dataDir.replace(/\/+$/, "")}/timer`,
      maxDelayMs: config.timerMaxDelayMs,
      store,
      topics,
      appends,
      actors,
      isClosing,
    });
    this.producers = new ProducerRegistry();
    this.retention = new RetentionService({
      clock,
      store,
      actors,
      holds: (answer) => this.retentionHolds(answer),
      dropDeliveredTimers: () => this.timer.dropDelivered(),
      reservedMs: config.fileReservedTimeMs,
      deleteWhen: config.deleteWhen,
      diskMaxUsedRatio: config.diskMaxUsedSpaceRatio,
      intervalMs: config.cleanIntervalMs,
    });
    this.memoryReducer = new MemoryReducer({
      clock,
      // Offset commits are no traffic (a consumer's last one comes seconds after a burst); a
      // slave's messages come by replication, past the append pipeline's dispatchers.
      activity: () =>
        metrics.messagesIn - (metrics.topics.get(CONSUMER_OFFSETS_TOPIC)?.msgsIn ?? 0) + metrics.messagesOut + (this.role === "slave" ? store.maxCommitLogOffset : 0),
      releaseCaches: () => store.releaseMemory(),
      // Looked up only for a reducer that runs: the trim loads an FFI library.
      ...(config.idleGcMs > 0 && { collectGarbage: platform.collectGarbage(), trimAllocator: platform.trimAllocator() }),
      rss: () => platform.memoryUsage().rss,
      idleMs: config.idleGcMs,
    });
    this.transactions = new TransactionService({
      clock,
      store,
      topics,
      appends,
      actors,
      producers: this.producers,
      timeoutMs: config.transactionTimeoutMs,
      checkIntervalMs: config.transactionCheckIntervalMs,
      isSlave,
    });
    const settings = new SubscriptionGroups(platform.files, `${config.dataDir.replace(/\/+$/, "")}/config`);
    this.pop = new PopService({
      clock,
      store,
      topics,
      appends,
      timer: this.timer,
      maxPollMs: config.maxPollMs,
      groups: this.groups,
      offsets: this.offsets,
      toPop: (group, event) => actors.send({ type: "POP", group, event }),
    }, settings);
    this.lifecycle = new LifecycleService({ clock, topics, appends, actors, offsets: this.offsets, settings });
    this.timer.checkpoints = this.pop;
    this.observer = new ActorObserver(() => this.root as unknown as AnyActorRef);
    this.overview = new OverviewService({
      clock,
      facts: this,
      dataDir: config.dataDir,
      store,
      topics,
      topicCounters: () => metrics.topics,
      root: () => this.root as unknown as AnyActorRef,
      connections: () => this.sessions.size,
      inspectors: () => this.inspector.subscriberCount,
      transactionsInFlight: () => this.observer.transactionsInFlight(),
      memory: () => platform.memoryUsage(),
      disk: () => platform.files.diskUsage(config.dataDir),
    });
    this.inspector = new InspectService({
      clock,
      brokerName: config.brokerName,
      root: () => this.root as unknown as AnyActorRef,
      overview: () => this.overview.build(),
    });
    // In this order, in the turn of each write: the wheel links its timers, half messages get
    // their transaction actors, the counters count, and the queue actors hear of it last.
    appends.addDispatcher(this.timer);
    appends.addDispatcher(this.transactions);
    appends.addDispatcher(metrics);
    appends.addDispatcher(queueNotifier(actors, this.pulls));
    appends.addDispatcher(this.pop); // wakes POP receives waiting on a touched topic
    this.context = {
      retention: { run: (force, answer) => this.retention.run(force, answer) },
      lifecycle: this.lifecycle,
      config,
      clock,
      store,
      facts: this,
      metrics,
      actors,
      topics,
      appends,
      groups: this.groups,
      offsets: this.offsets,
      locks: this.locks,
      pulls: this.pulls,
      schedule: this.schedule,
      timer: this.timer,
      transactions: this.transactions,
      pop: this.pop,
      producers: this.producers,
      inspector: this.inspector,
      sessions,
      get namesrv() {
        return broker.namesrv;
      },
      replication: role !== "standalone" ? replicationOps : undefined,
      get security() {
        return broker.secure.security;
      },
    };
    // A session that ends leaves its consumer groups at once (RocketMQ does so on channel
    // close), its producer groups and its inspect subscription.
    sessions.onClose((session) => this.sessionClosed(session));
  }

  static async start(platform: Platform, config: BrokerConfig, log: (line: string) => void = () => {}, role: BrokerRole = "standalone"): Promise<Broker> {
    const { files, clock } = platform;
    const secure = setupSecurity(platform, config, log); // bad files fail here, before storage is touched
    const dir = config.dataDir.replace(/\/+$/, "");
    files.mkdir(dir);
    const started = clock.now();
    const metrics = new Metrics();
    const store = MessageStore.open(files, clock, {
      crc32: platform.crc32,
      dir,
      segmentSize: config.segmentSize,
      tailBytes: config.tailBytes,
      flush: config.flush,
      flushIntervalMs: config.flushIntervalMs,
      syncFlushTimeoutMs: config.syncFlushTimeoutMs,
      tagsCodeOf: scheduleTagsCode,
      onFlush: (ms) => metrics.flushLatency.observe(ms / 1000),
      lock: { probe: platform.process, owner: `broker ${config.brokerName}, port ${config.port}` },
      disk: { warningRatio: config.diskWarningRatio, fullRatio: config.diskFullRatio },
    }, recoveryProgress(log, clock));
    log(`recovered CommitLog ${store.minCommitLogOffset}..${store.maxCommitLogOffset} in ${clock.now() - started} ms`);
    const broker = new Broker(platform, config, store, new SnapshotStore(files, `${dir}/snapshots`, 3, vetSnapshot), topicFiles(files, `${dir}/config`, config), metrics, role);
    broker.secure = secure;
    broker.restore(log);
    broker.inspectorAssets = await InspectorAssets.locate(files, log);
    broker.limits = new ConnectionLimits(config, secure.security.counters, clock, log);
    broker.server = await platform.serve({
      host: config.host,
      port: config.port,
      tls: secure.tls,
      maxFrameSize: config.maxFrameSize,
      socket: webSocketHandlers(broker.context, broker.sessions, { limits: broker.limits, allowedOrigins: [...config.allowedOrigins, ...nameServerOrigins(config.namesrvAddrs)] }),
      http: (method, path, headers) => broker.http(method, path, headers),
    });
    if (config.grpcPort) {
      broker.grpc = await GrpcEndpoint.start(broker.context, broker.sessions, {
        host: config.host,
        port: config.grpcPort,
        tls: secure.tls,
        // In a cluster, routes and assignments name every broker of the topic (the name servers know them).
        clusterRoute: config.namesrvAddrs.length > 0 ? (topic) => broker.registrar!.queryRoute(topic) : undefined,
      });
      if (broker.grpc) log(`gRPC (apache.rocketmq.v2, RocketMQ 5 clients) on ${broker.grpc.address(config.host)}`);
    }
    const cluster = joinCluster(broker, log);
    broker.namesrv = cluster.namesrv;
    broker.registrar = cluster.registrar;
    cluster.registrar.start();
    broker.retention.start();
    broker.memoryReducer.start();
    return broker;
  }

  get port(): number {
    return this.server?.port ?? this.config.port;
  }

  /** The address clients are given (routes, registrations): --advertised-address, else where it listens. */
  get address(): string {
    return this.config.advertisedAddress ? normalizeEndpoint(this.config.advertisedAddress) : this.listenAddress;
  }

  /** The gRPC endpoint clients are given in routes: the advertised (else listening) host and the gRPC port. */
  get grpcAddress(): string | undefined {
    if (!this.grpc) return undefined;
    const host = new URL(this.address).hostname;
    return `${host}:${this.grpc.port}`;
  }

  get listenAddress(): string {
    return `${this.secure.tls ? "wss" : "ws"}://${this.config.host}:${this.port}/ws`;
  }

  /** How this broker dials name servers and other brokers. */
  get dial(): PeerDial {
    return this.secure.dial;
  }

  get brokerName(): string {
    return this.config.brokerName;
  }

  get runtime(): string {
    return this.platform.name;
  }

  /** A slave takes no writes: its log is its master's. */
  get isSlave(): boolean {
    return this.role === "slave";
  }

  /**
   * A slave promoted in place: what restore skipped on a slave starts now (the timer firing from
   * the wheel it kept linking, the delay levels from their progress records, transaction checks
   * re-armed). Everything else (queues, offsets, transactions in flight) the slave kept current.
   */
  becomeMaster(): { timerBehind: number; delayLevels: number } {
    this.role = "master";
    this.timer.close();
    const t = this.timer.start();
    const delayLevels = this.schedule.start(restoredTree(undefined));
    this.send({ type: "TX_REARM" });
    return { timerBehind: t.behind, delayLevels };
  }

  send(event: BrokerEvent): void {
    this.root.send(event);
  }

  /**
   * A topic was created or widened: the groups whose members subscribe to it rebalance now, as
   * on a membership change, so a consumer started before its topic existed takes its queues at
   * once (not at its next periodic rebalance). The groups are those of the open sessions whose
   * heartbeats name the topic: asking every connected group made each create cost a question per group.
   */
  private tellSubscribers(topic: string): void {
    for (const group of this.sessions.groupsSubscribing(topic)) {
      this.groups.view(group, (view) => {
        if (!view || !Object.values(view.members).some((m) => topic in m.subscriptions)) return;
        const clientIds = Object.keys(view.members).sort();
        this.sessions.push(clientIds, { op: "rebalance", group, clientIds });
      });
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
    this.replica?.stop();
    this.ha?.close();
    await this.server?.close();
    await this.grpc?.close();
    await this.registrar?.close();
    await this.namesrv?.close();
    await this.appends.drain();
    await this.snapshot();
    this.inspector.close();
    cancelTimers(this.root.system); // before the stop, which would otherwise search them once per actor
    this.root.stop();
    this.timer.close();
    this.retention.close();
    this.memoryReducer.close();
    this.transactions.close();
    this.limits?.close();
    this.secure.security.close();
    await Promise.all([this.topicFiles.file.close(), this.topicFiles.copy.close()]);
    await this.store.close();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  private sessionClosed(session: Session): void {
    this.inspector.unsubscribe(session);
    for (const group of session.groups) this.send({ type: "UNREGISTER", group, clientId: session.clientId! });
    this.producers.closed(session);
    this.ha?.connectionClosed(session);
  }

  private restore(log: (line: string) => void): void {
    const { clock } = this.platform;
    const snap = this.snapshots.readNewest(this.store.maxCommitLogOffset);
    const oldTopics = snap ? upgradeSnapshot(snap.root) : {};
    const restored = restoredTree(snap?.root);
    const machine = createBrokerMachine({
      now: () => clock.now(),
      snapshotIntervalMs: this.config.snapshotIntervalMs,
      snapshot: () => void this.snapshot(),
      releaseHolds: (topic, queueId, holds, reason) => this.pulls.release(topic, queueId, holds, reason),
      restartInput: (id, last) => this.restartInput(id, last),
      deliverDue: (level, progress) => this.schedule.deliverDue(level, progress),
      timerTick: () => this.timer.tick(),
      memberExpiryMs: this.config.clientExpiryMs,
      membersChanged: (group, clientIds, topics) => {
        // Order locks of departed members are freed now, rather than at their expiry.
        this.send({ type: "RELEASE_LEFT", group, members: clientIds, topics: [...topics, RETRY_PREFIX + group] });
        this.sessions.push(clientIds, { op: "rebalance", group, clientIds });
      },
      checkIntervalMs: this.config.transactionCheckIntervalMs,
      maxChecks: this.config.transactionCheckMax,
      armCheck: (id, at) => this.transactions.armCheck(id, at),
      checkTransaction: (tx) => this.transactions.checkTransaction(tx),
      writeEnd: (tx, action, answer) => this.transactions.writeEnd(tx, action, answer),
      notInFlight: (id, answer) => this.transactions.notInFlight(id, answer),
      popWaitersDue: (group, waiters, reason) => this.pop.waitersDue(group, waiters, reason),
    });
    this.root = createActor(machine, { input: { brokerName: this.config.brokerName }, ...(snap ? { snapshot: snap.root as never } : {}) });
    this.root.start();
    if (snap) this.send({ type: "REARM" });
    // Topics: the config file (written on every change) and every queue the store has data for.
    const { topics } = this;
    topics.restore(oldTopics, this.store.queueKeys());
    // Offset commits after the snapshot, then every queue's offsets as the store has them now.
    const replayed = this.offsets.replay(restored.queueMaxOffset(CONSUMER_OFFSETS_TOPIC, 0));
    // Delay levels: actors spawned or configured, progress from the CommitLog, due messages re-put.
    // A slave delivers nothing (its master does): it starts them when it is promoted.
    const delayProgress = this.isSlave ? 0 : this.schedule.start(restored);
    // The timing wheel: the timer actor started from the wheel's cursor; seconds missed while down are delivered at once.
    // A slave's wheel only links what it replicates.
    const timer = this.isSlave ? this.timer.follow() : this.timer.start();
    // Transactions: half and op records after the snapshot replayed, then every one re-armed.
    const tx = this.transactions.start(restored);
    // Queues that never held a message (most, on a broker with tens of thousands) have nothing to learn.
    this.send({
      type: "APPEND_BATCH",
      queues: this.store.queueKeys().filter(({ topic, queueId }) => this.store.maxOffset(topic, queueId) > 0)
        .map(({ topic, queueId }) => [topic, queueId, this.store.maxOffset(topic, queueId), this.store.lastStoreTimestamp(topic, queueId)]),
    });
    void topics.compact();
    log(`restored ${Object.keys(topics.all()).length} topics from ${snap ? `snapshot at ${snap.commitLogOffset}` : "storage alone"}, replayed ${replayed} offset commits, ${delayProgress} delay-level progress records, timer ${timer.behind} s behind${timer.relinked ? ` (${timer.relinked} timers relinked)` : ""}, ${this.observer.transactionsInFlight()} transactions in flight (${tx.begun} from half messages after the snapshot, ${tx.ended} ended by op records)`);
  }

  private restartInput(id: string, last: Record<string, unknown> | undefined): Record<string, unknown> {
    const [kind, ...rest] = id.split(":");
    if (kind === "queue") {
      const queueId = Number(rest.pop());
      const topic = rest.join(":");
      return {
        topic,
        queueId,
        perm: this.topics.get(topic)?.perm ?? PERM_RW,
        minOffset: this.store.minOffset(topic, queueId),
        maxOffset: this.store.maxOffset(topic, queueId),
        lastStoreTimestamp: this.store.lastStoreTimestamp(topic, queueId),
      };
    }
    if (kind === "timer") return { ...this.timer.restartInput() };
    if (kind === "delay") return { ...this.schedule.restartInput(Number(rest[0]), last) };
    if (kind === "txs") return {}; // the transactions actor takes no input
    if (kind === "pop") return { group: rest.join(":") }; // its FIFO batches are lost: they are handed out again
    return { group: rest.join(":") };
  }

  /**
   * What keeps CommitLog segments from retention: the oldest offset each still needs. The open
   * transactions (their half messages) and the delay levels (their progress) answer for
   * themselves; the answers come in this turn as a rule, but nothing counts on it.
   */
  private retentionHolds(answer: (holds: Record<string, number>) => void): void {
    this.send({
      type: "TX_HALVES",
      reply: (halves) =>
        this.send({
          type: "DELAY_PROGRESS",
          // Out of the actors' turn: the pass deletes files and tells queue actors.
          reply: (levels) =>
            queueMicrotask(() =>
              answer({
                snapshot: this.snapshots.oldestOffset() ?? Infinity,
                "an unresolved transaction": halves,
                "a pending timer": this.timer.pendingFrom(),
                "a delayed message": this.schedule.pendingFrom(this.store, levels),
              })
            ),
        }),
    });
  }

  /** The metrics gauges' sources. */
  private gauges(): GaugeSources {
    const { observer } = this;
    return {
      replication: (): ReplicationGauges | undefined => {
        if (this.role === "standalone") return undefined;
        const { ha, replica, store } = this;
        return {
          role: this.role === "master" ? "master" : "slave",
          inSync: ha ? ha.state.syncStateSet.length : 0,
          lagBytes: ha ? ha.status().replicas.filter((r) => r.connected).map((r) => [String(r.brokerId), r.lagBytes]) : replica ? [["master", replica.lagBytes]] : [],
          confirmOffset: ha ? ha.confirmOffset : Number.isFinite(store.readLimit) ? store.readLimit : store.maxCommitLogOffset,
        };
      },
      clock: this.platform.clock,
      startedAt: this.startedAt,
      store: this.store,
      topicCount: () => Object.keys(this.topics.all()).length,
      groupOffsets: () => observer.groupOffsets(),
      delayProgress: () => observer.delayProgress(),
      actorKinds: () => observer.actorKinds(),
      transactionsInFlight: () => observer.transactionsInFlight(),
      sessions: () => this.sessions.size,
      inspectSubscribers: () => this.inspector.subscriberCount,
      rss: () => this.platform.memoryUsage().rss,
      idleRounds: () => this.memoryReducer.roundsRun,
      inspectFramesSkipped: () => this.inspector.skipped,
      counters: () => this.secure.security.counters.families(),
    };
  }

  private http(method: string, path: string, headers: HttpHeaders) {
    const route = path.split("?")[0];
    if (route === "/health" || route === "/ready") {
      // /health: 503 while writes are refused or the broker is closing, with the reason.
      // /ready: whether the broker has recovered (it listens only once it has) and takes writes.
      const refusing = this.store.disk.refusing();
      const disk = this.store.disk.state();
      const status = this.closing ? "closing" : refusing ? "disk full" : "ok";
      const body: Record<string, unknown> = route === "/ready"
        ? { ready: status === "ok", recovered: true, acceptsWrites: !refusing && !this.closing, broker: this.config.brokerName }
        : { status, broker: this.config.brokerName, commitLogOffset: this.store.maxCommitLogOffset, diskUsedPercent: disk.usedRatio };
      if (refusing) body.reason = `DISK_FULL: ${refusing}`;
      return { status: status === "ok" ? 200 : 503, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    }
    if (path.split("?")[0] === "/metrics" && method === "GET") {
      const refused = metricsRefusal(this.secure.security, headers);
      if (refused) return refused;
      return { status: 200, headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" }, body: this.metrics.render(this.gauges()) };
    }
    // `/` and `/inspector...`: the console (runtime/inspector-assets.ts).
    const page = method === "GET" ? this.inspectorAssets?.serve(path) : null;
    if (page) return page;
    return { status: 404, headers: { "content-type": "text/plain" }, body: `no such page: ${method} ${path}\n` };
  }
}

/** config/topics.cbor and its copy, answered as the --flush mode says (the copy is never waited for). */
function topicFiles(files: Platform["files"], dir: string, config: BrokerConfig): { file: TopicFile; copy: TopicFile } {
  const answerAfter = config.flush === "sync" ? "fsync" : "write";
  return {
    file: new TopicFile(files, dir, "topics.cbor", topicTableProblem, answerAfter, config.flushIntervalMs),
    copy: new TopicFile(files, dir, "topics-copy.cbor", topicTableProblem, "write", config.flushIntervalMs),
  };
}
