// The seams between the broker's parts, as types only. Each service names the interfaces it
// uses from here and gets, from runtime/broker.ts (the composition root), the objects that
// implement them; processors get the whole ProcessorContext. Nothing here is a value and nothing
// here imports a service, so no service imports another to use it: dependencies point one way,
//   transports/ -> processors/ -> services/ -> actors/, storage/, protocol/, platform/.
import type { BrokerEvent, TopicConfig } from "../actors/broker.machine.ts";
import type { GroupView } from "../actors/group.machine.ts";
import type { EndState } from "../actors/transaction.machine.ts";
import type { Hold, QueueEvent } from "../actors/queue.machine.ts";
import type { BrokerError, Message, OverviewView, ReplicaInfo, RequestId } from "../protocol/mod.ts";
import type { AppendItem, AppendResult, GetResult, MessageStore, RetentionPass } from "../storage/message-store.ts";
import type { Clock, Files } from "../platform/platform.ts";
import type { BrokerConfig } from "./config.ts";
import type { Security } from "./security/security.ts";
import type { Session } from "./session.ts";

export type { Clock, Files, MessageStore, Session };

/** The actor tree as services see it: events go in; nothing is read back from a context. */
export interface Actors {
  send(event: BrokerEvent): void;
  /**
   * Straight to a queue actor (a hop through the root is measurable per pull); false when the
   * queue has no actor.
   */
  sendToQueue(topic: string, queueId: number, event: QueueEvent): boolean;
  /** The pulls a queue actor holds, read from its snapshot (none when it has no actor). */
  queueHolds(topic: string, queueId: number): readonly Hold[];
}

/** The topic table (RocketMQ's TopicConfigManager). */
export interface Topics {
  get(topic: string): TopicConfig | undefined;
  all(): Record<string, TopicConfig>;
  /** Topics clients created (retry, DLQ and system topics aside): what --max-topics counts. */
  readonly userCount: number;
  /** The topic's config, creating it with the default queue count when auto-creation applies. */
  forWrite(topic: string): TopicConfig;
  /** The topic's config; TOPIC_NOT_FOUND / QUEUE_NOT_FOUND otherwise. */
  forRead(topic: string, queueId?: number): TopicConfig;
  /** Round-robin queue choice for sends that name no queue. */
  nextQueue(topic: string, queues: number): number;
  /** Creates or widens a topic; the promise says when its config is on disk. */
  create(topic: string, queues: number, perm: number): Promise<void>;
  /** Creates `topic`, or widens it, so that it has queue `queueId`; returns its config. */
  ensureQueue(topic: string, queueId: number): TopicConfig;
  /** Forgets a topic whose deletion the store holds (its queue actors stop); the promise says when the topic log has it. */
  remove(topic: string): Promise<void>;
}

/** Topics and groups going away (runtime/services/lifecycle-service.ts). */
export interface Lifecycle {
  /** deleteTopic: resolves once the deletion is as durable as the flush mode promises and the topic table is on disk. */
  deleteTopic(topic: string): Promise<void>;
  /** deleteSubGroup: resolves with the group's %RETRY%/%DLQ% topics it deleted. */
  deleteGroup(group: string, keepRetryTopics?: boolean): Promise<string[]>;
}

export type AppendOutcome = AppendResult | BrokerError;

/** The append pipeline as its callers see it. */
export interface Appender {
  /**
   * Queues items for the next batch. `applied` runs synchronously right after the CommitLog
   * write (before anything else can observe the store); `done` once the write is as durable as
   * the flush mode promises.
   */
  append(items: AppendItem[], done: (results: AppendOutcome[]) => void, applied?: (results: AppendResult[]) => void): void;
  /** As append, but written now, alone in its batch, after everything queued before it. */
  appendAlone(items: AppendItem[], done: (results: AppendOutcome[]) => void, applied?: (results: AppendResult[]) => void): void;
}

