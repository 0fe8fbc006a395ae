// The topics actor `topics`: the parent of every queue actor (`queue:<topic>:<id>`,
// actors/queue.machine.ts). Written as plain actor logic, as the transactions actor is: its
// children are one object updated in place, so creating a topic costs its own queues, not a copy
// of every queue there is (actors/children.ts says why a machine parent cannot). The root
// forwards the events of queues here; the queue actors themselves are machines, found by their
// system ids as before. The topic table is the TopicService's: CREATE_TOPIC says which queue
// actors a topic needs.
import type { ActorLogic, ActorRefFrom, ActorSystem, EventObject, Snapshot } from "xstate";
import { Children } from "./children.ts";
import { createQueueMachine, type Hold, type QueueDeps, type QueueEvent, type QueueInput } from "./queue.machine.ts";

export const TOPICS_ID = "topics";

export const queueActorId = (topic: string, q: number) => `queue:${topic}:${q}`;

export type TopicsEvent =
  /** A topic was created or widened: its missing queue actors are spawned (and every one told a new perm). */
  | { type: "CREATE_TOPIC"; topic: string; queues: number; perm: number; permChanged?: boolean }
  /** At start-up, the whole table: the queue actors the snapshot did not have are spawned, those of topics it no longer has stopped. */
  | { type: "CREATE_TOPICS"; topics: [topic: string, queues: number, perm: number][] }
  /** deleteTopic: the topic's queue actors answer their held pulls and stop. */
  | { type: "DELETE_TOPIC"; topic: string }
  /** One append batch: each queue named hears APPENDED. */
  | { type: "APPEND_BATCH"; queues: [topic: string, queueId: number, maxOffset: number, lastStoreTimestamp: number][] }
  | { type: "PULL"; topic: string; queueId: number; hold: Hold }
  /** A group's membership changed: the queues of `topics` free the locks departed members held. */
  | { type: "RELEASE_LEFT"; group: string; members: string[]; topics: string[] }
  | { type: "REARM" }
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: "xstate.stop" };

export interface TopicsContext {
  /** Queue actors that failed and were restarted, by id: supervision made visible. */
  restarts: Record<string, number>;
}

type QueueActor = ActorRefFrom<ReturnType<typeof createQueueMachine>>;

export type TopicsSnapshot = Snapshot<undefined> & { context: TopicsContext; children: Record<string, QueueActor> };

export interface TopicsDeps extends QueueDeps {
  /** The state a failed queue actor restarts from (its offsets as the store has them; `last`, the context it had). */
  restartInput(childId: string, last: Record<string, unknown> | undefined): Record<string, unknown>;
}

type TopicsLogic = ActorLogic<TopicsSnapshot, TopicsEvent, undefined, ActorSystem<any>, EventObject>;

/**
 * A queue that never held a message and holds no pull and no lock is exactly what CREATE_TOPICS
 * spawns from the topic table at start-up (TopicService.restore): it is left out of the snapshot.
 * On a broker with tens of thousands of topics most queues are such, and the snapshot, written
 * every 30 s in one synchronous encode, then grows with what happened rather than with the count
 * (5,000 topics of 8 queues: 12.5 MB, encoded in ~1 s, while the event loop waited).
 */
function atRest(queue: QueueActor): boolean {
  const s = queue.getSnapshot();
  const c = s.context;
  if (s.value !== "idle" || c.maxOffset !== 0 || c.minOffset !== 0 || c.lastStoreTimestamp !== 0 || c.holds.length > 0) return false;
  for (const _ in c.locks) return false;
  return true;
}

export function createTopicsLogic(deps: TopicsDeps): TopicsLogic {
  const queues = new Children<QueueActor>(createQueueMachine(deps), "queue");
  return {
    config: undefined,
    transition(snap, event, scope) {
      const send = (id: string, e: QueueEvent) => queues.send(snap.children, scope, id, e);
      const spawnMissing = (topic: string, n: number, perm: number, permChanged?: boolean) => {
        for (let q = 0; q < n; q++) {
          const id = queueActorId(topic, q);
          if (!snap.children[id]) {
            const input: QueueInput = { topic, queueId: q, perm };
            queues.spawn(snap.children, scope, id, input);
          } else if (permChanged) send(id, { type: "SET_PERM", perm });
        }
      };
      switch (event.type) {
        case "CREATE_TOPIC":
          spawnMissing(event.topic, event.queues, event.perm, event.permChanged);
          break;
        case "CREATE_TOPICS": {
          const table = new Set(event.topics.map(([topic]) => topic));
          for (const id in snap.children) if (!table.has(snap.children[id].getSnapshot().context.topic)) queues.stop(snap.children, scope, id);
          for (const [topic, n, perm] of event.topics) spawnMissing(topic, n, perm);
          break;
        }
        case "DELETE_TOPIC":
          for (let q = 0; snap.children[queueActorId(event.topic, q)]; q++) {
            const id = queueActorId(event.topic, q);
            const { holds } = snap.children[id].getSnapshot().context;
            // Answered now with what the store has (nothing): the next pull hears TOPIC_NOT_FOUND.
            if (holds.length > 0) deps.releaseHolds(event.topic, q, holds, "timeout");
            queues.stop(snap.children, scope, id);
          }
          break;
        case "APPEND_BATCH":
          for (const [topic, q, maxOffset, lastStoreTimestamp] of event.queues) send(queueActorId(topic, q), { type: "APPENDED", maxOffset, lastStoreTimestamp });
          break;
        case "PULL":
          send(queueActorId(event.topic, event.queueId), { type: "PULL", hold: event.hold });
          break;
        case "RELEASE_LEFT":
          for (const topic of event.topics) {
            for (let q = 0; snap.children[queueActorId(topic, q)]; q++) send(queueActorId(topic, q), { type: "RELEASE_LEFT", group: event.group, members: event.members });
          }
          break;
        case "REARM":
          // Only a queue holding pulls has a timer to re-arm (and restored queues hold none):
          // tens of thousands of idle queues need no event.
          for (const id in snap.children) if (snap.children[id].getSnapshot().value === "holding") send(id, { type: "REARM" });
          break;
        case "xstate.stop":
          queues.stopAll(snap.children, scope);
          return { ...snap, status: "stopped", output: undefined, error: undefined };
        default:
          // Supervision: a queue actor whose effect threw starts again from what the store says.
          queues.restartFailed(snap, scope, event.type, deps.restartInput);
      }
      return snap;
    },
    ...queues.parentSnapshots(atRest),
  };
}
