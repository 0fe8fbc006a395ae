// Children kept by a parent written as plain XState actor logic rather than a machine: in one
// object updated in place, so a spawn or a stop costs O(1). A machine parent copies its whole
// `children` object on every spawn and every stop (XState's resolveSpawn/resolveStop): with every
// queue and group a child of the root, creating the 10,000th topic copied 80,000 entries per
// queue, and a shutdown spent 96 % of its time copying. Everything else is what a machine parent
// does, no more: a child starts once its parent's transition is done, is stopped by its parent,
// and is persisted and restored in a machine's snapshot format (so the inspector and the
// snapshots see these children exactly as they saw a machine's).
import { type AnyActorLogic, type AnyActorRef, createActor, type Snapshot } from "xstate";

/** A machine's persisted child entry: the format every snapshot holds. */
export interface PersistedChild {
  snapshot: unknown;
  src: string;
  systemId?: string;
}

/** What the parent's transition gets from XState, as far as its children need it. */
export interface ParentScope {
  self: AnyActorRef;
  system: unknown;
  defer(fn: () => void): void;
  stopChild(child: AnyActorRef): void;
}

interface SystemParts {
  _relay?(source: AnyActorRef, target: AnyActorRef, event: unknown): void;
  getSnapshot?(): { _scheduledEvents?: Record<string, { source: AnyActorRef; id: string }> };
  scheduler?: { cancel(source: AnyActorRef, id: string): void };
}

/** What a parent written over Children holds: its children, and how often each failed and was started again. */
export interface ParentState<A extends AnyActorRef> {
  status: Snapshot<undefined>["status"];
  context: { restarts: Record<string, number> };
  children: Record<string, A>;
  /** How many children it holds, without counting them (not persisted). */
  readonly size?: number;
}

export class Children<A extends AnyActorRef = AnyActorRef> {
  /** Spawned in the transition under way, started together once it is done. */
  private unstarted: A[] = [];
  /** How many children the parent holds (one parent per instance): counting its keys grew with them. */
  private count = 0;

  constructor(private readonly logic: AnyActorLogic, readonly src: string) {}

  /**
   * A new child with its id as its system id, in `children` now, started after the transition.
   * One deferred start for all the children a transition spawns: XState runs its deferred effects
   * with Array.shift, which costs a copy of the rest once the array is large, and a restart's
   * CREATE_TOPICS spawns a queue actor for every queue there is (11 % of a restart at 5,000 topics).
   */
  spawn(children: Record<string, A>, scope: ParentScope, id: string, input: unknown): A {
    const actor = this.create(scope, id, { input });
    if (!children[id]) this.count++;
    children[id] = actor;
    if (this.unstarted.push(actor) === 1) {
      scope.defer(() => {
        const all = this.unstarted;
        this.unstarted = [];
        for (const a of all) a.start();
      });
    }
    return actor;
  }

  /**
   * Sends a child an event from its parent, as a machine's sendTo does (XState's own relay, so
   * the inspector sees who sent it); processed at once unless the child is busy.
   */
  send(children: Record<string, A>, scope: ParentScope, id: string, event: unknown): void {
    const child = children[id];
    if (!child) return;
    const system = scope.system as SystemParts;
    if (system._relay) system._relay(scope.self, child, event);
    else child.send(event as never);
  }

  stop(children: Record<string, A>, scope: ParentScope, id: string): void {
    const actor = children[id];
    if (!actor) return;
    this.count--;
    delete children[id];
    scope.stopChild(actor);
  }

  /**
   * Stops every child. A stopping actor makes XState look through every scheduled event of the
   * system for its own (scheduler.cancelAll): with thousands of children each holding a timer
   * (a group's member expiry), stopping them one by one took minutes. Their timers are
   * cancelled first, in one pass.
   */
  stopAll(children: Record<string, A>, scope: ParentScope): void {
    cancelTimers(scope.system, (source) => children[source.id] === source);
    for (const id of Object.keys(children)) this.stop(children, scope, id);
  }

