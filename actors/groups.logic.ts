// The groups actor `groups`: the parent of every consumer group actor (`group:<name>`,
// actors/group.machine.ts), spawned by the first event for a group. Plain actor logic with its
// children updated in place, as the topics actor (actors/children.ts says why); the group actors
// themselves are machines, found by their system ids as before.
import type { ActorLogic, ActorRefFrom, ActorSystem, EventObject, Snapshot } from "xstate";
import { Children, failedChild, type PersistedChild } from "./children.ts";
import { createGroupMachine, type GroupDeps, type GroupEvent } from "./group.machine.ts";

export const GROUPS_ID = "groups";

export const groupActorId = (group: string) => `group:${group}`;

export type GroupsEvent =
  /** For one group's actor (spawned first, unless the event is a departure or a question). */
  | ({ group: string } & Exclude<GroupEvent, { type: "REARM" }>)
  | { type: "REARM" }
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: "xstate.stop" };

type GroupActor = ActorRefFrom<ReturnType<typeof createGroupMachine>>;

export interface GroupsContext {
  /** Group actors that failed and were restarted, by id. */
  restarts: Record<string, number>;
}

export type GroupsSnapshot = Snapshot<undefined> & { context: GroupsContext; children: Record<string, GroupActor> };

export interface GroupsDeps extends GroupDeps {
  /** The state a failed group actor restarts from (`last`: the context it had). */
  restartInput(childId: string, last: Record<string, unknown> | undefined): Record<string, unknown>;
}

type GroupsLogic = ActorLogic<GroupsSnapshot, GroupsEvent, undefined, ActorSystem<any>, EventObject>;

export function createGroupsLogic(deps: GroupsDeps): GroupsLogic {
  const groups = new Children<GroupActor>(createGroupMachine(deps), "group");
  return {
    config: undefined,
    transition(snap, event, scope) {
      if (event.type === "REARM") {
        for (const id in snap.children) groups.send(snap.children, scope, id, { type: "REARM" });
      } else if (event.type === "xstate.stop") {
        groups.stopAll(snap.children, scope);
        return { ...snap, status: "stopped", output: undefined, error: undefined };
      } else if ("group" in event) {
        const { group, ...forward } = event;
        const id = groupActorId(group);
        if (!snap.children[id]) {
          if (forward.type === "UNREGISTER") return snap; // nothing to leave
          if (forward.type === "VIEW") return forward.reply(undefined), snap; // a group nobody heartbeated or committed for
          groups.spawn(snap.children, scope, id, { group });
        }
        groups.send(snap.children, scope, id, forward as GroupEvent);
      } else {
        const id = failedChild(event.type);
        const failed = id === null ? undefined : snap.children[id];
        if (failed) {
          const last = failed.getSnapshot().context as unknown as Record<string, unknown>;
          groups.stop(snap.children, scope, id!);
          groups.spawn(snap.children, scope, id!, deps.restartInput(id!, last));
          snap.context.restarts[id!] = (snap.context.restarts[id!] ?? 0) + 1;
        }
      }
      return snap;
    },
    getInitialSnapshot: () => ({ status: "active", output: undefined, error: undefined, context: { restarts: {} }, children: {} }),
    getPersistedSnapshot: (snap) => ({ status: snap.status, output: undefined, error: undefined, context: snap.context, children: groups.persist(snap.children) }) as never,
    restoreSnapshot(persisted, scope) {
      const p = persisted as { context?: Partial<GroupsContext>; children?: Record<string, PersistedChild> };
      return { status: "active", output: undefined, error: undefined, context: { restarts: { ...p.context?.restarts } }, children: groups.restore(p.children, scope) };
    },
    start: (snap) => groups.start(snap.children),
  };
}
