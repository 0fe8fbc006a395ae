// GET /metrics against a real broker: strict Prometheus text (format 0.0.4), and counters that
// move by exactly the number of messages sent and pulled.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { escapeLabelValue } from "../runtime/services/metrics.ts";
import { startBroker } from "./helpers/broker.ts";

const env = await startBroker({ flush: "sync", segmentSize: 8 * 1024 * 1024 });
const base = `http://127.0.0.1:${env.broker.port}`;
const producer = new Producer({ endpoints: env.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: env.url, group: "mg" });
const admin = new Admin({ endpoints: env.url });
await Promise.all([producer.start(), consumer.start(), admin.start()]);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

/** A strict parser of the text format: throws on anything a Prometheus server would reject. */
function parse(text: string): Exposition {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const closed = new Set<string>();
  let current = "";
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) throw new Error(`bad comment line: ${line}`);
      const [, kind, name, rest] = m;
      if (kind === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type: ${line}`);
        if (types.has(name)) throw new Error(`second TYPE for ${name}`);
        types.set(name, rest);
      } else {
        if (helps.has(name)) throw new Error(`second HELP for ${name}`);
        helps.add(name);
      }
      if (name !== current) {
        if (closed.has(name)) throw new Error(`${name} is not one group`);
        if (current) closed.add(current);
        current = name;
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
    const [, name, labelText = "", valueText] = m;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const type = types.get(family);
    if (!type) throw new Error(`sample ${name} has no TYPE`);
    if (family !== name && type !== "histogram" && type !== "summary") throw new Error(`${name}: suffix on a ${type}`);
    if (family !== current) throw new Error(`sample ${name} outside its family's group`);
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`bad labels in ${line}`);
      if (l[1] in labels) throw new Error(`label ${l[1]} twice in ${line}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : valueText === "NaN" ? NaN : Number(valueText);
    if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+|Inf|NaN)$/.test(valueText) || (Number.isNaN(value) && valueText !== "NaN")) {
      throw new Error(`bad value in ${line}`);
    }
    samples.push({ name, labels, value });
  }
  checkHistograms(types, samples);
  return { types, samples };
}

/** Buckets cumulative and ending in +Inf equal to _count, for each label set. */
function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((s) => s.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `${family}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    assert.ok(series.size > 0, `${family} has buckets`);
    for (const [key, buckets] of series) {
      let prevLe = -Infinity;
      let prev = 0;
      for (const b of buckets) {
        const le = b.labels.le === "+Inf" ? Infinity : Number(b.labels.le);
        assert.ok(le > prevLe, `${family}: le ascending`);
        assert.ok(b.value >= prev, `${family}: buckets cumulative`);
        prevLe = le;
        prev = b.value;
      }
      assert.is(buckets.at(-1)!.labels.le, "+Inf", `${family}: last bucket is +Inf`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      const sum = samples.find((s) => s.name === `${family}_sum` && JSON.stringify(s.labels) === key);
      assert.ok(count && sum, `${family}${key}: _count and _sum`);
      assert.is(count!.value, prev, `${family}: +Inf bucket equals _count`);
    }
  }
}

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const s = e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return s ? s.value : 0;
}

function sum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

test("the parser rejects what Prometheus rejects", () => {
  assert.throws(() => parse("x 1\n"), /no TYPE/);
  assert.throws(() => parse('# TYPE x gauge\nx{a="1} 1\n'), /bad labels/);
  assert.throws(() => parse("# TYPE x gauge\nx one\n"), /bad value/);
  assert.throws(() => parse("# TYPE x gauge\n# TYPE y gauge\nx 1\n"), /outside/);
  assert.equal(parse('# TYPE x gauge\nx{a="q\\"\\\\\\n"} 1\n').samples[0].labels, { a: 'q"\\\n' });
});

