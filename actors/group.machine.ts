// One consumer group: its committed offsets per queue (members and rebalance come later).
// Commits reach it only after they are recorded in the CommitLog, so replaying the
// RMQ_SYS_CONSUMER_OFFSETS topic from a snapshot's offset rebuilds exactly this context.
import { assign, setup } from "xstate";

export interface GroupContext {
  group: string;
  /** "topic:queueId" -> the next offset the group will consume. */
  offsets: Record<string, number>;
}

export type GroupEvent =
  | { type: "COMMIT_OFFSET"; topic: string; queueId: number; offset: number }
  | { type: "RESET_OFFSET"; topic: string; offsets: Record<number, number> };

export const offsetKey = (topic: string, queueId: number) => `${topic}:${queueId}`;

export function createGroupMachine() {
  return setup({
    types: {} as { context: GroupContext; events: GroupEvent; input: { group: string } },
  }).createMachine({
    id: "group",
    context: ({ input }) => ({ group: input.group, offsets: {} }),
    initial: "active",
    states: {
      active: {
        on: {
          COMMIT_OFFSET: {
            actions: assign({
              offsets: ({ context, event }) => ({ ...context.offsets, [offsetKey(event.topic, event.queueId)]: event.offset }),
            }),
          },
          RESET_OFFSET: {
            actions: assign({
              offsets: ({ context, event }) => {
                const next = { ...context.offsets };
                for (const [q, o] of Object.entries(event.offsets)) next[offsetKey(event.topic, Number(q))] = o;
                return next;
              },
            }),
          },
        },
      },
    },
  });
}
