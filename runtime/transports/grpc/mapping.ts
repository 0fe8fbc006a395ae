// RocketMQ 5's message (apache.rocketmq.v2.Message) and ActorMQ's (protocol/message.ts), both
// ways, so a message crosses between RocketMQ's clients and ActorMQ's SDK with its body, id,
// tag, keys and user properties as they were:
//
//   v2 Message                               ActorMQ message map
//   topic.name                               topic
//   body (bytes)                             body (bytes; a text body goes out as its UTF-8 bytes)
//   system_properties.message_id             id
//   system_properties.tag                    tags
//   system_properties.keys                   keys
//   user_properties                          props (minus the broker's own names)
//   system_properties.born_timestamp         born (ms)
//   system_properties.message_group (FIFO)   props.__SHARDINGKEY (RocketMQ's property name)
//   system_properties.delivery_timestamp     deliverAt (the timing wheel)
//   message_type TRANSACTION                 props.TRAN_MSG = "true", group = the topic (RocketMQ's proxy
//                                            checks a transaction with a producer of its topic)
//
// Status codes: BrokerError codes map onto v2 Codes (codeOf).
import { BrokerError, ErrorCode, type Message, MessageProp } from "../../../protocol/mod.ts";
import type { PoppedMessage } from "../../context.ts";
import { md5Hex } from "./md5.ts";

/** Names the broker keeps for itself in props: never shown as user properties. */
const SYSTEM_PROPS = new Set<string>([
  MessageProp.REAL_TOPIC,
  MessageProp.REAL_QID,
  MessageProp.DELAY,
  MessageProp.DELIVER_AT,
  MessageProp.TRAN_MSG,
  MessageProp.MESSAGE_GROUP,
]);

export interface Duration {
  seconds?: number | string;
  nanos?: number;
}

export type Timestamp = Duration;

export interface V2Resource {
  name?: string;
  resource_namespace?: string;
}

export interface V2Message {
  topic?: V2Resource;
  user_properties?: Record<string, string>;
  system_properties?: {
    tag?: string;
    keys?: string[];
    message_id?: string;
    body_digest?: { type?: string; checksum?: string };
    body_encoding?: string;
    message_type?: string;
    born_timestamp?: Timestamp;
    born_host?: string;
    store_timestamp?: Timestamp;
    store_host?: string;
    delivery_timestamp?: Timestamp;
    receipt_handle?: string;
    queue_id?: number;
    queue_offset?: number;
    invisible_duration?: Duration;
    delivery_attempt?: number;
    message_group?: string;
  };
  body?: Uint8Array;
}

export const toMs = (d: Duration | undefined): number | undefined =>
  d === undefined || d === null ? undefined : Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);

export const fromMs = (ms: number): Duration => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** A v2 message as sent, as ActorMQ's message map (what the CommitLog stores). Throws BrokerError. */
export function toActorMQ(m: V2Message, transactional: boolean): Message {
  const sys = m.system_properties ?? {};
  const topic = m.topic?.name;
  if (!topic) throw new BrokerError(ErrorCode.MISSING_FIELD, "message.topic is missing");
  if (!sys.message_id) throw new BrokerError(ErrorCode.MISSING_FIELD, "system_properties.message_id is missing");
  if (sys.body_encoding === "GZIP") throw new BrokerError(ErrorCode.BAD_REQUEST, "gzip-encoded bodies are not supported: send the body as it is");
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.user_properties ?? {})) {
    if (SYSTEM_PROPS.has(k)) throw new BrokerError(ErrorCode.BAD_REQUEST, `user property "${k}" is a name the broker keeps for itself`);
    props[k] = v;
  }
  if (sys.message_group) props[MessageProp.MESSAGE_GROUP] = sys.message_group;
  if (transactional) props[MessageProp.TRAN_MSG] = "true";
  // A plain view of the body: cbor-x encodes a Node Buffer (what the decoder gives) three times slower.
  const body = m.body ? new Uint8Array(m.body.buffer, m.body.byteOffset, m.body.byteLength) : new Uint8Array(0);
  const msg: Message = { topic, body, id: sys.message_id, born: toMs(sys.born_timestamp) ?? Date.now() };
  if (sys.tag) msg.tags = sys.tag;
  if (sys.keys && sys.keys.length > 0) msg.keys = sys.keys;
  if (Object.keys(props).length > 0) msg.props = props;
  if (transactional) msg.group = topic;
  const at = toMs(sys.delivery_timestamp);
  if (at !== undefined && !transactional) msg.deliverAt = Math.max(0, at);
  return msg;
}

