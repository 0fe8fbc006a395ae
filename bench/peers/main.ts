// `npm run bench:peers`: ActorMQ next to the brokers people would pick instead (NATS JetStream,
// RabbitMQ, Redis streams and BullMQ), each started by this bench on 127.0.0.1 with durable
// storage in a temp dir, the same workloads through each one's usual Node client, one table.
//   --runs N    runs of everything (default 3; medians reported)
//   --quick     a few thousand messages, 1 run: the smoke test
//   --peers a,b which brokers (default actormq,nats,rabbitmq,redis; ActorMQ always runs)
//   --no-install  do not apt-get a missing peer, just report it
//   --workloads a,b  only these of publish,publishFsync,consume,latency,delayed,fanout (consume implies publish)
//   --cpu-prof DIR  (Node) write a CPU profile of each ActorMQ broker process into DIR
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fmt, median } from "../stats.ts";
import { ensureInstalled } from "./install.ts";
import { FULL, killStarted, type Peer, QUICK, type Server, type Sizes } from "./peer.ts";
import { type Column, METRICS, type MetricId, runsDetail, table } from "./results-table.ts";

// Each peer's module loads its client library: one that cannot load (say, on a runtime it does
// not support) leaves that peer out, not the bench.
const LOADERS: Record<string, () => Promise<Peer>> = {
  actormq: () => import("./actormq.ts").then((m) => m.actormq),
  nats: () => import("./nats.ts").then((m) => m.nats),
  rabbitmq: () => import("./rabbitmq.ts").then((m) => m.rabbitmq),
  redis: () => import("./redis.ts").then((m) => m.redis),
};
const NAMES: Record<string, string> = { actormq: "ActorMQ", nats: "NATS JetStream", rabbitmq: "RabbitMQ", redis: "Redis" };

const { values } = parseArgs({
  options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    peers: { type: "string", default: "actormq,nats,rabbitmq,redis" },
    "no-install": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    workloads: { type: "string", default: "publish,publishFsync,consume,latency,delayed,fanout" },
  },
});
const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const sizes: Sizes = quick ? QUICK : FULL;
const only = new Set(values.workloads!.split(",").map((s) => s.trim()));
if (only.has("consume")) only.add("publish");
const ids = ["actormq", ...values.peers!.split(",").map((s) => s.trim()).filter((s) => s && s !== "actormq")];
for (const id of ids) if (!LOADERS[id]) throw new Error(`unknown peer "${id}" (known: ${Object.keys(LOADERS).join(", ")})`);

// Whatever happens, the servers this bench started do not outlive it.
process.on("exit", killStarted);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => (killStarted(), process.exit(130)));

const columns: Column[] = [];
const peers = new Map<string, Peer>();
for (const id of ids) {
  const col: Column = { id, name: NAMES[id], values: {}, notes: {} };
  columns.push(col);
  try {
    const peer = await LOADERS[id]();
    col.unavailable = ensureInstalled(peer, !values["no-install"]) ?? undefined;
    if (!col.unavailable) peers.set(id, peer);
  } catch (e) {
    col.unavailable = `its client library did not load here: ${(e as Error).message.split("\n")[0]}`;
  }
  if (col.unavailable) console.error(`${col.name}: ${col.unavailable}`);
}
if (values["cpu-prof"]) process.env.ACTORMQ_BENCH_CPU_PROF = values["cpu-prof"];
if (!peers.has("actormq")) throw new Error(`ActorMQ cannot run: ${columns[0].unavailable}`);

const root = mkdtempSync(join(tmpdir(), "actormq-peers-"));
const started = Date.now();
const set = (col: Column, id: MetricId, run: number, v: number) => ((col.values[id] ??= [])[run] = v);
const why = (e: unknown) => ((e as Error).message ?? String(e)).split("\n")[0].slice(0, 200);

/**
 * A server's first start on a fresh machine can fail for reasons of its own (a package just
 * installed, a port taken meanwhile, a slow disk): each run tries START_ATTEMPTS times, each in a
 * fresh directory, and says what failed. A run that cannot start the peer counts as failed for
 * every workload, and the next run tries again; the column is "not run" only if no run started it.
 */
const START_ATTEMPTS = 3;
async function startWithRetries(peer: Peer, col: Column, run: number): Promise<{ server: Server; dir: string } | null> {
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(root, `${col.id}-`));
    try {
      const server = await peer.start(dir);
      if (attempt > 1) (col.startFailures ??= []).push(`run ${run + 1}: started on attempt ${attempt}`);
      return { server, dir };
    } catch (e) {
      const failure = `run ${run + 1}, start attempt ${attempt} of ${START_ATTEMPTS} failed: ${why(e)}`;
      (col.startFailures ??= []).push(failure);
      console.error(`${col.name}: ${failure}`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const m of METRICS) col.notes[m.id] ??= `could not start in run ${run + 1}`;
  return null;
}

interface CpuUse { server: number; client: number; wall: number }
const cpu: Record<string, Record<string, CpuUse[]>> = {};
const cpuSecondsSince = (from: { user: number; system: number }) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

