// The producer's latency fault tolerance, RocketMQ's MQFaultStrategy + LatencyFaultToleranceImpl:
// every send's latency marks its broker unavailable for a time that grows with the latency
// (a send slower than 550 ms: 30 s; a failed send counts as 10 s, RocketMQ 5's isolation
// latency, which is the 3000 ms class: 180 s), and the queue choice skips marked brokers,
// falling back to the least bad one when every broker of the route is marked.
import type { MessageQueue, TopicPublishInfo } from "./topic-route.ts";

/** RocketMQ's latencyMax: latency thresholds, ms. */
export const LATENCY_MAX = [50, 100, 550, 1000, 2000, 3000, 15000];
/** RocketMQ's notAvailableDuration: how long a broker at each threshold is avoided, ms. */
export const NOT_AVAILABLE_DURATION = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/** The latency a failed send counts as (RocketMQ 5: `isolation ? 10000 : currentLatency`). */
export const ISOLATION_LATENCY_MS = 10_000;

export interface FaultToleranceOptions {
  /** The clock; Date.now by default (tests inject their own). */
  now?: () => number;
  latencyMax?: number[];
  notAvailableDuration?: number[];
}

interface FaultItem {
  broker: string;
  /** The latency it is judged by (the isolation latency after a failure). */
  latency: number;
  /** When it may be chosen again. */
  availableAt: number;
}

export class LatencyFaultTolerance {
  private readonly items = new Map<string, FaultItem>();
  private readonly now: () => number;
  private readonly latencyMax: number[];
  private readonly notAvailableDuration: number[];

  constructor(options: FaultToleranceOptions = {}) {
    this.now = options.now ?? Date.now;
    this.latencyMax = options.latencyMax ?? LATENCY_MAX;
    this.notAvailableDuration = options.notAvailableDuration ?? NOT_AVAILABLE_DURATION;
    if (this.latencyMax.length !== this.notAvailableDuration.length || this.latencyMax.some((v, i) => !(v >= 0) || (i > 0 && v < this.latencyMax[i - 1]))) {
      throw new RangeError("latencyMax must be ascending and as long as notAvailableDuration");
    }
  }

  /** How long a broker whose send took `latency` ms is avoided (the largest threshold it reached). */
  notAvailableFor(latency: number): number {
    for (let i = this.latencyMax.length - 1; i >= 0; i--) {
      if (latency >= this.latencyMax[i]) return this.notAvailableDuration[i];
    }
    return 0;
  }

  /** Records a send to `broker` that took `latency` ms; `isolation`: it failed. */
  update(broker: string, latency: number, isolation: boolean): void {
    const judged = isolation ? Math.max(latency, ISOLATION_LATENCY_MS) : latency;
    const availableAt = this.now() + this.notAvailableFor(judged);
    // Called after every send: reuse the item rather than make garbage per message.
    const item = this.items.get(broker);
    if (item) {
      item.latency = judged;
      item.availableAt = availableAt;
    } else this.items.set(broker, { broker, latency: judged, availableAt });
  }

  isAvailable(broker: string): boolean {
    const item = this.items.get(broker);
    return item === undefined || this.now() >= item.availableAt;
  }

  /** When a marked broker may be chosen again (ms since the epoch); undefined if it is not marked. */
  availableAt(broker: string): number | undefined {
    const item = this.items.get(broker);
    return item && this.now() < item.availableAt ? item.availableAt : undefined;
  }

  /** Of these brokers, the least bad: unmarked first, then the lowest latency, then the soonest available. */
  leastBad(brokers: string[]): string | undefined {
    let best: string | undefined;
    let bestKey: [number, number, number] | undefined;
    for (const b of brokers) {
      const item = this.items.get(b);
      const key: [number, number, number] = item ? [this.isAvailable(b) ? 0 : 1, item.latency, item.availableAt] : [0, 0, 0];
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        best = b;
        bestKey = key;
      }
    }
    return best;
  }

  /**
   * The next queue of the route (its increasing index modulo the queue count) on an available
   * broker, other than `lastBroker` (the one a retried send just failed on) when another is
   * available; when every broker is marked, the next queue of the least bad one.
   */
  selectQueue(info: TopicPublishInfo, lastBroker?: string): MessageQueue | undefined {
    const n = info.queues.length;
    if (n === 0) return undefined;
    let availableButLast: MessageQueue | undefined;
    for (let i = 0; i < n; i++) {
      const mq = info.next()!;
      if (!this.isAvailable(mq.broker)) continue;
      if (mq.broker !== lastBroker) return mq;
      availableButLast ??= mq;
    }
    if (availableButLast) return availableButLast;
    const brokers = [...new Set(info.queues.map((q) => q.broker))];
    const pick = this.leastBad(brokers.filter((b) => b !== lastBroker)) ?? this.leastBad(brokers);
    for (let i = 0; i < n; i++) {
      const mq = info.next()!;
      if (mq.broker === pick) return mq;
    }
    return info.next();
  }
}

/** Without fault tolerance: the next queue, avoiding the broker a retried send failed on (RocketMQ's selectOneMessageQueue(lastBrokerName)). */
export function selectAvoiding(info: TopicPublishInfo, lastBroker?: string): MessageQueue | undefined {
  const first = info.next();
  if (!first || lastBroker === undefined || first.broker !== lastBroker) return first;
  for (let i = 1; i < info.queues.length; i++) {
    const mq = info.next()!;
    if (mq.broker !== lastBroker) return mq;
  }
  return first;
}
