// What the page knows about the broker: the actor tree, machine definitions, the event log and
// the rate and lag histories. Fed by the broker's inspect snapshot and frames (and by
// @statelyai/inspect events, see stately.ts); views read it after every change.
import type { ActorView as WireActorView, EventView, StateNodeView } from "../protocol/mod.ts";

/** An actor on the page: the broker's view of it, or one of another app's. */
export interface ActorView extends WireActorView {
  /** "external": an actor of another app, reported in @statelyai/inspect's form. */
  origin?: "broker" | "external";
}

export type { EventView, StateNodeView };

export interface Point {
  t: number;
  values: number[];
}

/** Log entries kept in the page; the broker sends a sample of at most ~200 per frame. */
const LOG_CAP = 2000;
/** Chart points kept per series (a point per frame: a minute or so at 250 ms). */
const HISTORY_CAP = 240;

export class Model {
  brokerName = "";
  actors = new Map<string, ActorView>();
  machines: Record<string, StateNodeView> = {};
  events: EventView[] = [];
  /** Events the broker processed per type since this page connected (all of them, not the sample). */
  counts = new Map<string, number>();
  /** Events processed since connecting, and how many of them the page was sent. */
  seen = 0;
  sampled = 0;
  /** Per topic: [in msgs/s, out msgs/s] over time. */
  rates = new Map<string, Point[]>();
  /** Per group: [lag] over time. */
  lag = new Map<string, Point[]>();
  private lastCounters: { t: number; topics: Record<string, number[]> } | null = null;
  private listeners = new Set<() => void>();

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** A (re)connection's snapshot replaces everything the broker reported before. */
  applySnapshot(s: { brokerName?: string; now: number; actors: ActorView[]; machines: Record<string, StateNodeView>; topics: Record<string, number[]>; lag: Record<string, number> }): void {
    this.brokerName = String(s.brokerName ?? "");
    for (const [id, a] of this.actors) if (a.origin !== "external") this.actors.delete(id);
    for (const a of s.actors) this.actors.set(a.id, { ...a, origin: "broker" });
    this.machines = { ...this.machines, ...s.machines };
    this.lastCounters = null;
    this.recordRates(s.now, s.topics);
    this.recordLag(s.now, s.lag);
    this.changed();
  }

  applyFrame(f: {
    now: number;
    actors: ActorView[];
    removed: string[];
    events: EventView[];
    counts: Record<string, number>;
    seen: number;
    machines?: Record<string, StateNodeView>;
    topics: Record<string, number[]>;
    lag: Record<string, number>;
  }): void {
    for (const a of f.actors) this.actors.set(a.id, { ...a, origin: "broker" });
    for (const id of f.removed) this.actors.delete(id);
    if (f.machines) Object.assign(this.machines, f.machines);
    this.addEvents(f.events);
    for (const [type, n] of Object.entries(f.counts)) this.counts.set(type, (this.counts.get(type) ?? 0) + n);
    this.seen += f.seen;
    this.sampled += f.events.length;
    this.recordRates(f.now, f.topics);
    this.recordLag(f.now, f.lag);
    this.changed();
  }

  addEvents(events: EventView[]): void {
    for (const e of events) this.events.push(e);
    if (this.events.length > LOG_CAP) this.events.splice(0, this.events.length - LOG_CAP);
  }

  /** Rates from cumulative counters: messages per second since a sample at least a second old. */
  private recordRates(now: number, topics: Record<string, number[]>): void {
    const prev = this.lastCounters;
    if (!prev) {
      this.lastCounters = { t: now, topics };
      return;
    }
    const dt = (now - prev.t) / 1000;
    if (dt < 1) return;
    for (const [topic, c] of Object.entries(topics)) {
      const p = prev.topics[topic] ?? [0, 0, 0, 0];
      push(this.rates, topic, { t: now, values: [Math.max(0, c[0] - p[0]) / dt, Math.max(0, c[2] - p[2]) / dt] });
    }
    this.lastCounters = { t: now, topics };
  }

  private recordLag(now: number, lag: Record<string, number>): void {
    for (const [group, n] of Object.entries(lag)) push(this.lag, group, { t: now, values: [n] });
  }
}

function push(map: Map<string, Point[]>, key: string, point: Point): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(point);
  if (list.length > HISTORY_CAP) list.shift();
}

/** The kind of an actor id: its prefix before ":" ("queue:T:0" -> "queue"), or the id itself. */
export function kindOf(id: string): string {
  return id.includes(":") ? id.slice(0, id.indexOf(":")) : id;
}
