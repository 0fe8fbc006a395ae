// The request handlers by op (RocketMQ's processor table): one module per family of ops. A
// front-end (runtime/transports/) decodes a request and hands it to `processRequest`; a handler
// answers through the session it is given, and a thrown BrokerError is answered with its code.
// Before any handler runs, the request's names and the session's rights are checked
// (runtime/security/guard.ts), whichever front-end it came through.
import { BrokerError, ErrorCode, Op, type Request } from "../../protocol/mod.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";
import { createTopic, deleteExpiredCommitLog, deleteSubGroup, deleteTopic, topicList, topicStatus } from "./admin-processor.ts";
import { heartbeat } from "./client-manage-processor.ts";
import { commitOffset, consumerList, consumerProgress, queryOffset, resetOffset } from "./consumer-manage-processor.ts";
import { endTransaction } from "./end-transaction-processor.ts";
import { inspect, overview } from "./inspect-processor.ts";
import { lockQueues, unlockQueues } from "./order-lock-processor.ts";
import { ackMessage, changeInvisibleDuration, getSubscriptionGroup, popMessage, updateSubscriptionGroup } from "./pop-processor.ts";
import { pull } from "./pull-processor.ts";
import { browseMessages, queryMessage } from "./query-message-processor.ts";
import { resendMessage } from "./resend-processor.ts";
import { clusterList, queryRoute, registerBroker } from "./route-processor.ts";
import { sendBack } from "./send-back-processor.ts";
import { send, sendBatch } from "./send-processor.ts";
import { withTestHooks } from "./test-hooks.ts";
import { haAck, haHandshake, WRITE_OPS } from "./replication-processor.ts";
import { auth, hello } from "./auth-processor.ts";
import { createAcl, createUser, deleteAcl, deleteUser, listAcl, listUser, updateAcl, updateUser } from "./acl-processor.ts";
import { guardRequest } from "../security/guard.ts";

export type Processor = (ctx: ProcessorContext, session: Session, req: Request) => void;

const processors: Partial<Record<string, Processor>> = {
  [Op.send]: send,
  [Op.sendBatch]: sendBatch,
  [Op.pull]: pull,
  [Op.commitOffset]: commitOffset,
  [Op.queryOffset]: queryOffset,
  [Op.createTopic]: createTopic,
  [Op.topicList]: topicList,
  [Op.topicStatus]: topicStatus,
  [Op.queryRoute]: queryRoute,
  [Op.queryMessage]: queryMessage,
  [Op.heartbeat]: heartbeat,
  [Op.consumerList]: consumerList,
  [Op.consumerProgress]: consumerProgress,
  [Op.resetOffset]: resetOffset,
  [Op.sendBack]: sendBack,
  [Op.clusterList]: clusterList,
  [Op.deleteExpiredCommitLog]: deleteExpiredCommitLog,
  [Op.deleteTopic]: deleteTopic,
  [Op.deleteSubGroup]: deleteSubGroup,
  [Op.lockQueues]: lockQueues,
  [Op.unlockQueues]: unlockQueues,
  [Op.inspect]: inspect,
  [Op.overview]: overview,
  [Op.browseMessages]: browseMessages,
  [Op.resendMessage]: resendMessage,
  [Op.registerBroker]: registerBroker,
  [Op.endTransaction]: endTransaction,
  [Op.popMessage]: popMessage,
  [Op.ackMessage]: ackMessage,
  [Op.changeInvisibleDuration]: changeInvisibleDuration,
  [Op.updateSubscriptionGroup]: updateSubscriptionGroup,
  [Op.getSubscriptionGroup]: getSubscriptionGroup,
  haHandshake,
  haAck,
  [Op.hello]: hello,
  [Op.auth]: auth,
  [Op.createUser]: createUser,
  [Op.updateUser]: updateUser,
  [Op.deleteUser]: deleteUser,
  [Op.listUser]: listUser,
  [Op.createAcl]: createAcl,
  [Op.updateAcl]: updateAcl,
  [Op.deleteAcl]: deleteAcl,
  [Op.listAcl]: listAcl,
};

/** Runs the handler of `req.op` (the envelope, id and op, is checked by the front-end). */
export function processRequest(ctx: ProcessorContext, session: Session, req: Request): void {
  const handler = Object.hasOwn(processors, req.op) ? processors[req.op] : undefined;
  if (!handler) return session.fail(req.id, new BrokerError(ErrorCode.UNKNOWN_OP, `unknown op "${req.op.slice(0, 64)}"`));
  if (ctx.facts.isClosing) return session.fail(req.id, new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the broker is shutting down"));
  const refusal = WRITE_OPS.has(req.op) ? ctx.replication?.writeRefusal() : undefined;
  if (refusal) return session.fail(req.id, refusal);
  try {
    guardRequest(session.security, req);
    handler(ctx, withTestHooks(ctx.config.testSendDelayMs, session, req), req);
  } catch (e) {
    session.fail(req.id, e);
  }
}
