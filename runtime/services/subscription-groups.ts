// Subscription group settings (RocketMQ's SubscriptionGroupConfig): whether a group consumes in
// order, how often a message is retried before it goes to %DLQ%<group>, and the back-off
// between tries. POP consumption reads them (max attempts, FIFO), and the gRPC endpoint hands
// them to RocketMQ's clients in Telemetry settings. Kept in config/subscriptionGroups.cbor and
// .log, a record appended per change, as the topic table is.
import { BrokerError, checkGroupName, ErrorCode } from "../../protocol/mod.ts";
import type { Files } from "../../platform/platform.ts";
import type { GroupSettings, RetryPolicy } from "../context.ts";
import { TopicFile } from "./topic-file.ts";

export type { GroupSettings, RetryPolicy };

/** RocketMQ's defaults: 16 retries; an exponential back-off the clients of every language understand. */
export const DEFAULT_GROUP_SETTINGS: GroupSettings = {
  orderly: false,
  maxReconsumeTimes: 16,
  retryPolicy: { type: "exponential", initialMs: 1000, maxMs: 60_000, multiplier: 2 },
};

const MAX_RECONSUME_TIMES = 1000;

export class SubscriptionGroups {
  private file: TopicFile<Record<string, GroupSettings>>;
  private groups: Record<string, GroupSettings>;

  constructor(files: Files, dir: string) {
    this.file = new TopicFile<Record<string, GroupSettings>>(files, dir, "subscriptionGroups.cbor");
    this.groups = this.file.load();
  }

  /** A group's settings: its own, or the defaults. */
  get(group: string): GroupSettings {
    return this.groups[group] ?? DEFAULT_GROUP_SETTINGS;
  }

  /** Every group with settings of its own. */
  list(): Record<string, GroupSettings> {
    return this.groups;
  }

  /** deleteSubGroup: the group's settings go (the defaults apply again); resolves once that is on disk. */
  remove(group: string): Promise<void> {
    if (!Object.hasOwn(this.groups, group)) return Promise.resolve();
    delete this.groups[group];
    const saved = this.file.save(group, null);
    if (this.file.wantsCompaction) void this.file.compact(this.groups);
    return saved;
  }

  /** Sets what `changes` names (checked; BrokerError otherwise); resolves once it is on disk. */
  update(group: string, changes: Record<string, unknown>): { settings: GroupSettings; saved: Promise<void> } {
    checkGroupName(group, "group settings: group");
    const settings = { ...this.get(group), ...checkSettings(changes) };
    this.groups[group] = settings; // in place: a copy per change would cost the n-th group O(n)
    const saved = this.file.save(group, settings);
    if (this.file.wantsCompaction) void this.file.compact(this.groups);
    return { settings, saved };
  }
}

function checkSettings(c: Record<string, unknown>): Partial<GroupSettings> {
  const out: Partial<GroupSettings> = {};
  const known = new Set(["orderly", "maxReconsumeTimes", "retryPolicy"]);
  for (const k of Object.keys(c)) if (!known.has(k)) throw new BrokerError(ErrorCode.BAD_REQUEST, `group settings: unknown setting "${k}" (known: ${[...known].join(", ")})`);
  if (c.orderly !== undefined) {
    if (typeof c.orderly !== "boolean") throw new BrokerError(ErrorCode.WRONG_TYPE, "group settings: orderly must be a boolean");
    out.orderly = c.orderly;
  }
  if (c.maxReconsumeTimes !== undefined) {
    const n = c.maxReconsumeTimes;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new BrokerError(ErrorCode.WRONG_TYPE, "group settings: maxReconsumeTimes must be an unsigned integer");
    if (n > MAX_RECONSUME_TIMES) throw new BrokerError(ErrorCode.BAD_REQUEST, `group settings: maxReconsumeTimes is at most ${MAX_RECONSUME_TIMES}`);
    out.maxReconsumeTimes = n;
  }
  if (c.retryPolicy !== undefined) out.retryPolicy = checkRetryPolicy(c.retryPolicy);
  return out;
}

function checkRetryPolicy(p: unknown): RetryPolicy {
  const bad = (why: string) => new BrokerError(ErrorCode.BAD_REQUEST, `group settings: retryPolicy ${why}`);
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw new BrokerError(ErrorCode.WRONG_TYPE, "group settings: retryPolicy must be a map");
  const r = p as Record<string, unknown>;
  const ms = (v: unknown, name: string) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 86_400_000) throw bad(`${name} must be whole ms, 0..86400000`);
    return v;
  };
  if (r.type === "exponential") {
    const multiplier = r.multiplier ?? 2;
    if (typeof multiplier !== "number" || !(multiplier >= 1 && multiplier <= 100)) throw bad("multiplier must be a number 1..100");
    const initialMs = ms(r.initialMs ?? 1000, "initialMs");
    const maxMs = ms(r.maxMs ?? 60_000, "maxMs");
    if (maxMs < initialMs) throw bad("maxMs must be at least initialMs");
    return { type: "exponential", initialMs, maxMs, multiplier };
  }
  if (r.type === "customized") {
    if (!Array.isArray(r.delaysMs) || r.delaysMs.length === 0 || r.delaysMs.length > 64) throw bad("delaysMs must be an array of 1..64 durations");
    return { type: "customized", delaysMs: r.delaysMs.map((v, i) => ms(v, `delaysMs[${i}]`)) };
  }
  throw bad('type must be "exponential" or "customized"');
}
