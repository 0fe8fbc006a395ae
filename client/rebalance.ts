// Client-side rebalance (RocketMQ's RebalanceImpl): for each subscribed topic, list its readable
// queues from the route and the group's members from the broker, allocate, and hand the result
// to the consumer, which starts and stops pulling. Runs are serialized: a trigger during a run
// (a push, the timer) runs once more right after it, never concurrently.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";
import { allocate, type AllocateFunction, type AllocateStrategyName, sortQueues } from "./allocate.ts";
import { dialableAddress } from "./endpoints.ts";
import { PERM_READ, type MessageQueue, type TopicRoute } from "./topic-route.ts";

export interface RebalanceDeps {
  group: string;
  clientId: string;
  model: "clustering" | "broadcasting";
  strategy: AllocateStrategyName | AllocateFunction;
  /** The topics to balance (subscriptions, and the retry topic in clustering). */
  topics(): string[];
  /** A topic's route; null when the topic does not exist. */
  route(topic: string): Promise<{ route: TopicRoute; via: string } | null>;
  /** The group's members, sorted, as the broker at `address` knows them. */
  members(address: string): Promise<string[]>;
  /** The queues of `topic` this member should own now (empty: none). */
  apply(topic: string, queues: MessageQueue[]): Promise<void>;
}

export class Rebalancer {
  private running: Promise<void> | null = null;
  private again = false;
  /** Completed runs; tests and stats read it. */
  runs = 0;
  /** The last run's failures (topic -> error), retried at the next run. */
  failures = new Map<string, unknown>();
  /** Topics that did not exist at the last run. */
  missing = new Set<string>();

  constructor(private readonly deps: RebalanceDeps) {}

  /** Runs a rebalance now, or once more after the one running; resolves when that run is done. */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.runOnce();
          this.runs++;
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const failures = new Map<string, unknown>();
    const missing = new Set<string>();
    await Promise.all(this.deps.topics().map(async (topic) => {
      try {
        const queues = await this.target(topic);
        if (queues === null) missing.add(topic);
        await this.deps.apply(topic, queues ?? []);
      } catch (e) {
        // A topic that could not be balanced keeps what it has until the next run.
        failures.set(topic, e);
      }
    }));
    this.failures = failures;
    this.missing = missing;
  }

  /** The queues of one topic this member takes; null when the topic does not exist. */
  private async target(topic: string): Promise<MessageQueue[] | null> {
    const r = await this.deps.route(topic);
    if (!r) return null;
    const queues = readableQueues(r.route, r.via);
    if (queues.length === 0) return [];
    if (this.deps.model === "broadcasting") return queues;
    const members = await this.deps.members(queues[0].address);
    return allocate(this.deps.strategy, { group: this.deps.group, clientId: this.deps.clientId, members, queues });
  }
}

/** A route's readable queues, sorted by broker name and queue id, with dialable addresses. */
export function readableQueues(route: TopicRoute, via: string): MessageQueue[] {
  const out: MessageQueue[] = [];
  for (const b of route.brokers) {
    if ((b.perm & PERM_READ) === 0) continue;
    const address = dialableAddress(b.address, via);
    for (let q = 0; q < b.queues; q++) out.push({ broker: b.name, address, topic: route.topic, queueId: q });
  }
  return sortQueues(out);
}

/** The dialable addresses of the brokers in a route (a consumer heartbeats to each). */
export function routeAddresses(r: { route: TopicRoute; via: string }): string[] {
  return [...new Set(r.route.brokers.map((b) => dialableAddress(b.address, r.via)))];
}

/** Parses a consumerList reply: the member ids, sorted. */
export function memberList(reply: Record<string, unknown>): string[] {
  const ids = reply.clientIds;
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== "string")) {
    throw new BrokerError(ErrorCode.MALFORMED_FRAME, "consumerList: clientIds must be an array of strings");
  }
  return [...ids as string[]].sort();
}
