// apache.rocketmq.v2.MessagingService on ActorMQ's services: each RPC the RocketMQ 5 clients use,
// turned into the broker's work (the append pipeline, the POP service, transactions, the timer)
// and answered with a v2 Status. What the official Node.js client was seen to need is noted where
// it shapes an answer. docs/ROCKETMQ-COMPAT.md lists the RPCs and what is not supported.
import type * as grpc from "@grpc/grpc-js";
import { BrokerError, decode, encode, ErrorCode, MAX_MESSAGE_SIZE, MessageProp, TIMER_TOPIC } from "../../../protocol/mod.ts";
import { PERM_READ, PERM_WRITE } from "../../../actors/broker.machine.ts";
import type { TxContext } from "../../../actors/transaction.machine.ts";
import type { AppendItem, AppendResult } from "../../../storage/message-store.ts";
import type { GroupSettings, ProcessorContext, ScheduledItem } from "../../context.ts";
import { toAppendItem } from "../../processors/send-processor.ts";
import type { ClientSettings, RocketClient, TelemetryStream } from "./clients.ts";
import type { GrpcEndpoint } from "./endpoint.ts";
import { type Duration, fromActorMQ, fromMs, fromPopped, GRPC_PRODUCER_GROUP, statusOf, toActorMQ, toMs, type V2Message, type V2Resource } from "./mapping.ts";

