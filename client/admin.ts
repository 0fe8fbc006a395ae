// Topic administration and message lookup, per docs/PROTOCOL.md.
import { type AclEntry, type AclUser, BrokerError, checkGroupName, checkTopicName, ErrorCode, type MessageView, type ReplicaInfo } from "../protocol/mod.ts";

export type { AclEntry, AclUser };
import { CLIENT_OPTIONS, ClientCore, type ClientOptions } from "./client-core.ts";
import type { ClientEvents, Listener } from "./events.ts";
import { refuseUnknown } from "./options-check.ts";
import { fromQueryItem } from "./message-view.ts";

export interface TopicConfig {
  topic: string;
  queues: number;
  /** RocketMQ's permission bits: 4 readable, 2 writable. */
  perm: number;
}

export interface QueueStatus {
  queueId: number;
  minOffset: number;
  maxOffset: number;
  lastStoreTimestamp: number;
}

export interface TopicStatus {
  topic: string;
  queues: QueueStatus[];
}

export interface QueueProgress {
  topic: string;
  queueId: number;
  /** The queue's max offset: where the next message will be stored. */
  brokerOffset: number;
  /** The group's committed offset (-1: never committed). */
  consumerOffset: number;
  lag: number;
  lastTimestamp: number;
}

export interface ConsumerProgress {
  group: string;
  totalLag: number;
  queues: QueueProgress[];
  members: { clientId: string; model: string; subscriptions: Record<string, string> }[];
}

export interface ClusterBroker {
  name: string;
  address: string;
  /** User topics (system topics left out). */
  topics: number;
  version: string;
  runtime: string;
  startedAt: number;
  uptimeMs: number;
  /** The user topics' names (a name server lists them; an older broker may not). */
  topicNames?: string[];
  /** When the broker last registered with the name server that answered, ms since the epoch. */
  lastUpdate?: number;
  /** A replicated group's member (docs/REPLICATION.md), as of its last registration. */
  group?: ReplicaInfo;
}

export type { ReplicaInfo };

export interface ClusterInfo {
  /** "standalone": one broker with its own embedded name server; "cluster": brokers registered with a name server. */
  mode: string;
  brokers: ClusterBroker[];
}

/** createTopic, deleteTopic or deleteSubGroup through a name server: one broker's outcome (what it did, or an error code and message). */
export interface ClusterTopicResult {
  broker: string;
  queues?: number;
  perm?: number;
  /** deleteSubGroup: the group's topics this broker deleted. */
  topicsDeleted?: string[];
  code?: string;
  message?: string;
}

/** A subscription group's settings (RocketMQ's SubscriptionGroupConfig), as POP consumption and RocketMQ's clients use them. */
export interface SubscriptionGroupSettings {
  /** FIFO: a message group's next message is delivered only after the one before is acked. */
  orderly: boolean;
  /** Retries after the first delivery; one more failure sends the message to %DLQ%<group>. */
  maxReconsumeTimes: number;
  /** The pause before each retry. */
  retryPolicy: { type: "exponential"; initialMs: number; maxMs: number; multiplier: number } | { type: "customized"; delaysMs: number[] };
}

export type MessageQuery = { msgId: string; max?: number } | { topic: string; key: string; max?: number };

export class Admin {
  private readonly core: ClientCore;

  constructor(options: ClientOptions) {
    if (options !== null && typeof options === "object") refuseUnknown(options, CLIENT_OPTIONS, "Admin");
    this.core = new ClientCore(options, "Admin");
  }