  /** The children's entries for the parent's snapshot, but those `derivable` says the parent can make again. */
  persist(children: Record<string, A>, derivable: (child: A) => boolean = () => false): Record<string, PersistedChild> {
    const out: Record<string, PersistedChild> = {};
    for (const id in children) if (!derivable(children[id])) out[id] = { snapshot: children[id].getPersistedSnapshot(), src: this.src, systemId: id };
    return out;
  }

  /** The persisted children of this kind as actors, not started (start() starts them). */
  restore(persisted: Record<string, PersistedChild> | undefined, scope: ParentScope): Record<string, A> {
    const children: Record<string, A> = {};
    for (const id in persisted) if (persisted[id].src === this.src) children[id] = this.create(scope, id, { snapshot: persisted[id].snapshot });
    this.count = Object.keys(children).length;
    return children;
  }

  /** The children the parent holds. */
  get size(): number {
    return this.count;
  }

  start(children: Record<string, A>): void {
    for (const id in children) if (children[id].getSnapshot().status === "active") children[id].start();
  }

  /**
   * Supervision: the child an `xstate.error.actor.<id>` names, if it is one of these, is stopped
   * and started again from `input(id, the context it had)`, and counted in the parent's `restarts`.
   */
  restartFailed(snap: ParentState<A>, scope: ParentScope, eventType: string, input: (id: string, last: Record<string, unknown>) => unknown): void {
    const id = failedChild(eventType);
    const failed = id === null ? undefined : snap.children[id];
    if (!failed) return;
    const last = failed.getSnapshot().context as Record<string, unknown>;
    this.stop(snap.children, scope, id!);
    this.spawn(snap.children, scope, id!, input(id!, last));
    snap.context.restarts[id!] = (snap.context.restarts[id!] ?? 0) + 1;
  }

  /**
   * The parent logic's snapshots (XState's ActorLogic): new, persisted and restored in a machine's
   * format; `derivable` children are left out of the persisted one (as `persist`).
   */
  parentSnapshots(derivable?: (child: A) => boolean) {
    return {
      getInitialSnapshot: () => this.sized({ status: "active" as const, output: undefined, error: undefined, context: { restarts: {} }, children: {} as Record<string, A> }),
      getPersistedSnapshot: (snap: ParentState<A>) => ({ status: snap.status, output: undefined, error: undefined, context: snap.context, children: this.persist(snap.children, derivable) }) as never,
      restoreSnapshot: (persisted: unknown, scope: ParentScope) => {
        const p = persisted as { context?: { restarts?: Record<string, number> }; children?: Record<string, PersistedChild> };
        return this.sized({ status: "active" as const, output: undefined, error: undefined, context: { restarts: { ...p.context?.restarts } }, children: this.restore(p.children, scope) });
      },
      start: (snap: ParentState<A>) => this.start(snap.children),
    };
  }

  /** The snapshot with `size` read from this instance's count (a getter, so persisting leaves it out). */
  private sized<S extends object>(snap: S): S & { readonly size: number } {
    return Object.defineProperty(snap, "size", { get: () => this.count, enumerable: false }) as S & { readonly size: number };
  }

  private create(scope: ParentScope, id: string, from: { input: unknown } | { snapshot: unknown }): A {
    return createActor(this.logic, { id, systemId: id, parent: scope.self, src: this.src, ...from } as never) as unknown as A;
  }
}

/** The child id an XState error event names (`xstate.error.actor.<id>`), or null. */
export function failedChild(eventType: string): string | null {
  return eventType.startsWith("xstate.error.actor.") ? eventType.slice("xstate.error.actor.".length) : null;
}

/**
 * Cancels the system's scheduled events (XState's `after` timers and delayed sends) whose source
 * passes `which`, in one pass over them. A shutdown cancels them all before stopping the tree:
 * otherwise each stopping actor looks through every timer still scheduled (scheduler.cancelAll),
 * and 100,000 queue actors stopping past 10,000 groups' expiry timers took minutes.
 */
export function cancelTimers(system: unknown, which: (source: AnyActorRef) => boolean = () => true): void {
  const parts = system as SystemParts;
  const scheduled = parts.getSnapshot?.()._scheduledEvents ?? {};
  for (const key in scheduled) {
    const { source, id } = scheduled[key];
    if (which(source)) parts.scheduler?.cancel(source, id);
  }
}
