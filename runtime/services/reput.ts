// Records that wait (in a delay level's queue or the timer topic) and the records that deliver
// them: the store's tags code of a waiting record, and the re-put of one into its real topic.
import { decode, MessageProp, SCHEDULE_PROPS, SCHEDULE_TOPIC, tagsCode, TIMER_TOPIC } from "../../protocol/mod.ts";
import { MessageRewrite } from "../../protocol/message-rewrite.ts";
import type { AppendItem, StoredRecord } from "../../storage/message-store.ts";

/** Out of the schedule or timer topic into the real one: the system properties go. */
const FROM_WAITING = new MessageRewrite({ dropProps: SCHEDULE_PROPS });

/**
 * MessageStore's tagsCodeOf: recovery rebuilds a schedule or timer queue entry with the message's due
 * time, any other with the hash of its tag.
 */
export function scheduleTagsCode(topic: string, message: Record<string, unknown>): number {
  if (topic === SCHEDULE_TOPIC || topic === TIMER_TOPIC) {
    const at = Number((message.props as Record<string, unknown> | undefined)?.[MessageProp.DELIVER_AT]);
    return Number.isSafeInteger(at) && at >= 0 ? at : 0;
  }
  return tagsCode(typeof message.tags === "string" ? message.tags : undefined);
}

/**
 * Whether a record stored at `offset` for `topic` was sent to a topic deleted since (deleteTopic):
 * a delayed message, a timer or a transaction's half message of the old topic is never delivered
 * into a topic created later with the name (logged, then dropped).
 */
export function sentBeforeDeletion(deletedAt: (topic: string) => number, topic: string, offset: number, from: string): boolean {
  if (offset >= deletedAt(topic)) return false;
  console.error(`${from}: the record at ${offset} was sent to topic ${topic}, deleted since; dropped`);
  return true;
}

/**
 * The record that delivers a waiting record (a delay level's or the timer's, named by `from` in
 * complaints): its real topic and queue, the system properties gone, everything else as sent.
 * Null for a record that cannot be delivered, or one sent to a topic deleted since (`deletedAt`).
 */
export function reputItem(rec: StoredRecord, from: string, deletedAt?: (topic: string) => number): AppendItem | null {
  let m: Record<string, unknown>;
  try {
    m = decode(rec.message) as Record<string, unknown>;
  } catch {
    return null;
  }
  const props = m?.props as Record<string, string> | undefined;
  const topic = props?.[MessageProp.REAL_TOPIC];
  const queueId = Number(props?.[MessageProp.REAL_QID]);
  if (typeof topic !== "string" || !Number.isInteger(queueId) || queueId < 0) {
    console.error(`${from}: the record at ${rec.commitLogOffset} names no real topic and queue; skipped`);
    return null;
  }
  if (deletedAt && sentBeforeDeletion(deletedAt, topic, rec.commitLogOffset, from)) return null;
  return {
    topic,
    queueId,
    bytes: FROM_WAITING.move(rec.message, m, topic, []),
    tagsCode: tagsCode(typeof m.tags === "string" ? m.tags : undefined),
    keys: Array.isArray(m.keys) ? (m.keys as string[]) : undefined,
    msgId: String(m.id),
    reconsumeTimes: rec.reconsumeTimes,
  };
}

