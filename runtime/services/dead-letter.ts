// Re-puts that can never be stored (delay levels, the timer): a message whose target refuses it
// for good (its queue's files cannot be made, it no longer fits a segment) would otherwise be
// retried forever, holding back every message behind it in its delay level. After MAX_TRIES
// refusals it is moved aside to the dead-letter system topic RMQ_SYS_DEAD_LETTER, with where it
// was going and why, and everything behind it moves on. A refusal that may pass (DISK_FULL, a
// closing store) is not counted: those are retried as long as it takes.
import { getLogger } from "@logtape/logtape";
import { BrokerError, decode, encode, ErrorCode } from "../../protocol/mod.ts";
import type { AppendItem } from "../../storage/message-store.ts";

export const DEAD_LETTER_TOPIC = "RMQ_SYS_DEAD_LETTER";
/** Refusals before a re-put is moved aside. */
export const MAX_TRIES = 3;

const log = getLogger(["actormq", "dead-letter"]);

/** Refusals that will not pass by themselves. */
const PERMANENT = new Set<string>([ErrorCode.STORAGE_ERROR, ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.BAD_REQUEST]);

export interface DeadLetterDeps {
  refusal(item: AppendItem): BrokerError | null;
  /** Makes sure the dead-letter topic exists (created after the current transition). */
  ensureTopic(): void;
}

export class DeadLetters {
  private readonly tries = new Map<string, number>();
  /** Messages moved aside since start. */
  moved = 0;

  constructor(private readonly deps: DeadLetterDeps) {}

  /**
   * The items to append: each re-put its target refuses for good counts a try, and after
   * MAX_TRIES is replaced by its dead-letter copy. `from` names the source in the copy and the log.
   */
  screen(items: AppendItem[], from: string): AppendItem[] {
    let out: AppendItem[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const refused = this.deps.refusal(item);
      if (!refused || !PERMANENT.has(refused.code)) continue;
      const key = `${item.topic}\u0000${item.queueId}\u0000${item.msgId}`;
      const tries = (this.tries.get(key) ?? 0) + 1;
      if (tries < MAX_TRIES) {
        this.tries.set(key, tries);
        continue;
      }
      this.tries.delete(key);
      const dead = deadLetter(item, from, refused);
      if (!dead) continue;
      out ??= items.slice();
      out[i] = dead;
      this.moved++;
      this.deps.ensureTopic();
      log.error("{from}: message {msgId} for {topic}/{queueId} refused {tries} times ({code}: {reason}); moved to {dlq}", {
        from, msgId: item.msgId, topic: item.topic, queueId: item.queueId, tries, code: refused.code, reason: refused.message, dlq: DEAD_LETTER_TOPIC,
      });
    }
    return out ?? items;
  }
}

/** The message as it would have been delivered, in the dead-letter topic, saying where it was going and why not. */
function deadLetter(item: AppendItem, from: string, why: BrokerError): AppendItem | null {
  let m: Record<string, unknown>;
  try {
    m = decode(item.bytes) as Record<string, unknown>;
  } catch {
    return null;
  }
  const props = { ...(m.props as Record<string, string> | undefined), DLQ_ORIGIN_TOPIC: item.topic, DLQ_ORIGIN_QUEUE_ID: String(item.queueId), DLQ_FROM: from, DLQ_REASON: `${why.code}: ${why.message}` };
  const bytes = encode({ ...m, topic: DEAD_LETTER_TOPIC, props });
  return { ...item, topic: DEAD_LETTER_TOPIC, queueId: 0, bytes, tagsCode: item.tagsCode };
}
