// A PushConsumer's options: what a user may pass, and the checks and defaults that turn them
// into the settings the consumer runs with (RocketMQ's DefaultMQPushConsumer fields). Bad input
// throws a named error code before anything connects.
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, type MessageView, parseSubscription, RETRY_PREFIX, type Subscription } from "../protocol/mod.ts";
import { type AllocateFunction, type AllocateStrategyName, checkAllocateStrategy } from "./allocate.ts";
import { CLIENT_OPTIONS, type ClientOptions } from "./client-core.ts";
import { optionNames, refuseUnknown } from "./options-check.ts";
import { MemoryOffsetStore, type OffsetStore } from "./offset-store.ts";
import { DEFAULT_SUSPEND_MS } from "./orderly-service.ts";
import { LOCK_RENEW_INTERVAL_MS, LOCK_VALID_MS } from "./queue-locks.ts";

export type ConsumeResult = "SUCCESS" | "RECONSUME_LATER";
/**
 * What a callback returns: `T`, or a promise of it. TypeScript types `async () => "SUCCESS"` as
 * `() => Promise<string>` when `T | Promise<T>` is expected (microsoft/TypeScript#30185), so a
 * promise of any string is accepted; the client checks the value when it arrives.
 */
export type Answer<T extends string> = T | Promise<T | (string & {})>;
export type MessageHandler = (msg: MessageView) => Answer<ConsumeResult>;
export type BatchMessageHandler = (msgs: MessageView[]) => Answer<ConsumeResult>;

export interface PushConsumerOptions extends ClientOptions {
  group: string;
  /** topic -> subscription expression: "*", "TagA", "TagA || TagB". */
  subscriptions: Record<string, string>;
  /** "clustering" (default): each queue to one member, offsets on the broker. "broadcasting": every member reads everything, offsets in `offsetStore`. */
  model?: "clustering" | "broadcasting";
  /** Allocation strategy (clustering). Default "averagely". */
  allocate?: AllocateStrategyName | AllocateFunction;
  /**
   * Called with one message. "SUCCESS" finishes it; anything else ("RECONSUME_LATER", a throw,
   * a missing return value, as in RocketMQ) sends it back for a retry. A throw or a value other
   * than the two is also reported (an "error" event and a log line). Give this or batchHandler,
   * or neither and iterate the consumer: `for await (const msg of consumer)`.
   */
  handler?: MessageHandler;
  /** Called with up to `batchSize` messages of one queue; the result counts for all of them. */
  batchHandler?: BatchMessageHandler;
  /** Handlers running at once across all queues (RocketMQ's consumeThreadMin). Default 20. */
  concurrency?: number;
  /** Most messages per batchHandler call (consumeMessageBatchMaxSize). Default 1; only with batchHandler. */
  batchSize?: number;
  /** Messages asked for per pull. Default 32. A queue that is further behind is pulled up to 1,000 at a time, within pullThresholdForQueue. */
  pullBatchSize?: number;
  /** Pulling a queue pauses while more messages than this are cached for it. Default 1000. */
  pullThresholdForQueue?: number;
  /** ... or while their bodies take more than this many MiB (fractions allowed). Default 100. */
  pullThresholdSizeForQueue?: number;
  /** ... or while the oldest and newest cached are more than this many offsets apart. Default 2000. */
  consumeConcurrentlyMaxSpan?: number;
  /** Deliveries before a message goes to %DLQ%<group> (the broker decides, with this number). Default 16. */
  maxReconsumeTimes?: number;
  heartbeatIntervalMs?: number;
  rebalanceIntervalMs?: number;
  persistOffsetIntervalMs?: number;
  /** Long-poll time of a pull. Default 15000. */
  pollMs?: number;
  /**
   * Where a queue the group never committed starts (RocketMQ's consumeFromWhere). "last"
   * (default, CONSUME_FROM_LAST_OFFSET): at its first message while that is still stored, so a
   * new group misses nothing of a young topic, or of one created after it started; at its end
   * once older messages were deleted. "first": at its oldest stored message. Retry topics always
   * start at the first.
   */
  consumeFrom?: "first" | "last";
  /** Broadcasting: where offsets live. Default: in memory. */
  offsetStore?: OffsetStore;
  /**
   * Orderly consumption (RocketMQ's MessageListenerOrderly; clustering only): a queue is consumed
   * only while this member holds the broker's lock on it, one message (or batch) at a time in
   * queue order. A failure suspends the queue and retries the same message in place, up to
   * maxReconsumeTimes (default 16), then sends it to %DLQ%<group>.
   */
  orderly?: boolean;
  /** Orderly: how long a failed queue pauses before the retry (suspendCurrentQueueTimeMillis). Default 1000. */
  suspendCurrentQueueTimeMillis?: number;
  /** Orderly: how often the member renews its queue locks (RocketMQ's rebalance.lockInterval). Default 20000. */
  lockIntervalMs?: number;
  /** Orderly: how long the member trusts a lock after asking for it (rebalance.lockMaxLiveTime); keep it under the broker's --order-lock-expiry. Default 30000. */
  lockMaxLiveTimeMs?: number;
}