for (let run = 0; run < runs; run++) {
  for (const col of columns) {
    const peer = peers.get(col.id);
    if (!peer || col.unavailable) continue;
    console.error(`run ${run + 1}/${runs}: ${col.name}`);
    const up = await startWithRetries(peer, col, run);
    if (!up) continue;
    const { server, dir } = up;
    col.version = server.version;
    const step = async (ids: MetricId[], what: () => Promise<number[]>) => {
      const t = performance.now();
      const serverCpu = server.cpuSeconds();
      const clientCpu = process.cpuUsage();
      try {
        const vs = await what();
        // Which side was busy: the server's processes, or this one (every client runs here).
        const use = { server: server.cpuSeconds() - serverCpu, client: cpuSecondsSince(clientCpu), wall: (performance.now() - t) / 1000 };
        // (a figure copied from another workload, as RabbitMQ's publishFsync, takes no time: left out)
        const workload = { lat50: "latency", delay50: "delayed" }[ids[0] as string] ?? ids[0];
        if (use.wall > 0.1) ((cpu[col.id] ??= {})[workload] ??= []).push(use);
        console.error(`  ${ids[0]}: ${vs.map((v) => fmt(v, 2)).join(", ")} (${fmt(use.wall, 1)} s; CPU s: server ${fmt(use.server, 1)}, bench process ${fmt(use.client, 1)})`);
        ids.forEach((id, i) => set(col, id, run, vs[i]));
      } catch (e) {
        for (const id of ids) col.notes[id] = why(e);
        console.error(`${col.name}: ${ids.join(", ")}: ${why(e)}`);
      }
    };
    if (only.has("publish")) await step(["publish"], async () => [await server.publish(sizes.publish, sizes.inFlight)]);
    if (only.has("consume")) await step(["consume"], async () => [await server.consume(sizes.publish)]);
    const published = col.values.publish?.[run];
    if (only.has("publishFsync") && !server.publishFsync) col.notes.publishFsync = peer.notApplicable?.publishFsync ?? "n/a";
    else if (only.has("publishFsync") && published !== undefined) {
      await step(["publishFsync"], async () => [await server.publishFsync!(sizes.publish, sizes.inFlight, published)]);
    }
    if (only.has("latency")) {
      await step(["lat50", "lat99", "lat999"], async () => {
        const l = await server.latency(sizes);
        return [l.p50, l.p99, l.p999];
      });
    }
    const delayIds = ["delay50", "delay99", "delayMax", "delayBytes", "delayBytesAfter", "delayBytesAtLast", "delayRss", "delayRssAfter"] as const;
    if (only.has("delayed") && !server.delayed) for (const id of delayIds) col.notes[id] = peer.notApplicable?.delayed ?? "n/a";
    else if (only.has("delayed")) {
      await step([...delayIds], async () => {
        const d = await server.delayed!(sizes);
        // A peer whose memory figure is its RSS (ActorMQ) has the same figures in the RSS rows.
        return [d.p50, d.p99, d.max, d.bytesPerPending, d.bytesAfterDelivery, d.bytesAtLastDelivery, d.rssPerPending ?? d.bytesPerPending, d.rssAfterDelivery ?? d.bytesAfterDelivery];
      });
    }
    if (only.has("fanout")) await step(["fanout"], async () => [await server.fanout(sizes)]);
    await server.stop().catch((e) => console.error(`${col.name}: stop: ${why(e)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}
rmSync(root, { recursive: true, force: true });
// A peer no run could start has no column of figures, only the reason.
for (const col of columns) {
  if (!col.unavailable && col.startFailures && !Object.values(col.values).some((vs) => vs?.some((v) => v !== undefined))) {
    col.unavailable = `could not start (${col.startFailures.at(-1)})`;
  }
}

const runtime = "Deno" in globalThis ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}` : `node ${process.version}`;
console.log(`\nActorMQ vs peers: ${runs} run(s)${quick ? " (quick)" : ""}, medians; ${runtime}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30)} GiB; ${fmt((Date.now() - started) / 1000)} s`);
console.log(
  `publish/consume ${fmt(sizes.publish)} x 1 KiB, ${fmt(sizes.inFlight)} in flight; latency at ${fmt(sizes.rate)} msg/s for ${sizes.seconds} s after ${sizes.warmupSeconds} s warm-up; ` +
    `${fmt(sizes.delayed)} delayed, due within ${fmt(sizes.delayWindowMs / 1000, 1)} s of sending; fan-out ${fmt(sizes.fanout)} to ${sizes.consumers} consumers\n`,
);
console.log(table(columns, runs));
console.log("\nVersions and every run:\n");
console.log(runsDetail(columns));
console.log("\nCPU seconds during each workload, medians (server processes / the bench process, where every client runs / wall):\n");
for (const col of columns) {
  const per = cpu[col.id];
  if (!per) continue;
  const m = (xs: CpuUse[], k: keyof CpuUse) => fmt(median(xs.map((x) => x[k])), 1);
  console.log(`- ${col.name}: ${Object.entries(per).map(([w, xs]) => `${w} ${m(xs, "server")} / ${m(xs, "client")} / ${m(xs, "wall")}`).join("; ")}`);
}
// ioredis/amqplib/nats sockets are closed, but a lingering timer must not hold the bench open.
process.exit(0);