test("label values are escaped as the format says", () => {
  assert.is(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

test("/metrics parses, and every family has HELP and TYPE", async () => {
  const e = await scrape();
  for (const name of [
    "actormq_messages_in_total", "actormq_bytes_in_total", "actormq_messages_out_total", "actormq_bytes_out_total",
    "actormq_send_latency_seconds", "actormq_flush_latency_seconds", "actormq_consumer_lag", "actormq_delayed_messages_pending_total",
    "actormq_connections", "actormq_actors",
  ]) assert.ok(e.types.has(name), `${name} is exposed`);
  assert.ok(value(e, "actormq_connections") >= 3, "the three clients are connected");
  assert.is(value(e, "actormq_actors", { kind: "broker" }), 1);
  assert.is(value(e, "actormq_actors", { kind: "delay" }), 18);
});

test("in/out counters move by exactly the messages sent and pulled", async () => {
  await admin.createTopic("Metered", 2);
  const before = await scrape();
  assert.is(value(before, "actormq_messages_in_total", { topic: "Metered" }), 0);
  const latencyBefore = sum(before, "actormq_send_latency_seconds_count");
  const flushesBefore = value(before, "actormq_flush_latency_seconds_count");

  const N = 37;
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const body = `message ${i} ${"x".repeat(i)}`;
    await producer.send({ topic: "Metered", body, queueId: i % 2 });
  }
  const afterSend = await scrape();
  assert.is(value(afterSend, "actormq_messages_in_total", { topic: "Metered" }), N);
  assert.is(value(afterSend, "actormq_messages_out_total", { topic: "Metered" }), 0);
  bytes = value(afterSend, "actormq_bytes_in_total", { topic: "Metered" });
  assert.ok(bytes > N * 20, "bytes in counts the messages");
  assert.is(sum(afterSend, "actormq_send_latency_seconds_count") - latencyBefore, N, "one latency per send frame (sent one at a time)");
  assert.ok(value(afterSend, "actormq_flush_latency_seconds_count") > flushesBefore, "sync flush fsyncs are timed");

  let pulled = 0;
  for (let q = 0; q < 2; q++) {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic: "Metered", queueId: q, offset, maxCount: 5 });
      if (r.status !== "FOUND") break;
      pulled += r.msgs.length;
      offset = r.nextOffset;
    }
  }
  assert.is(pulled, N);
  const afterPull = await scrape();
  assert.is(value(afterPull, "actormq_messages_in_total", { topic: "Metered" }), N);
  assert.is(value(afterPull, "actormq_messages_out_total", { topic: "Metered" }), N);
  assert.is(value(afterPull, "actormq_bytes_out_total", { topic: "Metered" }), bytes, "the same bytes went out as came in");
});

test("consumer lag per group and queue, and pending delayed messages", async () => {
  await admin.createTopic("Lagging", 2);
  for (let i = 0; i < 10; i++) await producer.send({ topic: "Lagging", body: `m${i}`, queueId: i % 2 });
  await consumer.commitOffset({ topic: "Lagging", queueId: 0, offset: 2 });
  await consumer.commitOffset({ topic: "Lagging", queueId: 1, offset: 5 });
  await producer.send({ topic: "Lagging", body: "later", delayLevel: 18 });
  await producer.send({ topic: "Lagging", body: "later too", delayLevel: 18 });
  const e = await scrape();
  assert.is(value(e, "actormq_consumer_lag", { group: "mg", topic: "Lagging", queue: "0" }), 3);
  assert.is(value(e, "actormq_consumer_lag", { group: "mg", topic: "Lagging", queue: "1" }), 0);
  assert.is(value(e, "actormq_consumer_offset", { group: "mg", topic: "Lagging", queue: "0" }), 2);
  assert.is(value(e, "actormq_delayed_messages_pending", { level: "18" }), 2);
  assert.is(value(e, "actormq_delayed_messages_pending_total"), 2);
  assert.ok(value(e, "actormq_actors", { kind: "group" }) >= 1);
});

test.after(async () => {
  await Promise.all([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
  await env.stop();
});

test.run();
