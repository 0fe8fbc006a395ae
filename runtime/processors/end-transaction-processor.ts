// endTransaction (RocketMQ's EndTransactionProcessor): a producer commits or rolls back its
// transactions; the transaction actors decide, TransactionService writes what they decide.
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import { groupArg, optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

type Resolution = "COMMIT" | "ROLLBACK" | "UNKNOWN";
const RESOLUTIONS: ReadonlySet<string> = new Set<Resolution>(["COMMIT", "ROLLBACK", "UNKNOWN"]);

/**
 * endTransaction { group, msgId, resolution: COMMIT | ROLLBACK | UNKNOWN, fromCheck? } -> { msgId, state },
 * or many of one group in one frame: { group, transactions: [{ msgId, resolution }, ...] } ->
 * { results: [{ code: 0, msgId, state } | { code, message, msgId }, ...] } (a producer ends the
 * transactions of one turn together: one frame and one answer instead of one per transaction).
 */
export function endTransaction(ctx: ProcessorContext, session: Session, req: Request): void {
  const group = groupArg(req);
  optional(req, "fromCheck", "boolean", false);
  const many = optional<unknown[] | undefined>(req, "transactions", "array", undefined);
  if (many === undefined) {
    const msgId = required<string>(req, "msgId", "string");
    const resolution = checkResolution(required<string>(req, "resolution", "string"));
    ctx.transactions.end(group, msgId, resolution, (err, state) => (err ? session.fail(req.id, err) : session.reply(req.id, { msgId, state })));
    return;
  }
  const results: Record<string, unknown>[] = new Array(many.length);
  let left = many.length;
  if (left === 0) return session.reply(req.id, { results });
  const settle = (i: number, r: Record<string, unknown>) => {
    results[i] = r;
    if (--left === 0) session.reply(req.id, { results });
  };
  many.forEach((t, i) => {
    const msgId = (t as { msgId?: unknown } | null)?.msgId;
    try {
      if (t === null || typeof t !== "object" || typeof msgId !== "string") {
        throw new BrokerError(ErrorCode.WRONG_TYPE, `endTransaction: transactions[${i}] must be a map { msgId, resolution }`);
      }
      const resolution = checkResolution((t as { resolution?: unknown }).resolution);
      ctx.transactions.end(group, msgId, resolution, (err, state) => settle(i, err ? { code: err.code, message: err.message, msgId } : { code: 0, msgId, state }));
    } catch (e) {
      const err = e instanceof BrokerError ? e : new BrokerError(ErrorCode.INTERNAL_ERROR, String(e));
      settle(i, { code: err.code, message: err.message, ...(typeof msgId === "string" ? { msgId } : {}) });
    }
  });
}

function checkResolution(r: unknown): Resolution {
  if (typeof r !== "string") throw new BrokerError(r === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, "endTransaction: resolution must be a string");
  if (!RESOLUTIONS.has(r)) throw new BrokerError(ErrorCode.BAD_REQUEST, `endTransaction: resolution must be COMMIT, ROLLBACK or UNKNOWN, not "${r.slice(0, 32)}"`);
  return r as Resolution;
}
