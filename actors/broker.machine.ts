// The root actor: the supervisor of the broker's actors and the snapshot schedule. Queue actors
// live under the topics actor and consumer group actors under the groups actor (plain actor
// logic that keeps tens of thousands of children cheaply, actors/children.ts); the root routes
// their events and spawns and supervises the rest (delay levels, the timer, the transactions
// and POP actors). It never sees a message body: the server appends a whole batch to the
// CommitLog and then sends one APPEND_BATCH naming the queues it touched. The topic table is the
// TopicService's (runtime/services/topic-service.ts); CREATE_TOPIC says which queue actors a
// topic needs.
import { assertEvent, assign, enqueueActions, setup, spawnChild, stopChild } from "xstate";
import { SCHEDULE_TOPIC } from "../protocol/topics.ts";
import { createDelayMachine, type DelayDeps, delayActorId, type DelayInput } from "./delay.machine.ts";
import type { GroupEvent } from "./group.machine.ts";
import { createGroupsLogic, GROUPS_ID, type GroupsDeps } from "./groups.logic.ts";
import { createPopMachine, popActorId, type PopDeps, type PopEvent } from "./pop.machine.ts";
import type { Hold } from "./queue.machine.ts";
import { createTopicsLogic, TOPICS_ID, type TopicsDeps } from "./topics.logic.ts";
import { createTimerMachine, TIMER_ACTOR_ID, type TimerDeps } from "./timer.machine.ts";
import type { TxDeps, TxEvent, TxInput } from "./transaction.machine.ts";
import { createTransactionRegistryLogic, TX_REGISTRY_ID } from "./transactions.logic.ts";

export { groupActorId, GROUPS_ID } from "./groups.logic.ts";
export { queueActorId, TOPICS_ID } from "./topics.logic.ts";

export const PERM_READ = 4;
export const PERM_WRITE = 2;
export const PERM_RW = PERM_READ | PERM_WRITE;

export interface TopicConfig {
  queues: number;
  perm: number;
  /** System topics (offsets, schedule, transactions) are hidden from topic lists. */
  system?: boolean;
}

export interface BrokerContext {
  brokerName: string;
  /** Absolute time of the next snapshot (timers are not persisted; see DESIGN.md). */
  nextSnapshotAt: number;
  /** Children that failed and were restarted, by id: supervision made visible. */
  restarts: Record<string, number>;
}

export interface BrokerDeps extends TopicsDeps, GroupsDeps, DelayDeps, TimerDeps, TxDeps, PopDeps {
  snapshotIntervalMs: number;
  /** Write a snapshot of the whole tree now (the effect lives outside the machine). */
  snapshot(): void;
  /**
   * The state a failed child restarts from (derived from storage, or from `last`, the context
   * it had before the event it failed on).
   */
  restartInput(childId: string, last: Record<string, unknown> | undefined): Record<string, unknown>;
}

export type BrokerEvent =
  /** A topic was created or changed: its queue actors are spawned (and told a new perm). */
  | { type: "CREATE_TOPIC"; topic: string; queues: number; perm: number; permChanged?: boolean }
  /** At start-up, the whole topic table at once: the queue actors the snapshot did not have are spawned. */
  | { type: "CREATE_TOPICS"; topics: [topic: string, queues: number, perm: number][] }
  /** deleteTopic: the topic's queue actors stop (it has left the table). */
  | { type: "DELETE_TOPIC"; topic: string }
  /** deleteTopic: every group forgets its offsets of the topic. */
  | { type: "FORGET_TOPIC"; topic: string }
  /** deleteSubGroup: the group's actor and POP actor stop. */
  | { type: "DELETE_GROUP"; group: string }
  | { type: "APPEND_BATCH"; queues: [topic: string, queueId: number, maxOffset: number, lastStoreTimestamp: number][] }
  | { type: "PULL"; topic: string; queueId: number; hold: Hold }
  /** A group's membership changed: the queues of `topics` free the locks departed members held. */
  | { type: "RELEASE_LEFT"; group: string; members: string[]; topics: string[] }
  | ({ group: string } & Exclude<GroupEvent, { type: "FORGET_TOPIC" }>)
  /**
   * Sent once after every start: spawns the missing delay-level actors and configures the
   * restored ones. `progress`, when given, is what the CommitLog recorded.
   */
  | { type: "DELAY_LEVELS"; levels: DelayInput[] }
  | { type: "DELAY_REWIND"; level: number; progress: number; retryAt: number }
  /** Sent once after every start: spawns the timer, or has the restored one run at once. */
  | { type: "TIMER_START" }
  /** A timer earlier than the timer actor's next run was scheduled (or a re-put must be retried). */
  | { type: "TIMER_TICK" }
  /** Half messages were stored: one transaction actor each, under the transactions actor `txs`. */
  | { type: "TX_BEGIN"; txs: TxInput[] }
  /** Events for transaction actors (END, CHECK_DUE, ENDED, REARM), by transaction id. */
  | { type: "TX_DELIVER"; events: [id: string, event: TxEvent][] }
  /** After the op records are replayed on start: every restored transaction re-arms. */
  | { type: "TX_REARM" }
  /** Questions for the retention pass: the oldest open transaction's half offset (Infinity: none), each delay level's progress. */
  | { type: "TX_HALVES"; reply: (oldest: number) => void }
  | { type: "DELAY_PROGRESS"; reply: (levels: [level: number, progress: number][]) => void }
  /** For the POP actor of a consumer group (spawned on first use). */
  | { type: "POP"; group: string; event: PopEvent }
  | { type: "REARM" };

