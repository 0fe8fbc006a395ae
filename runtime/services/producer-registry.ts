// The producers of each producer group (RocketMQ's ProducerManager), from the producerGroups of
// heartbeats: whom the broker asks about a transaction it cannot resolve (checkTransaction).
import type { Producers } from "../context.ts";
import type { Connection } from "../session.ts";

export class ProducerRegistry implements Producers {
  private readonly byGroup = new Map<string, Set<Connection>>();
  private readonly groupsOf = new WeakMap<Connection, string[]>();
  private roundRobin = 0;

  heartbeat(conn: Connection, groups: string[]): void {
    const before = this.groupsOf.get(conn) ?? [];
    for (const g of before) if (!groups.includes(g)) this.byGroup.get(g)?.delete(conn);
    for (const g of groups) {
      let set = this.byGroup.get(g);
      if (!set) this.byGroup.set(g, (set = new Set()));
      set.add(conn);
    }
    this.groupsOf.set(conn, groups);
  }

  closed(conn: Connection): void {
    for (const g of this.groupsOf.get(conn) ?? []) {
      const set = this.byGroup.get(g);
      set?.delete(conn);
      if (set?.size === 0) this.byGroup.delete(g);
    }
    this.groupsOf.delete(conn);
  }

  /** One open connection of a producer of the group, in turn; undefined when none is connected. */
  pick(group: string): Connection | undefined {
    const open = [...(this.byGroup.get(group) ?? [])].filter((c) => c.open);
    return open.length === 0 ? undefined : open[this.roundRobin++ % open.length];
  }
}
