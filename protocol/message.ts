// The message model. A producer encodes one Message map per message; the broker stores those
// CBOR bytes verbatim in the CommitLog and copies them verbatim into pull responses.
import { BrokerError, ErrorCode } from "./errors.ts";
import { MAX_GROUP_LENGTH, NAME_PATTERN } from "./names.ts";
import { DLQ_PREFIX, RETRY_PREFIX } from "./topics.ts";

/** What a producer sends (and what is stored), one CBOR map. */
export interface Message {
  topic: string;
  /** Bytes, or a text string: the consumer receives what the producer sent. */
  body: Uint8Array | string;
  tags?: string;
  keys?: string[];
  props?: Record<string, string>;
  /** Unique message id, set by the client; survives retries, delays and commits. */
  id: string;
  /** Born timestamp, ms since the epoch, set by the client. */
  born: number;
  /** Producer group. */
  group?: string;
  /**
   * RocketMQ's delay level, 1..N (N = the broker's configured level count, 18 by default): the
   * message reaches its topic only after that level's delay. The stored copy in the topic no
   * longer carries it.
   */
  delayLevel?: number;
  /**
   * Deliver at this moment, ms since the epoch (the broker's timing wheel). At most the broker's
   * maximum delay ahead (7 days by default); a time already past delivers at once. Excludes
   * delayLevel and delayMs. The stored copy in the topic no longer carries it.
   */
  deliverAt?: number;
  /** Deliver this many ms after the broker receives the message: deliverAt relative to its clock. */
  delayMs?: number;
}

/** What a consumer receives: the stored message plus where and when the broker stored it. */
export interface MessageView extends Message {
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  storeTimestamp: number;
  reconsumeTimes: number;
}

/** RocketMQ's limit on one message. */
export const MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
export const MAX_TOPIC_LENGTH = 127;

/**
 * Throws a BrokerError naming what is wrong with a topic name, as RocketMQ's validator does:
 * 1..127 characters of [%|a-zA-Z0-9_-]. A group's retry and dead-letter topics (%RETRY%<group>,
 * %DLQ%<group>) are as long as their group allows (RocketMQ creates them past the topic limit).
 */
export function checkTopicName(topic: unknown): string {
  if (typeof topic !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "topic must be a string");
  const prefix = topic.startsWith(RETRY_PREFIX) ? RETRY_PREFIX : topic.startsWith(DLQ_PREFIX) ? DLQ_PREFIX : "";
  const max = prefix ? prefix.length + MAX_GROUP_LENGTH : MAX_TOPIC_LENGTH;
  if (topic.length === prefix.length || topic.length > max || !NAME_PATTERN.test(topic)) {
    const shown = `${topic.slice(0, 40)}${topic.length > 40 ? "..." : ""}`;
    throw new BrokerError(
      ErrorCode.BAD_REQUEST,
      prefix
        ? `topic "${shown}" must be ${prefix} and a group name of 1..${MAX_GROUP_LENGTH} characters of [%|a-zA-Z0-9_-]`
        : `topic "${shown}" must be 1..${MAX_TOPIC_LENGTH} characters of [%|a-zA-Z0-9_-]`,
    );
  }
  return topic;
}

/** Validates a decoded Message map; returns it typed, or throws a BrokerError with a named code. */
export function checkMessage(m: unknown): Message {
  if (m === null || typeof m !== "object" || Array.isArray(m)) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "a message must be a CBOR map");
  }
  const msg = m as Record<string, unknown>;
  if (msg.topic === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "message.topic is missing");
  checkTopicName(msg.topic);
  if (msg.body === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "message.body is missing");
  if (!(msg.body instanceof Uint8Array) && typeof msg.body !== "string") {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.body must be bytes or a text string");
  }
  if (msg.body.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "message.body is empty (RocketMQ refuses empty bodies too)");
  if (typeof msg.id !== "string" || msg.id.length === 0) {
    throw new BrokerError(msg.id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, "message.id must be a non-empty string");
  }
  if (typeof msg.born !== "number") {
    throw new BrokerError(msg.born === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, "message.born must be a number");
  }
  if (msg.tags !== undefined && typeof msg.tags !== "string") {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.tags must be a string");
  }
  if (msg.keys !== undefined && (!Array.isArray(msg.keys) || msg.keys.some((k) => typeof k !== "string"))) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.keys must be an array of strings");
  }
  if (msg.props !== undefined) {
    if (msg.props === null || typeof msg.props !== "object" || Array.isArray(msg.props) ||
      Object.values(msg.props).some((v) => typeof v !== "string")) {
      throw new BrokerError(ErrorCode.WRONG_TYPE, "message.props must be a map of strings");
    }
  }
  if (msg.group !== undefined && typeof msg.group !== "string") {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.group must be a string");
  }
  if (msg.delayLevel !== undefined) checkDelayLevel(msg.delayLevel);
  checkDeliverTime(msg);
  return msg as unknown as Message;
}

/**
 * Checks a delay level: WRONG_TYPE unless a non-negative number (as for any uint), BAD_REQUEST
 * unless an integer 1..levels. Without `levels` (the client, which does not know the broker's
 * configuration) only the lower bound is checked; the broker checks the upper one.
 */
export function checkDelayLevel(level: unknown, levels?: number): number {
  if (typeof level !== "number" || level < 0) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.delayLevel must be an unsigned integer");
  }
  if (!Number.isInteger(level) || level < 1 || (levels !== undefined && level > levels)) {
    const range = levels === undefined ? "1 or more" : `1..${levels}`;
    throw new BrokerError(ErrorCode.BAD_REQUEST, `message.delayLevel must be an integer ${range}, not ${level}`);
  }
  return level;
}

/**
 * Checks deliverAt and delayMs: WRONG_TYPE unless an unsigned integer, BAD_REQUEST when both
 * are given or either comes with a delayLevel. The upper bound (the maximum delay) is the
 * broker's: it answers BAD_REQUEST past it.
 */
export function checkDeliverTime(msg: { deliverAt?: unknown; delayMs?: unknown; delayLevel?: unknown }): void {
  for (const name of ["deliverAt", "delayMs"] as const) {
    const v = msg[name];
    if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) {
      throw new BrokerError(ErrorCode.WRONG_TYPE, `message.${name} must be an unsigned integer (ms), not ${String(v)}`);
    }
  }
  if (msg.deliverAt !== undefined && msg.delayMs !== undefined) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, "message.deliverAt and message.delayMs exclude each other: give one");
  }
  if (msg.delayLevel !== undefined && (msg.deliverAt !== undefined || msg.delayMs !== undefined)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `message.delayLevel excludes message.${msg.deliverAt !== undefined ? "deliverAt" : "delayMs"}: give one`);
  }
}

/**
 * The ConsumeQueue tags code of a tag: Java's String.hashCode, as RocketMQ, made unsigned so it
 * fits the 8-byte field without sign games. 0 means "no tag". Client and broker share it: the
 * broker filters on it, the client confirms on the tag itself (hash collisions).
 */
export function tagsCode(tags: string | undefined): number {
  if (!tags) return 0;
  let h = 0;
  for (let i = 0; i < tags.length; i++) h = (Math.imul(h, 31) + tags.charCodeAt(i)) | 0;
  return h >>> 0;
}
