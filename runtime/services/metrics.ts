// Prometheus metrics (text exposition format 0.0.4) for GET /metrics. Counters and histograms
// are plain numbers bumped on the hot path, once per batch or frame, never an XState event;
// gauges (lag, pending delayed messages, sessions, actors) are read from the actors and the
// store when scraped. Hand-written: the format is small, and a library would be one more
// dependency that must work on Node and Deno alike.
import { SCHEDULE_TOPIC } from "../../protocol/mod.ts";
import type { AppendItem } from "../../storage/message-store.ts";
import type { Clock, CommitLogDispatcher, MessageStore, RequestMetrics } from "../context.ts";
import type { CounterFamily } from "../security/counters.ts";

/** A replicated group member's state, as /metrics shows it. */
export interface ReplicationGauges {
  role: "master" | "slave";
  /** The SyncStateSet's size as this master applies it (0 on a slave). */
  inSync: number;
  /** Bytes each replica lacks: a master's slaves by id, a slave's distance to its master ("master"). */
  lagBytes: [replica: string, bytes: number][];
  /** Below it every in-sync replica holds the log: what consumers may read up to. */
  confirmOffset: number;
}

function replicationGauges(out: Exposition, r: ReplicationGauges): void {
  out.family("actormq_replication_role", "gauge", "1 for this broker's role in its replicated group.");
  out.sample("actormq_replication_role", { role: r.role }, 1);
  out.family("actormq_replication_in_sync_replicas", "gauge", "Members of the group's SyncStateSet, the master included, as the master applies it (0 on a slave).");
  out.sample("actormq_replication_in_sync_replicas", {}, r.inSync);
  out.family("actormq_replication_lag_bytes", "gauge", "CommitLog bytes a replica lacks: on a master, each connected slave's (by broker id); on a slave, its own behind its master.");
  for (const [replica, bytes] of r.lagBytes) out.sample("actormq_replication_lag_bytes", { replica }, bytes);
  out.family("actormq_replication_confirm_offset", "gauge", "CommitLog offset below which every in-sync replica holds the log (consumers read up to it).");
  out.sample("actormq_replication_confirm_offset", {}, r.confirmOffset);
}

/** What the gauges read when scraped. */
export interface GaugeSources {
  /** A replicated group's member (runtime/ha/): its role, the SyncStateSet and each replica's lag. */
  replication?(): ReplicationGauges | undefined;
  clock: Clock;
  startedAt: number;
  store: Pick<MessageStore, "maxOffset" | "maxCommitLogOffset" | "health" | "disk" | "bytesOnDisk" | "retention" | "memory">;
  /** The process's resident set, bytes. */
  rss(): number;
  /** Rounds of giving memory back the idle broker has run (--idle-gc). */
  idleRounds(): number;
  topicCount(): number;
  /** Each group's committed offsets, "topic:queueId" -> offset. */
  groupOffsets(): [group: string, offsets: Record<string, number>][];
  /** Each delay level's progress in its schedule queue. */
  delayProgress(): [level: number, progress: number][];
  /** Live actors by kind, the root included. */
  actorKinds(): Map<string, number>;
  transactionsInFlight(): number;
  /** Open sessions of every front-end. */
  sessions(): number;
  inspectSubscribers(): number;
  inspectFramesSkipped(): number;
  /** Counters kept elsewhere (sign-ins, refusals by the ACL and the limits). */
  counters(): CounterFamily[];
}