const PUSH_OPTIONS = [
  ...CLIENT_OPTIONS,
  ...optionNames<Omit<PushConsumerOptions, keyof ClientOptions>>({
    group: true,
    subscriptions: true,
    model: true,
    allocate: true,
    handler: true,
    batchHandler: true,
    concurrency: true,
    batchSize: true,
    pullBatchSize: true,
    pullThresholdForQueue: true,
    pullThresholdSizeForQueue: true,
    consumeConcurrentlyMaxSpan: true,
    maxReconsumeTimes: true,
    heartbeatIntervalMs: true,
    rebalanceIntervalMs: true,
    persistOffsetIntervalMs: true,
    pollMs: true,
    consumeFrom: true,
    offsetStore: true,
    orderly: true,
    suspendCurrentQueueTimeMillis: true,
    lockIntervalMs: true,
    lockMaxLiveTimeMs: true,
  }),
];

/** The checked options, defaults filled in. */
export interface PushSettings {
  group: string;
  model: "clustering" | "broadcasting";
  /** topic -> subscription, the group's retry topic included in clustering. */
  subs: Map<string, Subscription>;
  retryTopic: string;
  /** At most one of handler and batchHandler is given; neither: the consumer is iterated. */
  handler: MessageHandler | undefined;
  batchHandler: BatchMessageHandler | undefined;
  concurrency: number;
  batchSize: number;
  pullBatchSize: number;
  pullThresholdForQueue: number;
  /** In bytes. */
  pullThresholdSizeForQueue: number;
  maxSpan: number;
  maxReconsumeTimes: number;
  heartbeatIntervalMs: number;
  rebalanceIntervalMs: number;
  persistOffsetIntervalMs: number;
  pollMs: number;
  consumeFrom: "first" | "last";
  offsetStore: OffsetStore;
  strategy: AllocateStrategyName | AllocateFunction;
}

/** Orderly consumption's settings. */
export interface OrderlySettings {
  suspendMs: number;
  lockIntervalMs: number;
  lockMaxLiveTimeMs: number;
}

