// The producers of each producer group (RocketMQ's ProducerManager), from the producerGroups of
// heartbeats: whom the broker asks about a transaction it cannot resolve (checkTransaction).
import type { Producers } from "../context.ts";
import type { Session } from "../session.ts";

export class ProducerRegistry implements Producers {
  private readonly byGroup = new Map<string, Set<Session>>();
  private readonly groupsOf = new WeakMap<Session, string[]>();
  private roundRobin = 0;

  heartbeat(session: Session, groups: string[]): void {
    const before = this.groupsOf.get(session) ?? [];
    for (const g of before) if (!groups.includes(g)) this.byGroup.get(g)?.delete(session);
    for (const g of groups) {
      let set = this.byGroup.get(g);
      if (!set) this.byGroup.set(g, (set = new Set()));
      set.add(session);
    }
    this.groupsOf.set(session, groups);
  }

  closed(session: Session): void {
    for (const g of this.groupsOf.get(session) ?? []) {
      const set = this.byGroup.get(g);
      set?.delete(session);
      if (set?.size === 0) this.byGroup.delete(g);
    }
    this.groupsOf.delete(session);
  }

  /** One open session of a producer of the group, in turn; undefined when none is connected. */
  pick(group: string): Session | undefined {
    const open = [...(this.byGroup.get(group) ?? [])].filter((s) => s.open);
    return open.length === 0 ? undefined : open[this.roundRobin++ % open.length];
  }
}
