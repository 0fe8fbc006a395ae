// The PullConsumer: the application says which queue and offset to read, RocketMQ's
// DefaultMQPullConsumer style, and commits the offsets it has consumed for its group.
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, type MessageView, matchesTag, parseSubscription, PullStatus, type Subscription } from "../protocol/mod.ts";
import { CLIENT_OPTIONS, ClientCore, type ClientOptions } from "./client-core.ts";
import type { ClientEvents, Listener } from "./events.ts";
import { refuseUnknown } from "./options-check.ts";
import { fromPullItem } from "./message-view.ts";
import { readableQueues } from "./rebalance.ts";
import type { MessageQueue } from "./topic-route.ts";
import type { Reply } from "./transport.ts";

export interface PullConsumerOptions extends ClientOptions {
  /** Consumer group: whose offsets commitOffset and queryOffset read and write. */
  group: string;
}

export interface PullOptions {
  topic: string;
  queueId: number;
  /** The broker holding the queue, by name (a cluster: see QueueRef.broker). */
  broker?: string;
  /** The first logical offset wanted. */
  offset: number;
  /** At most this many messages. Default 32 (the broker caps it at 1000). */
  maxCount?: number;
  /** Stop before the messages exceed this many bytes (at least one is returned). Default: the broker's, 4 MiB. */
  maxBytes?: number;
  /** Subscription expression: "*", "TagA", "TagA || TagB". Default "*". */
  expression?: string;
  /** Long polling: with nothing to return, the broker holds the pull this long. Default 0. */
  pollMs?: number;
  /** Also commit this offset for the group, in the same request. */
  commitOffset?: number;
  /** Gives up waiting when it aborts: the pull rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface PullResult {
  status: PullStatus;
  msgs: MessageView[];
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
}

export interface QueueRef {
  topic: string;
  queueId: number;
  /**
   * The broker holding the queue, by name, when the endpoints are name servers (a cluster): the
   * request goes to that broker's address from the topic's route. Without it, to the endpoint.
   */
  broker?: string;
}

export class PullConsumer {
  readonly group: string;
  private readonly core: ClientCore;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly routes = new Map<string, { queues: MessageQueue[]; at: number }>();

  constructor(options: PullConsumerOptions) {
    if (options?.group === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "a PullConsumer needs a group");
    checkGroupName(options.group);
    refuseUnknown(options, [...CLIENT_OPTIONS, "group"], "PullConsumer");
    this.group = options.group;
    this.core = new ClientCore(options, `PullConsumer ${options.group}`);
  }

