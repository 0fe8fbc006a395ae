// The name server as a service: the `namesrv` actor plus its ops (registerBroker, queryRoute,
// clusterList, createTopic, deleteTopic and deleteSubGroup on the cluster). The same object runs embedded in a standalone broker
// (which registers itself with it in-process) and in a `--role namesrv` process of its own.
// It owns no copy of the table: changes are events to the actor, and what needs the table asks
// the actor (VIEW, answered through a `reply`) and goes on once it has answered.
import { type Actor, createActor } from "xstate";
import { BrokerError, checkGroupName, checkTopicName, ErrorCode, isSystemTopic, type Request } from "../../protocol/mod.ts";
import { autoCreateRoute, type BrokerEntry, createNamesrvMachine, liveBrokers, memberKey, type NamesrvContext, type NamesrvTopic, servingBrokers, topicRoute } from "../../actors/namesrv.machine.ts";
import type { Platform } from "../../platform/platform.ts";
import { optional, required } from "../args.ts";
import { type PeerDial, PeerLink } from "./peer-link.ts";

/** What a broker tells the name server about itself. */
export interface BrokerRegistration {
  brokerName: string;
  address: string;
  topics: Record<string, NamesrvTopic>;
  /** Queues of a topic the broker creates on a first send. */
  autoCreateQueues?: number;
  /** Its gRPC endpoint for RocketMQ 5 clients ("host:port"), when it serves one. */
  grpcAddress?: string;
  version?: string;
  runtime?: string;
  startedAt?: number;
  /** A replicated group's member: { brokerId, role, epoch, ... } as its ReplicaNode reports it (clusterList shows all of it). */
  group?: Record<string, unknown>;
}

export interface NameServerOptions {
  platform: Pick<Platform, "dial" | "clock">;
  brokerExpiryMs: number;
  log?: (line: string) => void;
  /** Time a forwarded createTopic may take on each broker. */
  requestTimeoutMs?: number;
  /** How the name server dials brokers: TLS trust, and who it signs in as. */
  dial?: PeerDial;
}

/** An op's result fields; the caller wraps them in the response envelope. */
type OpResult = Record<string, unknown>;

const MAX_QUEUES = 1024;

export class NameServer {
  private readonly actor: Actor<ReturnType<typeof createNamesrvMachine>>;
  /** Extra facts per broker that routes do not need (version, runtime, start time). */
  private readonly info = new Map<string, { version?: string; runtime?: string; startedAt?: number; group?: Record<string, unknown> }>();
  private readonly links = new Map<string, PeerLink>();
  private closed = false;
  readonly startedAt: number;

