// Reading one of the broker's own queues from an offset to its end, at start-up: the offset
// commits, the transactions' half and op records, and the timer records the wheel missed are
// all replayed this way. Retention may have taken the head and a queue may have holes; both are
// stepped over, and the walk always ends (at the queue's end as it was when the walk began).
import type { MessageStore, StoredRecord } from "../../storage/message-store.ts";

export interface ReplayOptions {
  /** Records per read. */
  batch?: number;
  /** Bytes per read. */
  bytes?: number;
}

/** The records of `topic` queue `queueId` from `from` on, in order, read a batch at a time. */
export function* replayQueue(
  store: Pick<MessageStore, "getMessages" | "maxOffset">,
  topic: string,
  queueId: number,
  from: number,
  { batch = 1024, bytes = 16 * 1024 * 1024 }: ReplayOptions = {},
): Generator<StoredRecord> {
  const end = store.maxOffset(topic, queueId);
  let offset = from;
  while (offset < end) {
    const r = store.getMessages(topic, queueId, offset, batch, bytes);
    if (r.records.length === 0) {
      // Retention took the head (OFFSET_MOVED), or only holes: go on from where the store says.
      if (r.nextOffset <= offset) return;
      offset = r.nextOffset;
      continue;
    }
    for (const rec of r.records) {
      offset = rec.queueOffset + 1;
      yield rec;
    }
  }
}
