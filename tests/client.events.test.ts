// A client that speaks up: handler failures and background failures (pulls, heartbeats,
// commits, connections) reach "error" and "connection" events and the logger, once per outage
// in the log; reconnect waits back off with jitter; unknown options are refused by name.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type ClientErrorEvent, type ConnectionEvent, type Logger, Producer, PullConsumer, PushConsumer, TransactionProducer } from "../client/mod.ts";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import { startBroker, tempDir, until } from "./helpers/broker.ts";
import { startEchoServer } from "./helpers/client-echo-server.ts";
import { rejection } from "./helpers/rejection.ts";

/** A logger that keeps its lines, by level. */
function recordingLogger() {
  const lines: { level: string; text: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, text: message });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines, text: (level: string) => lines.filter((l) => l.level === level).map((l) => l.text) };
}

test("a handler that throws: an error event with the error and the message id, a log line, and the message retried", async () => {
  const env = await startBroker();
  const producer = new Producer({ endpoints: env.url });
  const log = recordingLogger();
  let calls = 0;
  const consumer = new PushConsumer({
    endpoints: env.url,
    group: "cg-throws",
    subscriptions: { Throws: "*" },
    logger: log.logger,
    handler: (m) => {
      if (calls++ === 0) throw new TypeError(`cannot read properties of undefined (reading "total") in ${m.id}`);
      return "SUCCESS";
    },
  });
  const events: ClientErrorEvent[] = [];
  consumer.on("error", (e) => events.push(e));
  try {
    await Promise.all([producer.start(), consumer.start()]);
    const { msgId } = await producer.send({ topic: "Throws", body: "order" });
    await until("the failure reported", () => events.length > 0);
    const e = events[0];
    assert.is(e.kind, "handler");
    if (e.kind !== "handler") return;
    assert.ok(e.error instanceof TypeError);
    assert.is(e.messageId, msgId);
    assert.is(e.message.id, msgId);
    assert.is(e.message.topic, "Throws");
    const line = log.text("error").find((l) => l.includes(msgId));
    assert.ok(line?.includes("TypeError") || line?.includes("cannot read properties"), `logged: ${line}`);
    assert.ok(line?.startsWith("[actormq] PushConsumer cg-throws: "), line);
    // Sent back: it returns on the retry topic (after level 3's 10 s); the counters say so now.
    await until("sent back", () => consumer.stats().sentBack === 1);
  } finally {
    await Promise.all([consumer.shutdown(), producer.shutdown()]);
    await env.stop();
  }
});

test("a handler that answers something else than SUCCESS or RECONSUME_LATER (a typo, nothing) is reported the same way", async () => {
  const env = await startBroker();
  const producer = new Producer({ endpoints: env.url });
  const answers: unknown[] = ["SUCESS", undefined];
  const consumer = new PushConsumer({
    endpoints: env.url,
    group: "cg-typo",
    subscriptions: { Typo: "*" },
    logLevel: "silent",
    handler: async () => (answers.length ? answers.shift() : "SUCCESS") as never,
  });
  const events: ClientErrorEvent[] = [];
  consumer.on("error", (e) => events.push(e));
  try {
    await Promise.all([producer.start(), consumer.start()]);
    await producer.send({ topic: "Typo", body: "a" });
    await producer.send({ topic: "Typo", body: "b" });
    await until("both reported", () => events.length === 2);
    const messages = events.map((e) => String((e.error as Error).message));
    assert.ok(messages.some((m) => m.includes(`returned "SUCESS"`)), messages.join("; "));
    assert.ok(messages.some((m) => m.includes("returned nothing")), messages.join("; "));
  } finally {
    await Promise.all([consumer.shutdown(), producer.shutdown()]);
    await env.stop();
  }
});

