// The broker side of the inspector: the actor tree for a new subscriber, then one batched frame
// per interval with the actors whose snapshot changed (found by comparing each actor's snapshot
// with the one last sent: XState's snapshots are immutable) and a sample of the events actors
// processed. Events come from XState's inspection API on the root actor's system, which builds
// several objects per event for every actor (event, microstep, actions, snapshot) once anyone
// observes: so the observer is registered at the start of each interval and removed as soon as
// it holds maxEvents events. A busy broker pays for maxEvents events per interval, not for all of
// them. Everything costly (reading contexts, copying events into CBOR-safe data) happens once per
// interval, for the actors that changed.
//
// The inspector is the one part that reads every actor's snapshot: observing the tree is its job.
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from "xstate";
import { type ActorView, type EventView, type OverviewView, type RequestId, type StateNodeView } from "../../protocol/mod.ts";
import type { Clock, Inspector } from "../context.ts";
import type { Session } from "../session.ts";

export interface InspectServiceDeps {
  clock: Clock;
  brokerName: string;
  /** The root actor (there from start-up on). */
  root(): AnyActorRef;
  /** The console's overview, computed now (services/overview-service.ts). */
  overview(): OverviewView;
}

interface Subscriber {
  session: Session;
  /** Machine kinds whose definitions it has been sent. */
  machines: Set<string>;
  /** Actor ids it knows, to tell it which ones went away. */
  known: Set<string>;
}

export const DEFAULT_INTERVAL_MS = 250;
/** Events sampled per interval: the first ones; the broker stops watching once it has them. */
export const DEFAULT_MAX_EVENTS = 200;
/**
 * The overview (topics, groups, health) rides in a frame at most once a second, and less often
 * on a broker with thousands of topics and groups (1 ms per row, at most every 30 s): its cost
 * and size grow with them.
 */
const overviewEveryMs = (rows: number) => Math.min(30_000, Math.max(1000, rows));
/** A subscriber this far behind skips frames (counted) instead of growing the broker's memory. */
const MAX_BUFFERED = 4 * 1024 * 1024;

export const ROOT_ID = "broker";

export const kindOf = (id: string) => (id === ROOT_ID ? "broker" : id.includes(":") ? id.slice(0, id.indexOf(":")) : id);

export class InspectService implements Inspector {
  private readonly subscribers = new Map<string, Subscriber>();
  /** Each actor's snapshot as last sent: a different one means the actor changed. */
  private sent = new WeakMap<AnyActorRef, unknown>();
  private sample: { t: number; ref: AnyActorRef; from: AnyActorRef | undefined; event: { type: string } }[] = [];
  private counts = new Map<string, number>();
  private timer: unknown = null;
  /**
   * The observer is registered with the actor system only while a sample is being taken: with
   * none, XState skips building its inspection events altogether. With one, they cost a busy
   * broker about 7 µs of CPU per message sent in small batches (measured with every event
   * observed, 28 → 35 µs), which is why the sample stops at maxEvents.
   */
  private observing: { unsubscribe(): void } | null = null;
  /** When the current sample started, and when it filled (null while it is still being taken). */
  private watchStart = 0;
  private watchEnd: number | null = null;
  private intervalMs = DEFAULT_INTERVAL_MS;
  private maxEvents = DEFAULT_MAX_EVENTS;
  /** Frames skipped because a subscriber's socket was backed up. */
  skipped = 0;
  private overviewAt = 0;
  private overviewRows = 0;

  constructor(private readonly deps: InspectServiceDeps) {}

  overview(): OverviewView {
    return this.deps.overview();
  }