  constructor(private readonly options: NameServerOptions) {
    const { platform: { clock }, log } = options;
    this.startedAt = clock.now();
    this.actor = createActor(createNamesrvMachine({
      now: () => clock.now(),
      brokerExpiryMs: options.brokerExpiryMs,
      brokerExpired: (name, address) => log?.(`broker ${name} (${address}) silent for ${options.brokerExpiryMs} ms: dropped from routes`),
      brokerRegistered: (b) => log?.(`broker ${b.brokerName}${b.brokerId !== undefined ? ` #${b.brokerId} (${b.role}, epoch ${b.epoch})` : ""} registered from ${b.address}`),
      brokerDisconnected: (b) => log?.(`broker ${b.brokerName} #${b.brokerId} (${b.address}) disconnected: dropped from routes`),
    }), { input: undefined });
    this.actor.start();
  }

  /** The actor's table, once it has answered. */
  private view(): Promise<NamesrvContext> {
    // A stopped actor drops events: its answer would never come.
    if (this.closed) return Promise.reject(new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the name server is shutting down"));
    return new Promise((resolve) => this.actor.send({ type: "VIEW", reply: resolve }));
  }

  /** The live registered brokers. */
  async brokers(): Promise<BrokerEntry[]> {
    return liveBrokers(await this.view(), this.options.platform.clock.now());
  }

  /** Returns the broker's key in the table (for connectionClosed). */
  register(r: BrokerRegistration): string {
    const g = r.group;
    const brokerId = typeof g?.brokerId === "number" ? g.brokerId : undefined;
    const role = g?.role === "master" ? "master" as const : "slave" as const;
    const epoch = typeof g?.epoch === "number" ? g.epoch : 0;
    const key = memberKey(r.brokerName, brokerId);
    this.info.set(key, { version: r.version, runtime: r.runtime, startedAt: r.startedAt, group: g });
    this.actor.send({
      type: "REGISTER_BROKER",
      brokerName: r.brokerName,
      address: r.address,
      topics: r.topics,
      ...(r.autoCreateQueues ? { autoCreateQueues: r.autoCreateQueues } : {}),
      ...(r.grpcAddress ? { grpcAddress: r.grpcAddress } : {}),
      ...(brokerId !== undefined ? { brokerId, role, epoch } : {}),
    });
    return key;
  }

  /**
   * A group member's registration connection closed (RocketMQ's BrokerHousekeepingService): it is
   * dropped from routes at once, so a lost master's group is served by a slave, read-only, until
   * the new master registers, instead of by a dead address until its expiry.
   */
  connectionClosed(keys: Iterable<string>): void {
    this.actor.send({ type: "CONNECTION_CLOSED", keys: [...keys] });
  }

  // ---- ops ----

  registerBroker(req: Request, onKey?: (key: string) => void): OpResult {
    const brokerName = checkTopicName(required<string>(req, "brokerName", "string"));
    const address = required<string>(req, "address", "string");
    if (!/^wss?:\/\/[^\s]+$/.test(address)) throw new BrokerError(ErrorCode.BAD_REQUEST, `registerBroker: "address" must be a ws:// URL, not "${address.slice(0, 100)}"`);
    const raw = required<Record<string, unknown>>(req, "topics", "map");
    const topics: Record<string, NamesrvTopic> = {};
    for (const [name, t] of Object.entries(raw)) {
      const q = (t as NamesrvTopic | null)?.queues;
      const p = (t as NamesrvTopic | null)?.perm;
      if (q === undefined || p === undefined || !Number.isInteger(q) || q < 1 || q > MAX_QUEUES || !Number.isInteger(p) || p < 0 || p > 7) {
        throw new BrokerError(ErrorCode.BAD_REQUEST, `registerBroker: topic "${name.slice(0, 100)}" needs { queues: 1..${MAX_QUEUES}, perm: 0..7 }`);
      }
      topics[name] = { queues: q, perm: p };
    }
    const autoCreateQueues = optional<number | undefined>(req, "autoCreateQueues", "uint", undefined);
    if (autoCreateQueues !== undefined && (autoCreateQueues < 1 || autoCreateQueues > MAX_QUEUES)) {
      throw new BrokerError(ErrorCode.BAD_REQUEST, `registerBroker: "autoCreateQueues" must be 1..${MAX_QUEUES}`);
    }
    const grpcAddress = optional<string | undefined>(req, "grpcAddress", "string", undefined);
    if (grpcAddress !== undefined && !/^[^\s/]+:\d{1,5}$/.test(grpcAddress)) throw new BrokerError(ErrorCode.BAD_REQUEST, `registerBroker: "grpcAddress" must be host:port, not "${grpcAddress.slice(0, 100)}"`);
    const group = optional<Record<string, unknown> | undefined>(req, "group", "map", undefined);
    if (group !== undefined && (!Number.isInteger(group.brokerId) || (group.brokerId as number) < 0)) throw new BrokerError(ErrorCode.BAD_REQUEST, `registerBroker: "group.brokerId" must be an unsigned integer`);
    const key = this.register({
      brokerName,
      address,
      topics,
      autoCreateQueues,
      grpcAddress,
      version: optional<string | undefined>(req, "version", "string", undefined),
      runtime: optional<string | undefined>(req, "runtime", "string", undefined),
      startedAt: optional<number | undefined>(req, "startedAt", "uint", undefined),
      group,
    });
    onKey?.(key);
    return { expiryMs: this.options.brokerExpiryMs };
  }

  async queryRoute(req: Request): Promise<OpResult> {
    const topic = required<string>(req, "topic", "string");
    const autoCreate = optional(req, "autoCreate", "boolean", false);
    const context = await this.view();
    const now = this.options.platform.clock.now();
    const brokers = topicRoute(context, topic, now);
    if (brokers.length === 0 && autoCreate) {
      // A producer asks: the brokers that create the topic on its first send there.
      const auto = autoCreateRoute(context, now);
      if (auto.length > 0) return { topic, brokers: auto, autoCreate: true };
    }
    if (brokers.length === 0) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `topic "${topic.slice(0, 200)}" does not exist on any registered broker`);
    return { topic, brokers };
  }

  /** `mode` is what the answering process is; the brokers are every live registered one. */
  async clusterList(mode: string): Promise<OpResult> {
    const brokers = await this.brokers();
    const now = this.options.platform.clock.now();
    return {
      mode,
      brokers: brokers.map((b) => {
        const info = this.info.get(memberKey(b.brokerName, b.brokerId)) ?? {};
        const names = Object.keys(b.topics).filter((t) => !isSystemTopic(t)).sort();
        return {
          name: b.brokerName,
          address: b.address,
          topics: names.length,
          topicNames: names,
          version: info.version ?? "",
          runtime: info.runtime ?? "",
          startedAt: info.startedAt ?? 0,
          uptimeMs: info.startedAt ? now - info.startedAt : 0,
          lastUpdate: b.lastUpdate,
          // A replicated group's member: id, role, epochs, SyncStateSet, lag (as of its last registration).
          ...(info.group ? { group: info.group } : {}),
        };
      }),
    };
  }

  /**
   * createTopic on the cluster: the name server forwards it to the chosen brokers (every live
   * one by default), so a client needs no broker addresses. Each broker's answer goes into the
   * table at once; the broker's own registration, which follows, says the same.
   */
  async createTopic(req: Request): Promise<OpResult> {
    const topic = checkTopicName(required<string>(req, "topic", "string"));
    const queues = optional<number | undefined>(req, "queues", "uint", undefined);
    const perm = optional<number | undefined>(req, "perm", "uint", undefined);
    const args: Record<string, unknown> = { topic };
    if (queues !== undefined) args.queues = queues;
    if (perm !== undefined) args.perm = perm;
    const out = await this.forward("createTopic", args, this.chosen(req, "createTopic", await this.writableBrokers()), (b, r) => {
      const t = { queues: Number(r.queues), perm: Number(r.perm) };
      this.actor.send({ type: "TOPIC_CREATED", brokerName: b.brokerName, topic, ...t });
      return t;
    });
    const first = out.find((o) => o.code === undefined)!;
    return { topic, queues: first.queues, perm: first.perm, brokers: out };
  }

  /**
   * deleteTopic on the cluster (RocketMQ's deleteTopic -c): forwarded to every broker whose
   * registration holds the topic (or the ones named), and dropped from their routes at once.
   */
  async deleteTopic(req: Request): Promise<OpResult> {
    const topic = checkTopicName(required<string>(req, "topic", "string"));
    const writable = await this.writableBrokers();
    const holders = writable.filter((b) => b.topics[topic]);
    if (holders.length === 0 && req.brokers === undefined) throw new BrokerError(ErrorCode.TOPIC_NOT_FOUND, `deleteTopic: no registered broker holds topic "${topic.slice(0, 200)}"`);
    const out = await this.forward("deleteTopic", { topic }, this.chosen(req, "deleteTopic", writable, holders), (b) => {
      this.actor.send({ type: "TOPIC_DELETED", brokerName: b.brokerName, topic });
      return {};
    });
    return { topic, brokers: out };
  }

  /** deleteSubGroup on the cluster: forwarded to every live broker (or the ones named). */
  async deleteSubGroup(req: Request): Promise<OpResult> {
    const group = checkGroupName(required<string>(req, "group", "string"), "deleteSubGroup: group");
    const args: Record<string, unknown> = { group };
    const keep = optional<boolean | undefined>(req, "keepRetryTopics", "boolean", undefined);
    if (keep !== undefined) args.keepRetryTopics = keep;
    const deleted = new Set<string>();
    const out = await this.forward("deleteSubGroup", args, this.chosen(req, "deleteSubGroup", await this.writableBrokers()), (b, r) => {
      const topics = Array.isArray(r.topicsDeleted) ? r.topicsDeleted.filter((t): t is string => typeof t === "string") : [];
      for (const topic of topics) {
        deleted.add(topic);
        this.actor.send({ type: "TOPIC_DELETED", brokerName: b.brokerName, topic });
      }
      return { topicsDeleted: topics };
    });
    return { group, topicsDeleted: [...deleted], brokers: out };
  }

  /** Live brokers that take writes: a group's topics are changed on its master (its slaves copy them); a slave standing in is read-only. */
  private async writableBrokers(): Promise<BrokerEntry[]> {
    return servingBrokers(await this.view(), this.options.platform.clock.now()).filter((b) => !b.readOnly);
  }

  /** The brokers `req.brokers` names (each must be live), or `fallback`. */
  private chosen(req: Request, op: string, live: BrokerEntry[], fallback = live): BrokerEntry[] {
    const names = optional<unknown[] | undefined>(req, "brokers", "array", undefined);
    let chosen = fallback;
    if (names !== undefined) {
      const unknown = names.filter((n) => typeof n !== "string" || !live.some((b) => b.brokerName === n));
      if (unknown.length > 0) throw new BrokerError(ErrorCode.BAD_REQUEST, `${op}: no live broker named ${unknown.map((n) => JSON.stringify(n)).join(", ").slice(0, 200)}`);
      chosen = live.filter((b) => names.includes(b.brokerName));
    }
    if (chosen.length === 0) throw new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `${op}: no broker is registered with this name server`);
    return chosen;
  }