test("a broker that goes away and comes back: disconnected, reconnecting (backing off), failed pulls, heartbeats and commits as events; in the log once, then that it works again", async () => {
  const dir = tempDir();
  let env = await startBroker({ dataDir: dir.path });
  const port = env.broker.port;
  const log = recordingLogger();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const consumer = new PushConsumer({
    endpoints: env.url,
    group: "cg-outage",
    subscriptions: { Outage: "*" },
    logger: log.logger,
    logLevel: "debug",
    heartbeatIntervalMs: 100,
    persistOffsetIntervalMs: 50,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400, jitter: 0.5 },
    // The first message finishes while the broker is down: its commit has nowhere to go.
    handler: async (m) => (m.body === "held" ? (await held, "SUCCESS") : "SUCCESS"),
  });
  const errors: ClientErrorEvent[] = [];
  const states: ConnectionEvent[] = [];
  consumer.on("error", (e) => errors.push(e));
  consumer.on("connection", (e) => states.push(e));
  const producer = new Producer({ endpoints: env.url, logLevel: "silent" });
  try {
    await Promise.all([producer.start(), consumer.start()]);
    await producer.send({ topic: "Outage", body: "held", queueId: 0 });
    await until("the message in the handler", () => consumer.stats().inFlight === 1);
    await env.broker.shutdown();
    release();
    await until("pull, heartbeat and commit failures", () => ["pull", "heartbeat", "commit"].every((k) => errors.some((e) => e.kind === k)), 10_000);
    await until("a few reconnect attempts", () => states.filter((s) => s.state === "reconnecting").length >= 4, 10_000);
    assert.ok(states.some((s) => s.state === "disconnected"), "disconnected");
    for (const s of states.filter((s) => s.state === "reconnecting")) {
      const nominal = Math.min(400, 50 * 2 ** (s.attempt - 1));
      assert.ok(s.delayMs! <= nominal && s.delayMs! >= nominal / 2 - 1, `attempt ${s.attempt} waits ${s.delayMs} ms of ${nominal}`);
    }
    const lost = log.text("warn").filter((l) => l.includes(`connection to ${env.url} lost`) || l.includes(`cannot connect to ${env.url}`));
    assert.is(lost.length, 1, `one warning for the outage, not one per attempt: ${lost.join(" | ")}`);
    assert.ok(log.text("debug").some((l) => l.includes(`cannot connect to ${env.url}`)), "the later attempts at debug level");

    env = await startBroker({ dataDir: dir.path, port });
    await until("connected again", () => states.some((s) => s.state === "connected" && s.attempt > 1), 10_000);
    await until("the log says so", () => log.text("warn").some((l) => l.includes(`connected to ${env.url} again`)), 10_000);
  } finally {
    await Promise.all([consumer.shutdown(), producer.shutdown()]);
    await env.stop();
    dir.remove();
  }
});

test("reconnect waits are spread by jitter: each one at most the nominal backoff, and not all the same", async () => {
  const states: ConnectionEvent[] = [];
  // A port that was just closed: every attempt fails at once.
  const gone = await startEchoServer();
  await gone.close();
  const t = new Transport(gone.url, { WebSocket: resolveWebSocket(), minBackoffMs: 10, maxBackoffMs: 20, jitter: 1, onState: (e) => states.push(e) });
  for (let i = 0; i < 8; i++) await rejection(t.connect());
  const delays = states.map((s) => s.delayMs!);
  assert.ok(delays.every((d, i) => d >= 0 && d <= Math.min(20, 10 * 2 ** i)), delays.join(", "));
  assert.ok(new Set(delays.slice(1)).size > 1, `jittered: ${delays.join(", ")}`);
  await t.close();
});

test("unknown options are refused by name, with the nearest known one", () => {
  const endpoints = "127.0.0.1:1";
  const refused = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: Error) => pattern.test(e.message) && (e as { code?: string }).code === "BAD_REQUEST");
  refused(() => new Producer({ endpoints, sendTimeout: 10 } as never), /Producer: unknown option "sendTimeout" \(did you mean "sendTimeoutMs"\?\)/);
  refused(() => new Producer({ endpoints, requestTimeoutMs: 10 } as never), /unknown option "requestTimeoutMs"/);
  refused(() => new PullConsumer({ endpoints, group: "g", grup: "x" } as never), /PullConsumer: unknown option "grup"/);
  refused(() => new Admin({ endpoints, timeout: 1 } as never), /Admin: unknown option "timeout"/);
  refused(() => new TransactionProducer({ endpoints, group: "g", check: () => "COMMIT", chek: 1 } as never), /TransactionProducer: unknown option "chek" \(did you mean "check"\?\)/);
  refused(() => new PushConsumer({ endpoints, group: "g", subscriptions: { T: "*" }, consumefrom: "first" } as never), /unknown option "consumefrom" \(did you mean "consumeFrom"\?\)/);
  refused(() => new Producer({ endpoints, reconnect: { initialDelay: 5 } } as never), /reconnect: unknown option "initialDelay"/);
  refused(() => new Producer({ endpoints, logLevel: "verbose" } as never), /logLevel must be one of debug, info, warn, error, silent/);
  assert.throws(() => new Producer({ endpoints, logger: { info() {} } } as never), /logger must have debug, info, warn and error/);
  refused(() => new PushConsumer({ endpoints, group: "g", subscriptions: { T: "a | b" }, handler: () => "SUCCESS" }), /bad subscription expression "a \| b"/);
  refused(() => new PushConsumer({ endpoints, group: "g", subscriptions: { T: "TagA TagB" }, handler: () => "SUCCESS" }), /bad subscription expression/);
  // A well-formed one still works, spaces around || included.
  new PushConsumer({ endpoints, group: "g", subscriptions: { T: "TagA || TagB" }, handler: () => "SUCCESS" });
});

test.run();
