// Read-only views of the actor tree, for the /metrics gauges and for tests: besides the
// inspector (whose job is to show every actor), the one place that reads actors' snapshots.
// Nothing read here decides anything the broker does; services ask actors with events.
import type { AnyActorRef } from "xstate";
import type { DelayContext } from "../actors/delay.machine.ts";
import type { GroupContext } from "../actors/group.machine.ts";
import { GROUPS_ID } from "../actors/groups.logic.ts";
import { TOPICS_ID } from "../actors/topics.logic.ts";
import { TX_REGISTRY_ID } from "../actors/transactions.logic.ts";

export class ActorObserver {
  constructor(private readonly root: () => AnyActorRef) {}

  /** Each group's committed offsets, "topic:queueId" -> offset. */
  groupOffsets(): [group: string, offsets: Record<string, number>][] {
    return this.children("group:", GROUPS_ID).map(([id, c]) => [id.slice("group:".length), (c.getSnapshot().context as GroupContext).offsets]);
  }

  /** Each delay level's progress in its schedule queue. */
  delayProgress(): [level: number, progress: number][] {
    return this.children("delay:").map(([, c]) => {
      const ctx = c.getSnapshot().context as DelayContext;
      return [ctx.level, ctx.progress];
    });
  }

  /** Live actors by kind (the system-id prefix), the root included; queues and groups under the topics and groups actors. */
  actorKinds(): Map<string, number> {
    const kinds = new Map<string, number>([["broker", 1]]);
    for (const [id] of [...this.children(""), ...this.children("", TOPICS_ID), ...this.children("", GROUPS_ID)]) {
      const kind = id.includes(":") ? id.slice(0, id.indexOf(":")) : id;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    return kinds;
  }

  /** Transactions in flight: the transaction actors alive now. */
  transactionsInFlight(): number {
    const txs = this.children(TX_REGISTRY_ID).find(([id]) => id === TX_REGISTRY_ID)?.[1];
    return txs ? Object.keys((txs.getSnapshot() as { children: Record<string, unknown> }).children).length : 0;
  }

  /** The root's children (or those of its child `under`) whose ids start with `prefix`. */
  private children(prefix: string, under?: string): [string, AnyActorRef][] {
    const parent = under === undefined ? this.root() : (this.root().getSnapshot().children as Record<string, AnyActorRef | undefined>)[under];
    const all = (parent?.getSnapshot().children ?? {}) as Record<string, AnyActorRef | undefined>;
    return Object.entries(all).filter((e): e is [string, AnyActorRef] => e[0].startsWith(prefix) && e[1] !== undefined);
  }
}
