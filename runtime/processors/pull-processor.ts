// pull (RocketMQ's PullMessageProcessor): read a queue and answer with the stored message bytes;
// with nothing to return and pollMs > 0, hand the pull to long polling (PullHolds).
import { BrokerError, ErrorCode, PullStatus, type Request } from "../../protocol/mod.ts";
import { PERM_READ } from "../../actors/broker.machine.ts";
import type { Hold } from "../../actors/queue.machine.ts";
import { groupArg, optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { limitError } from "../security/limits.ts";

const DEFAULT_MAX_COUNT = 32;
const MAX_COUNT_CAP = 1000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** The most one answer carries (and at least one message): a client cannot make one answer hold the queue. */
const MAX_BYTES_CAP = 4 * 1024 * 1024;
const MAX_EXPRESSION = 4096;

export function pull(ctx: ProcessorContext, session: Session, req: Request): void {
  const topic = required<string>(req, "topic", "string");
  const queueId = required<number>(req, "queueId", "uint");
  const offset = required<number>(req, "offset", "uint");
  const maxCount = Math.min(MAX_COUNT_CAP, Math.max(1, optional(req, "maxCount", "uint", DEFAULT_MAX_COUNT)));
  const maxBytes = Math.min(MAX_BYTES_CAP, Math.max(1, optional(req, "maxBytes", "uint", DEFAULT_MAX_BYTES)));
  const expression = optional(req, "expression", "string", "*");
  if (expression.length > MAX_EXPRESSION) throw new BrokerError(ErrorCode.BAD_REQUEST, `pull: the expression is longer than ${MAX_EXPRESSION} characters`);
  const pollMs = Math.min(ctx.config.maxPollMs, optional(req, "pollMs", "uint", 0));
  const t = ctx.topics.forRead(topic, queueId);
  if ((t.perm & PERM_READ) === 0) throw new BrokerError(ErrorCode.NO_PERMISSION, `topic "${topic}" is not readable`);
  ctx.pulls.checkExpression(expression); // a bad expression fails now, not when the hold wakes
  const group = req.group === undefined || req.group === null ? undefined : groupArg(req);
  const commit = optional<number | undefined>(req, "commitOffset", "uint", undefined);
  if (group !== undefined && commit !== undefined) ctx.offsets.commit(group, topic, queueId, commit, () => {});

  const hold: Hold = { sessionId: session.id, reqId: req.id, offset, maxCount, maxBytes, expression, deadline: 0 };
  const limits = session.limits;
  if (!limits) return serve(ctx, session, topic, queueId, hold, pollMs);
  // A pull waiting for its client's unread replies to drain counts as held, as one a queue holds.
  if (limits.heldPulls >= ctx.config.maxHeldPulls) {
    throw limitError(ctx.security.counters, "heldPulls", `pull: this connection has ${limits.heldPulls} pulls waiting, the limit (--max-held-pulls)`);
  }
  limits.heldPulls++;
  limits.whenWritable(() => {
    limits.heldPulls--;
    serve(ctx, session, topic, queueId, hold, pollMs);
  });
}

function serve(ctx: ProcessorContext, session: Session, topic: string, queueId: number, hold: Hold, pollMs: number): void {
  if (!session.open) return;
  const result = ctx.pulls.read(topic, queueId, hold);
  if (result.status === PullStatus.NO_NEW_MSG && pollMs > 0) {
    hold.deadline = ctx.clock.now() + pollMs;
    if (session.limits) session.limits.heldPulls++; // until PullHolds answers it
    ctx.pulls.hold(topic, queueId, hold);
    return;
  }
  ctx.pulls.answer(session, hold.reqId, result, topic, queueId);
}