/** Where and how a stored message is being delivered. */
export interface Delivery {
  topic: string;
  queueId: number;
  queueOffset: number;
  storeTimestamp: number;
  attempt: number;
  receiptHandle?: string;
  invisibleUntil?: number;
}

/** A stored ActorMQ message (decoded map) as a v2 message for a consumer or a transaction check. */
export function fromActorMQ(m: Record<string, unknown>, d: Delivery, brokerName: string): V2Message {
  const body = typeof m.body === "string" ? new TextEncoder().encode(m.body) : (m.body as Uint8Array);
  const props = (m.props ?? {}) as Record<string, string>;
  const user: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) if (!SYSTEM_PROPS.has(k)) user[k] = v;
  const group = props[MessageProp.MESSAGE_GROUP];
  const sys: V2Message["system_properties"] = {
    message_id: String(m.id),
    keys: Array.isArray(m.keys) ? (m.keys as string[]) : [],
    body_digest: { type: "MD5", checksum: md5Hex(body) },
    body_encoding: "IDENTITY",
    message_type: group ? "FIFO" : props[MessageProp.DELIVER_AT] ? "DELAY" : "NORMAL",
    born_timestamp: fromMs(Number(m.born) || 0),
    born_host: "",
    store_timestamp: fromMs(d.storeTimestamp),
    store_host: brokerName,
    queue_id: d.queueId,
    queue_offset: d.queueOffset,
    delivery_attempt: d.attempt,
  };
  if (typeof m.tags === "string") sys.tag = m.tags;
  if (group) sys.message_group = group;
  if (d.receiptHandle) sys.receipt_handle = d.receiptHandle;
  if (d.invisibleUntil !== undefined) sys.invisible_duration = fromMs(Math.max(0, d.invisibleUntil - Date.now()));
  return { topic: { name: d.topic, resource_namespace: "" }, user_properties: user, system_properties: sys, body };
}

/** A popped message as a v2 message. */
export function fromPopped(p: PoppedMessage, decoded: Record<string, unknown>, brokerName: string): V2Message {
  return fromActorMQ(decoded, {
    topic: p.topic,
    queueId: p.queueId,
    queueOffset: p.queueOffset,
    storeTimestamp: p.storeTimestamp,
    attempt: p.attempt,
    receiptHandle: p.receiptHandle,
    invisibleUntil: p.invisibleUntil,
  }, brokerName);
}

/** apache.rocketmq.v2.Code names a BrokerError may carry as they are. */
const V2_CODES = new Set<string>(["CLIENT_ID_REQUIRED", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "NOT_IMPLEMENTED", "ILLEGAL_FILTER_EXPRESSION", "INVALID_TRANSACTION_ID", "UNRECOGNIZED_CLIENT_TYPE", "MESSAGE_NOT_FOUND", "OFFSET_NOT_FOUND", "TOPIC_NOT_FOUND"]);

/** v2 status code names (apache.rocketmq.v2.Code) for BrokerError codes. */
export function codeOf(e: unknown): string {
  const code = e instanceof BrokerError ? e.code : ErrorCode.INTERNAL_ERROR;
  switch (code) {
    case ErrorCode.TOPIC_NOT_FOUND:
      return "TOPIC_NOT_FOUND";
    case ErrorCode.MESSAGE_TOO_LARGE:
      return "MESSAGE_BODY_TOO_LARGE";
    case ErrorCode.NO_PERMISSION:
      return "FORBIDDEN";
    case ErrorCode.AUTH_REQUIRED:
    case ErrorCode.AUTH_FAILED:
      return "UNAUTHORIZED";
    case ErrorCode.LIMIT_EXCEEDED:
      return "TOO_MANY_REQUESTS";
    case ErrorCode.INVALID_RECEIPT_HANDLE:
      return "INVALID_RECEIPT_HANDLE";
    case ErrorCode.FLUSH_TIMEOUT:
      return "MASTER_PERSISTENCE_TIMEOUT";
    case ErrorCode.SERVICE_UNAVAILABLE:
      return "TOO_MANY_REQUESTS";
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.WRONG_TYPE:
    case ErrorCode.MISSING_FIELD:
    case ErrorCode.QUEUE_NOT_FOUND:
    case ErrorCode.MALFORMED_FRAME:
      return "BAD_REQUEST";
    default:
      return V2_CODES.has(code) ? code : "INTERNAL_SERVER_ERROR";
  }
}

export function statusOf(e?: unknown): { code: string; message: string } {
  if (e === undefined) return { code: "OK", message: "OK" };
  if (!(e instanceof BrokerError)) console.error("gRPC: internal error:", e);
  return { code: codeOf(e), message: e instanceof Error ? e.message : String(e) };
}
