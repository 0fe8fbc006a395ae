// The inspector's cost to a busy broker: produce throughput while an inspect subscriber does
// what the page does (subscribe, decode every frame, apply it to the page's model: actor tree,
// event log, rates, lag), as a ratio to the same workload with nobody inspecting. The
// subscriber is a process of its own, as a browser would be: in the producer's process its
// work would delay the producer, not the broker. This machine
// is shared and noisy, so both sides run on one broker process and one producer, in
// alternating segments in ABBA order (without, with, with, without, ...: neither side always
// goes first, when the JIT is least warm): a burst of load from elsewhere hits both sides alike. The ratio is the median segment rate with over without.
// The broker's CPU time per message (from /proc) is reported too: it moves far less with the
// machine's load than throughput does.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Admin, Producer } from "../client/mod.ts";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import { Model } from "../inspector/model.ts";
import { startBrokerProcess } from "./broker-workloads.ts";
import { median } from "./stats.ts";

export interface InspectorRun {
  /** Median segment rates, msg/s. */
  without: number;
  with: number;
  /** Broker CPU time (user + system) per message, µs. */
  cpuWithout: number;
  cpuWith: number;
  /** Frames the subscriber received, and events the broker processed and sampled for it. */
  frames: number;
  seen: number;
  sampled: number;
}

const BODY = new Uint8Array(1024).fill(42);

export async function inspectorOverhead(root: string, total: number, segments = 10, inFlight = 1000): Promise<InspectorRun> {
  const dir = mkdtempSync(join(root, "broker-inspect-"));
  const b = await startBrokerProcess(["--data-dir", dir]);
  const admin = new Admin({ endpoints: b.url });
  await admin.start();
  await admin.createTopic("Bench", 4);
  await admin.shutdown();
  const subscriber = await startSubscriber(b.url);
  const producer = new Producer({ endpoints: b.url, group: "bench" });
  await producer.start();
  await send(producer, Math.max(total / segments, 5000), inFlight); // warm-up: JIT, routes
  const rates: { with: number[]; without: number[] } = { with: [], without: [] };
  const cpu = { with: 0, without: 0 };
  for (let s = 0; s < segments; s++) {
    const inspected = s % 4 === 1 || s % 4 === 2;
    if (inspected) await subscriber.ask({ cmd: "subscribe" });
    const started = performance.now();
    const cpuBefore = b.cpuMs();
    await send(producer, total / segments, inFlight);
    cpu[inspected ? "with" : "without"] += b.cpuMs() - cpuBefore;
    const rate = total / segments / ((performance.now() - started) / 1000);
    if (inspected) await subscriber.ask({ cmd: "stop" });
    (inspected ? rates.with : rates.without).push(rate);
  }
  await producer.shutdown();
  const { frames, seen, sampled } = await subscriber.ask({ cmd: "exit" });
  await b.stop();
  rmSync(dir, { recursive: true, force: true });
  if (frames === 0) throw new Error("the inspect subscriber received no frames while the broker was busy");
  const segment = total / segments;
  return {
    without: median(rates.without),
    with: median(rates.with),
    cpuWithout: (cpu.without * 1000) / (segment * rates.without.length),
    cpuWith: (cpu.with * 1000) / (segment * rates.with.length),
    frames,
    seen,
    sampled,
  };
}

async function send(producer: Producer, n: number, inFlight: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await producer.send({ topic: "Bench", body: BODY });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
}

interface SubscriberReply {
  frames: number;
  seen: number;
  sampled: number;
}

/** The subscriber process (this bundle, forked with --inspect-subscriber <url>), driven over IPC. */
async function startSubscriber(url: string) {
  const child = fork(new URL(import.meta.url).pathname, ["--inspect-subscriber", url], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise((resolve) => child.once("message", resolve));
  return {
    ask: (m: { cmd: "subscribe" | "stop" | "exit" }) =>
      new Promise<SubscriberReply>((resolve) => {
        child.once("message", (r) => resolve(r as SubscriberReply));
        child.send(m);
      }),
  };
}

if (process.argv.includes("--inspect-subscriber")) {
  const url = process.argv[process.argv.indexOf("--inspect-subscriber") + 1];
  const model = new Model();
  let frames = 0;
  const transport = new Transport(url, {
    WebSocket: resolveWebSocket(),
    onPush: (p) => {
      if (p.op !== "inspect") return;
      frames++;
      model.applyFrame(p as never);
    },
  });
  await transport.connect();
  const reply = () => process.send!({ frames, seen: model.seen, sampled: model.sampled });
  process.on("message", async (m: { cmd: string }) => {
    if (m.cmd === "subscribe") model.applySnapshot((await transport.request("inspect", {}, 5000)) as never);
    if (m.cmd === "stop") {
      // A segment shorter than the interval ends before its first frame: wait for one, so every
      // subscribed segment's events reach the subscriber (untimed: the segment is over).
      const before = frames;
      for (let waited = 0; frames === before && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      await transport.request("inspect", { stop: true }, 5000);
    }
    reply();
    if (m.cmd === "exit") {
      await transport.close();
      process.disconnect();
    }
  });
  reply();
}