  get active(): boolean {
    return this.subscribers.size > 0;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** XState's inspection observer (system.inspect), registered only while a sample is taken. */
  readonly observe = (e: InspectionEvent): void => {
    if (e.type !== "@xstate.event") return;
    const type = e.event.type;
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    this.sample.push({ t: Date.now(), ref: e.actorRef as AnyActorRef, from: e.sourceRef as AnyActorRef | undefined, event: e.event });
    if (this.sample.length >= this.maxEvents) this.stopWatching();
  };

  /** Starts taking the next sample of events (a new interval has begun). */
  private watch(): void {
    if (this.observing || this.maxEvents === 0 || this.subscribers.size === 0) return;
    this.watchStart = Date.now();
    this.watchEnd = null;
    this.observing = this.deps.root().system.inspect(this.observe);
  }

  private stopWatching(): void {
    this.observing?.unsubscribe();
    this.observing = null;
    this.watchEnd ??= Date.now();
  }

  /** Starts a subscription: the reply is the whole tree; frames follow every interval. */
  subscribe(session: Session, reqId: RequestId, options: { intervalMs?: number; maxEvents?: number }): void {
    if (options.intervalMs !== undefined) this.intervalMs = Math.max(50, Math.min(10_000, options.intervalMs));
    if (options.maxEvents !== undefined) this.maxEvents = Math.max(0, Math.min(5000, options.maxEvents));
    const sub: Subscriber = { session, machines: new Set(), known: new Set() };
    const refs = this.allActors();
    const actors = refs.map((ref) => this.view(ref));
    for (const a of actors) sub.known.add(a.id);
    // The first subscriber has the whole tree now: frames bring what changes after it. (A later
    // one may see an actor again in the next frame, which the others need.)
    if (this.subscribers.size === 0) for (const ref of refs) this.sent.set(ref, ref.getSnapshot());
    this.subscribers.set(session.id, sub);
    this.watch();
    session.reply(reqId, {
      brokerName: this.deps.brokerName,
      now: Date.now(),
      intervalMs: this.intervalMs,
      maxEvents: this.maxEvents,
      actors,
      machines: this.machinesFor(sub, refs),
      overview: this.deps.overview(),
    });
    this.schedule();
  }

  unsubscribe(session: Session): boolean {
    const had = this.subscribers.delete(session.id);
    if (this.subscribers.size === 0) this.reset();
    return had;
  }

  close(): void {
    this.subscribers.clear();
    this.reset();
  }

  private reset(): void {
    this.stopWatching();
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.sent = new WeakMap();
    this.sample = [];
    this.counts.clear();
  }

  private schedule(): void {
    if (this.timer !== null || this.subscribers.size === 0) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      try {
        this.flush();
      } catch (e) {
        console.error("inspector frame failed:", e);
      }
      this.schedule();
    }, this.intervalMs);
  }

  /** One frame for every subscriber: changed actors, gone actors, the events sampled, the overview. */
  private flush(): void {
    for (const [id, sub] of this.subscribers) if (!sub.session.open) this.subscribers.delete(id);
    if (this.subscribers.size === 0) return this.reset();
    const refs = this.allActors();
    const changed = refs.filter((ref) => {
      const snapshot = ref.getSnapshot();
      if (this.sent.get(ref) === snapshot) return false;
      this.sent.set(ref, snapshot);
      return true;
    });
    const views = changed.map((ref) => this.view(ref)).filter((v) => v.status !== "stopped");
    const live = new Set(refs.map((ref) => this.id(ref)));
    const now = Date.now();
    // How long the sample took: the whole interval, or less when it filled early.
    const watchedMs = this.maxEvents === 0 ? 0 : (this.watchEnd ?? now) - this.watchStart;
    const events: EventView[] = this.sample.map((e) => ({
      t: e.t,
      to: this.id(e.ref),
      from: e.from ? this.id(e.from) : null,
      type: e.event.type,
      ...eventData(e.event),
    }));
    const counts = Object.fromEntries(this.counts);
    this.sample = [];
    this.counts.clear();
    this.stopWatching();
    this.watch();
    const overview = now - this.overviewAt >= overviewEveryMs(this.overviewRows) ? this.deps.overview() : undefined;
    if (overview) [this.overviewAt, this.overviewRows] = [now, overview.topics.length + overview.groups.length];
    for (const sub of this.subscribers.values()) {
      const removed = [...sub.known].filter((id) => !live.has(id));
      for (const id of removed) sub.known.delete(id);
      for (const v of views) sub.known.add(v.id);
      if (sub.session.bufferedAmount > MAX_BUFFERED) {
        this.skipped++;
        continue;
      }
      const machines = this.machinesFor(sub, changed);
      const frame: Record<string, unknown> = { op: "inspect", now, actors: views, removed, events, counts, seen: events.length, watchedMs };
      if (Object.keys(machines).length) frame.machines = machines;
      if (overview) frame.overview = overview;
      sub.session.push(frame);
    }
  }

  private id(ref: AnyActorRef): string {
    return (ref as { _parent?: unknown })._parent === undefined ? ROOT_ID : ref.id;
  }

  private allActors(): AnyActorRef[] {
    const out: AnyActorRef[] = [];
    const walk = (ref: AnyActorRef) => {
      out.push(ref);
      const children = (ref.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children;
      if (children) for (const child of Object.values(children)) if (child) walk(child);
    };
    walk(this.deps.root());
    return out;
  }

  private view(ref: AnyActorRef): ActorView {
    const s = ref.getSnapshot() as { status?: string; value?: unknown; context?: unknown };
    const parent = (ref as { _parent?: AnyActorRef })._parent;
    const id = this.id(ref);
    return { id, kind: kindOf(id), parent: parent ? this.id(parent) : null, status: s.status ?? "active", value: plain(s.value ?? null, 2000), context: plain(s.context ?? null, 20_000) };
  }

  private machinesFor(sub: Subscriber, refs: AnyActorRef[]): Record<string, StateNodeView> {
    const out: Record<string, StateNodeView> = {};
    for (const ref of refs) {
      const kind = kindOf(this.id(ref));
      if (sub.machines.has(kind)) continue;
      const logic = (ref as { logic?: AnyStateMachine }).logic;
      if (!logic?.root) continue;
      sub.machines.add(kind);
      out[kind] = describeState(logic.root as unknown as StateNodeLike);
    }
    return out;
  }
}

