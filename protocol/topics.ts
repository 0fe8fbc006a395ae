// Names of the topics the broker keeps for itself (RocketMQ's where RocketMQ has one).

/** Consumer-offset commits, recorded in the CommitLog like Kafka's __consumer_offsets. */
export const CONSUMER_OFFSETS_TOPIC = "RMQ_SYS_CONSUMER_OFFSETS";
/** Delayed messages wait here, queue level-1, until due (RocketMQ's name). */
export const SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX";
/** Each delay level's progress in SCHEDULE_TOPIC, queue level-1: the last record is the truth after a crash. */
export const SCHEDULE_PROGRESS_TOPIC = "RMQ_SYS_SCHEDULE_PROGRESS";
/** Messages for delivery at an arbitrary time wait here (RocketMQ 5's rmq_sys_wheel_timer) until the timer re-puts them. */
export const TIMER_TOPIC = "RMQ_SYS_WHEEL_TIMER";
/** POP check-points (RocketMQ 5's revive log): a timer record per handed-out message, due when its invisibility ends. */
export const POP_CK_TOPIC = "RMQ_SYS_POP_CK";
export const TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC";
export const TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
export const TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC";
/**
 * A topic's deletion (deleteTopic): a record whose body is the deleted topic's name. Records of
 * that topic before it are never dispatched again, even when the ConsumeQueues are rebuilt from
 * the CommitLog; a topic created again with the name starts afresh after it.
 */
export const TOPIC_DELETIONS_TOPIC = "RMQ_SYS_TOPIC_DELETIONS";
export const RETRY_PREFIX = "%RETRY%";
export const DLQ_PREFIX = "%DLQ%";

export function isSystemTopic(topic: string): boolean {
  return topic.startsWith("RMQ_SYS_") || topic === SCHEDULE_TOPIC || topic === TRANS_CHECK_MAX_TIME_TOPIC;
}

/** What a topic is for: the user's, a group's retry or dead-letter topic, or the broker's own. */
export function topicKind(topic: string): "user" | "retry" | "dlq" | "system" {
  if (topic.startsWith(RETRY_PREFIX)) return "retry";
  if (topic.startsWith(DLQ_PREFIX)) return "dlq";
  return isSystemTopic(topic) ? "system" : "user";
}