  /** Listens to the consumer's events: "error" and "connection" (see ClientEvents). */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.core.on(type, listener);
  }

  /** Connects to a broker and starts heartbeats. */
  async start(): Promise<void> {
    await this.core.connect();
    this.core.startHeartbeat();
  }

  /**
   * Reads one queue from an offset. Tags are filtered by the broker on their hash and confirmed
   * here on the tag itself; a response whose every message fails that check reads NO_MATCHED_MSG.
   */
  async pull(options: PullOptions): Promise<PullResult> {
    const { topic, queueId, broker } = checkQueue(options);
    const offset = uint(options.offset, "offset");
    const sub = this.subscription(options.expression ?? "*");
    const args: Record<string, unknown> = { topic, queueId, offset, maxCount: options.maxCount ?? 32 };
    uint(args.maxCount, "maxCount");
    if (options.maxBytes !== undefined) args.maxBytes = uint(options.maxBytes, "maxBytes");
    if (sub.expression !== "*") args.expression = sub.expression;
    const pollMs = uint(options.pollMs ?? 0, "pollMs");
    if (pollMs > 0) args.pollMs = pollMs;
    if (options.commitOffset !== undefined) {
      args.group = this.group;
      args.commitOffset = uint(options.commitOffset, "commitOffset");
    }
    // A held pull is answered up to pollMs later: the timeout covers that and a request's margin.
    const reply = await this.call({ topic, queueId, broker }, "pull", args, pollMs + this.core.requestTimeoutMs, options.signal);
    const items = Array.isArray(reply.msgs) ? reply.msgs : [];
    let msgs = items.map((item) => fromPullItem(item, queueId));
    let status = String(reply.status) as PullStatus;
    if (sub.tags !== null) {
      msgs = msgs.filter((m) => matchesTag(sub, m.tags));
      if (msgs.length === 0 && status === PullStatus.FOUND) status = PullStatus.NO_MATCHED_MSG;
    }
    return {
      status,
      msgs,
      nextOffset: Number(reply.nextOffset),
      minOffset: Number(reply.minOffset),
      maxOffset: Number(reply.maxOffset),
    };
  }

  /** Records the next offset the group will consume in this queue. */
  async commitOffset(options: QueueRef & { offset: number }): Promise<void> {
    const ref = checkQueue(options);
    await this.call(ref, "commitOffset", { group: this.group, topic: ref.topic, queueId: ref.queueId, offset: uint(options.offset, "offset") });
  }

  /** The group's committed offset in this queue; -1 if it never committed. */
  async queryOffset(options: QueueRef): Promise<number> {
    const ref = checkQueue(options);
    const reply = await this.call(ref, "queryOffset", { group: this.group, topic: ref.topic, queueId: ref.queueId });
    return typeof reply.offset === "number" ? reply.offset : -1;
  }

  /**
   * Every readable queue of a topic on every broker, sorted (RocketMQ's
   * fetchSubscribeMessageQueues); each names its `broker` for pull, commitOffset and queryOffset.
   */
  async fetchMessageQueues(topic: string): Promise<QueueRef[]> {
    return (await this.queuesOf(checkTopicName(topic), true)).map(({ broker, topic, queueId }) => ({ broker, topic, queueId }));
  }

  /** A request to the queue's broker when it is named, else to the endpoint. */
  private async call(ref: QueueRef, op: string, args: Record<string, unknown>, timeoutMs = this.core.requestTimeoutMs, signal?: AbortSignal): Promise<Reply> {
    if (ref.broker === undefined) return this.core.request(op, args, timeoutMs, signal);
    let mq = (await this.queuesOf(ref.topic, false)).find((q) => q.broker === ref.broker && q.queueId === ref.queueId);
    // Not in the cached route: the route may have changed since; ask once more.
    mq ??= (await this.queuesOf(ref.topic, true)).find((q) => q.broker === ref.broker && q.queueId === ref.queueId);
    if (!mq) throw new BrokerError(ErrorCode.QUEUE_NOT_FOUND, `no broker "${ref.broker}" with queue ${ref.queueId} of topic "${ref.topic}" in its route`);
    return this.core.transport(mq.address).request(op, args, timeoutMs, signal);
  }

  /** The topic's readable queues from its route, cached 30 s (as routes are). */
  private async queuesOf(topic: string, fresh: boolean): Promise<MessageQueue[]> {
    const cached = this.routes.get(topic);
    if (!fresh && cached && Date.now() - cached.at < 30_000) return cached.queues;
    const r = await this.core.queryRoute(topic);
    if (!r) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic}" does not exist`);
    const queues = readableQueues(r.route, r.via);
    this.routes.set(topic, { queues, at: Date.now() });
    return queues;
  }

  /** Closes the connections; pulls in flight (long polls too) fail with CONNECTION_CLOSED. */
  shutdown(): Promise<void> {
    return this.core.close();
  }

  private subscription(expression: string): Subscription {
    let sub = this.subscriptions.get(expression);
    if (!sub) {
      if (typeof expression !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "expression must be a string");
      sub = parseSubscription(expression);
      if (this.subscriptions.size >= 256) this.subscriptions.clear();
      this.subscriptions.set(expression, sub);
    }
    return sub;
  }
}

function checkQueue(options: QueueRef): QueueRef {
  if (options === null || typeof options !== "object") throw new BrokerError(ErrorCode.WRONG_TYPE, "expected { topic, queueId, ... }");
  if (options.topic === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "topic is missing");
  if (options.queueId === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "queueId is missing");
  if (options.broker !== undefined && typeof options.broker !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "broker must be a string");
  return { topic: checkTopicName(options.topic), queueId: uint(options.queueId, "queueId"), broker: options.broker };
}

function uint(v: unknown, name: string): number {
  if (v === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, `${name} is missing`);
  if (typeof v !== "number" || !Number.isInteger(v)) throw new BrokerError(ErrorCode.WRONG_TYPE, `${name} must be an integer`);
  if (v < 0) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must not be negative`);
  return v;
}
