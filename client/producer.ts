// The Producer: checks and encodes each message once, picks its queue from the topic's route
// (round-robin, skipping brokers the latency fault tolerance marked slow or failed), and hands
// it to the coalescer of that broker's connection, which batches the sends of one turn into one
// frame. Failures of the connection are retried on another broker, RocketMQ's way.
import { BrokerError, CborWriter, checkGroupName, ErrorCode } from "../protocol/mod.ts";
import { CLIENT_OPTIONS, ClientCore, type ClientOptions } from "./client-core.ts";
import type { ClientEvents, Listener } from "./events.ts";
import { optionNames, refuseUnknown } from "./options-check.ts";
import { type EncodedMessage, encodeMessage, newMessageId, type SendMessage } from "./outgoing-message.ts";
import { type MessageQueueSelector, runSelector } from "./queue-selector.ts";
import { type FlushSchedule, type ItemOutcome, type OutgoingFrame, SendCoalescer } from "./send-coalescer.ts";
import type { MessageQueue, TopicPublishInfo } from "./topic-route.ts";
import { LatencyFaultTolerance, selectAvoiding } from "./latency-fault-tolerance.ts";
import type { Transport } from "./transport.ts";

export interface ProducerOptions extends Omit<ClientOptions, "requestTimeoutMs"> {
  /** Producer group, stored with each message. */
  group?: string;
  /** Time a send may take, retries included. Default 3000 ms (RocketMQ's). */
  sendTimeoutMs?: number;
  /** Retries of a send that failed with CONNECTION_CLOSED, TIMEOUT or SERVICE_UNAVAILABLE. Default 2. */
  retryTimesWhenSendFailed?: number;
  /** Most messages in one frame. Default 256. */
  maxBatchMessages?: number;
  /** Most message bytes in one frame (a larger message travels alone). Default 1 MiB. */
  maxBatchBytes?: number;
  /** When a batch that did not fill up leaves: "microtask" (default) or "timer" (0 ms). */
  flushSchedule?: FlushSchedule;
  /**
   * Latency fault tolerance (RocketMQ's MQFaultStrategy): a broker whose send was slow or failed
   * is avoided for a while. Default true.
   */
  sendLatencyFaultEnable?: boolean;
  /** Latency thresholds, ms. Default RocketMQ's [50, 100, 550, 1000, 2000, 3000, 15000]. */
  latencyMax?: number[];
  /** How long a broker at each threshold is avoided, ms. Default [0, 0, 30000, 60000, 120000, 180000, 600000]. */
  notAvailableDuration?: number[];
}

export const PRODUCER_OPTIONS = [
  ...CLIENT_OPTIONS.filter((o) => o !== "requestTimeoutMs"),
  ...optionNames<Omit<ProducerOptions, keyof ClientOptions>>({
    group: true,
    sendTimeoutMs: true,
    retryTimesWhenSendFailed: true,
    maxBatchMessages: true,
    maxBatchBytes: true,
    flushSchedule: true,
    sendLatencyFaultEnable: true,
    latencyMax: true,
    notAvailableDuration: true,
  }),
];

/** A send's options. */
export interface SendOptions {
  /**
   * Stops waiting for the send when it aborts: the promise rejects with the signal's reason, and
   * no attempt (or retry) starts after that. One already on its way may still be stored.
   */
  signal?: AbortSignal;
}

export interface SendResult {
  status: "SEND_OK";
  msgId: string;
  queue: { broker: string; topic: string; queueId: number };
  /** -1 for a delayed message (delayLevel, deliverAt, delayMs): it gets its offset when it is delivered. */
  queueOffset: number;
}

/** sendBatch's error when some messages failed: `results` says, per message, what happened. */
export class SendBatchError extends BrokerError {
  constructor(code: string, message: string, readonly results: (SendResult | BrokerError)[]) {
    super(code, message);
    this.name = "SendBatchError";
  }
}

// NOT_MASTER: a replicated group's slave was sent to (its master changed since the route was read).
const RETRYABLE = new Set<string>([ErrorCode.CONNECTION_CLOSED, ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE, "NOT_MASTER"]);
/** Errors that say the cached route is wrong. */
const STALE_ROUTE = new Set<string>([ErrorCode.TOPIC_NOT_FOUND, ErrorCode.QUEUE_NOT_FOUND, ErrorCode.NO_PERMISSION, "NOT_MASTER"]);

