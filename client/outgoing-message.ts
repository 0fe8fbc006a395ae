// What a producer sends, checked on the client as RocketMQ's Validators do and encoded once into
// the bytes the broker stores verbatim.
import { customAlphabet } from "nanoid";
import { BrokerError, checkDelayLevel, checkDeliverTime, checkTopicName, encode, ErrorCode, MAX_MESSAGE_SIZE, type Message } from "../protocol/mod.ts";
import type { MessageQueue } from "./topic-route.ts";
import { encodePlainMessage } from "../protocol/plain-message.ts";

/**
 * A new unique message id: 22 alphanumeric characters (131 random bits). Not nanoid's default
 * alphabet, whose "-" and "_" made ids that shells and CLIs read as options.
 */
export const newMessageId = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 22);

/** A message as the user writes it; the client adds the id and born timestamp. */
export interface SendMessage {
  topic: string;
  /** Bytes or text; the consumer receives the same type. */
  body: Uint8Array | ArrayBuffer | string;
  /** One tag, for subscription expressions ("TagA || TagB"). */
  tags?: string;
  /** Business keys, indexed by the broker for queryMessage. */
  keys?: string[];
  /** User properties. */
  props?: Record<string, string>;
  /** This queue of the topic, instead of the next one round-robin (RocketMQ's send to a MessageQueue). */
  queueId?: number;
  /** Messages with the same sharding key go to the same queue while the queue count stays the same. */
  shardingKey?: string;
  /**
   * RocketMQ's delay level, 1..18 by default (1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m
   * 30m 1h 2h; the broker's `--delay-levels` sets them): the message reaches its topic only that
   * much later. Its send result's queueOffset is -1: the offset is assigned at delivery.
   */
  delayLevel?: number;
  /**
   * Deliver at this moment (ms since the epoch, or a Date): the broker's timing wheel holds the
   * message until then, to the millisecond. At most the broker's `--timer-max-delay` ahead (7 days
   * by default); a past time delivers at once. Excludes delayLevel and delayMs; queueOffset is -1.
   */
  deliverAt?: number | Date;
  /** Deliver this many ms after the broker receives the message (deliverAt on the broker's clock). */
  delayMs?: number;
}

export interface EncodedMessage {
  topic: string;
  msgId: string;
  /** The message map, encoded: exactly what the broker stores and consumers decode. */
  bytes: Uint8Array;
  queueId?: number;
  shardingKey?: string;
  /** A MessageQueueSelector bound to its message and arg (Producer.send's third form). */
  select?: (queues: MessageQueue[]) => MessageQueue;
  /** The send's signal: no attempt starts once it aborted. */
  signal?: AbortSignal;
}

/** Checks a message and encodes it; throws a BrokerError with a named code. */
export function encodeMessage(input: SendMessage, msgId: string, born: number, group?: string): EncodedMessage {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "a message must be an object { topic, body, ... }");
  }
  if (input.topic === undefined) throw new BrokerError(ErrorCode.MISSING_FIELD, "message.topic is missing");
  const topic = checkTopicName(input.topic);
  const body = bodyOf(input.body);
  const msg: Message = { topic, body, id: msgId, born };
  if (input.tags !== undefined) {
    if (typeof input.tags !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "message.tags must be a string");
    if (input.tags !== "") msg.tags = input.tags;
  }
  if (input.keys !== undefined) {
    if (!Array.isArray(input.keys) || input.keys.some((k) => typeof k !== "string")) {
      throw new BrokerError(ErrorCode.WRONG_TYPE, "message.keys must be an array of strings");
    }
    if (input.keys.length > 0) msg.keys = input.keys;
  }
  if (input.props !== undefined) {
    const p = input.props;
    if (p === null || typeof p !== "object" || Array.isArray(p) || Object.values(p).some((v) => typeof v !== "string")) {
      throw new BrokerError(ErrorCode.WRONG_TYPE, "message.props must be an object of strings");
    }
    if (Object.keys(p).length > 0) msg.props = p;
  }
  if (group !== undefined) msg.group = group;
  // The upper bound is the broker's configuration: it answers BAD_REQUEST past it.
  if (input.delayLevel !== undefined) msg.delayLevel = checkDelayLevel(input.delayLevel);
  if (input.deliverAt !== undefined) msg.deliverAt = input.deliverAt instanceof Date ? input.deliverAt.getTime() : input.deliverAt;
  if (input.delayMs !== undefined) msg.delayMs = input.delayMs;
  checkDeliverTime(msg);
  const queueId = input.queueId;
  if (queueId !== undefined && !(Number.isInteger(queueId) && queueId >= 0)) {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.queueId must be a non-negative integer");
  }
  if (input.shardingKey !== undefined && typeof input.shardingKey !== "string") {
    throw new BrokerError(ErrorCode.WRONG_TYPE, "message.shardingKey must be a string");
  }
  const bytes = encodePlainMessage(msg) ?? encode(msg);
  if (bytes.length > MAX_MESSAGE_SIZE) throw tooLarge(`${bytes.length} bytes`);
  return { topic, msgId, bytes, queueId, shardingKey: input.shardingKey };
}

function bodyOf(body: unknown): Uint8Array | string {
  if (body === undefined || body === null) throw new BrokerError(ErrorCode.MISSING_FIELD, "message.body is missing");
  let out: Uint8Array | string;
  if (typeof body === "string") out = body;
  else if (body instanceof Uint8Array) out = body;
  else if (body instanceof ArrayBuffer) out = new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) out = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  else throw new BrokerError(ErrorCode.WRONG_TYPE, "message.body must be a Uint8Array, an ArrayBuffer or a string");
  // RocketMQ refuses an empty body ("the message body length is zero").
  if (out.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "message.body is empty");
  // A string's UTF-8 form is at least as long as its UTF-16 length: refuse early, before encoding.
  if (out.length > MAX_MESSAGE_SIZE) throw tooLarge(`over ${out.length} bytes`);
  return out;
}

function tooLarge(size: string): BrokerError {
  return new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `message is ${size}, the limit is ${MAX_MESSAGE_SIZE}`);
}
