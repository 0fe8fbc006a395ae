// The root actor: the queue, group, delay-level, timer and transactions children it spawns and
// supervises, and the snapshot schedule. It never sees a message body: the server appends a
// whole batch to the CommitLog and then sends one APPEND_BATCH naming the queues it touched.
// The topic table is the TopicService's (runtime/services/topic-service.ts); CREATE_TOPIC tells
// the root which queue actors a topic needs.
import { assertEvent, assign, enqueueActions, setup, stopChild } from "xstate";
import { SCHEDULE_TOPIC } from "../protocol/topics.ts";
import { createDelayMachine, type DelayDeps, delayActorId, type DelayInput } from "./delay.machine.ts";
import { createGroupMachine, type GroupDeps, type GroupEvent } from "./group.machine.ts";
import { createPopMachine, popActorId, type PopDeps, type PopEvent } from "./pop.machine.ts";
import { createQueueMachine, type Hold, type QueueDeps } from "./queue.machine.ts";
import { createTimerMachine, TIMER_ACTOR_ID, type TimerDeps } from "./timer.machine.ts";
import type { TxDeps, TxEvent, TxInput } from "./transaction.machine.ts";
import { createTransactionRegistryLogic, TX_REGISTRY_ID } from "./transactions.logic.ts";

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

