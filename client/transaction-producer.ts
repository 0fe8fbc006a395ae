// The TransactionProducer (RocketMQ's TransactionMQProducer): sendInTransaction stores a half
// message, runs the local transaction, and tells the broker COMMIT, ROLLBACK or UNKNOWN. The
// broker holds the half message where no consumer sees it; when a transaction stays unresolved,
// it pushes checkTransaction to a producer of the group, and `check` answers. A plain Producer
// underneath: the half message travels the same batched send path, and `send` works as usual.
import { BrokerError, ErrorCode, MessageProp, type MessageView, type Push } from "../protocol/mod.ts";
import { Producer, PRODUCER_OPTIONS, type ProducerOptions, type SendResult } from "./producer.ts";
import { why } from "./client-log.ts";
import { refuseUnknown } from "./options-check.ts";
import type { SendMessage } from "./outgoing-message.ts";
import type { Answer } from "./push-options.ts";

export type LocalTransactionState = "COMMIT" | "ROLLBACK" | "UNKNOWN";

export interface TransactionProducerOptions extends ProducerOptions {
  /** Producer group: the broker asks a live producer of this group about unresolved transactions. */
  group: string;
  /** Answers the broker's check of a transaction whose outcome it was not told (or not told in time). */
  check: (msg: MessageView) => Answer<LocalTransactionState>;
  /** Heartbeat period: a broker that restarted learns of this producer again within it. Default 30000 ms. */
  heartbeatIntervalMs?: number;
  /** How long an endTransaction is retried while the broker cannot be reached. Default 60000 ms. */
  endTransactionRetryMs?: number;
}

export interface TransactionSendResult extends SendResult {
  /** What the local transaction returned (UNKNOWN when it threw or returned anything else). */
  localTransactionState: LocalTransactionState;
  /**
   * The broker's answer to endTransaction: COMMITTED, ROLLED_BACK, IN_FLIGHT (UNKNOWN: the broker
   * will check back), NOT_IN_FLIGHT (ended before, e.g. by a check); or NOT_ACKNOWLEDGED when the
   * broker could not be told within endTransactionRetryMs (it will check back).
   */
  endState: string;
}

interface PendingEnd {
  msgId: string;
  resolution: LocalTransactionState;
  resolve(state: string): void;
  reject(e: unknown): void;
}

const RETRYABLE = new Set<string>([ErrorCode.CONNECTION_CLOSED, ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE]);
const STATES = new Set<string>(["COMMIT", "ROLLBACK", "UNKNOWN"]);
const isState = (s: unknown): s is LocalTransactionState => STATES.has(s as string);

export class TransactionProducer extends Producer {
  private readonly check: TransactionProducerOptions["check"];
  private readonly heartbeatIntervalMs: number;
  private readonly endRetryMs: number;
  /** Checks being answered: the broker may ask again before the first answer is done. */
  private readonly checking = new Set<string>();
  private readonly openTransactions = new Set<Promise<unknown>>();
  private closing = false;
  /** endTransactions of this turn, per broker address: they leave in one frame. */
  private readonly ends = new Map<string, PendingEnd[]>();

  constructor(options: TransactionProducerOptions) {
    if (options === null || typeof options !== "object") throw new BrokerError(ErrorCode.BAD_REQUEST, "options { endpoints, group, check } are required");
    if (typeof options.group !== "string" || options.group === "") throw new BrokerError(ErrorCode.MISSING_FIELD, "a TransactionProducer needs its producer group");
    if (typeof options.check !== "function") throw new BrokerError(ErrorCode.MISSING_FIELD, "a TransactionProducer needs check(msg), which answers the broker's checks");
    refuseUnknown(options, [...PRODUCER_OPTIONS, "check", "heartbeatIntervalMs", "endTransactionRetryMs"], "TransactionProducer");
    super(options);
    this.check = options.check;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
    this.endRetryMs = options.endTransactionRetryMs ?? 60_000;
    if (!(this.heartbeatIntervalMs > 0)) throw new BrokerError(ErrorCode.BAD_REQUEST, "heartbeatIntervalMs must be a positive number");
    this.core.onPush = (push, address) => this.onPush(push, address);
  }

  override async start(): Promise<void> {
    await super.start();
    this.core.startHeartbeat([this.group!], this.heartbeatIntervalMs);
  }

