// Consumer-group workloads: four PushConsumers in one group on an 8-queue topic.
import { Admin, Producer, PushConsumer } from "../client/mod.ts";
import { produce } from "./broker-workloads.ts";
import { percentile } from "./stats.ts";

const BODY = new Uint8Array(1024).fill(7);

async function members(url: string, group: string, topic: string, handler: (m: { props?: Record<string, string> }) => void) {
  const cs = Array.from({ length: 4 }, () =>
    new PushConsumer({ endpoints: url, group, subscriptions: { [topic]: "*" }, consumeFrom: "first", handler: (m) => (handler(m), "SUCCESS") }));
  await Promise.all(cs.map((c) => c.start()));
  return cs;
}

/** Fills an 8-queue topic with `total` messages, then 4 members drain it: messages/s of the drain. */
export async function groupDrain(url: string, total: number): Promise<{ fill: number; drain: number }> {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic("GroupDrain", 8);
  await admin.shutdown();
  const fill = await produce(url, "GroupDrain", total, 1000);
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const started = performance.now();
  const cs = await members(url, "drainers", "GroupDrain", () => {
    if (++got === total) done();
  });
  await finished;
  const drain = total / ((performance.now() - started) / 1000);
  await Promise.all(cs.map((c) => c.shutdown()));
  return { fill, drain };
}

/** End-to-end latency through a 4-member group at a steady rate, after a 2 s warm-up. */
export async function groupLatency(url: string, rate: number, seconds: number) {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic("GroupLatency", 8);
  await admin.shutdown();
  const samples: number[] = [];
  let measureFrom = Infinity;
  const cs = await members(url, "latency", "GroupLatency", (m) => {
    const sentAt = Number(m.props!.sentAt);
    if (sentAt >= measureFrom) samples.push(performance.now() - sentAt);
  });
  const producer = new Producer({ endpoints: url, group: "bench" });
  await producer.start();
  const warmup = rate * 2;
  const total = warmup + rate * seconds;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < Math.min(due, total)) {
      if (sent === warmup) measureFrom = performance.now();
      producer.send({ topic: "GroupLatency", body: BODY, props: { sentAt: String(performance.now()) } });
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 5000;
  while (samples.length < total - warmup && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await Promise.all([producer.shutdown(), ...cs.map((c) => c.shutdown())]);
  const sorted = samples.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), received: samples.length, sent: total - warmup };
}
