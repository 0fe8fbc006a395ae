// The Telemetry stream and what a client's settings make of it. A client's first command on
// the stream is its Settings (what it is: a producer and its topics, a push or simple consumer
// and its group); the broker answers on the same stream with the settings the client must use,
// and registers the client as a WebSocket client's heartbeat would (its producer groups, or its
// consumer group with its subscriptions), through the heartbeat op. The stream is also how the
// broker reaches the client later (transaction check-back: GrpcSession.push).
import type * as grpc from "@grpc/grpc-js";
import { MAX_MESSAGE_SIZE } from "../../../protocol/mod.ts";
import type { GroupSettings, ProcessorContext } from "../../context.ts";
import { type Duration, fromMs, statusOf, toMs } from "./mapping.ts";
import type { ClientSettings, GrpcSession, TelemetryStream } from "./grpc-session.ts";

const OK = { code: "OK", message: "OK" };

/** What the broker answers a client's settings with; undefined for a client it does not serve. */
export function settingsFor(ctx: ProcessorContext, s: ClientSettings): Record<string, unknown> | undefined {
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
}

export function retryPolicyOf(g: GroupSettings): Record<string, unknown> {
  const max_attempts = g.maxReconsumeTimes + 1;
  const p = g.retryPolicy;
  return p.type === "exponential"
    ? { max_attempts, exponential_backoff: { initial: fromMs(p.initialMs), max: fromMs(p.maxMs), multiplier: p.multiplier } }
    : { max_attempts, customized_backoff: { next: p.delaysMs.map(fromMs) } };
}

/**
 * The heartbeat op a client's settings amount to. A producer's groups are its topics: RocketMQ 5
 * producers have no group, and RocketMQ's proxy checks a transaction back with a producer of its
 * topic the same way. A consumer is a POP member of its group (it takes no queues of its own).
 */
export function heartbeatArgs(clientId: string, s: ClientSettings): Record<string, unknown> | undefined {
  if (s.client_type === "PRODUCER") {
    const topics = (s.publishing?.topics ?? []).map((t) => t.name).filter((t): t is string => !!t);
    return { clientId, producerGroups: [...new Set(topics)] };
  }
  const group = s.subscription?.group?.name;
  if (!group) return undefined;
  const subscriptions: Record<string, string> = {};
  for (const e of s.subscription?.subscriptions ?? []) {
    // SQL92 filters are not supported (a receive with one is refused): such a subscription is left out.
    if (e.topic?.name && (e.expression?.type ?? "TAG") === "TAG") subscriptions[e.topic.name] = e.expression?.expression || "*";
  }
  return { clientId, consumerGroups: [{ group, model: "pop", subscriptions }] };
}

/** Sends the client its settings (on one stream, or all it has open), or the status it is refused with. */
export function sendSettings(ctx: ProcessorContext, session: GrpcSession, only?: TelemetryStream, refused?: unknown): void {
  if (!session.settings) return;
  const settings = refused === undefined ? settingsFor(ctx, session.settings) : undefined;
  const status = refused !== undefined
    ? statusOf(refused)
    : settings ? OK : { code: "UNRECOGNIZED_CLIENT_TYPE", message: `client type ${session.settings.client_type} without a group is not served` };
  session.write(settings ? { status, settings } : { status }, only);
}

/** Registers the client as its settings say (the heartbeat op); `done` gets the op's error, if any. */
export function beat(ctx: ProcessorContext, session: GrpcSession, done: (err: unknown) => void): void {
  const args = session.settings && heartbeatArgs(session.clientId!, session.settings);
  if (!args) return done(undefined);
  session.request(ctx, "heartbeat", args, (err) => done(err));
}

/** The Telemetry RPC: a bidirectional stream per client and endpoint. */
export function telemetry(ctx: ProcessorContext, sessionOf: (call: grpc.ServerDuplexStream<unknown, unknown>) => Promise<GrpcSession>) {
  return (call: grpc.ServerDuplexStream<Record<string, any>, unknown>) => {
    // Commands that arrive while the caller is being checked (its signature) wait for it.
    const early: Record<string, any>[] = [];
    const keep = (cmd: Record<string, any>) => early.push(cmd);
    call.on("data", keep);
    sessionOf(call).then((session) => {
      call.off("data", keep);
      const stream = call as unknown as TelemetryStream;
      session.streams.add(stream);
      const close = () => session.streams.delete(stream);
      const command = (cmd: Record<string, any>) => {
        session.lastSeen = ctx.clock.now();
        if (!cmd.settings) return; // thread_stack_trace, verify_message_result: answers to commands this broker never sends
        session.settings = cmd.settings as ClientSettings;
        beat(ctx, session, (err) => sendSettings(ctx, session, stream, err));
      };
      call.on("data", command);
      call.on("end", () => {
        close();
        call.end();
      });
      call.on("error", close);
      call.on("cancelled", close);
      for (const cmd of early) command(cmd);
    }, (e) => {
      call.off("data", keep);
      call.write({ status: statusOf(e) });
      call.end();
    });
  };
}
