// `npm run admin -- <command>` / `deno task admin <command>`: RocketMQ's mqadmin, for ActorMQ.
// Speaks to a broker through the client SDK's Admin; prints aligned tables, or JSON with --json.
import { readFileSync, realpathSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { type AclEntry, Admin } from "../client/admin.ts";
import { BrokerError, ErrorCode, type MessageView } from "../protocol/mod.ts";
import pkg from "../package.json" with { type: "json" };

export const adminUsage = `Usage: npm run admin -- <command> [args] [options]   (or: deno task admin <command> ...)

Commands:
  topicList                                   topics (system topics too with --system)
  topicStatus <topic>                         each queue's min/max offset and last store time
  createTopic <topic> --queues N [--perm P]   create a topic, or add queues to one; through a
              [--brokers b1,b2]               name server on every live broker (or those named)
  updateTopic <topic> [--perm P] [--queues N] RocketMQ's name: a topic's permission (6 rw, 4 r, 2 w,
              [--brokers b1,b2]               0 none) or queues changed, its queue count kept
                                              unless given (a new topic needs --queues)
  deleteTopic <topic> [--brokers b1,b2]       delete a topic: its queues, routes and offsets go and
                                              its messages are never served again; through a name
                                              server on every broker that holds it (or those named)
  deleteSubGroup <group> [--keep-retry-topics] delete a consumer group: its offsets and settings go,
              [--brokers b1,b2]               and its %RETRY%/%DLQ% topics unless kept; through a
                                              name server on every live broker (or those named)
  consumerProgress <group>                    committed offset and lag per queue, and the members
  queryMsgById <msgId>                        a message by its unique id
  queryMsgByKey <topic> <key>                 messages by business key
  resetOffsetByTime <group> <topic> <time>    move a group to the first message stored at or after
                                              <time> (ISO 8601, or ms since the epoch)
  updateSubGroup <group> [--orderly true|false] a consumer group's settings (RocketMQ's updateSubGroup):
              [--retry-max-times N]           FIFO or not, retries before %DLQ%<group>, and the
              [--retry-policy JSON]           back-off, e.g. '{"type":"exponential","initialMs":1000,
                                              "maxMs":60000,"multiplier":2}'; prints them all
  deleteExpiredCommitLog                      a retention pass now: expired CommitLog segments
                                              (and their queue and index files) are deleted
  clusterList                                 the brokers: addresses, topics, last registration
                                              (a standalone broker lists itself; a name server
                                              lists every live broker registered with it)
  createUser <accessKey> --secret-key S [--super]
                                              a user of a broker with --auth on
  updateUser <accessKey> [--secret-key S] [--super true|false] [--disabled true|false]
  deleteUser <accessKey>                      the user and its ACL entries
  listUser                                    users (never their secret keys)
  createAcl <user> <resource> --actions PUB,SUB[,ADMIN|ALL] --decision ALLOW|DENY
            [--source-ips 10.0.0.0/8,...]     an entry: resource Topic:<name>, Topic:<prefix>*,
                                              Group:<name>, Cluster or * (docs/SECURITY.md)
  updateAcl <user> <resource> ...             the same, replacing the user's entry for it
  deleteAcl <user> [--resource R]             a user's entries, all or one
  listAcl [--user U]                          ACL entries, per user

Options:
  --endpoints <list>   broker or name server address(es) (default ws://127.0.0.1:9876/ws)
  --json               machine-readable output
  --timeout <ms>       request timeout (default 5000)
  --credentials <file> JSON { "accessKey", "secretKey" } to sign in with (a broker with --auth on)
  --tls-ca <file>      PEM CA to trust for wss:// endpoints
  --max <n>            queryMsgByKey / queryMsgById: at most n messages (default 32)
  -V, --version        print the version and exit
  -h, --help           this text
`;

const options = {
  endpoints: { type: "string", default: "ws://127.0.0.1:9876/ws" },
  json: { type: "boolean", default: false },
  timeout: { type: "string", default: "5000" },
  queues: { type: "string" },
  perm: { type: "string" },
  brokers: { type: "string" },
  system: { type: "boolean", default: false },
  max: { type: "string" },
  orderly: { type: "string" },
  "retry-max-times": { type: "string" },
  "retry-policy": { type: "string" },
  "keep-retry-topics": { type: "boolean", default: false },
  credentials: { type: "string" },
  "tls-ca": { type: "string" },
  "secret-key": { type: "string" },
  super: { type: "string" },
  disabled: { type: "string" },
  actions: { type: "string" },
  decision: { type: "string" },
  "source-ips": { type: "string" },
  resource: { type: "string" },
  user: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

class UsageError extends Error {}

const commands: Record<string, { args: string[]; run(admin: Admin, a: string[], v: Values): Promise<Output> }> = {
  topicList: {
    args: [],
    async run(admin, _a, v) {
      const topics = await admin.topicList({ system: v.system });
      topics.sort((x, y) => (x.topic < y.topic ? -1 : 1));
      return { json: { topics }, text: table(["TOPIC", "QUEUES", "PERM"], topics.map((t) => [t.topic, t.queues, permText(t.perm)])) };
    },
  },
  topicStatus: {
    args: ["topic"],
    async run(admin, [topic]) {
      const s = await admin.topicStatus(topic);
      const total = s.queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
      const rows = s.queues.map((q) => [q.queueId, q.minOffset, q.maxOffset, time(q.lastStoreTimestamp)]);
      return { json: s, text: `topic ${s.topic}: ${s.queues.length} queues, ${total} messages stored\n` + table(["QUEUE", "MIN_OFFSET", "MAX_OFFSET", "LAST_STORED"], rows) };
    },
  },
  createTopic: {
    args: ["topic"],
    async run(admin, [topic], v) {
      if (v.queues === undefined) throw new UsageError("createTopic needs --queues N");
      const t = await admin.createTopic(topic, count("--queues", v.queues), v.perm === undefined ? undefined : count("--perm", v.perm), brokerList(v));
      let text = `topic ${t.topic}: ${t.queues} queues, perm ${permText(t.perm)}\n`;
      // Through a name server: what each broker said.
      if (t.brokers) text += table(["BROKER", "RESULT"], t.brokers.map((b) => [b.broker, b.code ? `${b.code}: ${b.message}` : `${b.queues} queues, perm ${permText(b.perm ?? 0)}`]));
      return { json: t, text };
    },
  },
  updateTopic: {
    args: ["topic"],
    async run(admin, [topic], v) {
      if (v.queues === undefined && v.perm === undefined) throw new UsageError("updateTopic needs --perm P or --queues N");
      let queues = v.queues === undefined ? undefined : count("--queues", v.queues);
      if (queues === undefined) {
        const status = await admin.topicStatus(topic).catch((e) => {
          if (e instanceof BrokerError && e.code === ErrorCode.TOPIC_NOT_FOUND) throw new UsageError(`topic ${topic} does not exist: updateTopic of a new topic needs --queues N`);
          throw e;
        });
        queues = status.queues.length;
      }
      return commands.createTopic.run(admin, [topic], { ...v, queues: String(queues) });
    },
  },
  deleteTopic: {
    args: ["topic"],
    async run(admin, [topic], v) {
      const r = await admin.deleteTopic(topic, brokerList(v));
      let text = `topic ${r.topic} deleted\n`;
      if (r.brokers) text += table(["BROKER", "RESULT"], r.brokers.map((b) => [b.broker, b.code ? `${b.code}: ${b.message}` : "deleted"]));
      return { json: r, text };
    },
  },
  deleteSubGroup: {
    args: ["group"],
    async run(admin, [group], v) {
      const r = await admin.deleteSubGroup(group, { keepRetryTopics: v["keep-retry-topics"], brokers: brokerList(v) });
      let text = `group ${r.group} deleted${r.topicsDeleted.length ? `, with ${r.topicsDeleted.join(", ")}` : ""}\n`;
      if (r.brokers) text += table(["BROKER", "RESULT"], r.brokers.map((b) => [b.broker, b.code ? `${b.code}: ${b.message}` : `deleted${b.topicsDeleted?.length ? ` (${b.topicsDeleted.join(", ")})` : ""}`]));
      return { json: r, text };
    },
  },
  consumerProgress: {
    args: ["group"],
    async run(admin, [group]) {
      const p = await admin.consumerProgress(group);
      const rows = p.queues.map((q) => [q.topic, q.queueId, q.brokerOffset, q.consumerOffset, q.lag, time(q.lastTimestamp)]);
      let text = `group ${p.group}: total lag ${p.totalLag}, ${p.members.length} member(s)\n`;
      text += table(["TOPIC", "QUEUE", "BROKER_OFFSET", "CONSUMER_OFFSET", "LAG", "LAST_STORED"], rows);
      if (p.members.length) {
        text += "\n" + table(["CLIENT_ID", "MODEL", "SUBSCRIPTIONS"], p.members.map((m) => [m.clientId, m.model, Object.entries(m.subscriptions).map(([t, e]) => `${t}=${e}`).join(" ")]));
      }
      return { json: p, text };
    },
  },
  queryMsgById: {
    args: ["msgId"],
    async run(admin, [msgId], v) {
      const msgs = await admin.queryMessage({ msgId, ...(v.max ? { max: count("--max", v.max) } : {}) });
      if (msgs.length === 0) throw new BrokerError("NOT_FOUND", `no message with id "${msgId}"`);
      return { json: { msgs: msgs.map(messageJson) }, text: msgs.map(messageBlock).join("\n") };
    },
  },
  queryMsgByKey: {
    args: ["topic", "key"],
    async run(admin, [topic, key], v) {
      const msgs = await admin.queryMessage({ topic, key, ...(v.max ? { max: count("--max", v.max) } : {}) });
      const rows = msgs.map((m) => [m.id, m.topic, m.queueId, m.queueOffset, time(m.storeTimestamp), m.tags ?? "", (m.keys ?? []).join(" "), bodyPreview(m.body)]);
      return { json: { msgs: msgs.map(messageJson) }, text: `${msgs.length} message(s) with key "${key}" in ${topic}\n` + table(["MSG_ID", "TOPIC", "QUEUE", "QUEUE_OFFSET", "STORED", "TAGS", "KEYS", "BODY"], rows) };
    },
  },
  resetOffsetByTime: {
    args: ["group", "topic", "time"],
    async run(admin, [group, topic, when]) {
      const timestamp = parseTime(when);
      const offsets = await admin.resetOffset(group, topic, timestamp);
      const rows = Object.entries(offsets).map(([q, o]) => [q, o]);
      return {
        json: { group, topic, timestamp, offsets },
        text: `group ${group} on ${topic} reset to ${new Date(timestamp).toISOString()}\n` + table(["QUEUE", "NEW_OFFSET"], rows),
      };
    },
  },
  updateSubGroup: {
    args: ["group"],
    async run(admin, [group], v) {
      const changes: Record<string, unknown> = {};
      if (v.orderly !== undefined) {
        if (v.orderly !== "true" && v.orderly !== "false") throw new UsageError("--orderly takes true or false");
        changes.orderly = v.orderly === "true";
      }
      if (v["retry-max-times"] !== undefined) changes.maxReconsumeTimes = count("--retry-max-times", v["retry-max-times"]);
      if (v["retry-policy"] !== undefined) {
        try {
          changes.retryPolicy = JSON.parse(v["retry-policy"]);
        } catch {
          throw new UsageError("--retry-policy takes JSON, e.g. '{\"type\":\"exponential\",\"initialMs\":1000,\"maxMs\":60000,\"multiplier\":2}'");
        }
      }
      const s = await admin.updateSubscriptionGroup(group, changes);
      const p = s.retryPolicy;
      const policy = p.type === "exponential" ? `exponential ${p.initialMs}..${p.maxMs} ms x${p.multiplier}` : `customized ${p.delaysMs.join(" ")} ms`;
      return { json: { group, ...s }, text: table(["GROUP", "ORDERLY", "RETRY_MAX_TIMES", "RETRY_POLICY"], [[group, String(s.orderly), s.maxReconsumeTimes, policy]]) };
    },
  },
  deleteExpiredCommitLog: {
    args: [],
    async run(admin) {
      const r = await admin.deleteExpiredCommitLog();
      const held = r.heldBy ? `; ${r.heldBy} holds CommitLog offset ${r.holdOffset} and after` : "";
      return { json: r, text: `deleted ${r.deletedSegments} CommitLog segment(s), ${r.deletedBytes} bytes; the CommitLog starts at ${r.minCommitLogOffset}; ${r.queuesTruncated} queue(s) start later${held}\n` };
    },
  },
  clusterList: {
    args: [],
    async run(admin) {
      const c = await admin.clusterList();
      const head = c.mode === "standalone"
        ? "standalone broker: one broker with its own embedded name server, no cluster\n"
        : `cluster (${c.mode}): ${c.brokers.length} broker(s)\n`;
      const rows = c.brokers.map((b) => [b.name, b.address, b.topics, b.version, b.runtime, duration(b.uptimeMs), time(b.startedAt)]);
      // What the name server knows: each broker's last registration and its topics.
      const now = Date.now();
      const reg = c.brokers.map((b) => [b.name, b.lastUpdate ? `${time(b.lastUpdate)} (${duration(now - b.lastUpdate)} ago)` : "-", (b.topicNames ?? []).join(",") || "-"]);
      return {
        json: c,
        text: head + table(["BROKER", "ADDRESS", "TOPICS", "VERSION", "RUNTIME", "UPTIME", "STARTED"], rows) + "\n" + table(["BROKER", "LAST_REGISTRATION", "TOPIC_NAMES"], reg),
      };
    },
  },
  createUser: {
    args: ["accessKey"],
    async run(admin, [accessKey], v) {
      if (!v["secret-key"]) throw new UsageError("createUser needs --secret-key");
      await admin.createUser({ accessKey, secretKey: v["secret-key"], ...(v.super !== undefined ? { super: flag("--super", v.super) } : {}) });
      return { json: { accessKey }, text: `user ${accessKey} created\n` };
    },
  },
  updateUser: {
    args: ["accessKey"],
    async run(admin, [accessKey], v) {
      const change = {
        accessKey,
        ...(v["secret-key"] ? { secretKey: v["secret-key"] } : {}),
        ...(v.super !== undefined ? { super: flag("--super", v.super) } : {}),
        ...(v.disabled !== undefined ? { disabled: flag("--disabled", v.disabled) } : {}),
      };
      await admin.updateUser(change);
      return { json: { accessKey }, text: `user ${accessKey} updated\n` };
    },
  },
  deleteUser: {
    args: ["accessKey"],
    async run(admin, [accessKey]) {
      await admin.deleteUser(accessKey);
      return { json: { accessKey }, text: `user ${accessKey} deleted, with its ACL entries\n` };
    },
  },
  listUser: {
    args: [],
    async run(admin) {
      const users = await admin.listUsers();
      return { json: { users }, text: table(["ACCESS_KEY", "SUPER", "DISABLED"], users.map((u) => [u.accessKey, u.super ? "yes" : "", u.disabled ? "yes" : ""])) };
    },
  },
  createAcl: { args: ["user", "resource"], run: (admin, a, v) => aclEntry(admin, "createAcl", a, v) },
  updateAcl: { args: ["user", "resource"], run: (admin, a, v) => aclEntry(admin, "updateAcl", a, v) },
  deleteAcl: {
    args: ["user"],
    async run(admin, [user], v) {
      await admin.deleteAcl(user, v.resource);
      return { json: { user }, text: `${v.resource ? `the entry for ${v.resource}` : "every entry"} of ${user} deleted\n` };
    },
  },
  listAcl: {
    args: [],
    async run(admin, _a, v) {
      const acls = await admin.listAcls(v.user);
      const rows = acls.flatMap((a) => a.entries.map((e) => [a.user, e.resource, e.actions.join(","), e.decision, (e.sourceIps ?? []).join(",") || "any"]));
      return { json: { acls }, text: table(["USER", "RESOURCE", "ACTIONS", "DECISION", "SOURCE_IPS"], rows) };
    },
  },
};

async function aclEntry(admin: Admin, op: "createAcl" | "updateAcl", [user, resource]: string[], v: Values): Promise<Output> {
  if (!v.actions || !v.decision) throw new UsageError(`${op} needs --actions and --decision`);
  const entry = {
    resource,
    actions: v.actions.split(",").map((a) => a.trim().toUpperCase()) as AclEntry["actions"],
    decision: v.decision.toUpperCase() as AclEntry["decision"],
    ...(v["source-ips"] ? { sourceIps: v["source-ips"].split(",").map((s) => s.trim()) } : {}),
  };
  await admin[op](user, [entry]);
  return { json: { user, entry }, text: `${user}: ${entry.decision} ${entry.actions.join(",")} on ${resource}${entry.sourceIps ? ` from ${entry.sourceIps.join(",")}` : ""}\n` };
}

function flag(name: string, text: string): boolean {
  if (text !== "true" && text !== "false") throw new UsageError(`${name} takes true or false, not "${text}"`);
  return text === "true";
}

interface Output {
  json: unknown;
  text: string;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`actormq admin: ${(e as Error).message}\n\n${adminUsage}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [name, ...args] = positionals;
  if (v.version) {
    process.stdout.write(`actormq admin ${pkg.version}\n`);
    return 0;
  }
  if (v.help || !name) {
    (v.help ? process.stdout : process.stderr).write(adminUsage);
    return v.help ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`actormq admin: unknown command "${name}"\n\n${adminUsage}`);
    return 2;
  }
  if (args.length !== command.args.length) {
    process.stderr.write(`actormq admin: ${name} takes ${command.args.map((a) => `<${a}>`).join(" ") || "no arguments"}\n\n${adminUsage}`);
    return 2;
  }
  let admin: Admin | undefined;
  try {
    const timeout = count("--timeout", v.timeout);
    admin = new Admin({ endpoints: v.endpoints, requestTimeoutMs: timeout, ...clientSecurity(v) });
    await admin.start();
    const out = await command.run(admin, args, v);
    process.stdout.write(v.json ? JSON.stringify(out.json, jsonValue, 2) + "\n" : out.text);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`actormq admin: ${e.message}\n\n${adminUsage}`);
      return 2;
    }
    const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
    const message = e instanceof Error ? e.message : String(e);
    if (v.json) process.stdout.write(JSON.stringify({ error: { code, message } }, null, 2) + "\n");
    process.stderr.write(`actormq admin: ${name} failed: ${code}: ${message}\n`);
    return 1;
  } finally {
    await admin?.shutdown().catch(() => {});
  }
}

/** --credentials and --tls-ca as client options. */
function clientSecurity(v: Values): { credentials?: { accessKey: string; secretKey: string }; tls?: { ca: string } } {
  const out: { credentials?: { accessKey: string; secretKey: string }; tls?: { ca: string } } = {};
  if (v.credentials) {
    let c: { accessKey?: unknown; secretKey?: unknown };
    try {
      c = JSON.parse(readFileSync(v.credentials, "utf8"));
    } catch (e) {
      throw new UsageError(`--credentials ${v.credentials}: cannot read it as JSON (${(e as Error).message.split("\n")[0]})`);
    }
    if (typeof c?.accessKey !== "string" || typeof c?.secretKey !== "string") throw new UsageError(`--credentials ${v.credentials}: must hold { "accessKey": "...", "secretKey": "..." }`);
    out.credentials = { accessKey: c.accessKey, secretKey: c.secretKey };
  }
  if (v["tls-ca"]) out.tls = { ca: readFileSync(v["tls-ca"], "utf8") };
  return out;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...cells.map(line)].join("\n") + "\n";
}

/** --brokers b1,b2 (through a name server: only these brokers). */
function brokerList(v: Values): string[] | undefined {
  return v.brokers === undefined ? undefined : v.brokers.split(",").filter((b) => b !== "");
}

function count(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, not "${text}"`);
  return n;
}

/** ms since the epoch (digits only) or anything Date.parse reads (ISO 8601). */
export function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`<time> must be ISO 8601 (2026-01-31T12:00:00Z) or ms since the epoch, not "${text}"`);
  return ms;
}

