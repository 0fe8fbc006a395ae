// Topic administration and message lookup, per docs/PROTOCOL.md.
import { BrokerError, checkTopicName, ErrorCode, type MessageView } from "../protocol/mod.ts";
import { ClientCore, type ClientOptions } from "./client-core.ts";
import { fromQueryItem } from "./message.ts";

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

export type MessageQuery = { msgId: string; max?: number } | { topic: string; key: string; max?: number };

export class Admin {
  private readonly core: ClientCore;

  constructor(options: ClientOptions) {
    this.core = new ClientCore(options);
  }

  async start(): Promise<void> {
    await this.core.connect();
  }

  /** Creates a topic, or adds queues to an existing one (never removes any). */
  async createTopic(topic: string, queues: number, perm?: number): Promise<TopicConfig> {
    const args: Record<string, unknown> = { topic: checkTopicName(topic), queues };
    if (perm !== undefined) args.perm = perm;
    const r = await this.core.request("createTopic", args);
    return { topic: String(r.topic), queues: Number(r.queues), perm: Number(r.perm) };
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

  shutdown(): Promise<void> {
    return this.core.close();
  }
}
