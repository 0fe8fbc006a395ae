// The broker side of the inspector: XState's inspection API on the root actor, turned into a
// snapshot of the actor tree for a new subscriber and then one batched, sampled frame per
// interval. The inspection callback runs for every event every actor processes, so it does the
// least it can: nothing without subscribers; with them, it marks the actor dirty and keeps a
// reference to the event in a fixed ring. Everything costly (reading contexts, copying events
// into CBOR-safe data, lag) happens once per interval, for the actors that changed.
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
/** Events kept per interval; the rest are counted by type, not sent. */
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
  private readonly dirty = new Set<AnyActorRef>();
  private ring: { t: number; ref: AnyActorRef; from: AnyActorRef | undefined; event: { type: string } }[] = [];
  private ringNext = 0;
  private counts = new Map<string, number>();
  private seen = 0;
  private timer: unknown = null;
  /**
   * The observer is registered with the actor system only while someone is subscribed: with
   * none, XState skips building its inspection events altogether (measured at 3 % of a busy
   * broker's CPU even when the observer returned at once).
   */
  private observing: { unsubscribe(): void } | null = null;
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

  /** XState's inspection observer (system.inspect). Hot: keep it tiny. */
  readonly observe = (e: InspectionEvent): void => {
    if (e.type === "@xstate.event") {
      this.seen++;
      const type = e.event.type;
      this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
      const entry = { t: Date.now(), ref: e.actorRef as AnyActorRef, from: e.sourceRef as AnyActorRef | undefined, event: e.event };
      if (this.ring.length < this.maxEvents) this.ring.push(entry);
      else if (this.maxEvents > 0) {
        this.ring[this.ringNext] = entry;
        this.ringNext = (this.ringNext + 1) % this.maxEvents;
      }
    } else if (e.type === "@xstate.snapshot" || e.type === "@xstate.actor") {
      this.dirty.add(e.actorRef as AnyActorRef);
    }
  };

  /** Starts a subscription: the reply is the whole tree; frames follow every interval. */
  subscribe(session: Session, reqId: RequestId, options: { intervalMs?: number; maxEvents?: number }): void {
    if (options.intervalMs !== undefined) this.intervalMs = Math.max(50, Math.min(10_000, options.intervalMs));
    if (options.maxEvents !== undefined) this.maxEvents = Math.max(0, Math.min(5000, options.maxEvents));
    const sub: Subscriber = { session, machines: new Set(), known: new Set() };
    const refs = this.allActors();
    const actors = refs.map((ref) => this.view(ref));
    for (const a of actors) sub.known.add(a.id);
    this.subscribers.set(session.id, sub);
    this.observing ??= this.deps.root().system.inspect(this.observe);
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
    this.observing?.unsubscribe();
    this.observing = null;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.dirty.clear();
    this.ring = [];
    this.ringNext = 0;
    this.counts.clear();
    this.seen = 0;
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

  /** One frame for every subscriber: changed actors, gone actors, sampled events, rates, lag. */
  private flush(): void {
    for (const [id, sub] of this.subscribers) if (!sub.session.open) this.subscribers.delete(id);
    if (this.subscribers.size === 0) return this.reset();
    const changed = [...this.dirty];
    this.dirty.clear();
    const views = changed.map((ref) => this.view(ref)).filter((v) => v.status !== "stopped");
    const live = new Set(this.allActors().map((ref) => this.id(ref)));
    const ordered = this.ringNext === 0 ? this.ring : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
    const events: EventView[] = ordered.map((e) => ({
      t: e.t,
      to: this.id(e.ref),
      from: e.from ? this.id(e.from) : null,
      type: e.event.type,
      ...eventData(e.event),
    }));
    const counts = Object.fromEntries(this.counts);
    const seen = this.seen;
    this.ring = [];
    this.ringNext = 0;
    this.counts.clear();
    this.seen = 0;
    const now = Date.now();
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
      const frame: Record<string, unknown> = { op: "inspect", now, actors: views, removed, events, counts, seen };
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