/**
 * Told of every CommitLog write, synchronously, in the turn of the write (RocketMQ's
 * CommitLogDispatcher): the timing wheel, the transactions, the metrics, the queue actors and
 * the POP service register one each with the append pipeline (runtime/broker.ts).
 */
export interface CommitLogDispatcher {
  dispatch(items: readonly AppendItem[], results: readonly AppendResult[]): void;
  /**
   * Called once readers may see the write rather than in its turn: under sync replication, when
   * every in-sync replica holds it (the queue actors, whose news wakes held pulls).
   */
  readonly whenVisible?: boolean;
  /** Called after dispatch, once the answers the write woke have been sent. */
  answered?(): void;
}

/**
 * A replicated group member's part in every write (runtime/ha/). A standalone broker has none.
 */
export interface Replication {
  /** Before a write: NOT_MASTER on a slave, IN_SYNC_REPLICAS_NOT_ENOUGH on a sync master with too few in sync. */
  checkWritable(): void;
  /** Right after a write: a master streams it to its slaves. */
  appended(): void;
  /** Sync replication: settles once every in-sync replica holds everything below `end`; null when nothing is to be waited for. */
  replicated(end: number): Promise<void> | null;
}

/** A replicated group member's side of the replication ops (runtime/ha/). */
export interface ReplicationOps {
  /** A slave answers writes NOT_MASTER (this error). */
  writeRefusal(): BrokerError | undefined;
  /** A slave's haHandshake at its master: where their logs agree (throws on a broker that is no master). */
  handshake(session: Session, req: Record<string, unknown>): Record<string, unknown>;
  ack(session: Session, offset: number): void;
}

/** What request handlers count. */
export interface RequestMetrics {
  /** Time from a send or sendBatch frame's arrival to its answer. */
  observeSend(op: "send" | "sendBatch", seconds: number): void;
}

/** What the broker is, for answers that describe it. */
export interface BrokerFacts {
  readonly brokerName: string;
  readonly address: string;
  readonly runtime: string;
  readonly startedAt: number;
  readonly isClosing: boolean;
  /** A replicated group's member: its id, role, epochs and replication (runtime/ha/). */
  readonly groupInfo?: () => ReplicaInfo;
}

export type { GroupView };

/** Questions about consumer groups, answered by their actors. */
export interface Groups {
  /** The group as its actor holds it now; undefined when it has no actor. */
  view(group: string, answer: (view: GroupView | undefined) => void): void;
  /** Whether the group has an actor, and how many do (for --max-groups). */
  exists(group: string): boolean;
  count(): number;
}

/** Committed consumer offsets (records in RMQ_SYS_CONSUMER_OFFSETS, applied to the group actors). */
export interface Offsets {
  commit(group: string, topic: string, queueId: number, offset: number, done: (err?: BrokerError) => void): void;
  /** The group's committed offset of a queue, -1 if none. */
  committed(group: string, topic: string, queueId: number, answer: (offset: number) => void): void;
}

/** Long polling: pulls held by queue actors until a message arrives or their deadline passes. */
export interface PullHolds {
  read(topic: string, queueId: number, hold: Hold): GetResult;
  /** Checks an expression (a bad one fails now, not when the hold wakes). */
  checkExpression(expression: string): void;
  hold(topic: string, queueId: number, hold: Hold): void;
  /** An append reached `maxOffset` of the queue: answers the holds it reaches now, ahead of the actor's APPENDED. */
  wake(topic: string, queueId: number, maxOffset: number): void;
  answer(session: Session, id: RequestId, result: GetResult, topic: string, queueId: number): void;
}

/** A record bound for a delay level or the timer: its real queue is in the item, its offset comes at delivery. */
export interface ScheduledItem extends AppendItem {
  realTopic: string;
  realQueueId: number;
}

