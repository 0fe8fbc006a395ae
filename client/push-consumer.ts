// The PushConsumer, RocketMQ's DefaultMQPushConsumer with concurrent consumption: it joins a
// consumer group with heartbeats, takes its share of the subscribed topics' queues by
// client-side rebalance, long-polls each of them under per-queue flow control, runs the handler
// with bounded concurrency, sends failed messages back for a later retry, and commits, per
// queue, the oldest offset still unfinished. This file is the lifecycle and the rebalance glue
// (which queues it owns, and when); the parts live beside it: push-options.ts (checks and
// defaults), consumer-membership.ts (heartbeats to every broker), pull-service.ts (each queue's
// pull loop), consume-concurrently-service.ts and orderly-service.ts (running the handler),
// consumer-offsets.ts (reading and recording progress), message-iterator.ts (`for await`).
// Every failure it meets is reported (client-core.ts: an "error" event and a log line).
import { BrokerError, ErrorCode, type MessageView, type Push, type Subscription } from "../protocol/mod.ts";
import { type AllocatableQueue, queueKey } from "./allocate.ts";
import { ClientCore } from "./client-core.ts";
import { ABANDONED, ConsumeConcurrentlyService } from "./consume-concurrently-service.ts";
import type { ClientEvents, Listener, QueueName } from "./events.ts";
import { why } from "./client-log.ts";
import { MessageIterator } from "./message-iterator.ts";
import { ConsumerMembership } from "./consumer-membership.ts";
import { ConsumerOffsets } from "./consumer-offsets.ts";
import { ConsumeOrderlyService } from "./orderly-service.ts";
import { ProcessQueue, type QueueStats } from "./process-queue.ts";
import { PULL_ERROR_BACKOFF_MS, PullService } from "./pull-service.ts";
import { orderlySettings, type PushConsumerOptions, pushSettings } from "./push-options.ts";
import { memberList, Rebalancer } from "./rebalance.ts";
import type { MessageQueue } from "./topic-route.ts";

export type { Answer, BatchMessageHandler, ConsumeResult, MessageHandler, PushConsumerOptions } from "./push-options.ts";

export interface ConsumerStats {
  /** Handlers running now. */
  inFlight: number;
  /** Batches waiting for a free handler slot. */
  backlog: number;
  /** Messages handled with SUCCESS. */
  succeeded: number;
  /** Messages whose handler failed (sent back, or retried here). */
  failed: number;
  /** Messages sent back to the broker for a retry. */
  sentBack: number;
  /** Completed rebalances. */
  rebalances: number;
  queues: QueueStats[];
}

const DRAIN_WAIT_MS = 3000; // a queue taken away: how long its running handlers may finish before the commit
/** A rebalance that failed, or found a subscribed topic missing, runs again this soon. */
const FAILED_REBALANCE_RETRY_MS = 1000;
/** At most one handler-failure line a second; the events report every one. */
const HANDLER_LOG_EVERY_MS = 1000;

type State = "created" | "starting" | "running" | "stopping" | "stopped";

export class PushConsumer {
  readonly group: string;
  readonly model: "clustering" | "broadcasting";
  private readonly core: ClientCore;
  private readonly subs: Map<string, Subscription>;
  private readonly heartbeatIntervalMs: number;
  private readonly rebalanceIntervalMs: number;
  private readonly persistOffsetIntervalMs: number;
  private readonly rebalancer: Rebalancer;
  private readonly membership: ConsumerMembership;
  private readonly offsets: ConsumerOffsets;
  private readonly puller: PullService;
  private readonly concurrently: ConsumeConcurrentlyService;
  /** Orderly consumption's locks and per-queue loops (orderly: true). */
  private readonly orderly: ConsumeOrderlyService | undefined;

  private state: State = "created";
  private stopping: Promise<void> | null = null;
  /** Queues owned now, by queueKey. */
  private readonly pqs = new Map<string, ProcessQueue>();
  /** Queues given up whose handlers may still finish before their last commit. */
  private readonly draining = new Set<Promise<void>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private intervals: ReturnType<typeof setInterval>[] = [];
  private heartbeatPending: ReturnType<typeof setTimeout> | undefined;
  private counters = { succeeded: 0, failed: 0, sentBack: 0 };
  /** Iterator mode (no handler given): the messages the `for await` loop takes. */
  private readonly iterator: MessageIterator | undefined;
  private handlerLoggedAt = -Infinity;
  private handlerUnlogged = 0;