/** Checks everything but the orderly options, in the order the consumer always has. */
export function pushSettings(options: PushConsumerOptions): PushSettings {
  if (options === null || typeof options !== "object") throw new BrokerError(ErrorCode.BAD_REQUEST, "options { endpoints, group, subscriptions, handler } are required");
  refuseUnknown(options, PUSH_OPTIONS, "PushConsumer");
  if (options.group === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "a PushConsumer needs a group");
  const group = checkGroupName(options.group);
  const model = options.model ?? "clustering";
  if (model !== "clustering" && model !== "broadcasting") throw new BrokerError(ErrorCode.BAD_REQUEST, `model must be "clustering" or "broadcasting"`);
  const subscriptions = options.subscriptions;
  if (subscriptions === null || typeof subscriptions !== "object" || Array.isArray(subscriptions) || Object.keys(subscriptions).length === 0) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, "subscriptions must map at least one topic to an expression");
  }
  const subs = new Map<string, Subscription>();
  for (const [topic, expr] of Object.entries(subscriptions)) {
    if (typeof expr !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, `the expression for "${topic}" must be a string`);
    subs.set(checkTopicName(topic), parseSubscription(expr));
  }
  const retryTopic = RETRY_PREFIX + group;
  // Clustering members take the group's retry topic too, everything in it (RocketMQ does so).
  if (model === "clustering" && !subs.has(retryTopic)) subs.set(retryTopic, parseSubscription("*"));

  const { handler, batchHandler } = options;
  if (handler !== undefined && batchHandler !== undefined) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, "give one of handler (one message) and batchHandler (an array), or neither to iterate the consumer");
  }
  if (handler !== undefined && typeof handler !== "function") throw new BrokerError(ErrorCode.WRONG_TYPE, "handler must be a function");
  if (batchHandler !== undefined && typeof batchHandler !== "function") throw new BrokerError(ErrorCode.WRONG_TYPE, "batchHandler must be a function");
  const batchSize = int(options.batchSize, 1, "batchSize", 1, 1024);
  if (!batchHandler && batchSize !== 1) throw new BrokerError(ErrorCode.BAD_REQUEST, "batchSize > 1 needs a batchHandler, which receives an array");
  const concurrency = int(options.concurrency, 20, "concurrency", 1);
  const pullBatchSize = int(options.pullBatchSize, 32, "pullBatchSize", 1, 1024);
  const pullThresholdForQueue = int(options.pullThresholdForQueue, 1000, "pullThresholdForQueue", 1);
  const pullThresholdSizeForQueue = num(options.pullThresholdSizeForQueue, 100, "pullThresholdSizeForQueue") * 1024 * 1024;
  const maxSpan = int(options.consumeConcurrentlyMaxSpan, 2000, "consumeConcurrentlyMaxSpan", 1);
  const maxReconsumeTimes = int(options.maxReconsumeTimes, 16, "maxReconsumeTimes", 0);
  const heartbeatIntervalMs = int(options.heartbeatIntervalMs, 30_000, "heartbeatIntervalMs", 1);
  const rebalanceIntervalMs = int(options.rebalanceIntervalMs, 20_000, "rebalanceIntervalMs", 1);
  const persistOffsetIntervalMs = int(options.persistOffsetIntervalMs, 5000, "persistOffsetIntervalMs", 1);
  const pollMs = int(options.pollMs, 15_000, "pollMs", 0);
  const consumeFrom = options.consumeFrom ?? "last";
  if (consumeFrom !== "first" && consumeFrom !== "last") throw new BrokerError(ErrorCode.BAD_REQUEST, `consumeFrom must be "first" or "last"`);
  const offsetStore = options.offsetStore ?? new MemoryOffsetStore();
  const strategy = checkAllocateStrategy(options.allocate ?? "averagely");
  return {
    group,
    model,
    subs,
    retryTopic,
    handler,
    batchHandler,
    concurrency,
    batchSize,
    pullBatchSize,
    pullThresholdForQueue,
    pullThresholdSizeForQueue,
    maxSpan,
    maxReconsumeTimes,
    heartbeatIntervalMs,
    rebalanceIntervalMs,
    persistOffsetIntervalMs,
    pollMs,
    consumeFrom,
    offsetStore,
    strategy,
  };
}

/** The orderly options; undefined when consumption is concurrent. */
export function orderlySettings(options: PushConsumerOptions, model: PushSettings["model"]): OrderlySettings | undefined {
  if (options.orderly === true) {
    if (model !== "clustering") throw new BrokerError(ErrorCode.BAD_REQUEST, "orderly consumption needs the clustering model (it locks queues for one member)");
    return {
      suspendMs: int(options.suspendCurrentQueueTimeMillis, DEFAULT_SUSPEND_MS, "suspendCurrentQueueTimeMillis", 0),
      lockIntervalMs: int(options.lockIntervalMs, LOCK_RENEW_INTERVAL_MS, "lockIntervalMs", 1),
      lockMaxLiveTimeMs: int(options.lockMaxLiveTimeMs, LOCK_VALID_MS, "lockMaxLiveTimeMs", 1),
    };
  }
  if (options.orderly !== undefined && options.orderly !== false) throw new BrokerError(ErrorCode.WRONG_TYPE, "orderly must be a boolean");
  return undefined;
}

function int(v: unknown, dflt: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new BrokerError(ErrorCode.WRONG_TYPE, `${name} must be an integer`);
  if (v < min || v > max) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be ${min}..${max}`);
  return v;
}

function num(v: unknown, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v > 0)) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be a positive number`);
  return v;
}
