// The SimpleConsumer: POP consumption (RocketMQ 5's SimpleConsumer). The application asks for
// messages when it wants them; the broker picks the queues, hands messages out with a receipt
// handle and hides them for `invisibleMs`; `ack` settles one for good, and one not acked in time
// comes back (its deliveryAttempt one higher), until the group's max attempts send it to
// %DLQ%<group>. Any number of consumers share a topic, however many queues it has, and none
// rebalances: nothing is delivered twice because a member came or went.
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, type MessageView, parseSubscription } from "../protocol/mod.ts";
import { CLIENT_OPTIONS, ClientCore, type ClientOptions } from "./client-core.ts";
import type { ClientEvents, Listener } from "./events.ts";
import { refuseUnknown } from "./options-check.ts";
import { dialableAddress } from "./endpoints.ts";

export interface SimpleConsumerOptions extends ClientOptions {
  /** Consumer group: the broker keeps its progress and its messages in flight. */
  group: string;
  /** topic -> subscription expression ("*", "TagA || TagB"). */
  subscriptions: Record<string, string>;
  /** Long polling: with nothing there, receive waits up to this long. Default 20000 ms. */
  awaitMs?: number;
}

/** A received message: the stored message plus what settles it. */
export interface SimpleMessage extends MessageView {
  receiptHandle: string;
  /** 1 on the first delivery, one more on each. */
  deliveryAttempt: number;
  /** When it becomes visible to others again unless acked, ms since the epoch. */
  invisibleUntil: number;
}

export class SimpleConsumer {
  readonly group: string;
  private readonly core: ClientCore;
  private readonly subscriptions: Map<string, string>;
  private readonly awaitMs: number;
  private next = 0;
  /** Which broker handed each message out: acks go back there. */
  private readonly from = new WeakMap<SimpleMessage, string>();

  constructor(options: SimpleConsumerOptions) {
    if (options?.group === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "a SimpleConsumer needs a group");
    checkGroupName(options.group);
    refuseUnknown(options, [...CLIENT_OPTIONS, "group", "subscriptions", "awaitMs"], "SimpleConsumer");
    const subs = options.subscriptions;
    if (subs === null || typeof subs !== "object" || Object.keys(subs).length === 0) {
      throw new BrokerError(ErrorCode.MISSING_FIELD, "a SimpleConsumer needs subscriptions: { topic: expression }");
    }
    for (const [topic, expr] of Object.entries(subs)) {
      checkTopicName(topic);
      parseSubscription(expr);
    }
    this.group = options.group;
    this.subscriptions = new Map(Object.entries(subs));
    this.awaitMs = options.awaitMs ?? 20_000;
    this.core = new ClientCore(options, `SimpleConsumer ${options.group}`);
  }

  /** Listens to the consumer's events: "error" and "connection" (see ClientEvents). */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.core.on(type, listener);
  }

  async start(): Promise<void> {
    await this.core.connect();
  }

  /**
   * Up to `max` messages (default 16, at most 1000), hidden from every other consumer of the group
   * for `invisibleMs` (default 30 s). Waits up to `awaitMs` for some; an empty array if none came.
   * Topics are taken in turn; each of a topic's brokers in turn.
   */
  async receive(max = 16, invisibleMs = 30_000): Promise<SimpleMessage[]> {
    const topics = [...this.subscriptions.keys()];
    const topic = topics[this.next++ % topics.length];
    const r = await this.core.queryRoute(topic);
    if (!r) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic}" does not exist`);
    const brokers = r.route.brokers.filter((b) => (b.perm & 4) !== 0);
    if (brokers.length === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${topic}" has no readable broker`);
    const address = dialableAddress(brokers[this.next % brokers.length].address, r.via);
    const args = { group: this.group, topic, maxCount: max, invisibleMs, expression: this.subscriptions.get(topic), pollMs: this.awaitMs };
    const reply = await this.core.transport(address).request("popMessage", args, this.awaitMs + this.core.requestTimeoutMs);
    const items = Array.isArray(reply.msgs) ? reply.msgs : [];
    return items.map((item) => {
      const m = fromPopItem(item);
      this.from.set(m, address);
      return m;
    });
  }

  /** Settles a message for good. Fails with INVALID_RECEIPT_HANDLE once it became visible again. */
  async ack(message: SimpleMessage): Promise<void> {
    await this.core.transport(this.addressOf(message)).request("ackMessage", { group: this.group, receiptHandle: message.receiptHandle }, this.core.requestTimeoutMs);
  }

  /**
   * Makes the message visible again `invisibleMs` from now (0: at once: a nack) instead of when
   * its invisibility would end. Its receipt handle changes (the message is updated in place).
   */
  async changeInvisibleDuration(message: SimpleMessage, invisibleMs: number): Promise<void> {
    const reply = await this.core.transport(this.addressOf(message)).request(
      "changeInvisibleDuration",
      { group: this.group, receiptHandle: message.receiptHandle, invisibleMs },
      this.core.requestTimeoutMs,
    );
    message.receiptHandle = String(reply.receiptHandle);
    message.invisibleUntil = Number(reply.invisibleUntil);
  }

  shutdown(): Promise<void> {
    return this.core.close();
  }

  private addressOf(message: SimpleMessage): string {
    const address = this.from.get(message);
    if (address === undefined) throw new BrokerError(ErrorCode.BAD_REQUEST, "not a message this consumer received");
    return address;
  }
}

/** A popMessage item: [topic, queueId, queueOffset, commitLogOffset, storeTimestamp, attempt, receiptHandle, invisibleUntil, message]. */
function fromPopItem(item: unknown): SimpleMessage {
  if (!Array.isArray(item) || item.length < 9) throw new BrokerError(ErrorCode.MALFORMED_FRAME, "unexpected response from the broker: a popMessage item must be an array of 9");
  const [topic, queueId, queueOffset, commitLogOffset, storeTimestamp, attempt, receiptHandle, invisibleUntil, message] = item;
  if (message === null || typeof message !== "object" || Array.isArray(message) || message instanceof Uint8Array) {
    throw new BrokerError(ErrorCode.MALFORMED_FRAME, "unexpected response from the broker: a stored message must be a map");
  }
  // A retried message is stored in the retry topic: it is shown with the topic it was sent to.
  return Object.assign(message, {
    topic,
    queueId,
    queueOffset,
    commitLogOffset,
    storeTimestamp,
    reconsumeTimes: attempt - 1,
    deliveryAttempt: attempt,
    receiptHandle,
    invisibleUntil,
  }) as SimpleMessage;
}
