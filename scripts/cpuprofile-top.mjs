// Where a process spent its time, from a V8 .cpuprofile (node --cpu-prof): self time per
// function, the top N, with the idle and GC shares. For the bench notes' "what limits it".
//   node scripts/cpuprofile-top.mjs <file.cpuprofile> [N] [--last S]
// --last S: only the last S seconds of the profile (the workload that ran last).
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const args = process.argv.slice(2);
const lastAt = args.indexOf("--last");
const lastUs = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) * 1e6 : Infinity;
const [file, n = "25"] = args;
if (!file) {
  console.error("usage: node scripts/cpuprofile-top.mjs <file.cpuprofile> [N]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const at = [];
let t = 0;
for (const d of profile.timeDeltas) at.push((t += d));
const from = t - lastUs;
// timeDeltas[i] is the time before samples[i]: charge it to that sample's function.
for (let i = 0; i < profile.samples.length; i++) {
  if (at[i] < from) continue;
  const { callFrame } = byId.get(profile.samples[i]);
  const where = callFrame.url ? `${basename(callFrame.url)}:${callFrame.lineNumber + 1}` : "";
  const key = `${callFrame.functionName || "(anonymous)"} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
console.log(`${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`${pct(us)}  ${key}`);
