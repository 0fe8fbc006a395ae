// The peers benchmark's smoke mode (`--quick`: a few thousand messages, one run) against ActorMQ
// and whichever peers are installed here, so the harness cannot rot: it must finish, print a
// row per workload, and a figure > 0 wherever a broker was measured. It installs nothing.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isContext, METRICS } from "../bench/peers/results-table.ts";

const isDeno = "Deno" in globalThis;
// Where a workload is n/a by design: no per-message delivery time (NATS, RabbitMQ); acks that
// come before the fsync (NATS, Redis everysec).
const DELAYED = ["delayed delivery lateness p50", "delayed delivery lateness p99", "delayed delivery lateness max", "memory per pending delayed message", "memory growth per delayed message once all were delivered", "the same, read as the last one arrived (before the server idled)", "server RSS per pending delayed message", "server RSS growth per delayed message once all were delivered"];
// Memory differences can be 0 or below (freed, collected): a number, not necessarily > 0.
const SIGNED = ["memory growth per delayed message once all were delivered", "the same, read as the last one arrived (before the server idled)", "server RSS per pending delayed message", "server RSS growth per delayed message once all were delivered"];
const FSYNC = "publish, acked only after fsync (ActorMQ --flush sync)";
const NOT_APPLICABLE: Record<string, string[]> = {
  "NATS JetStream": [...DELAYED, FSYNC],
  RabbitMQ: DELAYED,
  Redis: [FSYNC],
};

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test("bench:peers --quick prints a row per workload with sane figures for every broker it ran", async () => {
  const [cmd, args] = isDeno
    ? [process.execPath, ["run", "-A", "--quiet", "bench/peers/main.ts", "--quick", "--no-install"]]
    : [process.execPath, ["dist/bench-peers.mjs", "--quick", "--no-install"]];
  const { code, out, err } = await run(cmd, args, 150_000);
  assert.is(code, 0, `exit ${code}\n${err}\n${out}`);
  const lines = out.split("\n").filter((l) => l.startsWith("| "));
  const header = lines[0].split("|").slice(1, -1).map((c) => c.trim());
  assert.equal(header.slice(0, 4), ["workload", "unit", "better", "ActorMQ"]);
  assert.is(header[header.length - 1], "ActorMQ ÷ best peer");
  const brokers = header.slice(3, -1);
  const rows = new Map(lines.slice(1).map((l) => {
    const cells = l.split("|").slice(1, -1).map((c) => c.trim());
    return [cells[0], cells];
  }));
  const measuredPeers = brokers.slice(1).filter((b) => rows.get(METRICS[0].name)![3 + brokers.indexOf(b)] !== "not run");
  console.log(`measured: ActorMQ${measuredPeers.map((p) => `, ${p}`).join("")}; not run: ${brokers.slice(1).filter((b) => !measuredPeers.includes(b)).join(", ") || "none"}`);
  for (const line of err.split("\n").filter((l) => / not run| is not installed|did not load|could not start/.test(l))) console.log(`  ${line}`);
  for (const m of METRICS) {
    const cells = rows.get(m.name);
    assert.ok(cells, `a row for ${m.name}`);
    for (const [i, b] of brokers.entries()) {
      const cell = cells![3 + i];
      if (cell === "not run") {
        assert.ok(b !== "ActorMQ", "ActorMQ always runs");
        continue;
      }
      if (NOT_APPLICABLE[b]?.includes(m.name)) {
        assert.is(cell, "n/a", `${b} ${m.name}`);
        continue;
      }
      const v = Number(cell.replace(/,/g, ""));
      assert.ok(Number.isFinite(v) && (v > 0 || SIGNED.includes(m.name)), `${b} ${m.name}: "${cell}"\n${err}`);
    }
    // Each ActorMQ figure has a ratio to the best peer whenever a peer measured that workload.
    const peerFigures = measuredPeers.filter((p) => !NOT_APPLICABLE[p]?.includes(m.name));
    if (peerFigures.length && !isContext(m)) assert.match(cells![cells!.length - 1], /^\d[\d,.]* × /, `${m.name}: ratio`);
  }
});

test.run();
