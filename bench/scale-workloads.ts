// The scale workload (`npm run bench -- --only scale`): one broker grows to N topics of 8 queues
// and N consumer groups, and at each N of the curve (1k, 5k, 10k, 20k by default) it is stopped
// with SIGTERM and started again on the same data directory. What grows with N shows here:
// create time (in total, and per further create at that size), SIGTERM time, restart time and
// RSS, and whether every queue and group came back as an actor (counted in the inspector's tree).
//
// Topics are created one `createTopic` at a time (a loop of awaits, as a script would). A group
// is created as RocketMQ clients create one: a heartbeat naming it, with a subscription to its
// topic, which also creates its retry topic (one queue). Heartbeats come from a pool of clients,
// each naming only its newest group, so it leaves its previous group: membership changes too.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Admin } from "../client/mod.ts";
import { ClientCore } from "../client/client-core.ts";
import { brokerLaunchArgs } from "./broker-workloads.ts";
import { median } from "./stats.ts";

export const QUEUES_PER_TOPIC = 8;
const HEARTBEAT_CLIENTS = 16;
/** A SIGTERM that takes longer than this is ended with SIGKILL (and reported as such). */
const STOP_LIMIT_MS = 120_000;

export interface ScalePoint {
  /** Topics (and groups) the broker holds at this point. */
  n: number;
  /** Seconds spent creating the topics and groups since the previous point, and since the start. */
  createSeconds: number;
  createSecondsTotal: number;
  /** Median latency of the last creates before this point (ms): what one more create costs. */
  topicCreateMs: number;
  groupCreateMs: number;
  /** Broker CPU seconds during this step's creates. */
  createCpuSeconds: number;
  rssBeforeStopMb: number;
  /** SIGTERM to exit, s; NaN if it had to be killed (stopKilled). */
  stopSeconds: number;
  stopKilled: boolean;
  /** Spawn to listening, s. */
  restartSeconds: number;
  rssAfterRestartMb: number;
  /** Actors in the restarted broker's tree (the inspector's view). */
  queueActors: number;
  groupActors: number;
  /** Expected: N * 8 + N retry queues (+ system topics' queues, not counted here), N groups. */
  expectedQueueActors: number;
}

interface BrokerProc {
  child: ChildProcess;
  url: string;
  output(): string;
}

function spawnBroker(dataDir: string): Promise<BrokerProc> {
  const child = spawn(process.execPath, [...brokerLaunchArgs, "dist/broker.mjs", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir, "--max-topics", "1000000", "--max-groups", "1000000"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => reject(new Error(`broker exited (${code ?? signal}) before listening: ${out.slice(-2000)}`)));
  });
}

/** SIGTERM; seconds until it exited, or NaN (and SIGKILL) after STOP_LIMIT_MS. */
function stopBroker(b: BrokerProc, limitMs = STOP_LIMIT_MS): Promise<number> {
  const { child } = b;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(0);
  const started = performance.now();
  return new Promise((resolve) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(killed ? NaN : (performance.now() - started) / 1000);
    });
    child.kill("SIGTERM");
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const topicName = (i: number) => `ScaleTopic${i}`;
const groupName = (i: number) => `ScaleGroup${i}`;

/** Counts the queue and group actors in the broker's tree, as the inspector's first frame lists them. */
async function countActors(url: string): Promise<{ queues: number; groups: number }> {
  // A broker just restarted may still be busy (a due snapshot): wait for its handshake as for the answer.
  const core = new ClientCore({ endpoints: url, requestTimeoutMs: 300_000 });
  await core.connect();
  try {
    const r = await core.request("inspect", { intervalMs: 10_000, maxEvents: 0 }, 300_000);
    let queues = 0;
    let groups = 0;
    for (const a of r.actors as { id: string; status: string }[]) {
      if (a.status !== "active") continue;
      if (a.id.startsWith("queue:ScaleTopic") || a.id.startsWith("queue:%RETRY%ScaleGroup")) queues++;
      else if (a.id.startsWith("group:ScaleGroup")) groups++;
    }
    await core.request("inspect", { stop: true });
    return { queues, groups };
  } finally {
    await core.close();
  }
}

