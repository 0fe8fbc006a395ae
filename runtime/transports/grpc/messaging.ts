// apache.rocketmq.v2.MessagingService on ActorMQ's processors and services. Each call belongs to
// its client's GrpcSession (grpc-session.ts), and an RPC the broker has an op for becomes that op, run
// by the processors as the WebSocket front-end runs it (SendMessage is sendBatch, Heartbeat is
// heartbeat, AckMessage is ackMessage...): the same checks, rights and registries, whichever
// front-end a request came through. What has no op (routes and assignments in RocketMQ 5's
// terms, a receive that answers on a stream, recall, dead-lettering, offset queries) calls the
// services of the ProcessorContext. What the official Node.js client was seen to need is noted
// where it shapes an answer; docs/ROCKETMQ-COMPAT.md lists the RPCs and what is not supported.
import type * as grpc from "@grpc/grpc-js";
import { BrokerError, checkGroupName, checkTopicName, decode, encode, ErrorCode, MessageProp } from "../../../protocol/mod.ts";
import { groupResource, topicResource } from "../../security/acl.ts";
import { checkTopicLimit } from "../../processors/limit-checks.ts";
import { PERM_READ } from "../../../actors/broker.machine.ts";
import type { RouteBroker } from "../../../actors/namesrv.machine.ts";
import type { ProcessorContext } from "../../context.ts";
import { fromMs, fromPopped, statusOf, toActorMQ, toMs, type V2Message, type V2Resource } from "./mapping.ts";
import type { Renewals } from "./renewals.ts";
import { type AccessPoint, endpointsOf, fromRoute, messageQueues, type V2Broker } from "./routes.ts";
import { type Answer, type GrpcSession, type GrpcSessions, peerAddress } from "./grpc-session.ts";
import { beat, sendSettings, telemetry } from "./telemetry.ts";

type Call = grpc.ServerUnaryCall<Record<string, any>, unknown> | grpc.ServerWritableStream<Record<string, any>, unknown> | grpc.ServerDuplexStream<unknown, unknown>;
type Unary = (call: grpc.ServerUnaryCall<Record<string, any>, unknown>, callback: grpc.sendUnaryData<unknown>) => void;
type Reply = (r: Record<string, unknown>) => void;

/** A receive that names no invisible duration and asks for no auto-renewal. */
const DEFAULT_INVISIBLE_MS = 60_000;
const DEFAULT_POLL_MS = 20_000;
/** Settings are sent again this long after a client's QueryRoute (see QueryRoute). */
const SETTINGS_AGAIN_MS = 300;
const OK = { code: "OK", message: "OK" };

/** A cluster's route of a topic, from the name servers (a --role broker's); rejects when none answers. */
export type ClusterRoute = (topic: string) => Promise<RouteBroker[]>;

