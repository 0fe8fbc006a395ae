// The PullConsumer: the application says which queue and offset to read, RocketMQ's
// DefaultMQPullConsumer style, and commits the offsets it has consumed for its group.
import { BrokerError, checkTopicName, ErrorCode, type MessageView, matchesTag, parseSubscription, PullStatus, type Subscription } from "../protocol/mod.ts";
import { ClientCore, type ClientOptions } from "./client-core.ts";
import { fromPullItem } from "./message.ts";

export interface PullConsumerOptions extends ClientOptions {
  /** Consumer group: whose offsets commitOffset and queryOffset read and write. */
  group: string;
}

export interface PullOptions {
  topic: string;
  queueId: number;
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
}

export class PullConsumer {
  readonly group: string;
  private readonly core: ClientCore;
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(options: PullConsumerOptions) {
    if (options?.group === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "a PullConsumer needs a group");
    if (typeof options.group !== "string" || options.group === "") throw new BrokerError(ErrorCode.BAD_REQUEST, "group must be a non-empty string");
    this.group = options.group;
    this.core = new ClientCore(options);
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
    const { topic, queueId } = checkQueue(options);
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
    const reply = await this.core.request("pull", args, pollMs + this.core.requestTimeoutMs);
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
    const { topic, queueId } = checkQueue(options);
    await this.core.request("commitOffset", { group: this.group, topic, queueId, offset: uint(options.offset, "offset") });
  }

  /** The group's committed offset in this queue; -1 if it never committed. */
  async queryOffset(options: QueueRef): Promise<number> {
    const { topic, queueId } = checkQueue(options);
    const reply = await this.core.request("queryOffset", { group: this.group, topic, queueId });
    return typeof reply.offset === "number" ? reply.offset : -1;
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
  return { topic: checkTopicName(options.topic), queueId: uint(options.queueId, "queueId") };
}

function uint(v: unknown, name: string): number {
  if (v === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, `${name} is missing`);
  if (typeof v !== "number" || !Number.isInteger(v)) throw new BrokerError(ErrorCode.WRONG_TYPE, `${name} must be an integer`);
  if (v < 0) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must not be negative`);
  return v;
}
