// The scale workload's smoke run (`npm run bench -- --only scale --quick`, at two small sizes), so
// the harness cannot rot: it must finish and print a line per size, and after each restart every
// queue (8 per topic, one retry queue per group) and every group must be back as an actor.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";

// The bench runs on Node (it starts dist/broker.mjs); under Deno this test starts it with node.
const node = "Deno" in globalThis ? "node" : process.execPath;

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, args, { stdio: ["ignore", "pipe", "pipe"] });
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

test("bench --only scale --quick: a line per size, and every queue and group an actor after each restart", async () => {
  const { code, out, err } = await run(["dist/bench.mjs", "--only", "scale", "--quick", "--scale-sizes", "40,80"], 120_000);
  assert.is(code, 0, `exit ${code}\n${err}\n${out}`);
  const lines = out.split("\n").filter((l) => l.startsWith("| "));
  const header = lines[0].split("|").slice(1, -1).map((c) => c.trim());
  const col = (name: string) => header.indexOf(name);
  assert.ok(col("restart (s)") > 0 && col("SIGTERM (s)") > 0, header.join(", "));
  const rows = lines.slice(1).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  assert.equal(rows.map((r) => r[0]), ["40", "80"]);
  for (const r of rows) {
    const n = Number(r[0]);
    assert.is(r[col("queue actors after restart")], (n * 9).toLocaleString("en-US"), `queues at ${n}`);
    assert.is(r[col("group actors after restart")], n.toLocaleString("en-US"), `groups at ${n}`);
    for (const name of ["create, in total (s)", "SIGTERM (s)", "restart (s)", "RSS (MB)"]) {
      assert.ok(Number(r[col(name)].replace(/,/g, "")) > 0, `${name} at ${n}: ${r[col(name)]}`);
    }
  }
  assert.not.match(out, /Not reached|expected/);
});

test.run();
