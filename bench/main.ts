// `npm run bench`: the broker's throughput and latency next to the physical yardsticks of this
// machine, all measured in one run. Medians over --runs runs (default 3); --quick for a smoke run.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Admin } from "../client/mod.ts";
import { consume, latency, produce, startBrokerProcess } from "./broker-workloads.ts";
import { fmt, median } from "./stats.ts";
import { groupDrain, groupLatency } from "./group-workloads.ts";
import { orderedDrain } from "./ordered-workloads.ts";
import { storeMany, timerLateness } from "./timer-workloads.ts";
import { clusterProduce, killRecovery, startClusterProcesses } from "./cluster-workloads.ts";
import { failoverTimes, groupProduce, produceWithLatency } from "./replication-workloads.ts";
import { fsyncRate, rawAppend, wsEcho } from "./yardsticks.ts";
import { inspectorOverhead } from "./inspector-workloads.ts";
import { grpcVersusWebSocket } from "./grpc-workloads.ts";
import { actorLifecycleAsBroker, committedTransactions, memoryPerTransaction, plainSends } from "./transaction-workloads.ts";
import { MODES, securityWorkloads } from "./security-workloads.ts";
import { QUEUES_PER_TOPIC, type ScalePoint, scaleCurve } from "./scale-workloads.ts";

if (!["--echo-server", "--inspect-subscriber", "--tx-broker", "--actor-lifecycle", "--grpc-null-server"].some((f) => process.argv.includes(f))) await main();