/** Delay levels (RocketMQ's ScheduleMessageService). */
export interface Scheduler {
  /** The schedule record of a message for delay level `level` (1-based, already checked). */
  item(messageMap: Record<string, unknown>, realTopic: string, realQueueId: number, level: number, reconsumeTimes?: number, sent?: Uint8Array): ScheduledItem;
  /** Stores a decoded message at a delay level, for delivery to realTopic when due. */
  reput(messageMap: Record<string, unknown>, realTopic: string, realQueueId: number | undefined, level: number, extra: { reconsumeTimes?: number }, done: (err?: BrokerError) => void): void;
}

/** Delivery at any time (RocketMQ 5's timer messages). */
export interface Timers {
  /** The time a message asks for (deliverAt or delayMs), checked against the maximum delay. */
  deliverAtOf(msg: Message): number | undefined;
  /** Cancels the timer of the record at `commitLogOffset` due at `deliverAt` (RecallMessage): "gone" once it fired. */
  cancelAt(commitLogOffset: number, deliverAt: number): "cancelled" | "gone";
  item(messageMap: Record<string, unknown>, realTopic: string, realQueueId: number, at: number, bytes?: Uint8Array): ScheduledItem;
}

export type { EndState };

/** Transactional messages (RocketMQ's TransactionalMessageService). */
export interface Transactions {
  halfItem(messageMap: Record<string, unknown>, msg: Message, realTopic: string, realQueueId: number, bytes?: Uint8Array): ScheduledItem;
  /** Ends (COMMIT, ROLLBACK) or asks about (UNKNOWN) a transaction; answered once decided (and written). */
  end(group: string, id: string, resolution: "COMMIT" | "ROLLBACK" | "UNKNOWN", answer: (err: BrokerError | undefined, state: EndState) => void): void;
}

/** The producers of each producer group, from heartbeats (RocketMQ's ProducerManager): whom to ask about a transaction. */
export interface Producers {
  heartbeat(session: Session, groups: string[]): void;
}

/** The inspect op's subscriptions. */
export interface Inspector {
  subscribe(session: Session, reqId: RequestId, options: { intervalMs?: number; maxEvents?: number }): void;
  unsubscribe(session: Session): boolean;
  /** The console's overview, now. */
  overview(): OverviewView;
}

/** Every front-end's open sessions, by id and by client (runtime/session.ts's SessionRegistry). */
export interface Sessions {
  get(id: string): Session | undefined;
  /** Sends a push frame to every open session of these clients. */
  push(clientIds: readonly string[], frame: Record<string, unknown>): void;
  readonly size: number;
}

/** The name-server ops a broker serves from its embedded name server. */
export interface NameServerOps {
  /** The live registered brokers, as the name server's actor answers. */
  brokers(): Promise<{ brokerName: string }[]>;
  registerBroker(req: Record<string, unknown>): Record<string, unknown>;
  queryRoute(req: Record<string, unknown>): Promise<Record<string, unknown>>;
  clusterList(mode: string): Promise<Record<string, unknown>>;
}

/** A POP receive (runtime/services/pop-service.ts). */
export interface PopRequest {
  group: string;
  topic: string;
  maxCount: number;
  invisibleMs: number;
  /** A tag expression: `*`, `TagA || TagB`. */
  expression: string;
  /** Long polling: how long to wait when nothing is there (capped at --max-poll). */
  pollMs: number;
  /** Whether the caller still waits: a receive whose caller went away pops nothing. */
  alive?: () => boolean;
}

/** A message handed out by POP. */
export interface PoppedMessage {
  /** The stored message map's bytes (a copy). */
  message: Uint8Array;
  /** The topic the message was sent to (a retried message's origin). */
  topic: string;
  /** Where it is stored now (a retried message: in the retry topic). */
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  storeTimestamp: number;
  /** This delivery's attempt, 1 for the first. */
  attempt: number;
  receiptHandle: string;
  /** When the message becomes visible again unless acked, ms since the epoch. */
  invisibleUntil: number;
}

