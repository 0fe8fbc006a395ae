// Delivery at any time, measured on a broker child process: how fast timed messages are
// scheduled, what a pending one costs in broker memory, and how late each is delivered.
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import type { BrokerHandle } from "./broker-workloads.ts";
import { percentile } from "./stats.ts";

const BODY = new Uint8Array(1024).fill(42);

async function createTopic(url: string, topic: string, queues: number) {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic(topic, queues);
  await admin.shutdown();
}

/**
 * Sends `total` 1 KiB messages, 1,000 in flight, each due at a random time spread over
 * `spreadMs` starting a minute from now (so all stay pending), or, with `spreadMs` null, plain
 * messages: the baseline, since every stored message costs the broker some memory whether timed
 * or not (its IndexFile entries, and the CommitLog's in-memory tail until it fills). Returns the
 * send rate, the broker's RSS growth per message, read after the last ack and a settle, and the
 * broker's CPU time per message while sending (what its path costs, whatever else the shared
 * machine runs).
 */
export async function storeMany(b: BrokerHandle, total: number, spreadMs: number | null) {
  await createTopic(b.url, "TimerMany", 8);
  const producer = new Producer({ endpoints: b.url, group: "bench-timer" });
  await producer.start();
  const due = () => (spreadMs === null ? undefined : Math.round(base + Math.random() * spreadMs));
  let base = Date.now() + 60_000;
  // Warm up connections, routes and JIT before the first RSS reading.
  for (let i = 0; i < 1000; i++) await producer.send({ topic: "TimerMany", body: BODY, deliverAt: due() });
  await new Promise((r) => setTimeout(r, 1000));
  const rssBefore = b.rssBytes();
  const cpuBefore = b.cpuMs();
  base = Date.now() + 60_000;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      await producer.send({ topic: "TimerMany", body: BODY, deliverAt: due() });
    }
  };
  await Promise.all(Array.from({ length: 1000 }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpuMicros = (b.cpuMs() - cpuBefore) * 1000;
  await producer.shutdown();
  await new Promise((r) => setTimeout(r, 2000));
  return { rate: total / seconds, bytesPerMessage: (b.rssBytes() - rssBefore) / total, cpuMicrosPerMessage: cpuMicros / total };
}

/**
 * Sends `total` messages due at random moments of the next `withinMs` and long-polls every
 * queue; lateness = receive time - deliverAt on this machine's clock (the broker's is the same).
 * Throws when any is delivered early or missing.
 */
export async function timerLateness(url: string, total: number, withinMs: number) {
  const topic = "TimerLate";
  const queues = 8;
  await createTopic(url, topic, queues);
  const producer = new Producer({ endpoints: url, group: "bench-timer" });
  const consumer = new PullConsumer({ endpoints: url, group: "bench-timer-late" });
  await Promise.all([producer.start(), consumer.start()]);
  const lateness: number[] = [];
  // Due times start 3 s out: sending 20,000 (1,000 in flight) takes about a second, and a
  // message that reached the broker after its time would measure the send, not the timer.
  const start = Date.now() + 3000;
  let next = 0;
  await Promise.all(Array.from({ length: 1000 }, async () => {
    while (next < total) {
      next++;
      const at = Math.round(start + Math.random() * withinMs);
      await producer.send({ topic, body: BODY, deliverAt: at, props: { at: String(at) } });
    }
  }));
  if (Date.now() > start) console.error(`  (the sends ended ${Date.now() - start} ms into the due window)`);
  const deadline = Date.now() + withinMs + 30_000;
  let early = 0;
  await Promise.all(Array.from({ length: queues }, async (_, queueId) => {
    let offset = 0;
    while (lateness.length < total && Date.now() < deadline) {
      const r = await consumer.pull({ topic, queueId, offset, maxCount: 1000, pollMs: 200 });
      const now = Date.now();
      for (const m of r.msgs) {
        const late = now - Number(m.props!.at);
        if (late < 0) early++;
        lateness.push(late);
      }
      offset = r.nextOffset;
    }
  }));
  await Promise.all([producer.shutdown(), consumer.shutdown()]);
  if (lateness.length !== total || early > 0) throw new Error(`timer lateness: ${lateness.length} of ${total} delivered, ${early} early`);
  const sorted = lateness.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}
