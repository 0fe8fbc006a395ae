// Type-checks, then runs every test file on Node and on Deno, one process per file, and ends with
// the line "N passed, N failed, N skipped" summed over both runtimes (the two type checkers count
// as one test each). Above it, every skipped test's reason, as its file printed it ("skipping ...").
//   npm test                    everything
//   npm test -- storage         only files whose name contains "storage" (no type check)
//   npm test -- --node | --deno one runtime
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { typecheck } from "./typecheck.mjs";

rmSync(".build/tests", { recursive: true, force: true });

const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith("--"));
const runtimes = args.includes("--node") ? ["node"] : args.includes("--deno") ? ["deno"] : ["node", "deno"];

let passed = 0;
let failed = 0;
let skipped = 0;
const skips = [];

// The type check runs while the Node bundles build; a filtered run is for a quick look at a few files.
const checking = filters.length === 0 ? typecheck() : null;
// A file that failed to build fails below, when its bundle is missing or stale.
spawnSync(process.execPath, ["scripts/build.mjs", "--quiet", "dev"], { stdio: "inherit" });
if (checking) {
  for (const r of await checking) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(45)} ${r.ok ? "no errors" : "errors"} (${(r.ms / 1000).toFixed(1)} s)`);
    if (r.ok) passed++;
    else {
      failed++;
      process.stdout.write(indent(r.output));
    }
  }
} else {
  skipped += 2;
  skips.push("tsc, deno check: a filtered run does not type-check (npm run typecheck does)");
}

const files = readdirSync("tests")
  .filter((f) => f.endsWith(".test.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

const deno = "node_modules/.bin/deno";
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };

for (const runtime of runtimes) {
  for (const file of files) {
    const cmd = runtime === "node"
      ? [process.execPath, ["--enable-source-maps", `.build/tests/${file.replace(/\.ts$/, ".mjs")}`]]
      : [deno, ["run", "-A", "--quiet", `tests/${file}`]];
    const started = Date.now();
    const { code, output } = await run(cmd[0], cmd[1]);
    const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? NaN);
    const ok = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? NaN);
    const s = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
    let p = 0;
    let f = 0;
    if (Number.isNaN(total)) f = 1; // died before uvu could report: count the file as one failure
    else {
      p = ok;
      f = total - ok; // uvu leaves skipped tests out of its total
      if (code !== 0 && f === 0) f = 1; // an error after the tests (unhandled rejection, leak)
    }
    passed += p;
    failed += f;
    skipped += s;
    if (s) {
      const reasons = [...output.matchAll(/^skipping (.+)$/gm)].map((m) => m[1]);
      skips.push(`${file} on ${runtime}, ${s} skipped: ${reasons.join("; ") || "(the file printed no reason)"}`);
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${f ? "FAIL" : "ok  "} ${runtime.padEnd(4)} ${file.padEnd(40)} ${p} passed, ${f} failed${s ? `, ${s} skipped` : ""} (${secs} s)`);
    if (f) process.stdout.write(indent(output));
  }
}

for (const s of skips) console.log(`skipped: ${s}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);

function run(command, argv) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    // A hung test file must not hang CI: 3 minutes is far beyond any file's budget.
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function indent(text) {
  return text.split("\n").map((l) => `    ${l}`).join("\n") + "\n";
}
