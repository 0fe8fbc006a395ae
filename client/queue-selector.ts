// RocketMQ's MessageQueueSelector: the caller picks the queue of a send from the topic's
// writable queues, typically by a business key passed as `arg`, so that messages of one key
// land in one queue in send order (the producer side of ordered messages).
import { BrokerError, ErrorCode } from "../protocol/mod.ts";
import type { SendMessage } from "./outgoing-message.ts";
import type { MessageQueue } from "./topic-route.ts";

/**
 * Picks a queue for `msg` from the topic's writable queues (sorted by broker, then queue id):
 * return one of them, or its index in `queues`.
 */
export type MessageQueueSelector = (queues: readonly MessageQueue[], msg: SendMessage, arg: unknown) => MessageQueue | number;

/** RocketMQ's SelectMessageQueueByHash: the same `arg` picks the same queue while the queue count stays the same. */
export const selectMessageQueueByHash: MessageQueueSelector = (queues, _msg, arg) => {
  const key = typeof arg === "string" ? arg : JSON.stringify(arg) ?? String(arg);
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return (h >>> 0) % queues.length;
};

/** Runs a selector and checks its answer; throws a BrokerError naming what was wrong. */
export function runSelector(selector: MessageQueueSelector, queues: readonly MessageQueue[], msg: SendMessage, arg: unknown): MessageQueue {
  if (queues.length === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${msg.topic}" has no writable queue to select from`);
  let picked: MessageQueue | number;
  try {
    picked = selector(queues, msg, arg);
  } catch (e) {
    if (e instanceof BrokerError) throw e;
    throw new BrokerError(ErrorCode.BAD_REQUEST, `the MessageQueueSelector threw: ${(e as Error)?.message ?? e}`);
  }
  if (typeof picked === "number") {
    if (Number.isInteger(picked) && picked >= 0 && picked < queues.length) return queues[picked];
  } else if (picked !== null && typeof picked === "object") {
    const found = queues.find((q) => q.broker === picked.broker && q.queueId === picked.queueId);
    if (found) return found;
  }
  throw new BrokerError(ErrorCode.BAD_REQUEST, `the MessageQueueSelector returned ${describe(picked)}: not one of the ${queues.length} queues (or their index) it was given`);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