export function createBrokerMachine(deps: BrokerDeps) {
  return setup({
    types: {} as { context: BrokerContext; events: BrokerEvent; input: { brokerName: string } },
    actors: { topics: createTopicsLogic(deps), groups: createGroupsLogic(deps), delay: createDelayMachine(deps), timer: createTimerMachine(deps), txs: createTransactionRegistryLogic(deps), pop: createPopMachine(deps) },
    delays: {
      untilSnapshot: ({ context }) => Math.max(0, context.nextSnapshotAt - deps.now()),
    },
    actions: {
      // Queues' events go to the topics actor; a schedule queue's appends also to its delay
      // level's actor (queue level-1 belongs to delay level `level`).
      toTopics: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, ["CREATE_TOPIC", "CREATE_TOPICS", "DELETE_TOPIC", "APPEND_BATCH", "PULL", "RELEASE_LEFT"]);
        enqueue.sendTo(TOPICS_ID, event);
        if (event.type !== "APPEND_BATCH") return;
        for (const [topic, q, maxOffset, lastStoreTimestamp] of event.queues) {
          if (topic === SCHEDULE_TOPIC && self.getSnapshot().children[delayActorId(q + 1)]) {
            enqueue.sendTo(delayActorId(q + 1), { type: "APPENDED", maxOffset, lastStoreTimestamp });
          }
        }
      }),
      configureDelayLevels: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "DELAY_LEVELS");
        for (const input of event.levels) {
          const id = delayActorId(input.level);
          if (self.getSnapshot().children[id]) enqueue.sendTo(id, { type: "CONFIGURE", delayMs: input.delayMs, progress: input.progress });
          else enqueue.spawnChild("delay", { id, systemId: id, input });
        }
      }),
      routeRewind: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "DELAY_REWIND");
        const { level, progress, retryAt } = event;
        if (self.getSnapshot().children[delayActorId(level)]) enqueue.sendTo(delayActorId(level), { type: "REWIND", progress, retryAt });
      }),
      startTimer: enqueueActions(({ enqueue, self }) => {
        if (self.getSnapshot().children[TIMER_ACTOR_ID]) enqueue.sendTo(TIMER_ACTOR_ID, { type: "TICK" });
        else enqueue.spawnChild("timer", { id: TIMER_ACTOR_ID, systemId: TIMER_ACTOR_ID, input: { nextAt: deps.now() } });
      }),
      routeTimerTick: enqueueActions(({ enqueue, self }) => {
        if (self.getSnapshot().children[TIMER_ACTOR_ID]) enqueue.sendTo(TIMER_ACTOR_ID, { type: "TICK" });
      }),
      toGroups: enqueueActions(({ event, enqueue }) => {
        assertEvent(event, ["HEARTBEAT", "UNREGISTER", "COMMIT_OFFSET", "RESET_OFFSET", "VIEW", "FORGET_TOPIC"]);
        enqueue.sendTo(GROUPS_ID, event);
      }),
      deleteGroup: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "DELETE_GROUP");
        enqueue.sendTo(GROUPS_ID, event);
        if (self.getSnapshot().children[popActorId(event.group)]) enqueue(stopChild(popActorId(event.group)));
      }),
      routeToPop: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "POP");
        const { group, event: forward } = event;
        const id = popActorId(group);
        if (!self.getSnapshot().children[id]) {
          if (forward.type === "UNWAIT" || forward.type === "WAKE") return; // nobody waits there
          if (forward.type === "VIEW") return enqueue(() => forward.reply({})); // no batch in flight
          enqueue.spawnChild("pop", { id, systemId: id, input: { group } });
        }
        enqueue.sendTo(id, forward);
      }),
      // Transactions go to the transactions actor (spawned on first use), one event per batch.
      routeTx: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, ["TX_BEGIN", "TX_DELIVER", "TX_REARM", "TX_HALVES"]);
        if (!self.getSnapshot().children[TX_REGISTRY_ID]) {
          if (event.type === "TX_DELIVER") enqueue("answerNotInFlight"); // nothing is in flight
          if (event.type === "TX_HALVES") return enqueue(() => event.reply(Infinity));
          if (event.type !== "TX_BEGIN") return;
          enqueue.spawnChild("txs", { id: TX_REGISTRY_ID, systemId: TX_REGISTRY_ID, input: undefined });
        }
        enqueue.sendTo(
          TX_REGISTRY_ID,
          event.type === "TX_BEGIN" ? { type: "BEGIN", txs: event.txs } : event.type === "TX_DELIVER" ? { type: "DELIVER", events: event.events } : event.type === "TX_HALVES" ? { type: "HALVES", reply: event.reply } : event,
        );
      }),
      // Each delay level answers for itself; the answers are gathered for the asker.
      askDelayProgress: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "DELAY_PROGRESS");
        const ids = Object.keys(self.getSnapshot().children).filter((id) => id.startsWith("delay:"));
        const { reply } = event;
        if (ids.length === 0) return enqueue(() => reply([]));
        const levels: [number, number][] = [];
        const answer = (level: number, progress: number) => {
          levels.push([level, progress]);
          if (levels.length === ids.length) reply(levels);
        };
        for (const id of ids) enqueue.sendTo(id, { type: "PROGRESS", reply: answer });
      }),
      answerNotInFlight: ({ event }) => {
        assertEvent(event, "TX_DELIVER");
        for (const [id, e] of event.events) if (e.type === "END") deps.notInFlight(id, e.answer);
      },
      // Supervision: a child whose action threw is replaced by a fresh one started from the
      // state the broker can vouch for (storage for queues, the context it had for delay levels).
      restartChild: enqueueActions(({ context, event, enqueue, self }) => {
        const id = event.type.slice("xstate.error.actor.".length);
        const src = id.startsWith("pop:") ? "pop" : id.startsWith("delay:") ? "delay" : id === TIMER_ACTOR_ID ? "timer" : id === TX_REGISTRY_ID ? "txs" : id === TOPICS_ID ? "topics" : "groups";
        // The failed child's snapshot holds the context from before the event it failed on.
        const last = (self.getSnapshot().children[id]?.getSnapshot() as { context?: Record<string, unknown> } | undefined)?.context;
        enqueue(stopChild(id));
        enqueue.spawnChild(src, { id, systemId: id, input: deps.restartInput(id, last) as never });
        enqueue.assign({ restarts: { ...context.restarts, [id]: (context.restarts[id] ?? 0) + 1 } });
      }),
      // A restored actor sits in its state without the timers it had (statelyai/xstate#5331):
      // REARM re-enters the timed states, whose delays are computed from absolute due times.
      rearmChildren: enqueueActions(({ enqueue, self }) => {
        for (const id of Object.keys(self.getSnapshot().children)) enqueue.sendTo(id, { type: "REARM" });
      }),
      takeSnapshot: () => deps.snapshot(),
      scheduleSnapshot: assign({ nextSnapshotAt: () => deps.now() + deps.snapshotIntervalMs }),
    },
  }).createMachine({
    id: "broker",
    context: ({ input }) => ({
      brokerName: input.brokerName,
      nextSnapshotAt: deps.now() + deps.snapshotIntervalMs,
      restarts: {},
    }),
    // Once, on a fresh start (a restored root has them: actors/snapshot-upgrade.ts moves an older one's queues and groups there).
    entry: [spawnChild("topics", { id: TOPICS_ID, systemId: TOPICS_ID }), spawnChild("groups", { id: GROUPS_ID, systemId: GROUPS_ID })],
    initial: "running",
    states: {
      running: {
        after: { untilSnapshot: { target: "running", reenter: true, actions: ["takeSnapshot", "scheduleSnapshot"] } },
        on: {
          CREATE_TOPIC: { actions: "toTopics" },
          CREATE_TOPICS: { actions: "toTopics" },
          DELETE_TOPIC: { actions: "toTopics" },
          FORGET_TOPIC: { actions: "toGroups" },
          DELETE_GROUP: { actions: "deleteGroup" },
          APPEND_BATCH: { actions: "toTopics" },
          PULL: { actions: "toTopics" },
          RELEASE_LEFT: { actions: "toTopics" },
          COMMIT_OFFSET: { actions: "toGroups" },
          RESET_OFFSET: { actions: "toGroups" },
          HEARTBEAT: { actions: "toGroups" },
          UNREGISTER: { actions: "toGroups" },
          VIEW: { actions: "toGroups" },
          DELAY_LEVELS: { actions: "configureDelayLevels" },
          DELAY_REWIND: { actions: "routeRewind" },
          TIMER_START: { actions: "startTimer" },
          TIMER_TICK: { actions: "routeTimerTick" },
          TX_BEGIN: { actions: "routeTx" },
          TX_DELIVER: { actions: "routeTx" },
          TX_REARM: { actions: "routeTx" },
          TX_HALVES: { actions: "routeTx" },
          DELAY_PROGRESS: { actions: "askDelayProgress" },
          POP: { actions: "routeToPop" },
          "xstate.error.actor.*": { actions: "restartChild" },
          REARM: { target: "running", reenter: true, actions: "rearmChildren" },
        },
      },
    },
  });
}
