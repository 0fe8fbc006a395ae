// Broker configuration: defaults (RocketMQ's), then a config file (JSON), then flags.
import { parseArgs } from "node:util";

export interface BrokerConfig {
  host: string;
  port: number;
  dataDir: string;
  brokerName: string;
  flush: "async" | "sync";
  flushIntervalMs: number;
  syncFlushTimeoutMs: number;
  segmentSize: number;
  /** The CommitLog's in-memory tail: the most recent bytes, served to consumers without a read. */
  tailBytes: number;
  defaultQueues: number;
  snapshotIntervalMs: number;
  maxFrameSize: number;
  /** Long-poll ceiling: a pull is never held longer than this. */
  maxPollMs: number;
  /** A client that has not heartbeated for this long leaves its consumer groups. */
  clientExpiryMs: number;
  /** The delay of each delay level, ms (level 1 first). A config file may give RocketMQ's messageDelayLevel text. */
  delayLevels: number[];
  /** The furthest ahead a message may be scheduled with deliverAt / delayMs (the timing wheel spans it). */
  timerMaxDelayMs: number;
  /** An order lock (lockQueues) not renewed for this long is free (RocketMQ: 60 s). */
  orderLockExpiryMs: number;
  /** "standalone": a broker with its own embedded name server; "broker": registers with --namesrv; "namesrv": a name server only. */
  role: "standalone" | "broker" | "namesrv";
  /** Name servers to register with ("host:port"), every one of them. */
  namesrvAddrs: string[];
  /** How often a broker registers with its name servers (RocketMQ: 30 s). */
  registerIntervalMs: number;
  /** A name server drops a broker silent this long (RocketMQ: 120 s). */
  brokerExpiryMs: number;
  /** Test hook: delay every send / sendBatch response this long. 0: off. */
  testSendDelayMs: number;
  /** A half message unresolved this long after it was stored is checked (RocketMQ's transactionTimeOut). */
  transactionTimeoutMs: number;
  /** An unresolved transaction is checked again this often (RocketMQ's transactionCheckInterval). */
  transactionCheckIntervalMs: number;
  /** After this many unanswered checks the half message goes to TRANS_CHECK_MAX_TIME_TOPIC (RocketMQ's transactionCheckMax). */
  transactionCheckMax: number;
}

/** RocketMQ's messageDelayLevel default. */
export const DEFAULT_DELAY_LEVELS = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
const MAX_DELAY_LEVELS = 1024;

export const defaults: BrokerConfig = {
  host: "127.0.0.1",
  port: 9876,
  dataDir: "./data",
  brokerName: "broker-a",
  flush: "async",
  flushIntervalMs: 500,
  syncFlushTimeoutMs: 5000,
  segmentSize: 1024 * 1024 * 1024,
  tailBytes: 32 * 1024 * 1024,
  defaultQueues: 4,
  snapshotIntervalMs: 30_000,
  maxFrameSize: 16 * 1024 * 1024,
  maxPollMs: 30_000,
  clientExpiryMs: 120_000,
  delayLevels: parseDelayLevels(DEFAULT_DELAY_LEVELS),
  timerMaxDelayMs: 7 * 86_400_000,
  orderLockExpiryMs: 60_000,
  role: "standalone",
  namesrvAddrs: [],
  registerIntervalMs: 30_000,
  brokerExpiryMs: 120_000,
  testSendDelayMs: 0,
  transactionTimeoutMs: 6_000,
  transactionCheckIntervalMs: 30_000,
  transactionCheckMax: 15,
};