export function messagingService(ctx: ProcessorContext, sessions: GrpcSessions, renewals: Renewals, port: number, clusterRoute?: ClusterRoute) {
  /**
   * The calling client's session; CLIENT_ID_REQUIRED without the header. With --auth on every
   * call carries RocketMQ 5's signature (docs/SECURITY.md), checked before the session is looked
   * up: a client id is signed in as the user of its first call, and another user's call under
   * the same id is refused (UNAUTHORIZED).
   */
  const sessionOf = async (call: Call): Promise<GrpcSession> => {
    const header = (name: string) => {
      const v = call.metadata.get(name)[0];
      return typeof v === "string" && v !== "" ? v : undefined;
    };
    const clientId = header("x-mq-client-id");
    if (!clientId) throw new BrokerError("CLIENT_ID_REQUIRED", "the x-mq-client-id header is required");
    const caller = await ctx.security.rocketmqSession(header("authorization"), header("x-mq-date-time"), peerAddress(call.getPeer()));
    caller.requireSignedIn("gRPC");
    const session = sessions.session(clientId.slice(0, 256), call);
    if (caller.user !== undefined && session.security.user !== caller.user) {
      if (session.security.user !== undefined) throw new BrokerError(ErrorCode.AUTH_FAILED, `client ${clientId.slice(0, 64)} is signed in as "${session.security.user}", not "${caller.user}"`);
      session.security.signedInAs(caller.user);
    }
    return session;
  };

  /** Runs an RPC body once its caller is known; a thrown BrokerError (or any error) becomes its Status. */
  const unary = (body: (req: Record<string, any>, session: GrpcSession, reply: Reply, call: Call) => void): Unary => (call, callback) => {
    const reply: Reply = (r) => callback(null, { status: OK, ...r });
    sessionOf(call).then((session) => body(call.request, session, reply, call)).catch((e) => callback(null, { status: statusOf(e) }));
  };

  /** An op's answer as the RPC's: its error as the status, else `ok(result)`. */
  const answer = (reply: Reply, ok: (r: Record<string, unknown>) => Record<string, unknown> = () => ({})): Answer => (err, r) =>
    reply(err === undefined ? ok(r) : { status: statusOf(err) });

  /**
   * The brokers of a topic's v2 route: this one, where the client reached it (the call's
   * authority: reachable as given), and, in a cluster, every other broker holding the topic
   * that serves gRPC, as the name servers know it.
   */
  const brokersOf = (topic: string, call: Call, via: AccessPoint | undefined, done: (brokers: V2Broker[]) => void) => {
    const t = ctx.topics.forWrite(topic);
    const self: V2Broker = { name: ctx.config.brokerName, queues: t.queues, perm: t.perm, endpoints: authorityOf(call) ?? endpointsOf(ctx.config.host, port) };
    if (!clusterRoute) return done([self]);
    clusterRoute(topic).then(
      (route) => done([self, ...fromRoute(route.filter((b) => b.name !== self.name), via)]),
      () => done([self]), // no name server answers: this broker's part
    );
  };


  /** The handles to settle messages with (the latest renewals'), in order, once all are known. */
  const settleAll = (session: GrpcSession, handles: string[], use: (handles: string[]) => void) => {
    const out = new Array<string>(handles.length);
    let left = handles.length;
    if (left === 0) return use(out);
    handles.forEach((h, i) => renewals.settle(session, h, (current) => {
      out[i] = current;
      if (--left === 0) use(out);
    }));
  };

  return {
    QueryRoute: unary((req, session, reply, call) => {
      const topic = resourceName(req.topic, "topic");
      // The route of a topic not there yet creates it: that is a producer's first send.
      if (ctx.topics.get(topic) === undefined) {
        session.security.authorize(topicResource(topic), "PUB");
        checkTopicLimit(ctx);
      } else session.security.authorizeAny(topicResource(topic), ["PUB", "SUB", "ADMIN"]);
      brokersOf(topic, call, req.endpoints, (brokers) => {
        reply({ message_queues: messageQueues(topic, brokers) });
        // With two or more topics the Node.js client listens for Settings only after fetching
        // every route, so an answer sent at once can be lost and its startup would hang: send it again.
        ctx.clock.setTimeout(() => sendSettings(ctx, session), SETTINGS_AGAIN_MS);
      });
    }),

    /** Renews the client's membership of its groups (its settings say which), as a heartbeat op does. */
    Heartbeat: unary((_req, session, reply) => beat(ctx, session, (err) => reply(err === undefined ? {} : { status: statusOf(err) }))),

    Telemetry: telemetry(ctx, sessionOf),

    /** sendBatch: each message mapped, checked and stored as one sent over WebSocket. */
    SendMessage: unary((req, session, reply) => {
      const msgs = (req.messages ?? []) as V2Message[];
      if (msgs.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "SendMessage carries no message");
      const entries: Record<string, unknown>[] = new Array(msgs.length);
      const encoded: Uint8Array[] = [];
      const queueIds: (number | null)[] = [];
      const at: number[] = [];
      const recallAt: (number | undefined)[] = [];
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        const id = m.system_properties?.message_id ?? "";
        try {
          const tx = m.system_properties?.message_type === "TRANSACTION";
          const msg = toActorMQ(m, tx);
          const group = m.system_properties?.message_group;
          // FIFO: a message group always goes to the same queue (the client names queue 0 for every message).
          queueIds.push(group ? hash(group) % (ctx.topics.get(msg.topic)?.queues ?? ctx.config.defaultQueues) : null);
          encoded.push(encode(msg));
          at.push(i);
          recallAt.push(msg.deliverAt);
          entries[i] = { status: OK, message_id: id, transaction_id: tx ? id : "" };
        } catch (e) {
          entries[i] = { status: statusOf(e), message_id: id };
        }
      }
      const done = () => {
        const failed = entries.find((e) => (e.status as { code: string }).code !== "OK");
        reply({ status: failed ? failed.status : OK, entries });
      };
      if (encoded.length === 0) return done();
      session.request(ctx, "sendBatch", { msgs: encoded, queueIds }, (err, r) => {
        const results = (r.results ?? []) as { code: number | string; message?: string; queueOffset?: number; commitLogOffset?: number }[];
        at.forEach((i, k) => {
          const x = results[k];
          if (err !== undefined || !x || x.code !== 0) {
            entries[i] = { status: statusOf(err ?? new BrokerError(String(x?.code), String(x?.message))), message_id: entries[i].message_id };
            return;
          }
          entries[i].offset = x.queueOffset;
          // A message for later can be recalled until it is due (RecallMessage).
          if (recallAt[k] !== undefined) entries[i].recall_handle = recallHandleOf(ctx.config.brokerName, x.commitLogOffset!, recallAt[k]!);
        });
        done();
      });
    }),

    EndTransaction: unary((req, session, reply) => {
      const topic = resourceName(req.topic, "topic");
      const msgId = String(req.message_id || req.transaction_id || "");
      if (!msgId) throw new BrokerError(ErrorCode.MISSING_FIELD, "EndTransaction needs message_id");
      const resolution = req.resolution === "COMMIT" ? "COMMIT" : req.resolution === "ROLLBACK" ? "ROLLBACK" : undefined;
      if (!resolution) throw new BrokerError(ErrorCode.BAD_REQUEST, "EndTransaction: resolution must be COMMIT or ROLLBACK");
      // The producer group of a RocketMQ 5 client's transaction is its topic (see telemetry.ts).
      session.request(ctx, "endTransaction", { group: topic, msgId, resolution }, (err, r) => {
        if (err !== undefined) return reply({ status: statusOf(err) });
        if (r.state === "NOT_IN_FLIGHT" || r.state === "DISCARDED") {
          const why = r.state === "DISCARDED" ? `transaction ${msgId} was discarded after its checks went unanswered` : `no transaction ${msgId} is in flight (it ended before, or never began)`;
          return reply({ status: { code: "INVALID_TRANSACTION_ID", message: why } });
        }
        reply({});
      });
    }),

    QueryAssignment: unary((req, session, reply, call) => {
      const topic = resourceName(req.topic, "topic");
      session.security.authorize(topicResource(topic), "SUB");
      session.security.authorize(groupResource(resourceName(req.group, "group")), "SUB");
      ctx.topics.forRead(topic);
      // Queue 0 of each readable broker: the consumer's receive there pops from every queue of the topic.
      brokersOf(topic, call, req.endpoints, (brokers) => {
        const readable = brokers.filter((b) => (b.perm & PERM_READ) !== 0).map((b) => ({ ...b, queues: 1 }));
        reply({ assignments: messageQueues(topic, readable).map((message_queue) => ({ message_queue })) });
      });
    }),

    ReceiveMessage(call: grpc.ServerWritableStream<Record<string, any>, unknown>) {
      let alive = true;
      call.on("cancelled", () => (alive = false));
      const finish = (status: { code: string; message: string }) => {
        if (!alive) return;
        call.write({ status });
        call.end();
      };
      sessionOf(call).then((session) => {
        const req = call.request;
        const group = resourceName(req.group, "group");
        const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
        session.security.authorize(topicResource(topic), "SUB");
        session.security.authorize(groupResource(group), "SUB");
        const filter = req.filter_expression ?? {};
        if (filter.type === "SQL") return finish({ code: "ILLEGAL_FILTER_EXPRESSION", message: "SQL92 filters are not supported; use a tag expression" });
        // Push consumers ask for auto-renewal (renewals.ts) and name no invisible duration.
        const autoRenew = req.auto_renew === true;
        // A receive answers on a stream, and what it pops is lost to invisibility if the call is
        // gone by then: the POP service is called here, with the call's own liveness.
        ctx.pop.receive({
          group,
          topic,
          maxCount: req.batch_size || 32,
          invisibleMs: autoRenew ? renewals.unitMs : toMs(req.invisible_duration) ?? DEFAULT_INVISIBLE_MS,
          expression: filter.expression || "*",
          pollMs: toMs(req.long_polling_timeout) ?? DEFAULT_POLL_MS,
          alive: () => alive && session.open,
        }, (err, msgs) => {
          if (err) return finish(statusOf(err));
          if (msgs.length === 0) return finish({ code: "MESSAGE_NOT_FOUND", message: "no new message" });
          if (!alive) return;
          if (autoRenew) for (const p of msgs) renewals.hold(session, group, p.receiptHandle, p.invisibleUntil, p.attempt);
          call.write({ status: OK });
          for (const p of msgs) call.write({ message: fromPopped(p, decode(p.message) as Record<string, unknown>, ctx.config.brokerName) });
          call.write({ delivery_timestamp: fromMs(ctx.clock.now()) });
          call.end();
        });
      }).catch((e) => finish(statusOf(e)));
    },

    AckMessage: unary((req, session, reply) => {
      const group = resourceName(req.group, "group");
      const list = (req.entries ?? []) as { message_id?: string; receipt_handle?: string }[];
      settleAll(session, list.map((e) => String(e.receipt_handle ?? "")), (receiptHandles) => session.request(ctx, "ackMessage", { group, receiptHandles }, answer(reply, (r) => {
        const results = r.results as { code: number | string; message?: string }[];
        const entries = list.map((e, i) => ({
          message_id: e.message_id,
          receipt_handle: e.receipt_handle,
          status: results[i].code === 0 ? OK : statusOf(new BrokerError(String(results[i].code), String(results[i].message))),
        }));
        const failed = entries.find((e) => e.status.code !== "OK");
        return { status: failed ? failed.status : OK, entries };
      })));
    }),

    ChangeInvisibleDuration: unary((req, session, reply) => {
      const group = resourceName(req.group, "group");
      // A nack may ask for 0 ms (the Node.js client's backoff has a unit bug): accepted.
      const invisibleMs = toMs(req.invisible_duration) ?? 0;
      renewals.settle(session, String(req.receipt_handle ?? ""), (receiptHandle) =>
        session.request(ctx, "changeInvisibleDuration", { group, receiptHandle, invisibleMs }, answer(reply, (r) => ({ receipt_handle: r.receiptHandle }))));
    }),

    ForwardMessageToDeadLetterQueue: unary((req, session, reply) => {
      const group = resourceName(req.group, "group");
      session.security.authorize(groupResource(group), "SUB");
      renewals.settle(session, String(req.receipt_handle ?? ""), (handle) => {
        try {
          ctx.pop.forwardToDeadLetter(group, handle, (err) => reply(err ? { status: statusOf(err) } : {}));
        } catch (e) {
          reply({ status: statusOf(e) });
        }
      });
    }),

    /** The client leaves its groups now (the session closes); it ends its Telemetry streams itself. */
    NotifyClientTermination: unary((_req, session, reply) => {
      sessions.close(session, false);
      reply({});
    }),

    RecallMessage: unary((req, session, reply) => {
      const topic = resourceName(req.topic, "topic");
      session.security.authorize(topicResource(topic), "PUB");
      const handle = parseRecallHandle(String(req.recall_handle ?? ""));
      if (!handle) throw new BrokerError(ErrorCode.BAD_REQUEST, "not a recall handle");
      if (handle.brokerName !== ctx.config.brokerName) throw new BrokerError("NOT_FOUND", `the recall handle names broker "${handle.brokerName}", not this one`);
      const rec = ctx.store.readRecord(handle.commitLogOffset);
      const m = rec ? decode(rec.message) as { id?: string; props?: Record<string, string> } : undefined;
      if (!m || m.props?.[MessageProp.REAL_TOPIC] !== topic) throw new BrokerError(ErrorCode.BAD_REQUEST, `the recall handle names no message for topic "${topic}"`);
      if (ctx.timer.cancelAt(handle.commitLogOffset, handle.at) === "gone") {
        return reply({ status: { code: "NOT_FOUND", message: "the message was delivered already, or recalled" }, message_id: m.id });
      }
      reply({ message_id: m.id });
    }),

    GetOffset: unary((req, session, reply) => {
      const group = resourceName(req.group, "group");
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      session.request(ctx, "queryOffset", { group, topic, queueId: Number(req.message_queue?.id ?? 0) }, answer(reply, (r) =>
        (r.offset as number) < 0 ? { status: { code: "OFFSET_NOT_FOUND", message: `group "${group}" has no offset in this queue` } } : { offset: r.offset }));
    }),

    QueryOffset: unary((req, session, reply) => {
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      session.security.authorize(topicResource(topic), "SUB");
      const queueId = Number(req.message_queue?.id ?? 0);
      ctx.topics.forRead(topic, queueId);
      const policy = req.query_offset_policy ?? "BEGINNING";
      const offset = policy === "END" ? ctx.store.maxOffset(topic, queueId)
        : policy === "TIMESTAMP" ? ctx.store.offsetForTimestamp(topic, queueId, toMs(req.timestamp) ?? 0)
        : ctx.store.minOffset(topic, queueId);
      reply({ offset });
    }),

    UpdateOffset: unary((req, session, reply) => {
      const group = resourceName(req.group, "group");
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      session.request(ctx, "commitOffset", { group, topic, queueId: Number(req.message_queue?.id ?? 0), offset: Number(req.offset ?? 0) }, answer(reply));
    }),

    PullMessage(call: grpc.ServerWritableStream<Record<string, any>, unknown>) {
      call.write({ status: { code: "NOT_IMPLEMENTED", message: "PullMessage is not supported: use a SimpleConsumer or a PushConsumer" } });
      call.end();
    },

    SyncLiteSubscription: unary(() => {
      throw new BrokerError("NOT_IMPLEMENTED", "lite topics are not supported");
    }),
  };
}

