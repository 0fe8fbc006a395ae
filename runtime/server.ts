// Turns WebSocket frames into work: decode, check the envelope, dispatch by op, and answer
// every failure with a named error code. Nothing a client sends can crash the broker.
import { BrokerError, decode, ErrorCode, Op, type Request } from "../protocol/mod.ts";
import type { Broker, Connection } from "./broker.ts";
import type { ServerSocket, SocketHandlers } from "./platform.ts";
import { clusterList, createTopic, queryMessage, queryRoute, topicList, topicStatus } from "./ops/admin.ts";
import { consumerList, consumerProgress, heartbeat, resetOffset } from "./ops/groups.ts";
import { handleCommitOffset, handleQueryOffset } from "./ops/offsets.ts";
import { lockQueues, unlockQueues } from "./ops/order-locks.ts";
import { send, sendBatch } from "./ops/produce.ts";
import { sendBack } from "./ops/retry.ts";
import { inspect } from "./ops/inspect.ts";
import { registerBroker } from "./ops/namesrv.ts";
import { withTestHooks } from "./ops/test-hooks.ts";
import { endTransaction } from "./ops/transaction.ts";

type Handler = (broker: Broker, conn: Connection, req: Request) => void;

const handlers: Partial<Record<string, Handler>> = {
  [Op.send]: send,
  [Op.sendBatch]: sendBatch,
  [Op.pull]: (broker, conn, req) => broker.pulls.handle(conn, req),
  [Op.commitOffset]: handleCommitOffset,
  [Op.queryOffset]: handleQueryOffset,
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
  [Op.lockQueues]: lockQueues,
  [Op.unlockQueues]: unlockQueues,
  [Op.inspect]: inspect,
  [Op.registerBroker]: registerBroker,
  [Op.endTransaction]: endTransaction,
};

export function createConnectionHandlers(broker: Broker): SocketHandlers {
  const bySocket = new WeakMap<ServerSocket, Connection>();
  let next = 0;
  return {
    onOpen(socket) {
      const conn: Connection = { id: `c${++next}`, socket, open: true, groups: new Set() };
      bySocket.set(socket, conn);
      broker.connections.set(conn.id, conn);
    },
    onClose(socket) {
      const conn = bySocket.get(socket);
      if (!conn) return;
      conn.open = false;
      broker.connections.delete(conn.id);
      broker.inspector.unsubscribe(conn);
      // A consumer that goes away leaves its groups at once (RocketMQ does so on channel close).
      for (const group of conn.groups) broker.send({ type: "UNREGISTER", group, clientId: conn.clientId! });
      broker.transactions.connectionClosed(conn);
    },
    onMessage(socket, data) {
      const conn = bySocket.get(socket);
      if (conn) dispatch(broker, conn, data);
    },
  };
}

function dispatch(broker: Broker, conn: Connection, data: Uint8Array): void {
  let req: Request;
  try {
    req = decode(data) as Request;
  } catch {
    return broker.replyError(conn, null, new BrokerError(ErrorCode.MALFORMED_FRAME, "the frame is not valid CBOR"));
  }
  if (req === null || typeof req !== "object" || Array.isArray(req) || req instanceof Uint8Array) {
    return broker.replyError(conn, null, new BrokerError(ErrorCode.MALFORMED_FRAME, "a frame must be a CBOR map"));
  }
  const id = req.id;
  if (typeof id !== "number" && typeof id !== "string") {
    const code = id === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE;
    return broker.replyError(conn, null, new BrokerError(code, 'a request needs an "id" (an integer or a string)'));
  }
  if (typeof req.op !== "string") {
    return broker.replyError(conn, id, new BrokerError(req.op === undefined ? ErrorCode.MISSING_FIELD : ErrorCode.WRONG_TYPE, 'a request needs an "op" string'));
  }
  const handler = Object.hasOwn(handlers, req.op) ? handlers[req.op] : undefined;
  if (!handler) return broker.replyError(conn, id, new BrokerError(ErrorCode.UNKNOWN_OP, `unknown op "${req.op.slice(0, 64)}"`));
  if (broker.isClosing) return broker.replyError(conn, id, new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "the broker is shutting down"));
  try {
    handler(broker, withTestHooks(broker, conn, req), req);
  } catch (e) {
    broker.replyError(conn, id, e);
  }
}