interface StateNodeLike {
  key: string;
  type: string;
  states: Record<string, StateNodeLike>;
  initial?: { target?: StateNodeLike[] };
  transitions: Map<string, { target?: StateNodeLike[] }[]>;
  always?: { target?: StateNodeLike[] }[];
}

/** A state node and its children as plain data: keys, types, initial state, transitions by event. */
export function describeState(node: StateNodeLike): StateNodeView {
  const on: [string, string][] = [];
  const targets = (t?: StateNodeLike[]) => (t ?? []).map((n) => n.key).join(",");
  for (const [event, list] of node.transitions ?? []) {
    // "xstate.after.untilSnapshot.broker.running" reads better as "after untilSnapshot".
    const name = event.startsWith("xstate.after.") ? `after ${event.split(".")[2]}` : event;
    for (const t of list) on.push([name, targets(t.target)]);
  }
  for (const t of node.always ?? []) on.push(["always", targets(t.target)]);
  const states: Record<string, StateNodeView> = {};
  for (const [k, child] of Object.entries(node.states ?? {})) states[k] = describeState(child);
  const view: StateNodeView = { key: node.key, type: node.type, on, states };
  const initial = node.initial?.target?.[0]?.key;
  if (initial !== undefined) view.initial = initial;
  return view;
}

/** An event's payload beside its type, trimmed so one huge event cannot bloat a frame. */
function eventData(event: { type: string }): { data?: unknown } {
  const { type: _, ...rest } = event as Record<string, unknown>;
  return Object.keys(rest).length ? { data: plain(rest, 1000) } : {};
}

/**
 * A CBOR-safe copy of a value within a rough byte budget: plain objects, arrays, strings,
 * numbers, booleans, null; errors become their message, functions and other objects their
 * name; long arrays and strings are cut with a marker of how much was left out.
 */
export function plain(value: unknown, budget: number): unknown {
  let left = budget;
  const copy = (v: unknown, depth: number): unknown => {
    left -= 8;
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
    if (typeof v === "bigint") return Number(v);
    if (typeof v === "string") {
      left -= v.length;
      return v.length > 200 ? `${v.slice(0, 200)}… (${v.length} chars)` : v;
    }
    if (v === undefined) return null;
    if (typeof v === "function") return `[function ${v.name || "anonymous"}]`;
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    if (v instanceof Uint8Array) return `[${v.length} bytes]`;
    if (left <= 0 || depth > 8) return "…";
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        if (left <= 0) {
          out.push(`… ${v.length - i} more`);
          break;
        }
        out.push(copy(v[i], depth + 1));
      }
      return out;
    }
    if (typeof v === "object") {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        // Actor refs and other instances: their id or class, not their insides.
        const id = (v as { id?: unknown }).id;
        return typeof id === "string" ? `[actor ${id}]` : `[${proto?.constructor?.name ?? "object"}]`;
      }
      const out: Record<string, unknown> = {};
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = 0; i < entries.length; i++) {
        if (left <= 0) {
          out["…"] = `${entries.length - i} more`;
          break;
        }
        left -= entries[i][0].length;
        out[entries[i][0]] = copy(entries[i][1], depth + 1);
      }
      return out;
    }
    return String(v);
  };
  return copy(value, 0);
}
