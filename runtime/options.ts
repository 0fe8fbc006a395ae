// Every option of the broker and the name server, declared once: the flag parser, the config
// file reader, --help and the README's options table are all made from this list
// (runtime/config.ts). To add an option, add one entry here; its flag is the kebab-case of its
// key unless `flag` says otherwise, and its config-file key is the camelCase of its flag.
import * as v from "valibot";
import { bool, choice, delayList, duration, hostPorts, hoursOfDay, int, type Kind, percent, size, type SizeOrShare, sizeOrMemoryShare, text, words } from "./option-kinds.ts";

export type Section = "Network" | "Storage" | "Disk and retention" | "Topics and consumers" | "Delays and timers" | "Transactions" | "Cluster" | "Replication" | "Security" | "Limits" | "Logging" | "Testing";

export interface Option<T> extends Kind<T> {
  section: Section;
  /** One sentence or two: what it does (the README and --help show it). */
  doc: string;
  default: T;
  /** The flag, when not the kebab-case of the key (keys carry a unit the flag does not: flushIntervalMs is --flush-interval). */
  flag?: string;
}

function opt<T>(kind: Kind<T>, section: Section, def: T, doc: string, flag?: string): Option<T> {
  return { ...kind, section, default: def, doc, ...(flag ? { flag } : {}) };
}

/** --grpc-port: a port, 0 for none (the and RocketMQ's meaning), or "any" (kept as -1) for a free one. */
function portOrAny(): Kind<number> {
  const schema = v.union([int(0, 65535).schema, v.pipe(v.literal("any"), v.transform(() => -1))]);
  return { arg: "<n>|any", expected: "an integer 0..65535 or any", schema, show: (n) => (n < 0 ? "any" : String(n)) };
}

const DAY = 86_400_000;
/** RocketMQ's messageDelayLevel default. */
export const DEFAULT_DELAY_LEVELS = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
const delayLevels = delayList(1024);

