// The pull loop of each queue a PushConsumer owns (RocketMQ's PullMessageService with
// DefaultMQPushConsumerImpl.pullMessage): long-poll the queue from its next offset, pause while
// flow control says too much is cached, filter tag-hash collisions, cache what came and hand it
// to the consume service. Clustering commits ride on each pull. A replicated group's member
// answers each pull with the member to pull from next (suggestWhichBrokerId: a slave for a
// consumer far behind, RocketMQ's slaveReadEnable); the loop follows it for its queue, and its
// commits then go to the queue's own broker, the master, on their own.
import { BrokerError, ErrorCode, matchesTag, type MessageView, parseSubscription, PullStatus, type Subscription } from "../protocol/mod.ts";
import { fromPullItem } from "./message-view.ts";
import type { ProcessQueue } from "./process-queue.ts";
import type { Transport } from "./transport.ts";

/** After a failed pull (or while an orderly queue's lock is not ours), look again after this. */
export const PULL_ERROR_BACKOFF_MS = 1000;
const EMPTY_PULL_PAUSE_MS = 100;
/**
 * The most a pull asks for while its queue is behind (the broker's cap per pull). Caught up, a
 * pull asks for pullBatchSize and is held until messages come; behind, one pull of up to 1,000
 * costs both sides far less than 30 pulls of 32 (measured: broker CPU per drained message about
 * halved), as RocketMQ's pulls of 32 that bring back up to 4 MiB do.
 */
export const CATCH_UP_PULL_MAX = 1000;

export interface PullDeps {
  group: string;
  model: "clustering" | "broadcasting";
  subs: Map<string, Subscription>;
  retryTopic: string;
  pullBatchSize: number;
  pullThresholdForQueue: number;
  /** In bytes. */
  pullThresholdSizeForQueue: number;
  maxSpan: number;
  pollMs: number;
  requestTimeoutMs: number;
  transport(address: string): Transport;
  /** Orderly: false while the queue's lock is not ours. */
  mayPull(pq: ProcessQueue): boolean;
  /** Messages now cached for `pq`, to be consumed. */
  submit(pq: ProcessQueue, msgs: MessageView[]): void;
  /** The connection to the queue's broker closed. */
  connectionLost(): void;
  /** The broker no longer serves the queue (topic or queue gone, or no permission). */
  queueGone(): void;
  /** A pull failed (it is tried again after a pause); or, with no error, one worked. */
  pulled?(pq: ProcessQueue, error?: unknown): void;
  /** The address of member `brokerId` of a replicated group (the queue's broker name), as its route lists it. */
  memberAddress?(brokerName: string, brokerId: number): string | undefined;
  /** Records the queue's committable offset at its own broker (while pulls go to a slave, which takes no commits). */
  commitHome?(pq: ProcessQueue): void;
}

export class PullService {
  constructor(private readonly deps: PullDeps) {}

  /** Why pulling this queue must wait, or null (RocketMQ's three flow-control checks). */
  private flowControl(pq: ProcessQueue): string | null {
    if (pq.cachedCount > this.deps.pullThresholdForQueue) return "count";
    if (pq.cachedBytes > this.deps.pullThresholdSizeForQueue) return "size";
    if (pq.span() > this.deps.maxSpan) return "span";
    return null;
  }

  /**
   * pullBatchSize, or when the queue is `behind` by more, as many as each flow-control limit has
   * room for (count, span, and bytes at `bodyBytes` a message), up to CATCH_UP_PULL_MAX: a larger
   * pull never takes the cache past a limit that a pull of pullBatchSize would not.
   */
  private pullSize(pq: ProcessQueue, behind: number, bodyBytes: number): number {
    const { pullBatchSize, pullThresholdForQueue, pullThresholdSizeForQueue, maxSpan } = this.deps;
    if (behind <= pullBatchSize) return pullBatchSize;
    const first = pq.first();
    const spanRoom = first === undefined ? maxSpan : maxSpan - (pq.nextOffset - first);
    const bytesRoom = bodyBytes > 0 ? Math.floor((pullThresholdSizeForQueue - pq.cachedBytes) / bodyBytes) : Infinity;
    return Math.max(pullBatchSize, Math.min(CATCH_UP_PULL_MAX, behind, pullThresholdForQueue - pq.cachedCount, spanRoom, bytesRoom));
  }