  /**
   * Sends `op` to each chosen broker; `ok` turns a broker's answer into its entry of the result.
   * Fails only when every broker failed; otherwise each failure is named in the result.
   */
  private async forward(op: string, args: Record<string, unknown>, chosen: BrokerEntry[], ok: (b: BrokerEntry, r: Record<string, unknown>) => Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const timeout = this.options.requestTimeoutMs ?? 3000;
    const results = await Promise.allSettled(chosen.map((b) => this.link(b.address).request(op, args, timeout)));
    const out: Record<string, unknown>[] = [];
    let firstError: BrokerError | undefined;
    results.forEach((r, i) => {
      const b = chosen[i];
      if (r.status === "fulfilled") {
        out.push({ broker: b.brokerName, ...ok(b, r.value) });
      } else {
        const e = r.reason instanceof BrokerError ? r.reason : new BrokerError(ErrorCode.INTERNAL_ERROR, String(r.reason));
        firstError ??= e;
        out.push({ broker: b.brokerName, code: e.code, message: e.message });
      }
    });
    if (firstError && out.every((o) => o.code !== undefined)) throw new BrokerError(firstError.code, `${op} failed on every broker; the first: ${firstError.message}`);
    return out;
  }

  close(): Promise<void> {
    this.closed = true;
    this.actor.stop();
    return Promise.all([...this.links.values()].map((t) => t.close())).then(() => {});
  }

  private link(address: string): PeerLink {
    let t = this.links.get(address);
    if (!t) {
      t = new PeerLink(address, this.options.platform, this.options.requestTimeoutMs ?? 3000, this.options.dial);
      this.links.set(address, t);
    }
    return t;
  }
}

/** The ops a name server answers, for the dispatchers of both processes. */
export const nameServerOps: Record<string, (ns: NameServer, req: Request, mode: string) => OpResult | Promise<OpResult>> = {
  registerBroker: (ns, req) => ns.registerBroker(req),
  queryRoute: (ns, req) => ns.queryRoute(req),
  clusterList: (ns, _req, mode) => ns.clusterList(mode),
  createTopic: (ns, req) => ns.createTopic(req),
  deleteTopic: (ns, req) => ns.deleteTopic(req),
  deleteSubGroup: (ns, req) => ns.deleteSubGroup(req),
};