  /** Listens to the client's events: "error" and "connection" (see ClientEvents). */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.core.on(type, listener);
  }

  async start(): Promise<void> {
    await this.core.connect();
  }

  /**
   * Creates a topic, or adds queues to an existing one (never removes any). Through a name
   * server it is created on every live broker, or on the ones named in `brokers`; the result's
   * `brokers` then says, per broker, what happened.
   */
  async createTopic(topic: string, queues: number, perm?: number, brokers?: string[]): Promise<TopicConfig & { brokers?: ClusterTopicResult[] }> {
    const args: Record<string, unknown> = { topic: checkTopicName(topic), queues };
    if (perm !== undefined) args.perm = perm;
    if (brokers !== undefined) args.brokers = brokers;
    const r = await this.core.request("createTopic", args);
    const out: TopicConfig & { brokers?: ClusterTopicResult[] } = { topic: String(r.topic), queues: Number(r.queues), perm: Number(r.perm) };
    if (Array.isArray(r.brokers)) out.brokers = r.brokers as ClusterTopicResult[];
    return out;
  }

  /**
   * RocketMQ's deleteTopic: the topic's queues, queue actors, routes and every group's offsets of
   * it go, and its messages are never served again (retention reclaims their bytes); a topic
   * created again with the name starts afresh. Through a name server it is deleted on every
   * broker that holds it, or on the ones named in `brokers`; `brokers` then says what each did.
   */
  async deleteTopic(topic: string, brokers?: string[]): Promise<{ topic: string; brokers?: ClusterTopicResult[] }> {
    const args: Record<string, unknown> = { topic: checkTopicName(topic) };
    if (brokers !== undefined) args.brokers = brokers;
    const r = await this.core.request("deleteTopic", args);
    return { topic: String(r.topic), ...(Array.isArray(r.brokers) ? { brokers: r.brokers as ClusterTopicResult[] } : {}) };
  }

  /**
   * RocketMQ's deleteSubGroup: the group's actors, committed offsets, POP state and settings go,
   * and its %RETRY% and %DLQ% topics with them unless `keepRetryTopics`. Members still running
   * make it anew with their next heartbeat. Through a name server: on every live broker.
   */
  async deleteSubGroup(group: string, options: { keepRetryTopics?: boolean; brokers?: string[] } = {}): Promise<{ group: string; topicsDeleted: string[]; brokers?: ClusterTopicResult[] }> {
    const args: Record<string, unknown> = { group: checkGroupName(group) };
    if (options.keepRetryTopics !== undefined) args.keepRetryTopics = options.keepRetryTopics;
    if (options.brokers !== undefined) args.brokers = options.brokers;
    const r = await this.core.request("deleteSubGroup", args);
    return {
      group: String(r.group),
      topicsDeleted: Array.isArray(r.topicsDeleted) ? (r.topicsDeleted as string[]) : [],
      ...(Array.isArray(r.brokers) ? { brokers: r.brokers as ClusterTopicResult[] } : {}),
    };
  }

  /** The topics; system topics too with `{ system: true }`. */
  async topicList(options: { system?: boolean } = {}): Promise<TopicConfig[]> {
    const r = await this.core.request("topicList", options.system ? { system: true } : {});
    return Array.isArray(r.topics) ? (r.topics as TopicConfig[]) : [];
  }

  /** Each queue's offsets and last store time. */
  async topicStatus(topic: string): Promise<TopicStatus> {
    const r = await this.core.request("topicStatus", { topic: checkTopicName(topic) });
    return { topic: String(r.topic), queues: Array.isArray(r.queues) ? (r.queues as QueueStatus[]) : [] };
  }

  /** Messages by unique id, or by topic and business key, through the broker's IndexFile. */
  async queryMessage(query: MessageQuery): Promise<MessageView[]> {
    if (query === null || typeof query !== "object") throw new BrokerError(ErrorCode.WRONG_TYPE, "queryMessage takes { msgId } or { topic, key }");
    const args: Record<string, unknown> = {};
    if ("msgId" in query && query.msgId !== undefined) args.msgId = query.msgId;
    else if ("key" in query) {
      args.topic = checkTopicName(query.topic);
      args.key = query.key;
    } else throw new BrokerError(ErrorCode.MISSING_FIELD, "queryMessage needs msgId, or topic and key");
    if (query.max !== undefined) args.max = query.max;
    const r = await this.core.request("queryMessage", args);
    return (Array.isArray(r.msgs) ? r.msgs : []).map(fromQueryItem);
  }

  /** Per queue of every topic the group consumes: broker offset, committed offset and lag; and the members. */
  async consumerProgress(group: string): Promise<ConsumerProgress> {
    const r = await this.core.request("consumerProgress", { group: checkGroupName(group) });
    return {
      group: String(r.group),
      totalLag: Number(r.totalLag),
      queues: Array.isArray(r.queues) ? (r.queues as QueueProgress[]) : [],
      members: Array.isArray(r.members) ? (r.members as ConsumerProgress["members"]) : [],
    };
  }

  /**
   * Moves a group, on every queue of a topic, to the first message stored at or after
   * `timestamp` (ms since the epoch); members drop what they hold and pull from there.
   * Resolves with the new offset per queue id.
   */
  async resetOffset(group: string, topic: string, timestamp: number | Date): Promise<Record<number, number>> {
    const ts = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    const r = await this.core.request("resetOffset", { group: checkGroupName(group), topic: checkTopicName(topic), timestamp: ts });
    const out: Record<number, number> = {};
    for (const [q, o] of Object.entries((r.offsets ?? {}) as Record<string, number>)) out[Number(q)] = o;
    return out;
  }

  /** Sets a subscription group's settings (those given; the others keep their values). Resolves with all of them. */
  async updateSubscriptionGroup(group: string, settings: Partial<SubscriptionGroupSettings>): Promise<SubscriptionGroupSettings> {
    const r = await this.core.request("updateSubscriptionGroup", { ...settings, group: checkGroupName(group) });
    return { orderly: r.orderly as boolean, maxReconsumeTimes: Number(r.maxReconsumeTimes), retryPolicy: r.retryPolicy as SubscriptionGroupSettings["retryPolicy"] };
  }

  /** A subscription group's settings (the defaults for a group never updated). */
  async getSubscriptionGroup(group: string): Promise<SubscriptionGroupSettings> {
    const r = await this.core.request("getSubscriptionGroup", { group: checkGroupName(group) });
    return { orderly: r.orderly as boolean, maxReconsumeTimes: Number(r.maxReconsumeTimes), retryPolicy: r.retryPolicy as SubscriptionGroupSettings["retryPolicy"] };
  }

  /** The brokers of the cluster; a standalone broker lists itself. */
  /** RocketMQ's deleteExpiredCommitLog: the broker runs a retention pass now. */
  async deleteExpiredCommitLog(): Promise<{ deletedSegments: number; deletedBytes: number; minCommitLogOffset: number; queuesTruncated: number; heldBy: string | null; holdOffset: number }> {
    const r = await this.core.request("deleteExpiredCommitLog", {});
    return {
      deletedSegments: Number(r.deletedSegments),
      deletedBytes: Number(r.deletedBytes),
      minCommitLogOffset: Number(r.minCommitLogOffset),
      queuesTruncated: Number(r.queuesTruncated),
      heldBy: typeof r.heldBy === "string" ? r.heldBy : null,
      holdOffset: Number(r.holdOffset),
    };
  }

  async clusterList(): Promise<ClusterInfo> {
    const r = await this.core.request("clusterList", {});
    return { mode: String(r.mode), brokers: Array.isArray(r.brokers) ? (r.brokers as ClusterBroker[]) : [] };
  }

  // Users and ACLs (docs/SECURITY.md): a user with ADMIN on Cluster changes the broker's ACL file.

  async createUser(user: AclUser): Promise<void> {
    await this.core.request("createUser", { ...user });
  }

  /** Changes a user's secret key, super or disabled flag (the fields given). */
  async updateUser(user: Partial<AclUser> & { accessKey: string }): Promise<void> {
    await this.core.request("updateUser", { ...user });
  }

  async deleteUser(accessKey: string): Promise<void> {
    await this.core.request("deleteUser", { accessKey });
  }

  /** The users, without their secret keys. */
  async listUsers(): Promise<Omit<AclUser, "secretKey">[]> {
    const r = await this.core.request("listUser", {});
    return Array.isArray(r.users) ? (r.users as Omit<AclUser, "secretKey">[]) : [];
  }

  /** Adds entries to a user's ACL (an entry for a resource it already has one for is refused: use updateAcl). */
  async createAcl(user: string, entries: AclEntry[]): Promise<void> {
    await this.core.request("createAcl", { user, entries });
  }

  /** Replaces the user's entries for the resources named, adds the others. */
  async updateAcl(user: string, entries: AclEntry[]): Promise<void> {
    await this.core.request("updateAcl", { user, entries });
  }

  /** Deletes a user's entries: all, or the one for a resource. */
  async deleteAcl(user: string, resource?: string): Promise<void> {
    await this.core.request("deleteAcl", resource === undefined ? { user } : { user, resource });
  }

  async listAcls(user?: string): Promise<{ user: string; entries: AclEntry[] }[]> {
    const r = await this.core.request("listAcl", user === undefined ? {} : { user });
    return Array.isArray(r.acls) ? (r.acls as { user: string; entries: AclEntry[] }[]) : [];
  }

  shutdown(): Promise<void> {
    return this.core.close();
  }
}