/**
 * Grows one broker through `sizes` (ascending), restarting it at each. `budgetSeconds` bounds the
 * creates of one step: past it the curve ends there (the point is reported as not reached).
 */
export async function scaleCurve(dataDir: string, sizes: number[], budgetSeconds: number, log: (line: string) => void): Promise<{ points: ScalePoint[]; stoppedAt?: string }> {
  const points: ScalePoint[] = [];
  let broker = await spawnBroker(dataDir);
  let created = 0;
  let total = 0;
  try {
    for (const n of sizes) {
      const admin = new Admin({ endpoints: broker.url, requestTimeoutMs: 120_000 });
      await admin.start();
      const clients = Array.from({ length: HEARTBEAT_CLIENTS }, () => new ClientCore({ endpoints: broker.url, requestTimeoutMs: 120_000 }));
      const topicMs: number[] = [];
      const groupMs: number[] = [];
      const cpuBefore = cpuSeconds(broker.child.pid!);
      const stepStarted = performance.now();
      let overBudget = false;
      for (; created < n; created++) {
        let t = performance.now();
        await admin.createTopic(topicName(created), QUEUES_PER_TOPIC);
        topicMs.push(performance.now() - t);
        const core = clients[created % HEARTBEAT_CLIENTS];
        t = performance.now();
        await core.request("heartbeat", {
          clientId: core.clientId,
          consumerGroups: [{ group: groupName(created), model: "clustering", subscriptions: { [topicName(created)]: "*" } }],
        });
        groupMs.push(performance.now() - t);
        if ((created + 1) % 1000 === 0) log(`  scale: ${created + 1} topics and groups, ${((performance.now() - stepStarted) / 1000).toFixed(1)} s into this step`);
        if ((performance.now() - stepStarted) / 1000 > budgetSeconds) {
          overBudget = true;
          created++;
          break;
        }
      }
      const createSeconds = (performance.now() - stepStarted) / 1000;
      total += createSeconds;
      const createCpuSeconds = cpuSeconds(broker.child.pid!) - cpuBefore;
      await Promise.all([admin.shutdown(), ...clients.map((c) => c.close())]);
      const last = (xs: number[]) => median(xs.slice(-500));
      if (overBudget) {
        const stoppedAt = `${n.toLocaleString("en-US")} not reached: ${created.toLocaleString("en-US")} topics and groups after ${createSeconds.toFixed(0)} s of this step (budget ${budgetSeconds} s); the last creates took ${last(topicMs).toFixed(1)} ms per topic, ${last(groupMs).toFixed(1)} ms per group`;
        return { points, stoppedAt };
      }
      const rssBeforeStopMb = rssMb(broker.child.pid!);
      log(`  scale ${n}: created in ${createSeconds.toFixed(1)} s; SIGTERM...`);
      const stopSeconds = await stopBroker(broker);
      const started = performance.now();
      broker = await spawnBroker(dataDir);
      const restartSeconds = (performance.now() - started) / 1000;
      const rssAfterRestartMb = rssMb(broker.child.pid!);
      log(`  scale ${n}: SIGTERM ${Number.isNaN(stopSeconds) ? `> ${STOP_LIMIT_MS / 1000} s (killed)` : `${stopSeconds.toFixed(2)} s`}, restart ${restartSeconds.toFixed(2)} s; counting actors...`);
      const actors = await countActors(broker.url);
      points.push({
        n,
        createSeconds,
        createSecondsTotal: total,
        topicCreateMs: last(topicMs),
        groupCreateMs: last(groupMs),
        createCpuSeconds,
        rssBeforeStopMb,
        stopSeconds,
        stopKilled: Number.isNaN(stopSeconds),
        restartSeconds,
        rssAfterRestartMb,
        queueActors: actors.queues,
        groupActors: actors.groups,
        expectedQueueActors: n * QUEUES_PER_TOPIC + n,
      });
    }
    return { points };
  } finally {
    await stopBroker(broker, 10_000);
  }
}
