// What the page knows about the broker: the actor tree, machine definitions, the event log, the
// latest overview (health, topics, groups) and a history of rates and lag for the charts. Fed by
// the broker's inspect snapshot and frames (and by @statelyai/inspect events, see stately.ts);
// views read it after every change.
import type { ActorView as WireActorView, EventView, OverviewView, StateNodeView } from "../protocol/inspect.ts";

/** An actor on the page: the broker's view of it, or one of another app's. */
export interface ActorView extends WireActorView {
  /** "external": an actor of another app, reported in @statelyai/inspect's form. */
  origin?: "broker" | "external";
}

export type { EventView, OverviewView, StateNodeView };

/**
 * One point of the charts' history, a second or so apart. `null` values are gaps: the page was
 * disconnected, or the broker restarted, and nothing is known about that time.
 */
export interface Sample {
  t: number;
  /** All topics: messages in and out per second. */
  in: number | null;
  out: number | null;
  /** Per topic [in/s, out/s]; per group [lag, commits/s]. */
  topics: Map<string, [number, number]>;
  groups: Map<string, [number, number]>;
}

/** Log entries kept in the page; the broker sends a sample of at most maxEvents per frame. */
const LOG_CAP = 2000;
/** Chart samples kept: ten minutes at one a second. */
const HISTORY_CAP = 600;

export class Model {
  brokerName = "";
  actors = new Map<string, ActorView>();
  machines: Record<string, StateNodeView> = {};
  events: EventView[] = [];
  /** Events the broker processed per type since this page connected (all of them, not the sample). */
  counts = new Map<string, number>();
  /** Events the broker watched (its samples) and sent, since this page connected: the same, unless a frame was cut. */
  seen = 0;
  sampled = 0;
  /** The broker's actor events per second, estimated from how fast its recent samples filled. */
  eventRate = 0;
  private recentSamples: [events: number, ms: number][] = [];
  /** The broker's sampling: one frame per intervalMs with at most maxEvents events. */
  intervalMs = 250;
  maxEvents = 200;
  overview: OverviewView | null = null;
  history: Sample[] = [];
  /** Connection: when it was lost (null while connected), and when the page last heard the broker. */
  disconnectedAt: number | null = null;
  lastHeard = 0;
  /** Whether `overview` came over the current connection, so rates can be taken against it. */
  private baseline = false;
  private listeners = new Set<() => void>();

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** A (re)connection's snapshot replaces everything the broker reported before. */
  applySnapshot(s: { brokerName?: string; now: number; intervalMs?: number; maxEvents?: number; actors: ActorView[]; machines: Record<string, StateNodeView>; overview?: OverviewView }): void {
    this.brokerName = String(s.brokerName ?? "");
    if (s.intervalMs) this.intervalMs = s.intervalMs;
    if (s.maxEvents !== undefined) this.maxEvents = s.maxEvents;
    for (const [id, a] of this.actors) if (a.origin !== "external") this.actors.delete(id);
    for (const a of s.actors) this.actors.set(a.id, { ...a, origin: "broker" });
    this.machines = { ...this.machines, ...s.machines };
    this.disconnectedAt = null;
    this.lastHeard = Date.now();
    this.baseline = false;
    if (s.overview) this.applyOverview(s.overview);
    this.changed();
  }

  applyFrame(f: {
    now: number;
    actors: ActorView[];
    removed: string[];
    events: EventView[];
    counts: Record<string, number>;
    seen: number;
    /** How long the broker watched for this frame's sample (less than the interval when it filled early). */
    watchedMs?: number;
    machines?: Record<string, StateNodeView>;
    overview?: OverviewView;
  }): void {
    for (const a of f.actors) this.actors.set(a.id, { ...a, origin: "broker" });
    for (const id of f.removed) this.actors.delete(id);
    if (f.machines) Object.assign(this.machines, f.machines);
    this.addEvents(f.events);
    for (const [type, n] of Object.entries(f.counts)) this.counts.set(type, (this.counts.get(type) ?? 0) + n);
    this.seen += f.seen;
    this.sampled += f.events.length;
    if (f.watchedMs) {
      this.recentSamples.push([f.seen, f.watchedMs]);
      if (this.recentSamples.length > 8) this.recentSamples.shift();
      const [n, ms] = this.recentSamples.reduce(([a, b], [x, y]) => [a + x, b + y], [0, 0]);
      this.eventRate = ms > 0 ? (n / ms) * 1000 : 0;
    }
    this.lastHeard = Date.now();
    if (f.overview) this.applyOverview(f.overview);
    this.changed();
  }

  addEvents(events: EventView[]): void {
    for (const e of events) this.events.push(e);
    if (this.events.length > LOG_CAP) this.events.splice(0, this.events.length - LOG_CAP);
  }

  /** The connection dropped: the charts get a gap from here, the views grey what they show. */
  disconnected(at = Date.now()): void {
    if (this.disconnectedAt !== null) return;
    this.disconnectedAt = at;
    this.baseline = false;
    this.gap(at);
    this.changed();
  }

  /**
   * A new overview: the latest figures, and a history sample with rates from the counters'
   * growth since the previous overview. After a gap or a broker restart (its counters start
   * again from zero) there is no previous one, so the first sample only sets the baseline.
   */
  applyOverview(o: OverviewView): void {
    const prev = this.baseline ? this.overview : null;
    this.overview = o;
    this.baseline = true;
    if (!prev || prev.broker.startedAt !== o.broker.startedAt || o.now <= prev.now) return this.gap(o.now);
    const dt = (o.now - prev.now) / 1000;
    const per = (a: number, b: number) => Math.max(0, a - b) / dt;
    const before = new Map(prev.topics.map((t) => [t.topic, t.counters]));
    const topics = new Map<string, [number, number]>();
    for (const t of o.topics) {
      const p = before.get(t.topic) ?? [0, 0, 0, 0];
      topics.set(t.topic, [per(t.counters[0], p[0]), per(t.counters[2], p[2])]);
    }
    const committedBefore = new Map(prev.groups.map((g) => [g.group, g.committed]));
    const groups = new Map<string, [number, number]>();
    for (const g of o.groups) groups.set(g.group, [g.lag, per(g.committed, committedBefore.get(g.group) ?? g.committed)]);
    this.push({ t: o.now, in: per(o.totals[0], prev.totals[0]), out: per(o.totals[2], prev.totals[2]), topics, groups });
  }

  /** The latest rates of a topic ([in/s, out/s]) or a group ([lag, commits/s]). */
  latest(kind: "topics" | "groups", name: string): [number, number] | undefined {
    const last = this.history.at(-1);
    return last?.in === null ? undefined : last?.[kind].get(name);
  }

  private gap(t: number): void {
    if (this.history.length === 0 || this.history.at(-1)!.in === null) return;
    this.push({ t, in: null, out: null, topics: new Map(), groups: new Map() });
  }

  private push(s: Sample): void {
    this.history.push(s);
    if (this.history.length > HISTORY_CAP) this.history.splice(0, this.history.length - HISTORY_CAP);
  }
}

/** The kind of an actor id: its prefix before ":" ("queue:T:0" -> "queue"), or the id itself. */
export function kindOf(id: string): string {
  return id.includes(":") ? id.slice(0, id.indexOf(":")) : id;
}