export type RetryPolicy =
  | { type: "exponential"; initialMs: number; maxMs: number; multiplier: number }
  | { type: "customized"; delaysMs: number[] };

/** A subscription group's settings (RocketMQ's SubscriptionGroupConfig). */
export interface GroupSettings {
  /** FIFO: a message group's next message is delivered only after the one before is acked. */
  orderly: boolean;
  /** Retries after the first delivery; one more failure sends the message to %DLQ%<group>. */
  maxReconsumeTimes: number;
  /** The pause before each retry (the clients apply it when they give a message back). */
  retryPolicy: RetryPolicy;
}

/** POP consumption (RocketMQ 5's model) and the subscription groups' settings it reads. */
export interface PopConsumption {
  receive(req: PopRequest, answer: (err: BrokerError | undefined, msgs: PoppedMessage[]) => void): void;
  /** Throws INVALID_RECEIPT_HANDLE. */
  ack(group: string, handle: string): void;
  changeInvisible(group: string, handle: string, invisibleMs: number, answer: (err: BrokerError | undefined, handle: string, until: number) => void): void;
  forwardToDeadLetter(group: string, handle: string, answer: (err?: BrokerError) => void): void;
  readonly groups: {
    get(group: string): GroupSettings;
    update(group: string, changes: Record<string, unknown>): { settings: GroupSettings; saved: Promise<void> };
  };
}

/**
 * Everything request handlers use. A processor is `(ctx, session, req) => void`: it answers
 * through the session it is given and never sees a socket or another handler.
 */
export interface ProcessorContext {
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly store: MessageStore;
  readonly facts: BrokerFacts;
  readonly metrics: RequestMetrics;
  readonly actors: Actors;
  readonly topics: Topics;
  readonly appends: Appender;
  readonly groups: Groups;
  readonly offsets: Offsets;
  readonly locks: OrderLockOps;
  readonly pulls: PullHolds;
  readonly schedule: Scheduler;
  readonly timer: Timers;
  readonly transactions: Transactions;
  readonly pop: PopConsumption;
  readonly producers: Producers;
  readonly inspector: Inspector;
  readonly sessions: Sessions;
  /** The embedded name server of a standalone broker. */
  readonly namesrv: NameServerOps | undefined;
  /** A replicated group's member (runtime/ha/); undefined for a broker alone. */
  readonly replication: ReplicationOps | undefined;
  /** Retention: a pass now (deleteExpiredCommitLog). */
  readonly retention: { run(force: boolean, answer: (result: RetentionResult | null, error?: unknown) => void): void };
  readonly lifecycle: Lifecycle;
  /** Users, ACL and the refusal counters. */
  readonly security: Security;
}

/** A retention pass (runtime/services/retention-service.ts): what went, and what holds the oldest segment left. */
export interface RetentionResult extends RetentionPass {
  floor: number;
  heldBy: string | null;
}

/**
 * The actor tree of the snapshot the broker restored, as the data it was read from (nothing
 * here is a live actor): where start-up replays begin. Empty without a snapshot.
 */
export interface RestoredTree {
  /** The context a restored actor had in the snapshot, by system id (`tx:<id>` under `txs` too). */
  context(actorId: string): Record<string, unknown> | undefined;
  /** The max offset a queue's actor had in the snapshot (0 without one): a replay of that queue starts there. */
  queueMaxOffset(topic: string, queueId: number): number;
}

export interface QueueRef {
  topic: string;
  queueId: number;
}

/** Order locks (RocketMQ's RebalanceLockManager), held on the queue actors. */
export interface OrderLockOps {
  /** Asks each queue for `clientId`'s lock; answers with the queues it now holds. */
  lock(group: string, clientId: string, members: string[], queues: QueueRef[], answer: (locked: QueueRef[]) => void): void;
  /** Frees the queues `clientId` holds; answers with the ones it held. */
  unlock(group: string, clientId: string, queues: QueueRef[], answer: (unlocked: QueueRef[]) => void): void;
}
