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
import { fsyncRate, rawAppend, wsEcho } from "./yardsticks.ts";

if (!process.argv.includes("--echo-server")) await main();

async function main() {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, quick: { type: "boolean", default: false } } });
  const runs = Number(values.runs);
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
  const l50 = row("end-to-end latency p50 at 5,000 msg/s", "ms");
  const l99 = row("end-to-end latency p99 at 5,000 msg/s", "ms");
  const l999 = row("end-to-end latency p99.9 at 5,000 msg/s", "ms");
  const rss = row("broker RSS idle with 100 topics", "MB");
  const groupN = quick ? 5_000 : 1_000_000;
  const gfill = row(`one producer filling 8 queues with ${fmt(groupN)} messages`, "msg/s");
  const gdrain = row(`group of 4 PushConsumers draining them`, "msg/s", gfill);
  const glat = row("end-to-end latency p99 through a 4-member group at 5,000 msg/s", "ms");

  for (let run = 1; run <= runs; run++) {
    console.error(`run ${run}/${runs}`);
    raw.values.push(rawAppend(root, quick ? 20_000 : 500_000, 32));
    fsync.values.push(await fsyncRate(root, quick ? 200 : 1000));
    echo.values.push(await wsEcho(N, 32, 1000));
    for (const [flush, r] of [["async", pa], ["sync", ps]] as const) {
      const dir = mkdtempSync(join(root, `broker-${flush}-`));
      const b = await startBrokerProcess(["--data-dir", dir, "--flush", flush]);
      const admin = new Admin({ endpoints: b.url });
      await admin.start();
      await admin.createTopic("Bench", 4);
      await admin.shutdown();
      r.values.push(await produce(b.url, "Bench", N, 1000));
      if (flush === "async") co.values.push(await consume(b.url, "Bench", 4, N));
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    {
      const dir = mkdtempSync(join(root, "broker-lat-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const l = await latency(b.url, "Latency", 4, 5000, quick ? 2 : 10);
      l50.values.push(l.p50);
      l99.values.push(l.p99);
      l999.values.push(l.p999);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    {
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
    {
      const dir = mkdtempSync(join(root, "broker-group-"));
      const b = await startBrokerProcess(["--data-dir", dir]);
      const g = await groupDrain(b.url, groupN);
      gfill.values.push(g.fill);
      gdrain.values.push(g.drain);
      glat.values.push((await groupLatency(b.url, 5000, quick ? 2 : 10)).p99);
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(root, { recursive: true, force: true });

  console.log(`\nActorMQ bench: ${runs} run(s)${quick ? " (quick)" : ""}, node ${process.version}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30)} GiB\n`);
  console.log("| workload | median | unit | runs | ratio to yardstick |");
  console.log("|---|---:|---|---|---|");
  for (const r of rows) {
    const m = median(r.values);
    const y = r.yardstick;
    const ratio = y ? `${fmt(m / median(y.values), 2)} × ${y.name}` : "";
    console.log(`| ${r.name} | ${fmt(m, r.unit === "ms" ? 2 : 0)} | ${r.unit} | ${r.values.map((v) => fmt(v, r.unit === "ms" ? 2 : 0)).join(", ")} | ${ratio} |`);
  }
}
