// Before and after, interleaved: the same bench sections of two checkouts, run in turn on the same
// machine at the same time, each checkout's own bench against its own broker (the workloads'
// code must be the same in both: compare `git diff A B -- bench/`). A run is one `--runs 1` bench
// of each section of each checkout; the order alternates each run (A B, B A, ...), so drift in
// the machine's load falls on both sides alike. Prints each row's medians and their ratio.
//
//   node bench/compare.mjs --before ../base --after . --only produce,timer,transaction --runs 3 -- --timer-messages 200000
import { execFileSync, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string" },
    only: { type: "string" },
    runs: { type: "string", default: "3" },
    "no-build": { type: "boolean", default: false },
  },
  allowPositionals: true,
});
if (!values.before || !values.after || !values.only) {
  console.error("usage: node bench/compare.mjs --before DIR --after DIR --only SECTION[,SECTION...] [--runs N] [--no-build] [-- bench args]");
  process.exit(2);
}
const sides = { before: resolve(values.before), after: resolve(values.after) };
const sections = values.only.split(",");
const runs = Number(values.runs);

if (!values["no-build"]) {
  for (const dir of Object.values(sides)) execFileSync(process.execPath, ["scripts/build.mjs", "--quiet", "bench", "broker"], { cwd: dir, stdio: "inherit" });
}

/** Row name -> unit and each side's values. */
const rows = new Map();
for (let run = 1; run <= runs; run++) {
  const order = run % 2 === 1 ? ["before", "after"] : ["after", "before"];
  for (const section of sections) {
    for (const side of order) {
      console.error(`run ${run}/${runs}: ${section}, ${side}`);
      const r = spawnSync(process.execPath, ["dist/bench.mjs", "--only", section, "--runs", "1", ...positionals], {
        cwd: sides[side],
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0) throw new Error(`${side} bench --only ${section} exited ${r.status}:\n${r.stdout}`);
      for (const line of r.stdout.split("\n")) {
        // | workload | median | unit | runs | ratio to yardstick |
        const cells = line.split("|").slice(1, -1).map((c) => c.trim());
        if (cells.length < 4 || cells[0] === "workload" || cells[0].startsWith("---")) continue;
        const value = Number(cells[1].replace(/,/g, ""));
        if (!Number.isFinite(value)) continue;
        const row = rows.get(cells[0]) ?? { unit: cells[2], before: [], after: [] };
        row[side].push(value);
        rows.set(cells[0], row);
      }
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(Math.abs(x) >= 10 ? 1 : 2));
console.log(`\nbefore: ${sides.before} (${commit(sides.before)})\nafter:  ${sides.after} (${commit(sides.after)})\n${runs} interleaved run(s) of --only ${sections.join(", ")}\n`);
console.log("| workload | unit | before | after | after / before | before runs | after runs |");
console.log("|---|---|---:|---:|---:|---|---|");
for (const [name, r] of rows) {
  if (!r.before.length || !r.after.length) continue;
  const b = median(r.before);
  const a = median(r.after);
  console.log(`| ${name} | ${r.unit} | ${fmt(b)} | ${fmt(a)} | ${(a / b).toFixed(2)} | ${r.before.map(fmt).join(", ")} | ${r.after.map(fmt).join(", ")} |`);
}

function commit(dir) {
  try {
    return execFileSync("git", ["log", "-1", "--format=%h %s"], { cwd: dir, encoding: "utf8" }).trim().slice(0, 80);
  } catch {
    return "not a git checkout";
  }
}
