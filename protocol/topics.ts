// Names of the topics the broker keeps for itself (RocketMQ's where RocketMQ has one).

/** Consumer-offset commits, recorded in the CommitLog like Kafka's __consumer_offsets. */
export const CONSUMER_OFFSETS_TOPIC = "RMQ_SYS_CONSUMER_OFFSETS";
export const SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX";
export const TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC";
export const TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
export const TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC";
export const RETRY_PREFIX = "%RETRY%";
export const DLQ_PREFIX = "%DLQ%";

export function isSystemTopic(topic: string): boolean {
  return topic.startsWith("RMQ_SYS_") || topic === SCHEDULE_TOPIC || topic === TRANS_CHECK_MAX_TIME_TOPIC;
}
