// Where a process spent its time, from a V8 .cpuprofile (node --cpu-prof): self time per
// function, the top N, with the idle and GC shares. For the bench notes' "what limits it".
//   node scripts/cpuprofile-top.mjs <file.cpuprofile> [N] [--last S] [--from S --to S] [--inclusive]
// --last S: only the last S seconds of the profile (the workload that ran last).
// --from S / --to S: only samples between these seconds from the profile's start.
// --inclusive: time with the function anywhere on the stack (its callees included), not self time.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const args = process.argv.slice(2);
const flag = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : undefined;
};
const lastS = flag("--last");
const fromS = flag("--from") ?? 0;
const toS = flag("--to") ?? Infinity;
const inclusive = args.includes("--inclusive") && args.splice(args.indexOf("--inclusive"), 1);
const [file, n = "25"] = args;
if (!file) {
  console.error("usage: node scripts/cpuprofile-top.mjs <file.cpuprofile> [N] [--last S] [--from S --to S] [--inclusive]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const keyOf = ({ callFrame }) => {
  const where = callFrame.url ? `${basename(callFrame.url)}:${callFrame.lineNumber + 1}` : "";
  return `${callFrame.functionName || "(anonymous)"} ${where}`.trim();
};
const self = new Map();
const at = [];
let t = 0;
for (const d of profile.timeDeltas) at.push((t += d));
const from = lastS !== undefined ? t - lastS * 1e6 : fromS * 1e6;
const to = toS * 1e6;
let total = 0;
// timeDeltas[i] is the time before samples[i]: charge it to that sample's function (and, with
// --inclusive, once to every function on its stack).
for (let i = 0; i < profile.samples.length; i++) {
  if (at[i] < from || at[i] > to) continue;
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  const keys = new Set();
  for (let id = profile.samples[i]; id !== undefined; id = inclusive ? parent.get(id) : undefined) keys.add(keyOf(byId.get(id)));
  for (const key of keys) self.set(key, (self.get(key) ?? 0) + us);
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
console.log(`${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`${pct(us)}  ${key}`);