export interface BrokerDeps extends QueueDeps, GroupDeps, DelayDeps, TimerDeps, TxDeps, PopDeps {
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
  | { type: "APPEND_BATCH"; queues: [topic: string, queueId: number, maxOffset: number, lastStoreTimestamp: number][] }
  | { type: "PULL"; topic: string; queueId: number; hold: Hold }
  /** A group's membership changed: the queues of `topics` free the locks departed members held. */
  | { type: "RELEASE_LEFT"; group: string; members: string[]; topics: string[] }
  | ({ group: string } & GroupEvent)
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
  /** For the POP actor of a consumer group (spawned on first use). */
  | { type: "POP"; group: string; event: PopEvent }
  | { type: "REARM" };

export const queueActorId = (topic: string, q: number) => `queue:${topic}:${q}`;
export const groupActorId = (group: string) => `group:${group}`;

export function createBrokerMachine(deps: BrokerDeps) {
  return setup({
    types: {} as { context: BrokerContext; events: BrokerEvent; input: { brokerName: string } },
    actors: { queue: createQueueMachine(deps), group: createGroupMachine(deps), delay: createDelayMachine(deps), timer: createTimerMachine(deps), txs: createTransactionRegistryLogic(deps), pop: createPopMachine(deps) },
    delays: {
      untilSnapshot: ({ context }) => Math.max(0, context.nextSnapshotAt - deps.now()),
    },
    actions: {
      spawnQueues: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "CREATE_TOPIC");
        const { topic, queues, perm } = event;
        const children = self.getSnapshot().children;
        for (let q = 0; q < queues; q++) {
          const id = queueActorId(topic, q);
          if (!children[id]) enqueue.spawnChild("queue", { id, systemId: id, input: { topic, queueId: q, perm } });
          else if (event.permChanged) enqueue.sendTo(id, { type: "SET_PERM", perm });
        }
      }),
      routeAppends: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "APPEND_BATCH");
        for (const [topic, q, maxOffset, lastStoreTimestamp] of event.queues) {
          enqueue.sendTo(queueActorId(topic, q), { type: "APPENDED", maxOffset, lastStoreTimestamp });
          // Schedule queue level-1 belongs to delay level `level` too.
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
      routePull: enqueueActions(({ event, enqueue }) => {
        assertEvent(event, "PULL");
        enqueue.sendTo(queueActorId(event.topic, event.queueId), { type: "PULL", hold: event.hold });
      }),
      releaseLeft: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "RELEASE_LEFT");
        const { group, members, topics } = event;
        const children = self.getSnapshot().children;
        for (const topic of topics) {
          for (let q = 0; children[queueActorId(topic, q)]; q++) enqueue.sendTo(queueActorId(topic, q), { type: "RELEASE_LEFT", group, members });
        }
      }),
      routeToGroup: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, ["HEARTBEAT", "UNREGISTER", "COMMIT_OFFSET", "RESET_OFFSET", "VIEW"]);
        const { group, ...forward } = event;
        const id = groupActorId(group);
        if (!self.getSnapshot().children[id]) {
          if (forward.type === "UNREGISTER") return; // nothing to leave
          if (forward.type === "VIEW") return enqueue("answerNoGroup");
          enqueue.spawnChild("group", { id, systemId: id, input: { group } });
        }
        enqueue.sendTo(id, forward);
      }),
      routeToPop: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, "POP");
        const { group, event: forward } = event;
        const id = popActorId(group);
        if (!self.getSnapshot().children[id]) {
          if (forward.type === "UNWAIT" || forward.type === "WAKE") return; // nobody waits there
          enqueue.spawnChild("pop", { id, systemId: id, input: { group } });
        }
        enqueue.sendTo(id, forward);
      }),
      // A group nobody heartbeated or committed for has no actor: nothing to tell.
      answerNoGroup: ({ event }) => {
        assertEvent(event, "VIEW");
        event.reply(undefined);
      },
      // Transactions go to the transactions actor (spawned on first use), one event per batch.
      routeTx: enqueueActions(({ event, enqueue, self }) => {
        assertEvent(event, ["TX_BEGIN", "TX_DELIVER", "TX_REARM"]);
        if (!self.getSnapshot().children[TX_REGISTRY_ID]) {
          if (event.type === "TX_DELIVER") enqueue("answerNotInFlight"); // nothing is in flight
          if (event.type !== "TX_BEGIN") return;
          enqueue.spawnChild("txs", { id: TX_REGISTRY_ID, systemId: TX_REGISTRY_ID, input: undefined });
        }
        enqueue.sendTo(TX_REGISTRY_ID, event.type === "TX_BEGIN" ? { type: "BEGIN", txs: event.txs } : event.type === "TX_DELIVER" ? { type: "DELIVER", events: event.events } : event);
      }),
      answerNotInFlight: ({ event }) => {
        assertEvent(event, "TX_DELIVER");
        for (const [id, e] of event.events) if (e.type === "END") deps.notInFlight(id, e.answer);
      },
      // Supervision: a child whose action threw is replaced by a fresh one started from the
      // state the broker can vouch for (storage for queues, the context it had for delay levels).
      restartChild: enqueueActions(({ context, event, enqueue, self }) => {
        const id = event.type.slice("xstate.error.actor.".length);
        const src = id.startsWith("queue:") ? "queue" : id.startsWith("pop:") ? "pop" : id.startsWith("delay:") ? "delay" : id === TIMER_ACTOR_ID ? "timer" : id === TX_REGISTRY_ID ? "txs" : "group";
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
    initial: "running",
    states: {
      running: {
        after: { untilSnapshot: { target: "running", reenter: true, actions: ["takeSnapshot", "scheduleSnapshot"] } },
        on: {
          CREATE_TOPIC: { actions: "spawnQueues" },
          APPEND_BATCH: { actions: "routeAppends" },
          PULL: { actions: "routePull" },
          RELEASE_LEFT: { actions: "releaseLeft" },
          COMMIT_OFFSET: { actions: "routeToGroup" },
          RESET_OFFSET: { actions: "routeToGroup" },
          HEARTBEAT: { actions: "routeToGroup" },
          UNREGISTER: { actions: "routeToGroup" },
          VIEW: { actions: "routeToGroup" },
          DELAY_LEVELS: { actions: "configureDelayLevels" },
          DELAY_REWIND: { actions: "routeRewind" },
          TIMER_START: { actions: "startTimer" },
          TIMER_TICK: { actions: "routeTimerTick" },
          TX_BEGIN: { actions: "routeTx" },
          TX_DELIVER: { actions: "routeTx" },
          TX_REARM: { actions: "routeTx" },
          POP: { actions: "routeToPop" },
          "xstate.error.actor.*": { actions: "restartChild" },
          REARM: { target: "running", reenter: true, actions: "rearmChildren" },
        },
      },
    },
  });
}