export const OPTIONS = {
  // Network
  host: opt(text("<addr>"), "Network", "127.0.0.1", "Listen address."),
  port: opt(int(0, 65535), "Network", 9876, "Listen port; 0 picks any free one."),
  maxFrameSize: opt(size(1024, 1024 ** 3), "Network", 16 * 1024 * 1024, "Largest WebSocket frame accepted; a larger one closes the socket with FRAME_TOO_LARGE."),
  advertisedAddress: opt(
    { ...text("<host:port>", "host:port or a ws:// URL", /^(wss?:\/\/\S+|\S+:\d{1,5})$/), show: (s: string) => s || "ws://<host>:<port>/ws" },
    "Network",
    "",
    "The address this broker gives clients in routes and registers with name servers (host:port or a ws:// URL): set it when clients reach the broker elsewhere than --host:--port (--host 0.0.0.0, a container, NAT, a proxy).",
  ),
  grpcPort: opt(portOrAny(), "Network", 8081, "gRPC endpoint for RocketMQ 5's own clients (apache.rocketmq.v2, docs/ROCKETMQ-COMPAT.md); 0 for none, any for a free one (the start-up line names it). A port in use is reported (GRPC_PORT_IN_USE) and the broker runs without it. --role broker / namesrv serve it only when given."),

  // Storage
  dataDir: opt(text("<dir>"), "Storage", "./data", "Data directory: CommitLog, ConsumeQueues, IndexFiles, snapshots, topic config."),
  flush: opt(choice(["async", "sync"] as const), "Storage", "async", "async: acknowledge after the write, fsync every --flush-interval; sync: acknowledge after an fsync (group commit)."),
  flushIntervalMs: opt(duration(1, 3_600_000), "Storage", 500, "How often --flush async fsyncs and checkpoints.", "flush-interval"),
  syncFlushTimeoutMs: opt(duration(1, 600_000), "Storage", 5000, "--flush sync: a send whose fsync takes longer is answered FLUSH_TIMEOUT.", "sync-flush-timeout"),
  segmentSize: opt(size(64 * 1024, 4 * 1024 ** 3), "Storage", 1024 ** 3, "CommitLog segment size (the largest message is a little smaller)."),
  tailBytes: opt(size(0, 16 * 1024 ** 3), "Storage", 4 * 1024 * 1024, "Newest CommitLog bytes kept in memory for consumers that keep up; older ones are read from disk. 0 for none.", "tail-size"),
  idleGcMs: opt(duration(0, DAY), "Storage", 3000, "After this long with no message in or out, the broker gives memory back: it lets the CommitLog tail go, runs a full GC and hands glibc's freed pages back (malloc_trim), and does both twice more at the same interval while it stays idle (V8 shrinks its young generation only after a few quiet seconds). 0: never.", "idle-gc"),
  snapshotIntervalMs: opt(duration(10, DAY), "Storage", 30_000, "How often the actor tree is snapshotted (and at shutdown).", "snapshot-interval"),

  // Disk and retention
  diskWarningRatio: opt(percent(), "Disk and retention", 85, "Percent of the data directory's disk used above which the broker logs and exports a warning."),
  diskFullRatio: opt(percent(), "Disk and retention", 90, "Percent used above which writes are refused with DISK_FULL (reads, pulls, offset commits and admin go on); so is every write after one failed with ENOSPC, until one succeeds again."),

  fileReservedTimeMs: opt(duration(1000, 3650 * DAY, "h"), "Disk and retention", 3 * DAY, "CommitLog segments last written longer ago than this are deleted at a --delete-when hour (RocketMQ's fileReservedTime; a bare number is hours).", "file-reserved-time"),
  deleteWhen: opt(hoursOfDay(), "Disk and retention", [4], "Hours of the day when expired segments are deleted (RocketMQ's deleteWhen: \"04\", or \"04;16\")."),
  diskMaxUsedSpaceRatio: opt(percent(), "Disk and retention", 75, "Above this percent of the disk used, the oldest segments are deleted at once, whatever their age (never one still needed)."),
  cleanIntervalMs: opt(duration(100, 3_600_000), "Disk and retention", 10_000, "How often retention looks at the clock and the disk (RocketMQ's cleanResourceInterval).", "clean-interval"),

  // Topics and consumers
  defaultQueues: opt(int(1, 1024), "Topics and consumers", 4, "Queues of a topic created by its first send."),
  autoCreateTopics: opt(bool(), "Topics and consumers", true, "A send to a topic that does not exist creates it (RocketMQ's autoCreateTopicEnable); off: such a send is TOPIC_NOT_FOUND. Retry, dead-letter and system topics are created whatever this says."),
  maxPollMs: opt(duration(0, 600_000), "Topics and consumers", 30_000, "Longest a pull is held waiting for messages, whatever the client asks.", "max-poll"),
  clientExpiryMs: opt(duration(100, DAY), "Topics and consumers", 120_000, "A consumer that has not heartbeated for this long leaves its groups.", "client-expiry"),
  autoRenewMs: opt(duration(100, DAY), "Topics and consumers", 60_000, "A RocketMQ 5 push consumer's message is handed out invisible for this long and renewed while it is being consumed (auto_renew): shortly before it is due, by 1, 3, 5, 10, 30, then 60 times this, for at most 180 times this, then given back with the group's retry back-off (RocketMQ's proxy: 1 min ... 1 h, 3 h).", "auto-renew-invisible"),
  orderLockExpiryMs: opt(duration(100, DAY), "Topics and consumers", 60_000, "An orderly consumer's queue lock not renewed for this long is free for another member (keep it above the clients' lockMaxLiveTimeMs, 30 s).", "order-lock-expiry"),

  // Delays and timers
  delayLevels: opt(delayLevels, "Delays and timers", v.parse(delayLevels.schema, DEFAULT_DELAY_LEVELS), "Delay of each delay level, RocketMQ's messageDelayLevel syntax (units ms s m h d), or a list of ms in a config file."),
  timerMaxDelayMs: opt(duration(1000, 366 * DAY), "Delays and timers", 7 * DAY, "Furthest ahead deliverAt / delayMs may be; the timing wheel has a slot per second of it.", "timer-max-delay"),

  // Transactions
  transactionTimeoutMs: opt(duration(1, 30 * DAY), "Transactions", 6000, "A half message unresolved this long after it was stored is checked with its producer group.", "transaction-timeout"),
  transactionCheckIntervalMs: opt(duration(10, DAY), "Transactions", 30_000, "An unresolved transaction is checked again this often.", "transaction-check-interval"),
  transactionCheckMax: opt(int(0, 100_000), "Transactions", 15, "Unanswered checks before the half message goes to TRANS_CHECK_MAX_TIME_TOPIC, never delivered."),

  // Cluster
  role: opt(choice(["standalone", "broker", "namesrv", "controller"] as const), "Cluster", "standalone", "standalone: a broker with its own embedded name server; broker: registers with --namesrv; namesrv: a name server only (no storage); controller: a replication controller, its state in etcd (docs/REPLICATION.md)."),
  brokerName: opt(text("<name>", "a name of letters, digits, _ and -", /^[a-zA-Z0-9_-]{1,127}$/), "Cluster", "broker-a", "This broker's name in routes."),
  namesrvAddrs: opt(hostPorts(), "Cluster", [] as string[], "Name servers this broker registers with, every one of them.", "namesrv"),
  registerIntervalMs: opt(duration(100, DAY), "Cluster", 30_000, "How often a broker registers with its name servers (also at start and after every topic change).", "register-interval"),
  brokerExpiryMs: opt(duration(100, DAY), "Cluster", 120_000, "A name server drops a broker that has not registered for this long.", "broker-expiry"),

  // Replication (docs/REPLICATION.md)
  brokerId: opt(int(0, 1023), "Replication", 0, "This broker's id in its group (--broker-name names the group): 0 is the group's master at its first start, the others its slaves."),
  controllerAddrs: opt(hostPorts(), "Replication", [] as string[], "Controllers of the broker's replicated group: with them the broker is a member of a group whose master they choose.", "controller"),
  replication: opt(choice(["async", "sync"] as const), "Replication", "async", "async: acknowledge after the master's write; sync: once every in-sync replica holds the message (fsynced, under --flush sync)."),
  minInSyncReplicas: opt(int(1, 1024), "Replication", 1, "--replication sync: sends fail with IN_SYNC_REPLICAS_NOT_ENOUGH while fewer members than this (the master included) are in sync."),
  haMaxLagMs: opt(duration(100, 3_600_000), "Replication", 3000, "A slave that has not caught up with its master for this long leaves the SyncStateSet.", "ha-max-lag-ms"),
  slaveReadEnable: opt(bool(), "Replication", true, "A consumer far behind (--slave-read-behind) is told to pull from a slave, and back from the master once it has caught up; commits still go to the master (RocketMQ's slaveReadEnable). A group whose master is down is read from a slave either way."),
  slaveReadBehind: opt(sizeOrMemoryShare(1024 ** 4), "Replication", { percent: 40 } as SizeOrShare, "How far a pull's last message may be behind the master's CommitLog end before the master suggests a slave (bytes, or a share of physical memory: beyond it the master's page cache probably no longer holds what the consumer reads, RocketMQ's accessMessageInMemoryMaxRatio); a slave suggests the master again within half of it."),
  controllerHeartbeatIntervalMs: opt(duration(50, 60_000), "Replication", 500, "How often a group's broker heartbeats to its controllers (and learns its role).", "controller-heartbeat-interval"),
  etcdEndpoints: opt(hostPorts(), "Replication", ["127.0.0.1:2379"], "--role controller: etcd's client endpoints.", "etcd"),
  etcdPrefix: opt(text("<key>"), "Replication", "/actormq", "--role controller: this cluster's key prefix in etcd."),
  leaseTtlSeconds: opt(int(1, 3600), "Replication", 2, "--role controller: a group member silent this many seconds is gone (its etcd lease runs out); a lost master is replaced then.", "lease-ttl"),

  // Security (docs/SECURITY.md)
  tlsCert: opt(text("<file>"), "Security", "", "PEM certificate chain: serve https:// and wss:// (with --tls-key)."),
  tlsKey: opt(text("<file>"), "Security", "", "PEM private key of --tls-cert."),
  tlsCa: opt(text("<file>"), "Security", "", "PEM CA: clients must present a certificate it signed (mutual TLS)."),
  tlsTrust: opt(text("<file>"), "Security", "", "PEM CAs trusted when dialing wss:// name servers and brokers (default: the system's)."),
  auth: opt(choice(["off", "on"] as const), "Security", "off", "on: every op needs a signed-in user (access key + secret key) and the ACL's permission; off: anyone may do anything, for local development."),
  aclFile: opt(text("<file>"), "Security", "", "Users and ACLs (JSON), re-read when it changes and rewritten by the user and ACL admin commands; needed with --auth on."),
  authMaxSkewMs: opt(duration(1000, DAY), "Security", 300_000, "A sign-in's timestamp may be this far from the broker's clock.", "auth-max-skew"),
  credentials: opt(text("<file>"), "Security", "", "JSON { accessKey, secretKey } this process signs in with to name servers and brokers that run with --auth on."),
  allowedOrigins: opt(words("<origin,...>", "origins like https://app.example.com separated by commas, or *"), "Security", [] as string[], "Browser origins besides the broker's own that may open /ws; * for any."),

  // Limits (docs/SECURITY.md)
  maxConnections: opt(int(1, 1_000_000), "Limits", 10_000, "Open connections at most; more are closed with LIMIT_EXCEEDED."),
  maxUnsentBytes: opt(size(8 * 1024 * 1024, 16 * 1024 ** 3), "Limits", 32 * 1024 * 1024, "Reply bytes queued for one connection before its large answers wait and its frames are not read; twice this closes it (SLOW_CONSUMER)."),
  slowConsumerTimeoutMs: opt(duration(100, DAY), "Limits", 10_000, "A connection whose replies stay backed up this long is closed (SLOW_CONSUMER).", "slow-consumer-timeout"),
  handshakeTimeoutMs: opt(duration(100, DAY), "Limits", 10_000, "A connection must send its first frame (with --auth on: sign in) within this.", "handshake-timeout"),
  idleTimeoutMs: opt(duration(0, 30 * DAY), "Limits", 120_000, "A connection with no frame either way for this long is closed; 0 never.", "idle-timeout"),
  maxHeldPulls: opt(int(1, 1_000_000), "Limits", 4096, "Long-polling pulls one connection may have waiting."),
  maxHeartbeatGroups: opt(int(1, 100_000), "Limits", 100, "Consumer and producer groups in one heartbeat."),
  maxTopics: opt(int(1, 10_000_000), "Limits", 10_000, "Topics clients may create (retry and DLQ topics count with their groups, system topics not at all)."),
  maxGroups: opt(int(1, 10_000_000), "Limits", 10_000, "Consumer groups."),

  // Logging
  logLevel: opt(choice(["trace", "debug", "info", "warning", "error", "fatal"] as const), "Logging", "info", "Lowest level logged; debug adds client connects, disconnects and refused requests."),
  logFormat: opt(choice(["text", "json"] as const), "Logging", "text", "text: one timestamped line per event; json: one JSON object per line, for machines."),

  // Testing
  testSendDelayMs: opt(int(0, 60_000), "Testing", 0, "TEST HOOK: answer every send this many ms later; 0 is off.", "test-send-delay-ms"),
} satisfies Record<string, Option<any>>;

/** Every option's value, by key. */
export type BrokerConfig = { -readonly [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K]["default"] };

export type OptionKey = keyof typeof OPTIONS;

/** Flags that are not options: they are not in the config file. */
export const META_FLAGS = [
  { flag: "config", arg: "<file>", doc: "A JSON file of options under their camelCase names (--flush-interval is flushInterval); flags win over it." },
  { flag: "version", short: "V", arg: "", doc: "Print the version and exit." },
  { flag: "help", short: "h", arg: "", doc: "Print this text and exit." },
] as const;

export const SECTIONS: Section[] = ["Network", "Storage", "Disk and retention", "Topics and consumers", "Delays and timers", "Transactions", "Cluster", "Replication", "Security", "Limits", "Logging", "Testing"];
