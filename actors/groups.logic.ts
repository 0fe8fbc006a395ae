// The groups actor `groups`: the parent of every consumer group actor (`group:<name>`,
// actors/group.machine.ts), spawned by the first event for a group. Plain actor logic with its
// children updated in place, as the topics actor (actors/children.ts says why); the group actors
// themselves are machines, found by their system ids as before.
import type { ActorLogic, ActorRefFrom, ActorSystem, EventObject, Snapshot } from "xstate";
import { Children } from "./children.ts";
import { createGroupMachine, type GroupDeps, type GroupEvent } from "./group.machine.ts";

export const GROUPS_ID = "groups";

export const groupActorId = (group: string) => `group:${group}`;

export type GroupsEvent =
  /** For one group's actor (spawned first, unless the event is a departure or a question). */
  | ({ group: string } & Exclude<GroupEvent, { type: "REARM" | "FORGET_TOPIC" }>)
  | { type: "REARM" }
  /** deleteTopic: every group forgets its offsets of the topic. */
  | { type: "FORGET_TOPIC"; topic: string }
  /** deleteSubGroup: the group's actor stops, its offsets with it. */
  | { type: "DELETE_GROUP"; group: string }
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: "xstate.stop" };

type GroupActor = ActorRefFrom<ReturnType<typeof createGroupMachine>>;

export interface GroupsContext {
  /** Group actors that failed and were restarted, by id. */
  restarts: Record<string, number>;
}

export type GroupsSnapshot = Snapshot<undefined> & { context: GroupsContext; children: Record<string, GroupActor>; readonly size?: number };

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
      } else if (event.type === "FORGET_TOPIC") {
        for (const id in snap.children) groups.send(snap.children, scope, id, event);
      } else if (event.type === "DELETE_GROUP") {
        if (snap.children[groupActorId(event.group)]) groups.stop(snap.children, scope, groupActorId(event.group));
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
        groups.restartFailed(snap, scope, event.type, deps.restartInput);
      }
      return snap;
    },
    ...groups.parentSnapshots(),
  };
}
