// A PushConsumer's membership of its group on every broker it deals with (RocketMQ's
// MQClientInstance.sendHeartbeatToAllBroker): a broker lists only members that heartbeat to it,
// so a broker first heard of (in a route, or as the home of a queue) gets a heartbeat before its
// member list is read for a rebalance.
import type { Subscription } from "../protocol/mod.ts";
import { dialableAddress } from "./endpoints.ts";
import { routeAddresses } from "./rebalance.ts";
import type { TopicRoute } from "./topic-route.ts";

export interface MembershipDeps {
  clientId: string;
  group: string;
  model: "clustering" | "broadcasting";
  subs: Map<string, Subscription>;
  /** The endpoint in use now. */
  endpoint(): string;
  /** A request to the endpoint in use (a failure moves later requests to the next endpoint). */
  request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** A request to one broker. */
  call(address: string, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** A topic's route from any name server (or broker) that answers; null when the topic does not exist. */
  queryRoute(topic: string): Promise<{ route: TopicRoute; via: string } | null>;
  /** A periodic heartbeat to `address` failed (or, with no error, worked). */
  heartbeated(address: string, error?: unknown): void;
}

export class ConsumerMembership {
  /** Every broker heartbeated to. */
  private readonly brokers = new Set<string>();
  /** A replicated group's members by id (dialable), by group name, as the last route named them. */
  private readonly groupMembers = new Map<string, Record<string, string>>();

  constructor(private readonly deps: MembershipDeps) {}

  knows(address: string): boolean {
    return this.brokers.has(address);
  }

  /** The address of member `brokerId` of the replicated group `brokerName` (a pull's suggestWhichBrokerId). */
  memberAddress(brokerName: string, brokerId: number): string | undefined {
    return this.groupMembers.get(brokerName)?.[brokerId];
  }

  /** A broker to heartbeat to from now on. */
  add(address: string): void {
    this.brokers.add(address);
  }

  /**
   * Tells every broker this client knows who it is and what it consumes. The first one goes to
   * the endpoint in use and must be accepted; later ones go everywhere, failures ignored.
   */
  async heartbeat(first: boolean): Promise<void> {
    const { deps } = this;
    const subscriptions: Record<string, string> = {};
    for (const [topic, sub] of deps.subs) subscriptions[topic] = sub.expression;
    const args = { clientId: deps.clientId, consumerGroups: [{ group: deps.group, model: deps.model, subscriptions }] };
    if (first) {
      await deps.request("heartbeat", args);
      return;
    }
    const targets = new Set([deps.endpoint(), ...this.brokers]);
    await Promise.all([...targets].map((a) => deps.call(a, "heartbeat", args).then(() => deps.heartbeated(a), (e) => deps.heartbeated(a, e))));
  }

  /** A topic's route; every broker in it first heard of here gets a heartbeat before it is returned. */
  async route(topic: string): Promise<{ route: TopicRoute; via: string } | null> {
    const r = await this.deps.queryRoute(topic);
    for (const b of r?.route.brokers ?? []) {
      if (b.brokerAddrs && typeof b.brokerAddrs === "object") {
        const members = Object.entries(b.brokerAddrs).filter(([, a]) => typeof a === "string");
        this.groupMembers.set(b.name, Object.fromEntries(members.map(([id, a]) => [id, dialableAddress(a, r!.via)])));
      }
    }
    // In a cluster, a broker first heard of here must know this member before its member list
    // is read: heartbeat to every broker holding the topic.
    const fresh = r ? routeAddresses(r).filter((a) => !this.brokers.has(a)) : [];
    if (fresh.length > 0) {
      for (const a of fresh) this.brokers.add(a);
      await this.heartbeat(false);
    }
    return r;
  }
}