type Unary = (call: grpc.ServerUnaryCall<Record<string, any>, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/** A push consumer sends no invisible duration (it asks for auto-renewal, which is not kept): this one. */
const DEFAULT_INVISIBLE_MS = 60_000;
const DEFAULT_POLL_MS = 20_000;
/** Settings are sent again this long after a client's QueryRoute (see telemetry). */
const SETTINGS_AGAIN_MS = 300;
const OK = { code: "OK", message: "OK" };

interface Address {
  host?: string;
  port?: number;
}

/** The check-back route for RocketMQ 5 producers: the transaction service calls it when no WebSocket producer of the group is there. */
export type CheckBack = (tx: TxContext) => boolean;

export function messagingService(ctx: ProcessorContext, endpoint: GrpcEndpoint, setCheckBack: (check: CheckBack) => void) {
  const { clients } = endpoint;
  const now = () => ctx.clock.now();

  /** Runs an RPC body; a thrown BrokerError (or any error) becomes its Status. */
  const unary = (body: (req: Record<string, any>, client: RocketClient | undefined, reply: (r: Record<string, unknown>) => void, call: grpc.ServerUnaryCall<Record<string, any>, unknown>) => void): Unary =>
    (call, callback) => {
      const reply = (r: Record<string, unknown>) => callback(null, { status: OK, ...r });
      try {
        const id = clientIdOf(call.metadata);
        body(call.request, id ? clients.touch(id) : undefined, reply, call);
      } catch (e) {
        callback(null, { status: statusOf(e) });
      }
    };

  // --- settings ---

  const settingsFor = (s: ClientSettings): Record<string, unknown> | undefined => {
    const common = { client_type: s.client_type, access_point: s.access_point, request_timeout: s.request_timeout, user_agent: s.user_agent };
    if (s.client_type === "PRODUCER") {
      return {
        ...common,
        // Without exponential_backoff the Node.js client's process crashes (inheritBackoff asserts).
        backoff_policy: { max_attempts: s.backoff_policy?.max_attempts || 3, exponential_backoff: { initial: fromMs(10), max: fromMs(1000), multiplier: 2 } },
        // ActorMQ topics take every message type, so the client need not check them.
        publishing: { topics: s.publishing?.topics ?? [], max_body_size: MAX_MESSAGE_SIZE, validate_message_type: false },
      };
    }
    const group = s.subscription?.group?.name;
    if (!group) return undefined;
    const g = ctx.pop.groups.get(group);
    return {
      ...common,
      backoff_policy: retryPolicyOf(g),
      subscription: {
        group: s.subscription!.group,
        subscriptions: s.subscription!.subscriptions ?? [],
        fifo: g.orderly,
        receive_batch_size: 32,
        // A push consumer names none: the broker's ceiling. Its shutdown waits for a receive in flight that long.
        long_polling_timeout: fromMs(Math.min(toMs(s.subscription!.long_polling_timeout as Duration | undefined) ?? Infinity, ctx.config.maxPollMs)),
      },
    };
  };

  const sendSettings = (client: RocketClient, stream?: TelemetryStream) => {
    if (!client.settings) return;
    const settings = settingsFor(client.settings);
    const command = settings ? { status: OK, settings } : { status: { code: "UNRECOGNIZED_CLIENT_TYPE", message: `client type ${client.settings.client_type} without a group is not served` } };
    for (const s of stream ? [stream] : client.streams) if (!s.cancelled && !s.destroyed) s.write(command);
  };

  // --- transaction check-back, for RocketMQ 5 producers (they have no group) ---

  setCheckBack((tx) => {
    if (tx.group !== GRPC_PRODUCER_GROUP) return false;
    const rec = ctx.store.readRecord(tx.halfOffset);
    if (!rec) return false;
    const m = decode(rec.message) as Record<string, unknown> & { props?: Record<string, string> };
    const topic = m.props?.[MessageProp.REAL_TOPIC];
    if (!topic) return false;
    const target = clients.producerOf(topic);
    if (!target) return false;
    const message = fromActorMQ(m, { topic, queueId: Number(m.props?.[MessageProp.REAL_QID] ?? 0), queueOffset: 0, storeTimestamp: rec.storeTimestamp, attempt: 1 }, ctx.config.brokerName);
    message.system_properties!.message_type = "TRANSACTION";
    target.stream.write({ recover_orphaned_transaction_command: { message, transaction_id: tx.id } });
    return true;
  });

  const routeOf = (topic: string, access: { scheme?: string; addresses?: Address[] } | undefined) => {
    const t = ctx.topics.forWrite(topic);
    // Broker endpoints must be reachable as given: this broker is where the client already is.
    const addresses = access?.addresses?.length ? access.addresses : [{ host: ctx.config.host, port: endpoint.port }];
    const brokerPb = { name: ctx.config.brokerName, id: 0, endpoints: { scheme: access?.scheme ?? "IPv4", addresses } };
    const permission = (t.perm & PERM_READ) && (t.perm & PERM_WRITE) ? "READ_WRITE" : t.perm & PERM_READ ? "READ" : t.perm & PERM_WRITE ? "WRITE" : "NONE";
    const queues = [];
    // The client's load balancers keep only queue 0 (per broker), and a receive naming it pops from all.
    for (let q = 0; q < t.queues; q++) {
      queues.push({ topic: { name: topic, resource_namespace: "" }, id: q, permission, broker: brokerPb, accept_message_types: ["NORMAL", "FIFO", "DELAY", "TRANSACTION"] });
    }
    return queues;
  };

  return {
    QueryRoute: unary((req, client, reply) => {
      const topic = resourceName(req.topic, "topic");
      const message_queues = routeOf(topic, req.endpoints);
      reply({ message_queues });
      // With two or more topics the Node.js client listens for Settings only after fetching every
      // route, so an answer sent at once can be lost and its startup would hang: send it again.
      if (client) ctx.clock.setTimeout(() => sendSettings(client), SETTINGS_AGAIN_MS);
    }),

    Heartbeat: unary((_req, _client, reply) => reply({})),

    Telemetry(call: grpc.ServerDuplexStream<Record<string, any>, unknown>) {
      const id = clientIdOf(call.metadata);
      if (!id) {
        call.write({ status: { code: "CLIENT_ID_REQUIRED", message: "the x-mq-client-id header is required" } });
        call.end();
        return;
      }
      const client = clients.touch(id);
      const stream = call as unknown as TelemetryStream;
      client.streams.add(stream);
      const close = () => client.streams.delete(stream);
      call.on("data", (cmd: Record<string, any>) => {
        client.lastSeen = now();
        if (cmd.settings) {
          client.settings = cmd.settings as ClientSettings;
          sendSettings(client, stream);
        }
        // thread_stack_trace, verify_message_result: answers to commands this broker never sends.
      });
      call.on("end", () => {
        close();
        call.end();
      });
      call.on("error", close);
      call.on("cancelled", close);
    },

    SendMessage: unary((req, _client, reply) => {
      const msgs = (req.messages ?? []) as V2Message[];
      if (msgs.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "SendMessage carries no message");
      const entries: Record<string, unknown>[] = new Array(msgs.length);
      const items: AppendItem[] = [];
      const at: number[] = [];
      msgs.forEach((m, i) => {
        const id = m.system_properties?.message_id ?? "";
        try {
          const tx = m.system_properties?.message_type === "TRANSACTION";
          const msg = toActorMQ(m, tx);
          let queueId: number | undefined;
          const group = m.system_properties?.message_group;
          // FIFO: a message group always goes to the same queue (the client names queue 0 for every message).
          if (group) queueId = hash(group) % ctx.topics.forWrite(msg.topic).queues;
          items.push(toAppendItem(ctx, encode(msg), queueId));
          at.push(i);
          entries[i] = { status: OK, message_id: id, transaction_id: tx ? id : "" };
        } catch (e) {
          entries[i] = { status: statusOf(e), message_id: id };
        }
      });
      ctx.appends.append(items, (results) => {
        results.forEach((r, k) => {
          const i = at[k];
          if (r instanceof BrokerError) entries[i] = { status: statusOf(r), message_id: entries[i].message_id };
          else {
            const item = items[k] as ScheduledItem;
            entries[i].offset = item.realTopic === undefined ? (r as AppendResult).queueOffset : -1;
            // A message for later can be recalled until it is due (RecallMessage).
            if (item.topic === TIMER_TOPIC) entries[i].recall_handle = recallHandleOf((r as AppendResult).commitLogOffset, item.tagsCode);
          }
        });
        const failed = entries.find((e) => (e.status as { code: string }).code !== "OK");
        reply({ status: failed ? failed.status : OK, entries });
      });
    }),

    EndTransaction: unary((req, _client, reply) => {
      const id = String(req.message_id ?? req.transaction_id ?? "");
      const resolution = req.resolution === "COMMIT" ? "COMMIT" : req.resolution === "ROLLBACK" ? "ROLLBACK" : undefined;
      if (!id) throw new BrokerError(ErrorCode.MISSING_FIELD, "EndTransaction needs message_id");
      if (!resolution) throw new BrokerError(ErrorCode.BAD_REQUEST, "EndTransaction: resolution must be COMMIT or ROLLBACK");
      ctx.transactions.end(GRPC_PRODUCER_GROUP, id, resolution, (err, state) => {
        if (err) return reply({ status: statusOf(err) });
        if (state === "NOT_IN_FLIGHT" || state === "DISCARDED") {
          return reply({ status: { code: "INVALID_TRANSACTION_ID", message: state === "DISCARDED" ? `transaction ${id} was discarded after its checks went unanswered` : `no transaction ${id} is in flight (it ended before, or never began)` } });
        }
        reply({});
      });
    }),

    QueryAssignment: unary((req, _client, reply) => {
      const topic = resourceName(req.topic, "topic");
      ctx.topics.forRead(topic);
      // One queue per broker: the consumer's receive there pops from every queue of the topic.
      reply({ assignments: [{ message_queue: routeOf(topic, req.endpoints)[0] }] });
    }),

    ReceiveMessage(call: grpc.ServerWritableStream<Record<string, any>, unknown>) {
      let alive = true;
      call.on("cancelled", () => (alive = false));
      const finish = (status: { code: string; message: string }) => {
        if (!alive) return;
        call.write({ status });
        call.end();
      };
      try {
        const req = call.request;
        const group = resourceName(req.group, "group");
        const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
        const filter = req.filter_expression ?? {};
        if (filter.type === "SQL") return finish({ code: "ILLEGAL_FILTER_EXPRESSION", message: "SQL92 filters are not supported; use a tag expression" });
        ctx.pop.receive({
          group,
          topic,
          maxCount: req.batch_size || 32,
          invisibleMs: toMs(req.invisible_duration) ?? DEFAULT_INVISIBLE_MS,
          expression: filter.expression || "*",
          pollMs: toMs(req.long_polling_timeout) ?? DEFAULT_POLL_MS,
          alive: () => alive,
        }, (err, msgs) => {
          if (err) return finish(statusOf(err));
          if (msgs.length === 0) return finish({ code: "MESSAGE_NOT_FOUND", message: "no new message" });
          if (!alive) return;
          call.write({ status: OK });
          for (const p of msgs) call.write({ message: fromPopped(p, decode(p.message) as Record<string, unknown>, ctx.config.brokerName) });
          call.write({ delivery_timestamp: fromMs(now()) });
          call.end();
        });
      } catch (e) {
        finish(statusOf(e));
      }
    },

    AckMessage: unary((req, _client, reply) => {
      const group = resourceName(req.group, "group");
      const entries = ((req.entries ?? []) as { message_id?: string; receipt_handle?: string }[]).map((e) => {
        try {
          ctx.pop.ack(group, String(e.receipt_handle ?? ""));
          return { message_id: e.message_id, receipt_handle: e.receipt_handle, status: OK };
        } catch (err) {
          return { message_id: e.message_id, receipt_handle: e.receipt_handle, status: statusOf(err) };
        }
      });
      const failed = entries.find((e) => e.status.code !== "OK");
      reply({ status: failed ? failed.status : OK, entries });
    }),

    ChangeInvisibleDuration: unary((req, _client, reply) => {
      const group = resourceName(req.group, "group");
      // A nack may ask for 0 ms (the Node.js client's backoff has a unit bug): accepted.
      const ms = toMs(req.invisible_duration) ?? 0;
      ctx.pop.changeInvisible(group, String(req.receipt_handle ?? ""), ms, (err, handle) =>
        err ? reply({ status: statusOf(err) }) : reply({ receipt_handle: handle }));
    }),

    ForwardMessageToDeadLetterQueue: unary((req, _client, reply) => {
      const group = resourceName(req.group, "group");
      ctx.pop.forwardToDeadLetter(group, String(req.receipt_handle ?? ""), (err) => reply(err ? { status: statusOf(err) } : {}));
    }),

    NotifyClientTermination: unary((_req, client, reply) => {
      if (client) clients.remove(client.id);
      reply({});
    }),

    RecallMessage: unary((req, _client, reply) => {
      const topic = resourceName(req.topic, "topic");
      const handle = parseRecallHandle(String(req.recall_handle ?? ""));
      if (!handle) throw new BrokerError(ErrorCode.BAD_REQUEST, "not a recall handle");
      const rec = ctx.store.readRecord(handle.commitLogOffset);
      const m = rec ? decode(rec.message) as { id?: string; props?: Record<string, string> } : undefined;
      if (!m || m.props?.[MessageProp.REAL_TOPIC] !== topic) throw new BrokerError(ErrorCode.BAD_REQUEST, `the recall handle names no message for topic "${topic}"`);
      if (ctx.timer.cancelAt(handle.commitLogOffset, handle.at) === "gone") {
        return reply({ status: { code: "NOT_FOUND", message: "the message was delivered already, or recalled" }, message_id: m.id });
      }
      reply({ message_id: m.id });
    }),

    GetOffset: unary((req, _client, reply) => {
      const group = resourceName(req.group, "group");
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      ctx.offsets.committed(group, topic, Number(req.message_queue?.id ?? 0), (offset) => {
        if (offset < 0) return reply({ status: { code: "OFFSET_NOT_FOUND", message: `group "${group}" has no offset in this queue` } });
        reply({ offset });
      });
    }),

    QueryOffset: unary((req, _client, reply) => {
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      const queueId = Number(req.message_queue?.id ?? 0);
      ctx.topics.forRead(topic, queueId);
      const policy = req.query_offset_policy ?? "BEGINNING";
      const offset = policy === "END" ? ctx.store.maxOffset(topic, queueId)
        : policy === "TIMESTAMP" ? ctx.store.offsetForTimestamp(topic, queueId, toMs(req.timestamp) ?? 0)
        : ctx.store.minOffset(topic, queueId);
      reply({ offset });
    }),

    UpdateOffset: unary((req, _client, reply) => {
      const group = resourceName(req.group, "group");
      const topic = resourceName(req.message_queue?.topic, "message_queue.topic");
      const queueId = Number(req.message_queue?.id ?? 0);
      ctx.topics.forRead(topic, queueId);
      ctx.offsets.commit(group, topic, queueId, Number(req.offset ?? 0), (err) => reply(err ? { status: statusOf(err) } : {}));
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

export function retryPolicyOf(g: GroupSettings): Record<string, unknown> {
  const max_attempts = g.maxReconsumeTimes + 1;
  const p = g.retryPolicy;
  return p.type === "exponential"
    ? { max_attempts, exponential_backoff: { initial: fromMs(p.initialMs), max: fromMs(p.maxMs), multiplier: p.multiplier } }
    : { max_attempts, customized_backoff: { next: p.delaysMs.map(fromMs) } };
}

function clientIdOf(metadata: grpc.Metadata): string | undefined {
  const v = metadata.get("x-mq-client-id")[0];
  return typeof v === "string" && v !== "" ? v.slice(0, 256) : undefined;
}

function resourceName(r: V2Resource | undefined, what: string): string {
  if (!r?.name) throw new BrokerError(ErrorCode.MISSING_FIELD, `${what} is missing`);
  return r.name;
}

/** FNV-1a: a message group's queue. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function recallHandleOf(commitLogOffset: number, at: number): string {
  return `1_${commitLogOffset.toString(36)}_${at.toString(36)}`;
}

function parseRecallHandle(h: string): { commitLogOffset: number; at: number } | null {
  const m = /^1_([0-9a-z]{1,11})_([0-9a-z]{1,11})$/.exec(h);
  if (!m) return null;
  const commitLogOffset = parseInt(m[1], 36);
  const at = parseInt(m[2], 36);
  return Number.isSafeInteger(commitLogOffset) && Number.isSafeInteger(at) ? { commitLogOffset, at } : null;
}