  constructor(options: PushConsumerOptions) {
    const settings = pushSettings(options);
    this.group = settings.group;
    this.model = settings.model;
    this.subs = settings.subs;
    this.heartbeatIntervalMs = settings.heartbeatIntervalMs;
    this.rebalanceIntervalMs = settings.rebalanceIntervalMs;
    this.persistOffsetIntervalMs = settings.persistOffsetIntervalMs;
    const call = (address: string, op: string, args: Record<string, unknown>) => this.call(address, op, args);
    if (!settings.handler && !settings.batchHandler) this.iterator = new MessageIterator(() => this.shutdown());
    // One batch for either handler (a single-message one gets the first), or for the iterator;
    // handlers are called as methods of the consumer, as they always were.
    const handle = settings.batchHandler
      ? (msgs: MessageView[]) => settings.batchHandler!.call(this, msgs)
      : settings.handler
      ? (msgs: MessageView[]) => settings.handler!.call(this, msgs[0])
      : (msgs: MessageView[]) => this.iterator!.handler(msgs[0]);
    // Its result as it comes, a value or a promise of one (a handler that succeeds at once costs
    // no promise); throws and values other than the two results are reported.
    const consume = (msgs: MessageView[]): unknown => {
      let r: unknown;
      try {
        r = handle(msgs);
      } catch (e) {
        return this.handlerFailed(msgs, e);
      }
      if (r === "SUCCESS" || r === "RECONSUME_LATER") return r;
      if (typeof (r as PromiseLike<unknown> | null)?.then === "function") {
        return Promise.resolve(r).then((v) => this.handlerResult(msgs, v), (e) => this.handlerFailed(msgs, e));
      }
      return this.handlerResult(msgs, r);
    };

    this.core = new ClientCore(options, `PushConsumer ${this.group}`);
    this.membership = new ConsumerMembership({
      clientId: this.core.clientId,
      group: this.group,
      model: this.model,
      subs: this.subs,
      endpoint: () => this.core.endpoint,
      request: (op, args) => this.core.request(op, args),
      call,
      queryRoute: (topic) => this.core.queryRoute(topic),
      heartbeated: (address, error) =>
        error === undefined
          ? this.core.log.recovered(`heartbeat ${address}`, `heartbeats to ${address} work again`)
          : this.core.failed({ kind: "heartbeat", error, address }, `heartbeat ${address}`, `heartbeat to ${address} failed: ${why(error)}; the next in ${this.heartbeatIntervalMs} ms`),
    });
    const orderly = orderlySettings(options, this.model);
    if (orderly) {
      this.orderly = new ConsumeOrderlyService({
        ...orderly,
        group: this.group,
        clientId: this.core.clientId,
        consume,
        batchSize: settings.batchSize,
        concurrency: settings.concurrency,
        maxReconsumeTimes: settings.maxReconsumeTimes,
        call,
        counters: this.counters,
        owned: () => [...this.pqs.values()].map((pq) => pq.mq),
        lockLost: (mq) => this.lockLost(mq),
      });
    }
    this.concurrently = new ConsumeConcurrentlyService({
      ...settings,
      consume,
      call,
      counters: this.counters,
      later: (ms, f, keep) => this.later(ms, f, keep),
      sendBackFailed: (m, error) =>
        this.core.failed({ kind: "sendBack", error, messageId: m.id }, `sendBack ${m.topic}`, `a failed message (${m.id}) could not be sent back for a retry: ${why(error)}; consuming it here again in 5 s`),
    });
    this.offsets = new ConsumerOffsets({
      ...settings,
      call,
      owned: () => [...this.pqs.values()],
      committed: (mq, error) =>
        error === undefined
          ? this.core.log.recovered(`commit ${mq.address}`, `offset commits to ${mq.address} work again`)
          : this.core.failed({ kind: "commit", error, queue: queueName(mq) }, `commit ${mq.address}`, `recording the offset of ${queueKey(mq)} failed: ${why(error)}; it is recorded again with the next pull`),
    });
    this.puller = new PullService({
      ...settings,
      requestTimeoutMs: this.core.requestTimeoutMs,
      transport: (address) => this.core.transport(address),
      mayPull: (pq) => !this.orderly || this.orderly.mayPull(pq),
      submit: (pq, msgs) => this.submit(pq, msgs),
      connectionLost: () => this.heartbeatSoon(),
      queueGone: () => void this.rebalance(),
      memberAddress: (brokerName, brokerId) => this.membership.memberAddress(brokerName, brokerId),
      commitHome: (pq) => void this.offsets.commit([pq]).catch(() => {}),
      pulled: (pq, error) =>
        error === undefined
          ? this.core.log.recovered(`pull ${pq.mq.address}`, `pulls from ${pq.mq.address} work again`)
          : this.core.failed({ kind: "pull", error, queue: queueName(pq.mq) }, `pull ${pq.mq.address}`, `pulls from ${pq.mq.address} are failing (${queueKey(pq.mq)}: ${why(error)}); retrying every second`),
    });
    this.core.onPush = (push, address) => this.onPush(push, address);
    this.rebalancer = new Rebalancer({
      group: this.group,
      clientId: this.core.clientId,
      model: this.model,
      strategy: settings.strategy,
      topics: () => [...this.subs.keys()],
      route: (topic) => this.membership.route(topic),
      members: (address) => this.call(address, "consumerList", { group: this.group }).then(memberList),
      apply: (topic, queues) => this.apply(topic, queues),
    });
  }