function permText(perm: number): string {
  return `${perm} (${perm & 4 ? "r" : "-"}${perm & 2 ? "w" : "-"})`;
}

function time(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : "-";
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [Math.floor(s / 60) % 60, "m"], [s % 60, "s"]] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first < 0 ? "0s" : parts.slice(first).map(([n, u]) => `${n}${u}`).join(" ");
}

function bodyPreview(body: unknown): string {
  const text = typeof body === "string" ? body : body instanceof Uint8Array ? `<${body.length} bytes>` : String(body);
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 40 ? flat.slice(0, 39) + "…" : flat;
}

function messageJson(m: MessageView): Record<string, unknown> {
  return { ...m };
}

function messageBlock(m: MessageView): string {
  const rows: [string, unknown][] = [
    ["msgId", m.id],
    ["topic", m.topic],
    ["queueId", m.queueId],
    ["queueOffset", m.queueOffset],
    ["commitLogOffset", m.commitLogOffset],
    ["storeTime", time(m.storeTimestamp)],
    ["bornTime", time(m.born)],
    ["reconsumeTimes", m.reconsumeTimes],
    ["tags", m.tags ?? ""],
    ["keys", (m.keys ?? []).join(" ")],
    ["producerGroup", m.group ?? ""],
    ["properties", Object.entries(m.props ?? {}).map(([k, val]) => `${k}=${val}`).join(" ")],
    ["body", typeof m.body === "string" ? m.body : m.body instanceof Uint8Array ? `<${m.body.length} bytes>` : String(m.body)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, val]) => `${k.padEnd(w)}  ${val}`).join("\n") + "\n";
}

/** JSON for byte bodies: { base64 } so scripts get them back losslessly. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) {
    let s = "";
    for (const b of value) s += String.fromCharCode(b);
    return { base64: btoa(s) };
  }
  return value;
}

// Run when this file is the entry point (node dist/admin.mjs, deno run runtime/admin-cli.ts, or the
// actormq-admin bin: a symlink, hence the real path).
const isMain = "Deno" in globalThis ? (import.meta as { main?: boolean }).main : import.meta.url === (await import("node:url")).pathToFileURL(realMain()).href;

function realMain(): string {
  try {
    return realpathSync(process.argv[1] ?? "");
  } catch {
    return "";
  }
}
if (isMain) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