  /** Pulls the queue until it is dropped. */
  async pullLoop(pq: ProcessQueue): Promise<void> {
    const { mq } = pq;
    const { deps } = this;
    const sub = deps.subs.get(mq.topic) ?? parseSubscription("*");
    /** Where pulls go: the queue's broker, or the member of its group the last answer suggested. */
    let from = mq.address;
    /** Messages past the next offset at the last answer (its maxOffset - nextOffset), and the mean body size of the last found. */
    let behind = 0;
    let bodyBytes = 0;
    while (!pq.dropped) {
      if (!deps.mayPull(pq)) {
        await pq.sleep(PULL_ERROR_BACKOFF_MS);
        continue;
      }
      if (this.flowControl(pq)) {
        // Resumes on the event of a message finishing, not on a timer.
        pq.pausedCount++;
        while (!pq.dropped && this.flowControl(pq)) await pq.changed();
        continue;
      }
      const args: Record<string, unknown> = { topic: mq.topic, queueId: mq.queueId, offset: pq.nextOffset, maxCount: this.pullSize(pq, behind, bodyBytes) };
      if (sub.expression !== "*") args.expression = sub.expression;
      if (deps.pollMs > 0) args.pollMs = deps.pollMs;
      // Clustering commits ride on the pull, as RocketMQ's do: progress reaches the broker with
      // every pull, not only every persistOffsetIntervalMs.
      const commit = pq.committableOffset();
      const home = from === mq.address;
      if (deps.model === "clustering" && commit !== pq.lastCommitted) {
        if (home) {
          args.group = deps.group;
          args.commitOffset = commit;
        } else deps.commitHome?.(pq);
      }
      let reply: Record<string, unknown>;
      try {
        reply = await deps.transport(from).request("pull", args, deps.pollMs + deps.requestTimeoutMs);
      } catch (e) {
        if (pq.dropped) return;
        if (!home) {
          from = mq.address; // a slave that fails: back to the queue's broker at once
          continue;
        }
        deps.pulled?.(pq, e);
        const code = e instanceof BrokerError ? e.code : "";
        if (code === ErrorCode.CONNECTION_CLOSED) deps.connectionLost();
        else if (code === ErrorCode.TOPIC_NOT_FOUND || code === ErrorCode.QUEUE_NOT_FOUND || code === ErrorCode.NO_PERMISSION) deps.queueGone();
        await pq.sleep(PULL_ERROR_BACKOFF_MS);
        continue;
      }
      if (pq.dropped) return;
      deps.pulled?.(pq);
      if (args.commitOffset !== undefined) pq.lastCommitted = Math.max(pq.lastCommitted, commit);
      const suggested = reply.suggestWhichBrokerId;
      from = typeof suggested === "number" ? deps.memberAddress?.(mq.broker, suggested) ?? mq.address : mq.address;
      behind = Number(reply.maxOffset) - Number(reply.nextOffset) || 0;
      try {
        bodyBytes = (await this.took(pq, sub, reply)) ?? bodyBytes;
      } catch {
        // A response this client cannot read: ask again a little later rather than spin.
        await pq.sleep(PULL_ERROR_BACKOFF_MS);
      }
    }
  }

  /** Caches and dispatches what a pull returned, and moves the queue's next offset; the mean body size of what it found. */
  private async took(pq: ProcessQueue, sub: Subscription, reply: Record<string, unknown>): Promise<number | undefined> {
    const { mq } = pq;
    const next = Number(reply.nextOffset);
    switch (reply.status) {
      case PullStatus.FOUND: {
        const items = Array.isArray(reply.msgs) ? reply.msgs : [];
        const msgs: MessageView[] = [];
        for (const item of items) {
          const m = fromPullItem(item, mq.queueId);
          // The broker matched the tag's hash; collisions are filtered out here.
          if (!matchesTag(sub, m.tags)) continue;
          // A retry shows the topic it was first sent to, as RocketMQ's resetRetryTopic does.
          if (mq.topic === this.deps.retryTopic && m.props?.ORIGIN_TOPIC) m.topic = m.props.ORIGIN_TOPIC;
          msgs.push(m);
        }
        const bytes = pq.put(msgs, next);
        this.deps.submit(pq, msgs);
        return msgs.length ? bytes / msgs.length : undefined;
      }
      case PullStatus.NO_NEW_MSG:
      case PullStatus.NO_MATCHED_MSG:
      case PullStatus.OFFSET_ILLEGAL:
      case PullStatus.OFFSET_MOVED: // retention deleted what it asked for: resume at the new min
        if (Number.isInteger(next) && next >= 0) pq.nextOffset = next;
        // Without long polling, an empty queue would be asked again at once, forever.
        if (this.deps.pollMs === 0 && reply.status === PullStatus.NO_NEW_MSG) await pq.sleep(EMPTY_PULL_PAUSE_MS);
        return;
      default:
        throw new BrokerError(ErrorCode.MALFORMED_FRAME, `pull: unknown status ${String(reply.status)}`);
    }
  }
}