export class Producer {
  readonly group: string | undefined;
  /** Protected: the TransactionProducer answers checkTransaction pushes on it. */
  protected readonly core: ClientCore;
  private readonly sendTimeoutMs: number;
  private readonly retries: number;
  private readonly coalescers = new Map<string, SendCoalescer>();
  private readonly brokerNames = new Map<string, string>();
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private stopped = false;
  /** The brokers marked slow or failed; undefined when sendLatencyFaultEnable is false. */
  readonly faultTolerance: LatencyFaultTolerance | undefined;

  constructor(private readonly options: ProducerOptions) {
    // A subclass (TransactionProducer) checks its own, wider, set of options.
    if (new.target === Producer && options !== null && typeof options === "object") refuseUnknown(options, PRODUCER_OPTIONS, "Producer");
    this.sendTimeoutMs = positive(options.sendTimeoutMs, 3000, "sendTimeoutMs");
    this.retries = nonNegativeInt(options.retryTimesWhenSendFailed, 2, "retryTimesWhenSendFailed");
    positive(options.maxBatchMessages, 256, "maxBatchMessages");
    positive(options.maxBatchBytes, 1024 * 1024, "maxBatchBytes");
    if (options.group !== undefined) checkGroupName(options.group);
    this.group = options.group;
    this.core = new ClientCore({ ...options, requestTimeoutMs: this.sendTimeoutMs }, new.target.name);
    this.faultTolerance = options.sendLatencyFaultEnable === false
      ? undefined
      : new LatencyFaultTolerance({ latencyMax: options.latencyMax, notAvailableDuration: options.notAvailableDuration });
  }