/** host:port the client dialled to reach this call (its :authority), as v2 endpoints. */
function authorityOf(call: Call): AccessPoint | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(call.getHost?.() ?? "");
  return m ? endpointsOf(m[1], Number(m[2])) : undefined;
}

/** A resource's name, checked as a topic or a group name (a group becomes %RETRY%<group>, a directory). */
function resourceName(r: V2Resource | undefined, what: string): string {
  if (!r?.name) throw new BrokerError(ErrorCode.MISSING_FIELD, `${what} is missing`);
  return what.endsWith("group") ? checkGroupName(r.name, what) : checkTopicName(r.name);
}

/** FNV-1a: a message group's queue. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A recall handle names the broker (a name server forwards RecallMessage there), the record and its due time. */
export function recallHandleOf(brokerName: string, commitLogOffset: number, at: number): string {
  return `1_${commitLogOffset.toString(36)}_${at.toString(36)}_${brokerName}`;
}

export function parseRecallHandle(h: string): { brokerName: string; commitLogOffset: number; at: number } | null {
  const m = /^1_([0-9a-z]{1,11})_([0-9a-z]{1,11})_(.{1,255})$/.exec(h);
  if (!m) return null;
  const commitLogOffset = parseInt(m[1], 36);
  const at = parseInt(m[2], 36);
  return Number.isSafeInteger(commitLogOffset) && Number.isSafeInteger(at) ? { brokerName: m[3], commitLogOffset, at } : null;
}
