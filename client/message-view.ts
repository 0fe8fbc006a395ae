// Turns the items of pull and queryMessage responses into MessageView objects: the stored message
// map, exactly as the producer encoded it, plus where and when the broker stored it.
import { BrokerError, ErrorCode, type MessageView } from "../protocol/mod.ts";

export type { MessageView };

/** A pull item: [queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes, flags, message]. */
export function fromPullItem(item: unknown, queueId: number): MessageView {
  if (!Array.isArray(item) || item.length < 6) throw malformed("a pull item must be an array of 6");
  return view(item[5], queueId, item[0], item[1], item[2], item[3]);
}

/** A queryMessage item: [topic, queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes, flags, message]. */
export function fromQueryItem(item: unknown): MessageView {
  if (!Array.isArray(item) || item.length < 8) throw malformed("a queryMessage item must be an array of 8");
  return view(item[7], item[1], item[2], item[3], item[4], item[5]);
}

function view(
  message: unknown,
  queueId: unknown,
  queueOffset: unknown,
  commitLogOffset: unknown,
  storeTimestamp: unknown,
  reconsumeTimes: unknown,
): MessageView {
  if (message === null || typeof message !== "object" || Array.isArray(message) || message instanceof Uint8Array) {
    throw malformed("a stored message must be a map");
  }
  for (const n of [queueId, queueOffset, commitLogOffset, storeTimestamp, reconsumeTimes]) {
    if (typeof n !== "number") throw malformed("message metadata must be numbers");
  }
  // The decoded map belongs to this response alone: extend it rather than copy it (field by
  // field: Object.assign would build a second object per message to copy from).
  const m = message as Record<string, unknown>;
  m.queueId = queueId;
  m.queueOffset = queueOffset;
  m.commitLogOffset = commitLogOffset;
  m.storeTimestamp = storeTimestamp;
  m.reconsumeTimes = reconsumeTimes;
  return m as unknown as MessageView;
}

function malformed(why: string): BrokerError {
  return new BrokerError(ErrorCode.MALFORMED_FRAME, `unexpected response from the broker: ${why}`);
}