/** Seconds: 100 µs .. 10 s, covering an in-memory append and a slow fsync alike. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  /** Per bucket (not cumulative; render accumulates), the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: number[] = LATENCY_BUCKETS) {
    this.counts = new Array(buckets.length + 1).fill(0);
  }

  observe(seconds: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

interface TopicCounters {
  msgsIn: number;
  bytesIn: number;
  msgsOut: number;
  bytesOut: number;
}

export class Metrics implements CommitLogDispatcher, RequestMetrics {
  readonly topics = new Map<string, TopicCounters>();
  readonly sendLatency = { send: new Histogram(), sendBatch: new Histogram() };
  readonly flushLatency = new Histogram();
  /** Messages stored and delivered so far, all topics (what the idle memory reducer watches). */
  messagesIn = 0;
  messagesOut = 0;

  /** After one CommitLog append: messages and bytes in, per topic. */
  dispatch(items: readonly AppendItem[]): void {
    let topic = "";
    let c: TopicCounters | undefined;
    for (let i = 0; i < items.length; i++) {
      if (items[i].topic !== topic) {
        topic = items[i].topic;
        c = this.counters(topic);
      }
      c!.msgsIn++;
      c!.bytesIn += items[i].bytes.length;
    }
    this.messagesIn += items.length;
  }

  observeSend(op: "send" | "sendBatch", seconds: number): void {
    this.sendLatency[op].observe(seconds);
  }

  /** After one pull answer: messages and bytes out. */
  delivered(topic: string, messages: number, bytes: number): void {
    if (messages === 0) return;
    this.messagesOut += messages;
    const c = this.counters(topic);
    c.msgsOut += messages;
    c.bytesOut += bytes;
  }

  private counters(topic: string): TopicCounters {
    let c = this.topics.get(topic);
    if (!c) this.topics.set(topic, (c = { msgsIn: 0, bytesIn: 0, msgsOut: 0, bytesOut: 0 }));
    return c;
  }

  /** The whole exposition, gauges read now. */
  render(src: GaugeSources): string {
    const out = new Exposition();
    const topics = [...this.topics.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const perTopic = (name: string, help: string, field: keyof TopicCounters) => {
      out.family(name, "counter", help);
      for (const [topic, c] of topics) out.sample(name, { topic }, c[field]);
    };
    perTopic("actormq_messages_in_total", "Messages appended to the CommitLog, per topic.", "msgsIn");
    perTopic("actormq_bytes_in_total", "Bytes of encoded messages appended to the CommitLog (record headers excluded), per topic.", "bytesIn");
    perTopic("actormq_messages_out_total", "Messages delivered by pull responses, per topic.", "msgsOut");
    perTopic("actormq_bytes_out_total", "Bytes of encoded messages delivered by pull responses, per topic.", "bytesOut");

    out.family("actormq_send_latency_seconds", "histogram", "Time from a send or sendBatch frame's arrival to its answer (under --flush sync, including the fsync).");
    for (const [op, h] of Object.entries(this.sendLatency)) out.histogram("actormq_send_latency_seconds", { op }, h);
    out.family("actormq_flush_latency_seconds", "histogram", "Duration of each CommitLog fsync.");
    out.histogram("actormq_flush_latency_seconds", {}, this.flushLatency);

    const { store } = src;
    const lags: [Record<string, string>, number, number][] = [];
    for (const [group, offsets] of src.groupOffsets()) {
      for (const [key, offset] of Object.entries(offsets)) {
        const at = key.lastIndexOf(":");
        const topic = key.slice(0, at);
        const queue = key.slice(at + 1);
        const max = store.maxOffset(topic, Number(queue));
        lags.push([{ group, topic, queue }, Math.max(0, max - Math.max(0, offset)), offset]);
      }
    }
    out.family("actormq_consumer_lag", "gauge", "Messages a consumer group has not committed yet, per queue (queue max offset minus committed offset).");
    for (const [labels, lag] of lags) out.sample("actormq_consumer_lag", labels, lag);
    out.family("actormq_consumer_offset", "gauge", "A consumer group's committed offset, per queue.");
    for (const [labels, , offset] of lags) out.sample("actormq_consumer_offset", labels, offset);

    out.family("actormq_delayed_messages_pending", "gauge", "Delayed messages stored but not delivered yet, per delay level.");
    let pending = 0;
    for (const [level, progress] of src.delayProgress()) {
      const n = Math.max(0, store.maxOffset(SCHEDULE_TOPIC, level - 1) - progress);
      pending += n;
      out.sample("actormq_delayed_messages_pending", { level: String(level) }, n);
    }
    out.family("actormq_delayed_messages_pending_total", "gauge", "Delayed messages stored but not delivered yet, all levels.");
    out.sample("actormq_delayed_messages_pending_total", {}, pending);

    out.family("actormq_transactions_in_flight", "gauge", "Transactions whose half message is stored and not yet committed, rolled back or discarded (transaction actors alive).");
    out.sample("actormq_transactions_in_flight", {}, src.transactionsInFlight());

    const r = src.replication?.();
    if (r) replicationGauges(out, r);

    out.family("actormq_connections", "gauge", "Open client sessions (WebSocket connections).");
    out.sample("actormq_connections", {}, src.sessions());

    out.family("actormq_inspect_subscribers", "gauge", "Connections subscribed to the inspect op (inspector pages).");
    out.sample("actormq_inspect_subscribers", {}, src.inspectSubscribers());
    out.family("actormq_inspect_frames_skipped_total", "counter", "Inspector frames not sent because the subscriber's socket was backed up.");
    out.sample("actormq_inspect_frames_skipped_total", {}, src.inspectFramesSkipped());

    for (const f of src.counters()) {
      out.family(f.name, "counter", f.help);
      for (const [labels, n] of f.samples) out.sample(f.name, labels, n);
    }

    out.family("actormq_actors", "gauge", "Live actors by kind (the root broker actor is kind \"broker\").");
    const kinds = src.actorKinds();
    for (const kind of [...kinds.keys()].sort()) out.sample("actormq_actors", { kind }, kinds.get(kind)!);

    // What storage found damaged: never served, each also logged (CORRUPT_RECORD) once.
    const health = store.health;
    out.family("actormq_corrupt_records_total", "counter", "Records not served because a read from disk found them damaged (reason crc) or gone (reason missing).");
    for (const reason of ["crc", "missing"] as const) out.sample("actormq_corrupt_records_total", { reason }, health.corruptReads[reason]);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory of the broker's process, bytes.");
    out.sample("process_resident_memory_bytes", {}, src.rss());
    const held = store.memory();
    out.family("actormq_store_memory_bytes", "gauge", "Bytes the store holds in memory, by kind (tail: the newest CommitLog bytes, --tail-size; index: the active IndexFile's slot table and unwritten entries).");
    out.sample("actormq_store_memory_bytes", { kind: "tail" }, held.tailBytes);
    out.sample("actormq_store_memory_bytes", { kind: "index" }, held.indexBytes);
    out.family("actormq_idle_memory_rounds_total", "counter", "Times the idle broker gave memory back (--idle-gc): let the CommitLog tail go, ran a full GC and malloc_trim.");
    out.sample("actormq_idle_memory_rounds_total", {}, src.idleRounds());
    const onDisk = store.bytesOnDisk();
    out.family("actormq_store_bytes", "gauge", "Bytes the store's files hold, by kind (commitlog segments, consumequeue entries).");
    out.sample("actormq_store_bytes", { kind: "commitlog" }, onDisk.commitlog);
    out.sample("actormq_store_bytes", { kind: "consumequeue" }, onDisk.consumequeue);
    out.family("actormq_retention_deleted_segments_total", "counter", "CommitLog segments deleted by retention.");
    out.sample("actormq_retention_deleted_segments_total", {}, store.retention.deletedSegments);
    out.family("actormq_retention_deleted_bytes_total", "counter", "Bytes deleted by retention (segments with their ConsumeQueue and index files).");
    out.sample("actormq_retention_deleted_bytes_total", {}, store.retention.deletedBytes);
    const disk = store.disk.state();
    out.family("actormq_disk_used_percent", "gauge", "Percent of the data directory's disk in use at the last check (-1: unknown).");
    out.sample("actormq_disk_used_percent", {}, disk.usedRatio);
    out.family("actormq_disk_warning", "gauge", "1 while disk use is above --disk-warning-ratio.");
    out.sample("actormq_disk_warning", {}, disk.warning ? 1 : 0);
    out.family("actormq_writes_refused", "gauge", "1 while writes are refused with DISK_FULL (above --disk-full-ratio, or after a write found no space).");
    out.sample("actormq_writes_refused", {}, disk.refusing ? 1 : 0);
    out.family("actormq_commitlog_damaged_ranges_total", "counter", "Damaged CommitLog ranges skipped by recovery or a scan (the records around them are kept).");
    out.sample("actormq_commitlog_damaged_ranges_total", {}, health.damagedRanges);
    out.family("actormq_commitlog_damaged_bytes_total", "counter", "Bytes in those ranges.");
    out.sample("actormq_commitlog_damaged_bytes_total", {}, health.damagedBytes);
    out.family("actormq_commitlog_missing_segments", "gauge", "CommitLog segments missing from the middle of the chain at start.");
    out.sample("actormq_commitlog_missing_segments", {}, health.missingSegments);
    out.family("actormq_consumequeue_repairs_total", "counter", "ConsumeQueue entries found not to match their record, and rebuilt from the CommitLog.");
    out.sample("actormq_consumequeue_repairs_total", {}, health.queueRepairs);

    out.family("actormq_topics", "gauge", "Topics, system topics included.");
    out.sample("actormq_topics", {}, src.topicCount());
    out.family("actormq_commitlog_max_offset_bytes", "gauge", "The CommitLog's end: bytes ever appended.");
    out.sample("actormq_commitlog_max_offset_bytes", {}, store.maxCommitLogOffset);
    out.family("actormq_uptime_seconds", "gauge", "Seconds since this broker started.");
    out.sample("actormq_uptime_seconds", {}, (src.clock.now() - src.startedAt) / 1000);
    return out.text();
  }
}

/** Builds exposition text: HELP and TYPE once per family, escaped label values. */
class Exposition {
  private lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  }

  histogram(name: string, labels: Record<string, string>, h: Histogram): void {
    let cumulative = 0;
    for (let i = 0; i < h.buckets.length; i++) {
      cumulative += h.counts[i];
      this.sample(`${name}_bucket`, { ...labels, le: formatValue(h.buckets[i]) }, cumulative);
    }
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
