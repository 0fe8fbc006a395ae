// `npm run typecheck` (and the first step of `npm test`): `tsc --noEmit` (strict, Node's types
// plus Deno's, see tsconfig.json) and `deno check` over every TypeScript file, at the same time.
// Prints each checker's errors; exits 1 if either found any.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

const DENO = "node_modules/.bin/deno";
const DENO_TYPES = ".build/deno.d.ts";

/** Both checks; resolves to [{ name, ok, output, ms }]. */
export async function typecheck() {
  ensureDenoTypes();
  return Promise.all([
    run("tsc", "node_modules/.bin/tsc", ["--noEmit", "-p", "tsconfig.json", "--pretty", "false"]),
    run("deno check", DENO, ["check", "--quiet", ...sourceDirs()]),
  ]);
}

/** Deno's declarations for tsc, written again when the Deno version changes. */
export function ensureDenoTypes() {
  const version = spawnSync(DENO, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0];
  const stamp = `// ${version}\n`;
  if (existsSync(DENO_TYPES) && readFileSync(DENO_TYPES, "utf8").startsWith(stamp)) return;
  const types = spawnSync(DENO, ["types"], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (types.status !== 0) throw new Error(`deno types failed: ${types.stderr}`);
  mkdirSync(".build", { recursive: true });
  writeFileSync(DENO_TYPES, stamp + types.stdout);
}

/** Top-level folders holding TypeScript (so a new one is checked without editing this list). */
function sourceDirs() {
  return readdirSync(".", { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith(".") && d.name !== "node_modules" && d.name !== "dist")
    .filter((d) => readdirSync(d.name, { recursive: true }).some((f) => String(f).endsWith(".ts")))
    .map((d) => d.name);
}

function run(name, command, args) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ name, ok: code === 0, output, ms: Date.now() - started }));
  });
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--deno-types")) {
  // `npm install`'s prepare step: Deno's declarations in place, so a bare `tsc --noEmit` checks
  // the Deno platform layer too. Not having them is no reason to fail an install.
  try {
    ensureDenoTypes();
  } catch (e) {
    console.warn(`actormq: Deno's declarations for tsc not written (${String(e.message ?? e).split("\n")[0]}); npm run typecheck writes them`);
  }
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await typecheck();
  for (const r of results) {
    if (!r.ok) process.stdout.write(r.output);
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${(r.ms / 1000).toFixed(1)} s)`);
  }
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