export const usage = `Usage: npm start -- [options]   (or: deno task start [options])

  --host <addr>               listen address (default 127.0.0.1)
  --port <n>                  listen port, 0 for any free one (default 9876)
  --data-dir <dir>            CommitLog, ConsumeQueues, index, snapshots (default ./data)
  --broker-name <name>        this broker's name in routes (default broker-a)
  --flush async|sync          ack after write, or after fsync with group commit (default async)
  --flush-interval <ms>       async flush period (default 500)
  --segment-size <bytes>      CommitLog segment size, suffixes k m g allowed (default 1g)
  --tail-size <bytes>         newest CommitLog bytes kept in memory for consumers that keep up;
                              older ones are read from disk (default 32m, 0 for none)
  --default-queues <n>        queues of an auto-created topic (default 4)
  --snapshot-interval <ms>    actor-tree snapshot period (default 30000)
  --max-frame-size <bytes>    largest accepted WebSocket frame (default 16m)
  --client-expiry <ms>        a consumer silent this long leaves its group (default 120000)
  --delay-levels "<list>"     delay of each delay level, RocketMQ's messageDelayLevel syntax with
                              units ms s m h d (default "${DEFAULT_DELAY_LEVELS}")
  --timer-max-delay <delay>   furthest deliverAt / delayMs accepted, e.g. 7d, 12h, 90000ms; the
                              timing wheel has a slot per second of it (default 7d)
  --order-lock-expiry <ms>    an orderly consumer's queue lock not renewed for this long is
                              free for another member (default 60000)
  --role standalone|broker|namesrv
                              standalone: a broker with its own embedded name server (default);
                              broker: a cluster broker registering with --namesrv; namesrv: a
                              name server only (serves registerBroker, queryRoute, clusterList,
                              createTopic on the cluster)
  --namesrv <host:port,...>   name servers this broker registers with (all of them)
  --register-interval <ms>    how often a broker registers with its name servers (default 30000)
  --broker-expiry <ms>        a name server drops a broker silent this long (default 120000)
  --test-send-delay-ms <ms>   TEST HOOK: delay every send response this long (default 0, off)
  --transaction-timeout <ms>  a half message unresolved this long is checked with its producer
                              group (default 6000)
  --transaction-check-interval <ms>
                              an unresolved transaction is checked again this often (default 30000)
  --transaction-check-max <n> unanswered checks before the half message is moved to
                              TRANS_CHECK_MAX_TIME_TOPIC (default 15)
  --config <file>             JSON file with any of the above in camelCase (flags win)
  -h, --help                  this text
`;