async function main() {
  const { values } = parseArgs({ options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "timer-messages": { type: "string" },
    "scale-sizes": { type: "string" },
    "scale-budget": { type: "string", default: "600" },
  } });
  // The scale curve alone takes minutes: one run unless asked for more.
  const runs = Number(values.runs ?? (values.only === "scale" ? 1 : 3));
  const quick = values.quick;
  const N = quick ? 5_000 : 200_000;
  const root = mkdtempSync(join(tmpdir(), "actormq-bench-"));
  interface Row { name: string; unit: string; values: number[]; yardstick?: Row }
  const rows: Row[] = [];
  const row = (name: string, unit: string, yardstick?: Row): Row => {
    const r = { name, unit, values: [], yardstick };
    rows.push(r);
    return r;
  };
  const raw = row("raw sequential append, 1 KiB records, batches of 32", "rec/s");
  const fsync = row("fsync rate (1 KiB append + fdatasync)", "fsync/s");
  const echo = row("ws + CBOR echo, 1 KiB in frames of 32, 1,000 in flight", "msg/s");
  const pa = row("produce, --flush async, 1,000 in flight", "msg/s", echo);
  const ps = row("produce, --flush sync (group commit), 1,000 in flight", "msg/s", echo);
  const co = row("consume, 4 queues, pulls of 32", "msg/s", pa);
  const pcpu = { async: row("broker CPU per message: produce, --flush async", "µs"), sync: row("broker CPU per message: produce, --flush sync", "µs") };
  const ccpu = row("broker CPU per message: consume, 4 queues, pulls of 32", "µs");
  const l50 = row("end-to-end latency p50 at 5,000 msg/s", "ms");
  const l99 = row("end-to-end latency p99 at 5,000 msg/s", "ms");
  const l999 = row("end-to-end latency p99.9 at 5,000 msg/s", "ms");
  const rss = row("broker RSS idle with 100 topics", "MB");
  const groupN = quick ? 5_000 : 1_000_000;
  const gfill = row(`one producer filling 8 queues with ${fmt(groupN)} messages`, "msg/s");
  const gdrain = row(`group of 4 PushConsumers draining them`, "msg/s", gfill);
  const glat = row("end-to-end latency p99 through a 4-member group at 5,000 msg/s", "ms");
  const timerN = quick ? 20_000 : Number(values["timer-messages"] ?? 1_000_000);
  const tplain = row(`storing ${fmt(timerN)} plain messages, 1,000 in flight`, "msg/s");
  const tsched = row(`scheduling ${fmt(timerN)} timed messages due over 10 min, 1,000 in flight`, "msg/s", tplain);
  const tplainMem = row("broker RSS growth per stored plain message", "B");
  const tmem = row("broker RSS growth per pending timed message", "B", tplainMem);
  const tplainCpu = row("broker CPU per stored plain message", "µs");
  const tcpu = row("broker CPU per scheduled timed message", "µs", tplainCpu);
  const lateN = quick ? 2_000 : 20_000;
  const t50 = row(`timer lateness p50, ${fmt(lateN)} due within 10 s`, "ms");
  const t99 = row(`timer lateness p99, ${fmt(lateN)} due within 10 s`, "ms");
  const tmax = row(`timer lateness max, ${fmt(lateN)} due within 10 s`, "ms");
  const orderedN = quick ? 5_000 : 200_000;
  const ocon = row(`concurrent group of 4 draining 8 queues, ${fmt(orderedN)} messages`, "msg/s");
  const oord = row(`orderly group of 4 draining the same 8 queues`, "msg/s", ocon);
  const pNoInspect = row("produce, --flush async, 1,000 in flight, nobody inspecting (segments alternating with the next row)", "msg/s");
  const pInspect = row("produce, same broker, an inspect subscriber applying every frame", "msg/s", pNoInspect);
  const cpuNoInspect = row("broker CPU per message, nobody inspecting", "µs");
  const cpuInspect = row("broker CPU per message, with the inspect subscriber", "µs", cpuNoInspect);
  const pNoInspect8 = row("produce, 8 in flight (small batches), nobody inspecting", "msg/s");
  const pInspect8 = row("produce, 8 in flight, with the inspect subscriber", "msg/s", pNoInspect8);
  const cpuNoInspect8 = row("broker CPU per message, 8 in flight, nobody inspecting", "µs");
  const cpuInspect8 = row("broker CPU per message, 8 in flight, with the inspect subscriber", "µs", cpuNoInspect8);
  const inspectFrames = row("inspect frames received during that produce run", "frames");
  const inspectSampled = row("events the broker processed / sampled into frames (%)", "%");
  // --only <word>: run the sections whose name contains it (e.g. --only timer).
  const on = (section: string) => !values.only || section.includes(values.only);
  const rbase = row("replication baseline: produce to one broker alone, 1 KiB, 1,000 in flight", "msg/s");
  const rasync = row("replication: group of 3, --replication async", "msg/s", rbase);
  const rsync = row("replication: group of 3, --replication sync --min-in-sync-replicas 2", "msg/s", rbase);
  const rbase99 = row("replication baseline: send latency p99, one broker alone", "ms");
  const rasync99 = row("replication: send latency p99, group of 3, async", "ms", rbase99);
  const rsync99 = row("replication: send latency p99, group of 3, sync", "ms", rbase99);
  const rbaseCpu = row("replication baseline: broker CPU per message, one broker alone", "µs");
  const rasyncCpu = row("replication: master CPU per message, group of 3, async", "µs", rbaseCpu);
  const rasyncSlaveCpu = row("replication: slave CPU per message (mean of the 2), async", "µs", rbaseCpu);
  const rsyncCpu = row("replication: master CPU per message, group of 3, sync", "µs", rbaseCpu);
  const rsyncSlaveCpu = row("replication: slave CPU per message (mean of the 2), sync", "µs", rbaseCpu);
  const rclientCpu = row("replication: the client's (bench process) CPU per message, one broker alone", "µs");
  const rclientSyncCpu = row("replication: the client's CPU per message, group of 3, sync", "µs", rclientCpu);
  const rfail = row("replication: failover, SIGKILL of the master -> first acknowledged send (sync, --flush sync, 2 s lease; every kill of every run)", "ms");
  const cbase = row("cluster baseline: produce to one broker alone, --flush async, 1,000 in flight", "msg/s");
  const cprod = row("cluster: produce via name server over 2 brokers, --flush async, 1,000 in flight", "msg/s", cbase);
  const krec = row("cluster: SIGKILL of 1 of 2 brokers -> sends 100% successful again (default 2 retries)", "ms");
  const kfail = row("cluster: sends failed after that SIGKILL (default 2 retries)", "sends");
  const kmax = row("cluster: slowest send after that SIGKILL", "ms");
  const krec0 = row("cluster: SIGKILL of 1 of 2 brokers -> sends 100% successful again (no retries)", "ms");
  const kfail0 = row("cluster: sends failed after that SIGKILL (no retries)", "sends");
  const txN = quick ? 2_000 : 50_000;
  const txPlain = row("plain sends, 1 KiB, 100 in flight", "msg/s");
  const txRate = row(`committed transactions, 1 KiB, 100 concurrent (${fmt(txN)})`, "tx/s", txPlain);
  const txPlainCpu = row("broker CPU per plain send, 100 in flight", "µs");
  const txCpu = row("broker CPU per committed transaction, 100 concurrent", "µs", txPlainCpu);
  const txActors = row("of which the actors alone: spawn under txs, END, stop (a process with the broker's V8 flags, batches of 50)", "µs");
  const grpcN = quick ? 2_000 : 20_000;
  const gwsSend = row(`ActorMQ SDK over WebSocket: send, 1 KiB, 64 in flight (${fmt(grpcN)})`, "msg/s");
  const grpcSend = row("RocketMQ's Node.js client over gRPC: send, same", "msg/s", gwsSend);
  const gwsRecv = row("ActorMQ SimpleConsumer over WebSocket: receive 32 + ack each, 4 loops", "msg/s");
  const grpcRecv = row("RocketMQ's SimpleConsumer over gRPC: receive 32 + ack each, 4 loops", "msg/s", gwsRecv);
  const gnull = row("RocketMQ's Node.js client: send to a gRPC server that answers at once (its own ceiling)", "msg/s", gwsSend);
  const gwsSendCpu = row("broker CPU per message: ActorMQ SDK send over WebSocket", "µs");
  const grpcSendCpu = row("broker CPU per message: RocketMQ's client send over gRPC", "µs", gwsSendCpu);
  const gnullCpu = row("of which grpc-js + HTTP/2 alone: CPU per send of the gRPC server that answers at once", "µs", grpcSendCpu);
  const gwsRecvCpu = row("broker CPU per message: ActorMQ SimpleConsumer receive + ack", "µs");
  const grpcRecvCpu = row("broker CPU per message: RocketMQ's SimpleConsumer receive + ack over gRPC", "µs", gwsRecvCpu);
  const txMemN = quick ? 2_000 : 20_000;
  const txHeap = row(`broker heap per in-flight transaction (${fmt(txMemN)} in flight, after GC)`, "B");
  const txRss = row(`broker RSS per in-flight transaction (${fmt(txMemN)} in flight)`, "B");
  // Security: each mode's rate, as a ratio to plain in the same run.
  const secRows = Object.fromEntries((["produce", "consume"] as const).map((kind) => {
    const plain = row(`security: ${kind === "produce" ? "produce, 1,000 in flight" : "consume, 4 queues, pulls of 32"}, plain ws://`, "msg/s");
    return [kind, Object.fromEntries(MODES.map((m) => [m, m === "plain" ? plain : row(`security: ${kind}, ${m === "tls" ? "TLS (wss://)" : m === "auth" ? "--auth on (signed in, ACL checked)" : "TLS + --auth on"}`, "msg/s", plain)]))];
  })) as Record<"produce" | "consume", Record<(typeof MODES)[number], Row>>;
  // The scale curve is its own table (a point per size, each run's figures), not a row each.
  const scaleSizes = (values["scale-sizes"] ?? (quick ? "200,500" : "1000,5000,10000,20000")).split(",").map(Number);
  const scaleRuns: { points: ScalePoint[]; stoppedAt?: string }[] = [];

  for (let run = 1; run <= runs; run++) {
    console.error(`run ${run}/${runs}`);
    if (on("grpc")) {
      const dir = mkdtempSync(join(root, "broker-grpc-"));
      const g = await grpcVersusWebSocket(dir, grpcN, 64, 4);
      gwsSend.values.push(g.wsSend);
      grpcSend.values.push(g.grpcSend);
      gwsRecv.values.push(g.wsReceive);
      grpcRecv.values.push(g.grpcReceive);
      gnull.values.push(g.nullSend);
      gwsSendCpu.values.push(g.wsSendCpu);
      grpcSendCpu.values.push(g.grpcSendCpu);
      gnullCpu.values.push(g.nullSendCpu);
      gwsRecvCpu.values.push(g.wsReceiveCpu);
      grpcRecvCpu.values.push(g.grpcReceiveCpu);
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("yardsticks")) raw.values.push(rawAppend(root, quick ? 20_000 : 500_000, 32));
    if (on("yardsticks")) fsync.values.push(await fsyncRate(root, quick ? 200 : 1000));
    if (on("yardsticks")) echo.values.push(await wsEcho(N, 32, 1000));
    for (const [flush, r] of on("produce consume") ? [["async", pa], ["sync", ps]] as const : []) {
      const dir = mkdtempSync(join(root, `broker-${flush}-`));
      const b = await startBrokerProcess(["--data-dir", dir, "--flush", flush]);
      const admin = new Admin({ endpoints: b.url });
      await admin.start();
      await admin.createTopic("Bench", 4);
      await admin.shutdown();
      let cpu = b.cpuMs();
      r.values.push(await produce(b.url, "Bench", N, 1000));
      pcpu[flush].values.push(((b.cpuMs() - cpu) * 1000) / N);
      if (flush === "async") {
        cpu = b.cpuMs();
        co.values.push(await consume(b.url, "Bench", 4, N));
        ccpu.values.push(((b.cpuMs() - cpu) * 1000) / N);
      }
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("latency")) {
      const dir = mkdtempSync(join(root, "broker-lat-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const l = await latency(b.url, "Latency", 4, 5000, quick ? 2 : 10);
      l50.values.push(l.p50);
      l99.values.push(l.p99);
      l999.values.push(l.p999);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("idle")) {
      const dir = mkdtempSync(join(root, "broker-idle-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const admin = new Admin({ endpoints: b.url });
      await admin.start();
      for (let t = 0; t < 100; t++) await admin.createTopic(`Idle${t}`, 4);
      await admin.shutdown();
      await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage be collected
      rss.values.push(b.rssBytes() / 1e6);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("group")) {
      const dir = mkdtempSync(join(root, "broker-group-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const g = await groupDrain(b.url, groupN);
      gfill.values.push(g.fill);
      gdrain.values.push(g.drain);
      glat.values.push((await groupLatency(b.url, 5000, quick ? 2 : 10)).p99);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("timer")) {
      for (const timed of [false, true]) {
        const dir = mkdtempSync(join(root, "broker-store-"));
        const b = await startBrokerProcess(["--data-dir", dir]);
        console.error(`  ${timed ? "timed" : "plain"} messages`);
        const s = await storeMany(b, timerN, timed ? 600_000 : null);
        (timed ? tsched : tplain).values.push(s.rate);
        (timed ? tmem : tplainMem).values.push(s.bytesPerMessage);
        (timed ? tcpu : tplainCpu).values.push(s.cpuMicrosPerMessage);
        await b.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      const dir = mkdtempSync(join(root, "broker-timer-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      console.error("  lateness");
      const l = await timerLateness(b.url, lateN, 10_000);
      t50.values.push(l.p50);
      t99.values.push(l.p99);
      tmax.values.push(l.max);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("ordered")) {
      const dir = mkdtempSync(join(root, "broker-ordered-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const o = await orderedDrain(b.url, orderedN, run % 2 === 0);
      ocon.values.push(o.concurrent);
      oord.values.push(o.orderly);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("transaction")) {
      const dir = mkdtempSync(join(root, "broker-tx-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const admin = new Admin({ endpoints: b.url });
      await admin.start();
      await admin.createTopic("TxPlain", 4);
      await admin.createTopic("TxBench", 4);
      await admin.shutdown();
      let cpu = b.cpuMs();
      txPlain.values.push(await plainSends(b.url, "TxPlain", txN, 100));
      txPlainCpu.values.push(((b.cpuMs() - cpu) * 1000) / txN);
      cpu = b.cpuMs();
      txRate.values.push(await committedTransactions(b.url, "TxBench", txN, 100));
      txCpu.values.push(((b.cpuMs() - cpu) * 1000) / txN);
      txActors.values.push(await actorLifecycleAsBroker(quick ? 2_000 : 20_000));
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
      const mem = await memoryPerTransaction(txMemN);
      txHeap.values.push(mem.heapPerTx);
      txRss.values.push(mem.rssPerTx);
    }
    if (on("inspector")) {
      const r = await inspectorOverhead(root, N);
      pNoInspect.values.push(r.without);
      pInspect.values.push(r.with);
      cpuNoInspect.values.push(r.cpuWithout);
      cpuInspect.values.push(r.cpuWith);
      inspectFrames.values.push(r.frames);
      inspectSampled.values.push(r.seen ? (100 * r.sampled) / r.seen : 0);
      const small = await inspectorOverhead(root, quick ? N : N / 5, 10, 8);
      pNoInspect8.values.push(small.without);
      pInspect8.values.push(small.with);
      cpuNoInspect8.values.push(small.cpuWithout);
      cpuInspect8.values.push(small.cpuWith);
    }
    if (on("scale") && values.only) {
      // Only on request: at 20,000 topics and groups it takes minutes.
      const dir = mkdtempSync(join(root, "broker-scale-"));
      scaleRuns.push(await scaleCurve(dir, scaleSizes, Number(values["scale-budget"]), (line) => console.error(line)));
      rmSync(dir, { recursive: true, force: true });
    }
    // --only replication runs both; --only throughput or --only failover one of them.
    if (on("replication throughput")) {
      // The baseline in the same run: the same workload against one broker alone.
      const dir = mkdtempSync(join(root, "replication-single-"));
      const single = await startBrokerProcess(["--data-dir", dir]);
      const cpu0 = single.cpuMs();
      const base = await produceWithLatency(single.url, "ReplBase", N, 1000);
      rbaseCpu.values.push((single.cpuMs() - cpu0) * 1000 / N);
      await single.stop();
      rmSync(dir, { recursive: true, force: true });
      rbase.values.push(base.rate);
      rbase99.values.push(base.p99);
      rclientCpu.values.push(base.clientCpuUs);
      for (const [mode, rate, p99, master, slave] of [["async", rasync, rasync99, rasyncCpu, rasyncSlaveCpu], ["sync", rsync, rsync99, rsyncCpu, rsyncSlaveCpu]] as const) {
        const r = await groupProduce(mode, N, 1000);
        rate.values.push(r.rate);
        p99.values.push(r.p99);
        master.values.push(r.masterCpuUs);
        slave.values.push(r.slaveCpuUs);
        if (mode === "sync") rclientSyncCpu.values.push(r.clientCpuUs);
      }
    }
    if (on("replication failover")) rfail.values.push(...await failoverTimes(quick ? 2 : 5, 50, (line) => console.error(line)));
    if (on("security")) {
      const dir = mkdtempSync(join(root, "security-"));
      const f = await securityWorkloads(dir, N);
      for (const kind of ["produce", "consume"] as const) for (const m of MODES) secRows[kind][m].values.push(f[kind][m]);
      rmSync(dir, { recursive: true, force: true });
    }
    if (on("cluster")) {
      const dir = mkdtempSync(join(root, "cluster-"));
      // The baseline, in the same run: the same workload against one broker alone.
      const single = await startBrokerProcess(["--data-dir", mkdtempSync(join(dir, "single-"))]);
      const admin = new Admin({ endpoints: single.url });
      await admin.start();
      await admin.createTopic("ClusterBench", 4);
      await admin.shutdown();
      cbase.values.push(await produce(single.url, "ClusterBench", N, 1000));
      await single.stop();
      const c = await startClusterProcesses(dir);
      cprod.values.push(await clusterProduce(c, N, 1000));
      await c.stop();
      for (const [retries, rec, fail] of [[2, krec, kfail], [0, krec0, kfail0]] as const) {
        const k = await startClusterProcesses(dir, ["--flush", "sync"]);
        const r = await killRecovery(k, 200, retries, quick ? 1000 : 2000, quick ? 2000 : 4000);
        rec.values.push(r.recoveryMs);
        fail.values.push(r.failed);
        if (retries > 0) kmax.values.push(r.maxLatencyMs);
        await k.stop();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(root, { recursive: true, force: true });

  console.log(`\nActorMQ bench: ${runs} run(s)${quick ? " (quick)" : ""}, node ${process.version}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30)} GiB\n`);
  const measured = rows.filter((r) => r.values.length > 0);
  if (measured.length) {
    console.log("| workload | median | unit | runs | ratio to yardstick |");
    console.log("|---|---:|---|---|---|");
  }
  for (const r of measured) {
    const m = median(r.values);
    const y = r.yardstick;
    const ratio = y?.values.length ? `${fmt(m / median(y.values), 2)} × ${y.name}` : "";
    const digits = r.unit === "ms" ? 2 : r.unit === "µs" ? 1 : 0;
    console.log(`| ${r.name} | ${fmt(m, digits)} | ${r.unit} | ${r.values.map((v) => fmt(v, digits)).join(", ")} | ${ratio} |`);
  }
  if (scaleRuns.length) printScale(scaleRuns);
}

/** The scale curve: a line per size, the median over runs (every run's figure after it when there are several). */
function printScale(runs: { points: ScalePoint[]; stoppedAt?: string }[]) {
  console.log(`\nScale: topics of ${QUEUES_PER_TOPIC} queues and consumer groups (one each), created one at a time; SIGTERM and restart at each size\n`);
  const cols: [string, (p: ScalePoint) => number, number][] = [
    ["create, this step (s)", (p) => p.createSeconds, 1],
    ["create, in total (s)", (p) => p.createSecondsTotal, 1],
    ["per further topic (ms)", (p) => p.topicCreateMs, 2],
    ["per further group (ms)", (p) => p.groupCreateMs, 2],
    ["broker CPU, this step (s)", (p) => p.createCpuSeconds, 1],
    ["RSS (MB)", (p) => p.rssBeforeStopMb, 0],
    ["SIGTERM (s)", (p) => p.stopSeconds, 2],
    ["restart (s)", (p) => p.restartSeconds, 2],
    ["RSS after restart (MB)", (p) => p.rssAfterRestartMb, 0],
    ["queue actors after restart", (p) => p.queueActors, 0],
    ["group actors after restart", (p) => p.groupActors, 0],
  ];
  console.log(`| topics and groups | ${cols.map((c) => c[0]).join(" | ")} |`);
  console.log(`|---:|${cols.map(() => "---:").join("|")}|`);
  const sizes = [...new Set(runs.flatMap((r) => r.points.map((p) => p.n)))];
  for (const n of sizes) {
    const ps = runs.map((r) => r.points.find((p) => p.n === n)).filter((p): p is ScalePoint => p !== undefined);
    const cell = ([, f, d]: (typeof cols)[number]) => {
      const xs = ps.map(f);
      const shown = fmt(median(xs), d);
      return xs.length > 1 ? `${shown} (${xs.map((x) => fmt(x, d)).join(", ")})` : shown;
    };
    console.log(`| ${fmt(n)} | ${cols.map(cell).join(" | ")} |`);
  }
  for (const r of runs) if (r.stoppedAt) console.log(`\nSize ${r.stoppedAt}`);
  const expected = (n: number) => `${fmt(n * QUEUES_PER_TOPIC + n)} queue actors (${QUEUES_PER_TOPIC} per topic and a retry queue per group) and ${fmt(n)} group actors`;
  for (const r of runs) for (const p of r.points) {
    if (p.queueActors !== p.expectedQueueActors || p.groupActors !== p.n) console.log(`\nAt ${fmt(p.n)}: ${fmt(p.queueActors)} queue and ${fmt(p.groupActors)} group actors after the restart, expected ${expected(p.n)}`);
  }
  if (runs.some((r) => r.points.some((p) => p.stopKilled))) console.log("\nSIGTERM n/a: the broker had not exited 120 s after SIGTERM and was killed.");
}
