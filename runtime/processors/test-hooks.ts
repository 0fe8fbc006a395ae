// TEST HOOK (--test-send-delay-ms): a broker that answers sends late, as an overloaded or
// far-away one would, for the producer's latency fault tolerance tests and benchmarks. The
// message is stored at once; only the response waits. Off (0) unless the flag is given.
import type { Request } from "../../protocol/mod.ts";
import type { Session } from "../session.ts";

export function withTestHooks(delayMs: number, session: Session, req: Request): Session {
  if (!(delayMs > 0) || (req.op !== "send" && req.op !== "sendBatch")) return session;
  // The answers wait; everything else (open, clientId, pushes) reads through to the real session.
  const late = Object.create(session) as Session;
  late.reply = (id, result) => void setTimeout(() => session.reply(id, result), delayMs);
  late.fail = (id, error) => void setTimeout(() => session.fail(id, error), delayMs);
  late.replyEncoded = (frame) => void setTimeout(() => session.replyEncoded(frame), delayMs);
  return late;
}