const options = {
  host: { type: "string" },
  port: { type: "string" },
  "data-dir": { type: "string" },
  "broker-name": { type: "string" },
  flush: { type: "string" },
  "flush-interval": { type: "string" },
  "segment-size": { type: "string" },
  "tail-size": { type: "string" },
  "default-queues": { type: "string" },
  "snapshot-interval": { type: "string" },
  "max-frame-size": { type: "string" },
  "client-expiry": { type: "string" },
  "delay-levels": { type: "string" },
  "timer-max-delay": { type: "string" },
  "order-lock-expiry": { type: "string" },
  role: { type: "string" },
  namesrv: { type: "string" },
  "register-interval": { type: "string" },
  "broker-expiry": { type: "string" },
  "test-send-delay-ms": { type: "string" },
  "transaction-timeout": { type: "string" },
  "transaction-check-interval": { type: "string" },
  "transaction-check-max": { type: "string" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses flags; returns null when help was asked for. Throws an Error naming a bad flag. */
export function parseConfig(argv: string[], readText: (path: string) => string): BrokerConfig | null {
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) return null;
  const fromFile = values.config ? (JSON.parse(readText(values.config)) as Partial<BrokerConfig>) : {};
  const c: BrokerConfig = { ...defaults, ...fromFile };
  if (values.host !== undefined) c.host = values.host;
  if (values.port !== undefined) c.port = int("--port", values.port);
  if (values["data-dir"] !== undefined) c.dataDir = values["data-dir"];
  if (values["broker-name"] !== undefined) c.brokerName = values["broker-name"];
  if (values.flush !== undefined) c.flush = values.flush as BrokerConfig["flush"];
  if (values["flush-interval"] !== undefined) c.flushIntervalMs = int("--flush-interval", values["flush-interval"]);
  if (values["segment-size"] !== undefined) c.segmentSize = bytes("--segment-size", values["segment-size"]);
  if (values["tail-size"] !== undefined) c.tailBytes = bytes("--tail-size", values["tail-size"]);
  if (values["default-queues"] !== undefined) c.defaultQueues = int("--default-queues", values["default-queues"]);
  if (values["snapshot-interval"] !== undefined) c.snapshotIntervalMs = int("--snapshot-interval", values["snapshot-interval"]);
  if (values["max-frame-size"] !== undefined) c.maxFrameSize = bytes("--max-frame-size", values["max-frame-size"]);
  if (values["client-expiry"] !== undefined) c.clientExpiryMs = int("--client-expiry", values["client-expiry"]);
  if (values["delay-levels"] !== undefined) c.delayLevels = parseDelayLevels(values["delay-levels"], "--delay-levels");
  else if (typeof c.delayLevels === "string") c.delayLevels = parseDelayLevels(c.delayLevels, "delayLevels");
  else checkDelayLevels(c.delayLevels, "delayLevels");
  if (values["timer-max-delay"] !== undefined) c.timerMaxDelayMs = parseDelayLevels(values["timer-max-delay"], "--timer-max-delay")[0];
  if (!Number.isSafeInteger(c.timerMaxDelayMs) || c.timerMaxDelayMs < 1000 || c.timerMaxDelayMs > 366 * 86_400_000) {
    throw new Error("--timer-max-delay must be 1s..366d");
  }
  if (values["order-lock-expiry"] !== undefined) c.orderLockExpiryMs = int("--order-lock-expiry", values["order-lock-expiry"]);
  if (values.role !== undefined) c.role = values.role as BrokerConfig["role"];
  const namesrv = values.namesrv ?? (c.namesrvAddrs as unknown); // a config file may give "host:port,host:port"
  if (typeof namesrv === "string") c.namesrvAddrs = namesrv.split(/[,;\s]+/).filter((a) => a !== "");
  if (!Array.isArray(c.namesrvAddrs) || c.namesrvAddrs.some((a) => typeof a !== "string")) throw new Error("namesrvAddrs must be a list of host:port");
  if (values["register-interval"] !== undefined) c.registerIntervalMs = int("--register-interval", values["register-interval"]);
  if (values["broker-expiry"] !== undefined) c.brokerExpiryMs = int("--broker-expiry", values["broker-expiry"]);
  if (values["test-send-delay-ms"] !== undefined) c.testSendDelayMs = int("--test-send-delay-ms", values["test-send-delay-ms"]);
  if (!["standalone", "broker", "namesrv"].includes(c.role)) throw new Error(`--role must be standalone, broker or namesrv, not "${c.role}"`);
  if (c.role === "broker" && c.namesrvAddrs.length === 0) throw new Error("--role broker needs --namesrv host:port[,host:port]");
  if (c.registerIntervalMs < 100) throw new Error("--register-interval must be at least 100 ms");
  if (c.brokerExpiryMs < 100) throw new Error("--broker-expiry must be at least 100 ms");
  if (values["transaction-timeout"] !== undefined) c.transactionTimeoutMs = int("--transaction-timeout", values["transaction-timeout"]);
  if (values["transaction-check-interval"] !== undefined) c.transactionCheckIntervalMs = int("--transaction-check-interval", values["transaction-check-interval"]);
  if (values["transaction-check-max"] !== undefined) c.transactionCheckMax = int("--transaction-check-max", values["transaction-check-max"]);
  if (c.transactionCheckIntervalMs < 10) throw new Error("--transaction-check-interval must be at least 10 ms");
  if (c.flush !== "async" && c.flush !== "sync") throw new Error(`--flush must be async or sync, not "${c.flush}"`);
  if (c.defaultQueues < 1 || c.defaultQueues > 1024) throw new Error("--default-queues must be 1..1024");
  if (c.segmentSize < 64 * 1024) throw new Error("--segment-size must be at least 64k");
  return c;
}

function int(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, not "${v}"`);
  return n;
}

function bytes(flag: string, v: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(v.trim());
  if (!m) throw new Error(`${flag} must be a byte count like 1073741824 or 1g, not "${v}"`);
  return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
}

/**
 * Parses RocketMQ's messageDelayLevel syntax, "1s 5s 10s 30s 1m ... 2h", into ms per level.
 * Units: ms, s, m, h, d. Throws an Error naming the bad item.
 */
export function parseDelayLevels(text: string, name = "delay levels"): number[] {
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const levels = text.trim().split(/\s+/).filter((t) => t !== "").map((t) => {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(t);
    if (!m) throw new Error(`${name}: "${t}" is not a delay like 100ms, 5s, 2m, 1h or 1d`);
    return Number(m[1]) * unit[m[2] as keyof typeof unit];
  });
  return checkDelayLevels(levels, name);
}

function checkDelayLevels(levels: unknown, name: string): number[] {
  if (!Array.isArray(levels) || levels.length === 0 || levels.length > MAX_DELAY_LEVELS) {
    throw new Error(`${name} must list 1..${MAX_DELAY_LEVELS} delays`);
  }
  for (const ms of levels) {
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`${name}: every delay must be a positive number of ms, not ${ms}`);
  }
  return levels;
}
