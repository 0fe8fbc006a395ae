// The rows of the peers table, and the table: each broker's median over the runs, and ActorMQ's
// figure divided by the best peer's in the same run (the median of those per-run ratios, so a
// noisy run for one broker does not pair with a quiet run for another).
import { fmt, median } from "../stats.ts";

export const METRICS = [
  { id: "publish", name: "publish, 1,000 in flight", unit: "msg/s", higherIsBetter: true },
  { id: "publishFsync", name: "publish, acked only after fsync (ActorMQ --flush sync)", unit: "msg/s", higherIsBetter: true },
  { id: "consume", name: "consume (drain, acking), one consumer", unit: "msg/s", higherIsBetter: true },
  { id: "lat50", name: "end-to-end latency p50 at a steady rate", unit: "ms", higherIsBetter: false },
  { id: "lat99", name: "end-to-end latency p99", unit: "ms", higherIsBetter: false },
  { id: "lat999", name: "end-to-end latency p99.9", unit: "ms", higherIsBetter: false },
  { id: "delay50", name: "delayed delivery lateness p50", unit: "ms", higherIsBetter: false },
  { id: "delay99", name: "delayed delivery lateness p99", unit: "ms", higherIsBetter: false },
  { id: "delayMax", name: "delayed delivery lateness max", unit: "ms", higherIsBetter: false },
  { id: "delayBytes", name: "memory per pending delayed message", unit: "bytes", higherIsBetter: false },
  { id: "delayBytesAfter", name: "memory growth per delayed message once all were delivered", unit: "bytes", higherIsBetter: false, context: true },
  { id: "delayBytesAtLast", name: "the same, read as the last one arrived (before the server idled)", unit: "bytes", higherIsBetter: false, context: true },
  // The two rows above read ActorMQ's RSS and Redis's used_memory (INFO): these read the RSS of both.
  { id: "delayRss", name: "server RSS per pending delayed message", unit: "bytes", higherIsBetter: false, context: true },
  { id: "delayRssAfter", name: "server RSS growth per delayed message once all were delivered", unit: "bytes", higherIsBetter: false, context: true },
  { id: "fanout", name: "fan-out: 4 consumers in one group draining", unit: "msg/s", higherIsBetter: true },
] as const;

export type MetricId = (typeof METRICS)[number]["id"];
type Metric = (typeof METRICS)[number];
/** Context for another row (can be 0 or negative): no ratio. */
export const isContext = (m: Metric) => "context" in m && m.context;

/** Per broker: each metric's value in each run (undefined where the run failed or it is n/a). */
export interface Column {
  id: string;
  name: string;
  version?: string;
  values: Partial<Record<MetricId, (number | undefined)[]>>;
  /** Why a metric has no figure (n/a, or the error that stopped it). */
  notes: Partial<Record<MetricId, string>>;
  /** Why the broker was not measured at all. */
  unavailable?: string;
  /** Starts that failed (and were retried), with what the server said. */
  startFailures?: string[];
}

const digits = (unit: string) => (unit === "ms" ? 2 : 0);

function cell(values: (number | undefined)[] | undefined, unit: string): string {
  const xs = (values ?? []).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return xs.length ? fmt(median(xs), digits(unit)) : "n/a";
}

/** ActorMQ ÷ the best peer of each run, median over runs; with the peer that was best most often. */
export function ratio(actormq: Column, peers: Column[], metric: (typeof METRICS)[number], runs: number): string {
  const ratios: number[] = [];
  const bestBy = new Map<string, number>();
  for (let r = 0; r < runs; r++) {
    const ours = actormq.values[metric.id]?.[r];
    const theirs = peers
      .map((p) => ({ p, v: p.values[metric.id]?.[r] }))
      .filter((x): x is { p: Column; v: number } => x.v !== undefined && Number.isFinite(x.v));
    if (ours === undefined || !Number.isFinite(ours) || theirs.length === 0) continue;
    const best = theirs.reduce((a, b) => ((metric.higherIsBetter ? b.v > a.v : b.v < a.v) ? b : a));
    ratios.push(ours / best.v);
    bestBy.set(best.p.name, (bestBy.get(best.p.name) ?? 0) + 1);
  }
  if (!ratios.length) return "n/a";
  const best = [...bestBy].sort((a, b) => b[1] - a[1])[0][0];
  const r = median(ratios);
  // Two significant digits below 1, so a ratio of 0.0009 does not print as 0.00.
  return `${r >= 1 ? fmt(r, 2) : String(Number(r.toPrecision(2)))} × ${best}`;
}

export function table(columns: Column[], runs: number): string {
  const [actormq, ...peers] = columns;
  const measured = peers.filter((p) => !p.unavailable);
  const head = ["workload", "unit", "better", ...columns.map((c) => c.name), "ActorMQ ÷ best peer"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i >= 3 && i < head.length - 1 ? "---:" : "---")).join("|")}|`];
  for (const m of METRICS) {
    const cells = columns.map((c) => (c.unavailable ? "not run" : cell(c.values[m.id], m.unit)));
    lines.push(`| ${m.name} | ${m.unit} | ${isContext(m) ? "" : m.higherIsBetter ? "higher" : "lower"} | ${cells.join(" | ")} | ${isContext(m) ? "" : ratio(actormq, measured, m, runs)} |`);
  }
  return lines.join("\n");
}

/** Every run's figure, for the record (the table shows medians), and why a figure is missing. */
export function runsDetail(columns: Column[]): string {
  const out: string[] = [];
  for (const c of columns) {
    if (c.unavailable) {
      out.push(`- ${c.name}: not run: ${c.unavailable}${c.startFailures?.length ? `; ${c.startFailures.join("; ")}` : ""}`);
      continue;
    }
    const measured = METRICS.filter((m) => c.values[m.id]?.some((v) => v !== undefined))
      .map((m) => `${m.id} ${Array.from(c.values[m.id]!, (v) => (v === undefined ? "failed" : fmt(v, digits(m.unit)))).join(", ")}`);
    const missing = new Map<string, string[]>();
    for (const m of METRICS) {
      const note = c.notes[m.id];
      if (note) missing.set(note, [...(missing.get(note) ?? []), m.id]);
    }
    const notes = [...missing].map(([note, ids]) => `${ids.join(", ")}: ${note}`);
    const starts = c.startFailures?.length ? `; start failures: ${c.startFailures.join("; ")}` : "";
    out.push(`- ${c.name}${c.version ? ` (${c.version})` : ""}: ${measured.join("; ")}${notes.length ? `; n/a or failed: ${notes.join("; ")}` : ""}${starts}`);
  }
  return out.join("\n");
}
