// Names of the message properties the broker itself reads and writes (RocketMQ's where it has
// one). User properties share the `props` map, so these names are reserved: a producer that sets
// one may find it overwritten or removed.

export const MessageProp = {
  /** Schedule records: the topic the message is delivered to when it is due. */
  REAL_TOPIC: "REAL_TOPIC",
  /** Schedule records: the queue of REAL_TOPIC it is delivered to (decimal text). */
  REAL_QID: "REAL_QID",
  /** Schedule records: the delay level (decimal text, 1-based). */
  DELAY: "DELAY",
  /** Schedule records: when the message is due, ms since the epoch (decimal text). */
  DELIVER_AT: "DELIVER_AT",
  /** "true" on a transactional (half) message: the broker holds it until it is committed (RocketMQ's name). */
  TRAN_MSG: "TRAN_MSG",
  /** A FIFO message's message group (RocketMQ 5's `message_group`, stored as RocketMQ's __SHARDINGKEY). */
  MESSAGE_GROUP: "__SHARDINGKEY",
  /** Retried and dead-lettered messages: the topic, id and queue they were first stored with. */
  ORIGIN_TOPIC: "ORIGIN_TOPIC",
  ORIGIN_MSG_ID: "ORIGIN_MSG_ID",
  ORIGIN_QUEUE_ID: "ORIGIN_QUEUE_ID",
} as const;

export type MessageProp = (typeof MessageProp)[keyof typeof MessageProp];

/** Properties that exist only while a message waits in SCHEDULE_TOPIC_XXXX; delivery removes them. */
export const SCHEDULE_PROPS: readonly string[] = [MessageProp.REAL_TOPIC, MessageProp.REAL_QID, MessageProp.DELAY, MessageProp.DELIVER_AT];