  get clientId(): string {
    return this.core.clientId;
  }

  /** Listens to the consumer's events: "error" (handler failures and background ones) and "connection" (see ClientEvents). */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.core.on(type, listener);
  }

  /**
   * `for await (const msg of consumer)`, for a consumer made without a handler: it starts if it
   * was not started, and each message counts as consumed when the loop asks for the next one.
   * Leaving the loop shuts the consumer down; the message it was on is left for the group to
   * read again (at least once).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<MessageView> {
    return this.messages();
  }

  /**
   * The same iteration, ending by itself after `max` messages (each consumed) with the consumer
   * stopped, as nats.js's subscriptions with `max` do: `for await (const m of c.messages({ max: 1 }))`.
   */
  messages(options: { max?: number } = {}): AsyncIterableIterator<MessageView> {
    const it = this.iterator;
    if (!it) throw new BrokerError(ErrorCode.BAD_REQUEST, "this consumer has a handler; to iterate one, make it without handler and batchHandler");
    if (options.max !== undefined) {
      if (!Number.isInteger(options.max) || options.max < 1) throw new BrokerError(ErrorCode.BAD_REQUEST, "max must be a positive integer");
      it.limit(options.max);
    }
    if (this.state !== "created") return it;
    const starting = this.start();
    starting.catch(() => {}); // the loop's first step rejects with it
    return {
      next: () => starting.then(() => it.next()),
      return: () => it.return(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Joins the group (a heartbeat the broker accepted) and takes a first share of the queues. */
  async start(): Promise<void> {
    if (this.state !== "created") throw new BrokerError(ErrorCode.BAD_REQUEST, `start: the consumer is ${this.state}`);
    this.state = "starting";
    try {
      await this.core.connect();
      this.membership.add(this.core.endpoint);
      await this.membership.heartbeat(true);
    } catch (e) {
      if (this.state === "starting") {
        this.state = "stopped";
        await this.core.close();
      }
      throw e;
    }
    if (this.state !== "starting") return; // shut down (or killed) while starting
    this.state = "running";
    this.intervals = [
      setInterval(() => void this.membership.heartbeat(false).catch(() => {}), this.heartbeatIntervalMs),
      setInterval(() => void this.rebalance(), this.rebalanceIntervalMs),
      setInterval(() => void this.offsets.persistAll(), this.persistOffsetIntervalMs),
    ];
    this.orderly?.start();
    await this.rebalance();
  }

  /**
   * Leaves politely: stops pulling, lets running handlers finish (at most `timeoutMs`, default
   * no limit), commits every queue's offset, and closes, which leaves the group at once. Batches
   * not yet started stay uncommitted; whoever takes the queue consumes them.
   */
  shutdown(timeoutMs = Infinity): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === "created" || this.state === "stopped") {
      this.state = "stopped";
      return (this.stopping = this.core.close());
    }
    this.state = "stopping";
    this.stopTimers();
    for (const pq of this.pqs.values()) pq.drop();
    this.iterator?.end();
    this.stopping = (async () => {
      await this.concurrently.idle(timeoutMs);
      await this.orderly?.idle(timeoutMs);
      this.orderly?.stop();
      await Promise.all(this.draining);
      await this.offsets.persistAll(true);
      await this.orderly?.unlockAll();
      this.pqs.clear();
      this.state = "stopped";
      await this.core.close();
    })();
    return this.stopping;
  }

  /**
   * Stops at once, as a crashed process would: no waiting, no last commit, connections closed
   * (the broker sees them close, and the group rebalances without this member). Handlers still
   * running finish on their own; their results are ignored. For tests and emergencies.
   */
  kill(): Promise<void> {
    if (this.stopping && this.state === "stopped") return this.stopping;
    this.state = "stopped";
    this.stopTimers();
    this.orderly?.stop();
    for (const pq of this.pqs.values()) {
      pq.discarded = true;
      pq.drop();
    }
    this.pqs.clear();
    this.concurrently.clear();
    this.iterator?.end();
    return (this.stopping = this.core.close());
  }

  /** The queues this member owns now, sorted (the retry topic's included). */
  assignedQueues(): AllocatableQueue[] {
    return [...this.pqs.values()]
      .map(({ mq }) => ({ broker: mq.broker, topic: mq.topic, queueId: mq.queueId }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.broker < b.broker ? -1 : a.broker > b.broker ? 1 : a.queueId - b.queueId));
  }

  /** Counters, per queue and for the whole consumer. */
  stats(): ConsumerStats {
    return {
      inFlight: this.concurrently.running + (this.orderly?.running ?? 0),
      backlog: this.concurrently.waiting,
      ...this.counters,
      rebalances: this.rebalancer.runs,
      queues: [...this.pqs.values()].map((pq) => pq.stats()),
    };
  }

  /** Rebalances now (also done at start, on the broker's push, and every rebalanceIntervalMs). */
  rebalance(): Promise<void> {
    if (this.state !== "running") return Promise.resolve();
    return this.rebalancer.trigger().then(() => {
      const { failures, missing } = this.rebalancer;
      for (const topic of this.subs.keys()) {
        const error = failures.get(topic);
        if (error !== undefined) {
          this.core.failed({ kind: "rebalance", error, topic }, `rebalance ${topic}`, `taking the queues of ${topic} failed: ${why(error)}; trying again in a second`);
        } else this.core.log.recovered(`rebalance ${topic}`, `the queues of ${topic} are balanced again`);
        if (missing.has(topic)) this.core.log.failing(`missing ${topic}`, `topic ${topic} does not exist yet: its queues are taken as soon as it is created`);
        else this.core.log.recovered(`missing ${topic}`, `topic ${topic} exists now: consuming it`);
      }
      // A subscribed topic that does not exist yet is looked for again soon: the broker that
      // creates it tells this member (a "rebalance" push), but in a cluster that broker may not
      // know this member yet.
      if ((failures.size > 0 || missing.size > 0) && this.state === "running") this.later(FAILED_REBALANCE_RETRY_MS, () => void this.rebalance());
    });
  }

  // ---- membership ----

  /** After a connection loss: a reconnected socket is a new connection the broker knows nothing about. */
  private heartbeatSoon(): void {
    if (this.heartbeatPending !== undefined || this.state !== "running") return;
    this.heartbeatPending = setTimeout(() => {
      this.heartbeatPending = undefined;
      if (this.state !== "running") return;
      this.membership.heartbeat(false).then(() => this.rebalance(), () => {});
    }, PULL_ERROR_BACKOFF_MS);
  }

  private onPush(push: Push, address: string): void {
    if (push.group !== this.group || this.state !== "running") return;
    if (push.op === "rebalance") void this.rebalance();
    else if (push.op === "resetOffset") this.reset(push, address);
  }

  // ---- rebalance ----

  /** Makes the owned queues of `topic` exactly `queues`. */
  private async apply(topic: string, queues: MessageQueue[]): Promise<void> {
    if (this.state !== "running") return;
    const want = new Map(queues.map((q) => [queueKey(q), q]));
    for (const [key, pq] of this.pqs) {
      // A broker restarted at another address is another queue to pull from: take it afresh.
      if (pq.mq.topic === topic && (!want.has(key) || want.get(key)!.address !== pq.mq.address)) this.giveUp(key, pq);
    }
    const added = queues.filter((q) => !this.pqs.has(queueKey(q)));
    for (const q of added) {
      if (!this.membership.knows(q.address)) {
        // A broker heard of only now: it must know this member before it lists the group.
        this.membership.add(q.address);
        await this.membership.heartbeat(false);
      }
    }
    // Orderly: only queues whose lock the broker granted (the rest are still another member's).
    const granted = !this.orderly ? added : this.state === "running" ? await this.orderly.lockNew(added) : [];
    const results = await Promise.allSettled(granted.map((q) => this.take(q)));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // A failed run is retried soon: the other member unlocks once its running handler ends.
    if (granted.length < added.length) throw new BrokerError("QUEUE_LOCKED", `${added.length - granted.length} queue(s) of ${topic} are locked by another member`);
  }

  /** Starts consuming a queue from the group's committed offset (or where consumeFrom says). */
  private async take(mq: MessageQueue): Promise<void> {
    const offset = await this.offsets.startOffset(mq);
    const key = queueKey(mq);
    if (this.state !== "running" || this.pqs.has(key)) return;
    const pq = new ProcessQueue(mq, offset);
    this.pqs.set(key, pq);
    void this.puller.pullLoop(pq);
  }

  /** A queue taken away: stop pulling, let its running handlers finish (bounded), commit, forget. */
  private giveUp(key: string, pq: ProcessQueue): void {
    this.pqs.delete(key);
    pq.drop();
    const done = this.orderly ? this.orderly.release(pq, () => this.offsets.commit([pq])) : (async () => {
      await pq.idle(DRAIN_WAIT_MS);
      await this.offsets.commit([pq]).catch(() => {});
    })();
    this.draining.add(done);
    done.finally(() => this.draining.delete(done));
  }

  /** Orderly: the lock on a queue is gone; drop it uncommitted and let rebalance take it again, locked. */
  private lockLost(mq: MessageQueue): void {
    const key = queueKey(mq);
    const pq = this.pqs.get(key);
    if (!pq || pq.mq !== mq) return;
    this.pqs.delete(key);
    pq.discarded = true;
    pq.drop();
    this.later(FAILED_REBALANCE_RETRY_MS, () => void this.rebalance());
  }

  /** The broker moved the group's offsets of a topic: drop what is cached and pull from there. */
  private reset(push: Push, address: string): void {
    const topic = push.topic;
    const offsets = push.offsets;
    if (typeof topic !== "string" || offsets === null || typeof offsets !== "object") return;
    const owned = [...this.pqs].filter(([, pq]) => pq.mq.topic === topic);
    // Several brokers may hold queues of the topic: the push speaks for the one it came from.
    const oneBroker = new Set(owned.map(([, pq]) => pq.mq.broker)).size <= 1;
    const fresh: ProcessQueue[] = [];
    for (const [key, pq] of owned) {
      const offset = (offsets as Record<string, unknown>)[String(pq.mq.queueId)];
      if (typeof offset !== "number" || (!oneBroker && pq.mq.address !== address)) continue;
      pq.discarded = true;
      pq.drop();
      pq.clear();
      const next = new ProcessQueue(pq.mq, offset);
      this.pqs.set(key, next);
      fresh.push(next);
      void this.puller.pullLoop(next);
    }
    // Commit the new offsets ourselves too: a commit of ours sent before the push arrived must
    // not be the last word.
    void this.offsets.commit(fresh).catch(() => {});
  }

  // ---- consuming ----

  /** A handler's value: the two results (and the iterator's ABANDONED) as they are; anything else is reported and retried. */
  private handlerResult(msgs: MessageView[], value: unknown): unknown {
    if (value === "SUCCESS" || value === "RECONSUME_LATER" || value === ABANDONED) return value;
    const shown = value === undefined ? "nothing" : typeof value === "string" ? JSON.stringify(value) : typeof value;
    return this.handlerFailed(msgs, new BrokerError(ErrorCode.BAD_REQUEST, `the handler returned ${shown}; expected "SUCCESS" or "RECONSUME_LATER"`));
  }

  /** A handler failed on `msgs`: an "error" event per message, a log line (at most one a second), and a retry. */
  private handlerFailed(msgs: MessageView[], error: unknown): "RECONSUME_LATER" {
    for (const m of msgs) this.core.events.emit("error", { kind: "handler", error, messageId: m.id, message: m });
    const now = Date.now();
    if (now - this.handlerLoggedAt < HANDLER_LOG_EVERY_MS) this.handlerUnlogged += msgs.length;
    else {
      const more = this.handlerUnlogged ? ` (and ${this.handlerUnlogged} more failures since the last line)` : "";
      this.core.log.error(`the handler failed on message ${msgs[0].id} of ${msgs[0].topic}${msgs.length > 1 ? ` and ${msgs.length - 1} more` : ""}: ${why(error)}; it will be retried${more}`, error);
      this.handlerLoggedAt = now;
      this.handlerUnlogged = 0;
    }
    return "RECONSUME_LATER";
  }

  private submit(pq: ProcessQueue, msgs: MessageView[]): void {
    if (this.orderly) return this.orderly.submit(pq);
    this.concurrently.submit(pq, msgs);
  }

  /** A request to one broker (the one holding a queue). */
  private call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.core.transport(address).request(op, args, this.core.requestTimeoutMs);
  }

  // ---- timers ----

  private later(ms: number, f: () => void, keep = false): void {
    if (!keep && this.state !== "running") return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
  }

  private stopTimers(): void {
    for (const i of this.intervals) clearInterval(i);
    this.intervals = [];
    clearTimeout(this.heartbeatPending);
    this.heartbeatPending = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function queueName(mq: MessageQueue): QueueName {
  return { broker: mq.broker, topic: mq.topic, queueId: mq.queueId };
}