  /**
   * Sends `msg` as a half message, runs `executeLocal` once it is stored, and ends the
   * transaction with its answer. A send failure rejects before the local transaction runs.
   */
  sendInTransaction(
    msg: SendMessage,
    executeLocal: (msg: SendMessage, sent: SendResult) => Answer<LocalTransactionState>,
  ): Promise<TransactionSendResult> {
    if (this.closing) return Promise.reject(new BrokerError(ErrorCode.CONNECTION_CLOSED, "the producer is shut down"));
    if (msg === null || typeof msg !== "object") return Promise.reject(new BrokerError(ErrorCode.WRONG_TYPE, "a message must be an object { topic, body, ... }"));
    if (msg.delayLevel !== undefined || msg.deliverAt !== undefined || msg.delayMs !== undefined) {
      return Promise.reject(new BrokerError(ErrorCode.BAD_REQUEST, "a transactional message cannot be delayed (delayLevel, deliverAt, delayMs)"));
    }
    const p = this.run(msg, executeLocal);
    this.openTransactions.add(p);
    const done = () => this.openTransactions.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for transactions in flight (their endTransaction included), then shuts the producer down. */
  override async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.openTransactions]);
    await super.shutdown();
  }

  private async run(
    msg: SendMessage,
    executeLocal: (msg: SendMessage, sent: SendResult) => Answer<LocalTransactionState>,
  ): Promise<TransactionSendResult> {
    const sent = await this.send({ ...msg, props: { ...msg.props, [MessageProp.TRAN_MSG]: "true" } });
    // A throw or an answer of another kind is UNKNOWN, RocketMQ's way: the broker will check back.
    const state = await this.answer(sent.msgId, "local transaction", () => executeLocal(msg, sent));
    const endState = await this.end(sent, state);
    return { ...sent, localTransactionState: state, endState };
  }

  /** endTransaction to the broker holding the half message, retried while the broker cannot be reached. */
  private async end(sent: SendResult, state: LocalTransactionState): Promise<string> {
    const deadline = Date.now() + this.endRetryMs;
    for (let attempt = 0;; attempt++) {
      try {
        return await this.endOnce(this.addressOf(sent), sent.msgId, state);
      } catch (e) {
        const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
        if (!RETRYABLE.has(code) || this.core.isClosed) throw e;
        const left = deadline - Date.now();
        if (left <= 0) return "NOT_ACKNOWLEDGED";
        await new Promise((r) => setTimeout(r, Math.min(left, 100 * 2 ** Math.min(attempt, 4))));
      }
    }
  }

  private endOnce(address: string, msgId: string, resolution: LocalTransactionState): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let list = this.ends.get(address);
      if (!list) {
        this.ends.set(address, (list = []));
        queueMicrotask(() => this.flushEnds(address));
      }
      list.push({ msgId, resolution, resolve, reject });
    });
  }

  /** One endTransaction frame for everything ended in this turn; each transaction gets its own answer. */
  private flushEnds(address: string): void {
    const list = this.ends.get(address)!;
    this.ends.delete(address);
    const transport = this.core.transport(address);
    const timeout = this.core.requestTimeoutMs;
    if (list.length === 1) {
      const [e] = list;
      transport.request("endTransaction", { group: this.group, msgId: e.msgId, resolution: e.resolution, fromCheck: false }, timeout).then((r) => e.resolve(String(r.state)), e.reject);
      return;
    }
    const transactions = list.map((e) => ({ msgId: e.msgId, resolution: e.resolution }));
    transport.request("endTransaction", { group: this.group, transactions, fromCheck: false }, timeout).then(
      (reply) => {
        const results = Array.isArray(reply.results) ? (reply.results as { code?: unknown; message?: unknown; state?: unknown }[]) : [];
        list.forEach((e, i) => {
          const r = results[i];
          if (r?.code === 0) e.resolve(String(r.state));
          else e.reject(new BrokerError(String(r?.code ?? ErrorCode.INTERNAL_ERROR), String(r?.message ?? "endTransaction: no result for this transaction")));
        });
      },
      (err) => list.forEach((e) => e.reject(err)),
    );
  }

  /** The address of the broker that stored the half message (the endpoint when the route does not say). */
  private addressOf(sent: SendResult): string {
    const info = this.core.cachedRoute(sent.queue.topic);
    return info?.queues.find((q) => q.broker === sent.queue.broker)?.address ?? this.core.endpoint;
  }

  private onPush(push: Push, address: string): void {
    if (push.op !== "checkTransaction" || push.group !== this.group || typeof push.msgId !== "string") return;
    const msgId = push.msgId;
    if (this.checking.has(msgId) || this.core.isClosed) return;
    this.checking.add(msgId);
    const answer = async () => {
      const state = await this.answer(msgId, "check", () => this.check(push.msg as MessageView));
      // No retry: an answer that does not arrive is asked for again at the next check.
      await this.core.transport(address).request("endTransaction", { group: this.group, msgId, resolution: state, fromCheck: true }, this.core.requestTimeoutMs);
    };
    answer()
      .catch((e) => this.core.failed({ kind: "transaction", error: e, messageId: msgId }, `check answer ${address}`, `the answer to the broker's check of ${msgId} could not be delivered: ${why(e)}`))
      .finally(() => this.checking.delete(msgId));
  }

  /** What the application's callback answered; UNKNOWN, reported, when it threw or answered something else. */
  private async answer(msgId: string, what: string, callback: () => Answer<LocalTransactionState>): Promise<LocalTransactionState> {
    let error: unknown;
    try {
      const s = await callback();
      if (isState(s)) return s;
      error = new BrokerError(ErrorCode.BAD_REQUEST, `the ${what} answered ${JSON.stringify(s)}; expected "COMMIT", "ROLLBACK" or "UNKNOWN"`);
    } catch (e) {
      error = e;
    }
    this.core.events.emit("error", { kind: "transaction", error, messageId: msgId });
    this.core.log.warn(`the ${what} of ${msgId} failed, taken as UNKNOWN (the broker will check back): ${why(error)}`);
    return "UNKNOWN";
  }
}