  /** Listens to the producer's events: "error" and "connection" (see ClientEvents). */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.core.on(type, listener);
  }

  /** Connects to a broker (sends before start connect on demand) and starts heartbeats. */
  async start(): Promise<void> {
    if (this.stopped) throw new BrokerError(ErrorCode.CONNECTION_CLOSED, "the producer is shut down");
    await this.core.connect();
    this.core.startHeartbeat(this.group ? [this.group] : []);
  }

  /**
   * Sends one message; resolves when the broker has stored it. With a `selector` (RocketMQ's
   * send(msg, selector, arg)), `selector(queues, msg, arg)` picks its queue from the topic's
   * writable queues: ordered messages of one key go to one queue. `options.signal` stops waiting.
   */
  send(msg: SendMessage, options?: SendOptions): Promise<SendResult>;
  send(msg: SendMessage, selector: MessageQueueSelector, arg?: unknown, options?: SendOptions): Promise<SendResult>;
  send(msg: SendMessage, selector?: MessageQueueSelector | SendOptions, arg?: unknown, options?: SendOptions): Promise<SendResult> {
    if (this.stopped) return Promise.reject(new BrokerError(ErrorCode.CONNECTION_CLOSED, "the producer is shut down"));
    if (selector !== null && typeof selector === "object") [options, selector] = [selector, undefined];
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let m: EncodedMessage;
    try {
      m = encodeMessage(msg, newMessageId(), Date.now(), this.group);
      if (selector !== undefined) {
        if (typeof selector !== "function") throw new BrokerError(ErrorCode.WRONG_TYPE, "selector must be a function (queues, msg, arg) => queue");
        m.select = (queues) => runSelector(selector, queues, msg, arg);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (!signal) return this.track(this.deliver(m, Date.now() + this.sendTimeoutMs));
    m.signal = signal;
    return this.track(untilAborted(this.deliver(m, Date.now() + this.sendTimeoutMs), signal));
  }

  /**
   * Sends many messages, each routed on its own (they travel in as few frames as the batch
   * limits allow). All are checked before any is sent. Resolves with one result per message;
   * if any failed, rejects with a SendBatchError whose `results` holds each one's outcome.
   */
  async sendBatch(msgs: SendMessage[]): Promise<SendResult[]> {
    if (this.stopped) throw new BrokerError(ErrorCode.CONNECTION_CLOSED, "the producer is shut down");
    if (!Array.isArray(msgs)) throw new BrokerError(ErrorCode.WRONG_TYPE, "sendBatch takes an array of messages");
    const born = Date.now();
    const encoded = msgs.map((msg, i) => {
      try {
        return encodeMessage(msg, newMessageId(), born, this.group);
      } catch (e) {
        const err = e as BrokerError;
        throw new BrokerError(err.code, `msgs[${i}]: ${err.message}`);
      }
    });
    const deadline = Date.now() + this.sendTimeoutMs;
    const settled = await Promise.allSettled(encoded.map((m) => this.track(this.deliver(m, deadline))));
    const results = settled.map((s) => (s.status === "fulfilled" ? s.value : asBrokerError(s.reason)));
    const failed = results.filter((r): r is BrokerError => r instanceof BrokerError);
    if (failed.length === 0) return results as SendResult[];
    throw new SendBatchError(failed[0].code, `${failed.length} of ${msgs.length} messages failed; the first: ${failed[0].message}`, results);
  }

  /** Waits for the sends in flight, then closes the connections. Later sends are refused. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const c of this.coalescers.values()) c.flush();
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.core.close();
  }

  /**
   * One message to the broker, with RocketMQ's retries within the send timeout. Written as
   * promise chains rather than an async loop: with the route cached, a send reaches its
   * coalescer synchronously, in the same turn as the caller, which is what lets a turn's sends
   * share a frame.
   */
  private deliver(m: EncodedMessage, deadline: number, attempt = 0, lastBroker?: string): Promise<SendResult> {
    if (m.signal?.aborted) return Promise.reject(m.signal.reason);
    const info = this.core.cachedRoute(m.topic);
    if (info !== undefined) return this.deliverVia(info, m, deadline, attempt, lastBroker);
    return this.core.route(m.topic).then(
      (fetched) => this.deliverVia(fetched, m, deadline, attempt, lastBroker),
      (e) => this.retry(e, undefined, m, deadline, attempt),
    );
  }

  private deliverVia(info: TopicPublishInfo | null, m: EncodedMessage, deadline: number, attempt: number, lastBroker?: string): Promise<SendResult> {
    if (m.signal?.aborted) return Promise.reject(m.signal.reason);
    let mq: MessageQueue | undefined;
    try {
      mq = info ? this.pickQueue(info, m, lastBroker) : undefined;
      if (info && !mq && info.queues.length === 0 && info.route.brokers.length > 0) {
        // Every broker holding the topic is read-only now (a replicated group between masters): ask again soon.
        this.core.invalidateRoute(m.topic);
        throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `topic "${m.topic}" has no writable queue: its brokers are read-only (a group without a master?)`);
      }
      // A selector chooses among the queues of the route: without one, the broker would pick.
      if (m.select && (!info || info.autoCreate)) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${m.topic}" does not exist: a selector needs its queues (create the topic first)`);
    } catch (e) {
      return Promise.reject(e);
    }
    const address = mq?.address ?? this.core.endpoint;
    if (mq && !this.brokerNames.has(address)) this.brokerNames.set(address, mq.broker);
    const began = Date.now();
    return this.coalescer(address).add(m.bytes, m.queueId ?? mq?.queueId, deadline).then(
      (r) => {
        if (mq) this.faultTolerance?.update(mq.broker, Date.now() - began, false);
        const result = (broker: string): SendResult => ({
          status: "SEND_OK",
          msgId: m.msgId,
          queue: { broker, topic: m.topic, queueId: r.queueId },
          queueOffset: r.queueOffset,
        });
        if (mq) return result(mq.broker);
        const known = this.brokerNames.get(address);
        if (info !== null && known !== undefined) return result(known);
        // Sent without a route: the broker has just created the topic. Its route, asked for once
        // for all the sends in flight, names the broker and serves the next sends.
        this.core.forgetMissingRoute(m.topic);
        return this.core.route(m.topic).then(
          (fresh) => result(fresh?.queues.find((q) => q.address === address)?.broker ?? known ?? address),
          () => result(known ?? address),
        );
      },
      (e) => {
        if (mq && RETRYABLE.has(asBrokerError(e).code)) {
          // The broker failed, not the message: avoid it, and ask where the topic lives now.
          this.faultTolerance?.update(mq.broker, Date.now() - began, true);
          this.core.refreshRoute(m.topic);
        }
        return this.retry(e, info, m, deadline, attempt, mq?.broker);
      },
    );
  }

  /** The queue for a message: its own queueId, its sharding key's, or the next one on a broker not marked slow. */
  private pickQueue(info: TopicPublishInfo, m: EncodedMessage, lastBroker?: string): MessageQueue | undefined {
    if (m.select) return m.select(info.queues);
    if (m.queueId !== undefined) return info.byId(m.queueId);
    if (m.shardingKey !== undefined) return info.forKey(m.shardingKey);
    return this.faultTolerance ? this.faultTolerance.selectQueue(info, lastBroker) : selectAvoiding(info, lastBroker);
  }

  /** Retries a failure of the connection while attempts and time are left; rethrows anything else. */
  private retry(e: unknown, info: TopicPublishInfo | null | undefined, m: EncodedMessage, deadline: number, attempt: number, lastBroker?: string): Promise<SendResult> {
    const err = asBrokerError(e);
    if (STALE_ROUTE.has(err.code) && info) this.core.invalidateRoute(m.topic);
    const left = deadline - Date.now();
    if (!RETRYABLE.has(err.code) || attempt >= this.retries || left <= 0 || this.core.isClosed) return Promise.reject(err);
    // A broker that says it is unavailable gets a moment; a dead socket is redialled with backoff by the transport.
    const pause = err.code === ErrorCode.SERVICE_UNAVAILABLE ? sleep(Math.min(left, 100 * 2 ** attempt)) : Promise.resolve();
    return pause.then(() => this.deliver(m, deadline, attempt + 1, lastBroker));
  }

  private coalescer(address: string): SendCoalescer {
    let c = this.coalescers.get(address);
    if (!c) {
      const transport = this.core.transport(address);
      c = new SendCoalescer((frame) => sendFrame(transport, frame), {
        maxMessages: this.options.maxBatchMessages ?? 256,
        maxBytes: this.options.maxBatchBytes ?? 1024 * 1024,
        schedule: this.options.flushSchedule,
      });
      this.coalescers.set(address, c);
    }
    return c;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    const done = () => {
      if (--this.inFlight === 0 && this.idle.length > 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    p.then(done, done);
    return p;
  }
}

/** `p`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** A frame of one message goes as `send`, of more as `sendBatch`; both answer per message. */
async function sendFrame(transport: Transport, frame: OutgoingFrame): Promise<ItemOutcome[]> {
  if (frame.msgs.length === 1) {
    const args: Record<string, unknown> = { msg: frame.msgs[0] };
    if (frame.queueIds) args.queueId = frame.queueIds[0];
    try {
      return [(await transport.request("send", args, frame.timeoutMs)) as unknown as ItemOutcome];
    } catch (e) {
      const err = asBrokerError(e);
      // The connection's failures fail the frame; the broker's errors are this message's.
      if (RETRYABLE.has(err.code)) throw err;
      return [{ code: err.code, message: err.message }];
    }
  }
  const reply = await transport.requestFrame("sendBatch", (id) => sendBatchFrame(id, frame), frame.timeoutMs);
  if (!Array.isArray(reply.results)) throw new BrokerError(ErrorCode.INTERNAL_ERROR, "sendBatch: the response has no results array");
  return reply.results as ItemOutcome[];
}

/**
 * `{ id, op: "sendBatch", msgs, queueIds? }` with each message's encoded bytes written in as a
 * byte string, as they are: through cbor-x, each was type-checked and copied once more.
 */
function sendBatchFrame(id: number, frame: OutgoingFrame): Uint8Array {
  let size = 64;
  for (const m of frame.msgs) size += m.length + 5;
  if (frame.queueIds) size += 16 + 9 * frame.queueIds.length;
  const w = new CborWriter(size);
  w.map(frame.queueIds ? 4 : 3).text("id").int(id).text("op").text("sendBatch").text("msgs").array(frame.msgs.length);
  for (const m of frame.msgs) w.byteString(m);
  if (frame.queueIds) {
    w.text("queueIds").array(frame.queueIds.length);
    for (const q of frame.queueIds) w.int(q);
  }
  return w.bytes();
}

function asBrokerError(e: unknown): BrokerError {
  return e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String((e as Error)?.message ?? e));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !(v > 0)) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be a positive number`);
  return v;
}

function nonNegativeInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be a non-negative integer`);
  return v;
}
