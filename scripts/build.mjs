// Builds what Node runs (Node 20 does not run TypeScript), the browser bundles and the package's
// type declarations. Deno runs the .ts sources directly and needs none of this.
//   node scripts/build.mjs                 the package: everything `npm pack` ships
//   node scripts/build.mjs broker admin    only those outputs (npm start, npm run admin)
//   node scripts/build.mjs dev             the package without types, benches and test bundles (npm test)
// Each output builds on its own, so one broken file fails its own bundle (and its tests), not
// everything. A bundle whose inputs (every file esbuild read, and this script) have not changed
// since it was built is not built again (.build/stamps/). Outputs are built in memory and each
// file is replaced by a rename only when its bytes changed, so a build never leaves a
// half-written file and two builds at once (two `npm start`s) never rewrite a file the other is
// loading.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const node = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "linked", logLevel: "error", write: false };
const browser = { bundle: true, platform: "browser", format: "esm", target: "es2022", sourcemap: "linked", logLevel: "error", write: false, plugins: [noWs()] };
const bin = { banner: { js: "#!/usr/bin/env node" } };
// The broker's bin starts Node with the V8 flags that only a command line sets
// (BROKER_LAUNCH_FLAGS in platform/v8-flags.ts): sh runs the second line, which JavaScript reads as
// a string and a comment. (`env -S` would say it in one line, but busybox's env, Alpine's, lacks -S.)
const brokerBin = { banner: { js: '#!/bin/sh\n\':\' //; exec node --max-semi-space-size=4 "$0" "$@"' } };
const BUILD_SCRIPT = relative(process.cwd(), new URL(import.meta.url).pathname);

/** Every output by name: a function that builds it. */
const outputs = {
  /** `actormq` (bin) and `npm start`: the broker, on Node. */
  broker: () => bundle({ ...node, ...brokerBin, entryPoints: ["runtime/main.ts"], outfile: "dist/broker.mjs" }),
  /** `actormq-admin` (bin) and `npm run admin`. */
  admin: () => bundle({ ...node, ...bin, entryPoints: ["runtime/admin-cli.ts"], outfile: "dist/admin.mjs" }),
  /** `actormq` for Node and Deno (`npm:actormq`): the client, its dependencies imported. */
  client: () => bundle({ ...node, platform: "neutral", entryPoints: ["client/mod.ts"], outfile: "dist/client.mjs" }),
  /** `actormq/broker`: a broker inside a program. */
  embed: () => bundle({ ...node, entryPoints: ["runtime/embed.ts"], outfile: "dist/embed.mjs" }),
  /** `actormq` in browsers (the `browser` condition, or a <script type="module">): one self-contained file. */
  "browser-client": () => bundle({ ...browser, entryPoints: ["client/mod.ts"], outfile: "dist/actormq-client.js" }),
  /** The console page, uPlot's style sheet before ours (a broker that finds it missing builds the same with inspector/build.mjs). */
  inspector: async () => {
    await bundle({ ...browser, entryPoints: ["inspector/main.ts"], outfile: "dist/inspector.js" });
    replace("dist/inspector.html", readFileSync("inspector/index.html"));
    replace("dist/inspector.css", Buffer.concat([readFileSync("node_modules/uplot/dist/uPlot.min.css"), Buffer.from("\n"), readFileSync("inspector/style.css")]));
  },
  /** .d.ts files for the package's entry points, under dist/types. */
  types,
  bench: () => bundle({ ...node, entryPoints: ["bench/main.ts"], outfile: "dist/bench.mjs" }),
  "bench-peers": () => bundle({ ...node, entryPoints: ["bench/peers/main.ts"], outfile: "dist/bench-peers.mjs" }),
  /** One bundle per test file, under .build/tests. */
  tests: () =>
    Promise.all(readdirSync("tests").filter((f) => f.endsWith(".test.ts")).map((f) =>
      bundle({ ...node, entryPoints: [`tests/${f}`], outfile: `.build/tests/${f.replace(/\.ts$/, ".mjs")}` })
    )),
};

const PACKAGE = ["broker", "admin", "client", "embed", "browser-client", "inspector", "types"];
const groups = { package: PACKAGE, dev: [...PACKAGE.filter((o) => o !== "types"), "bench", "bench-peers", "tests"] };

const quiet = process.argv.includes("--quiet");
const asked = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const names = [...new Set((asked.length ? asked : ["package"]).flatMap((a) => groups[a] ?? [a]))];
const unknown = names.filter((n) => !outputs[n]);
if (unknown.length) {
  console.error(`build: no output named ${unknown.join(", ")} (outputs: ${Object.keys(outputs).join(", ")}; groups: ${Object.keys(groups).join(", ")})`);
  process.exit(2);
}

const started = Date.now();
const results = await Promise.allSettled(names.map((n) => outputs[n]()));
const failed = names.filter((_, i) => results[i].status === "rejected");
for (const n of failed) {
  const e = results[names.indexOf(n)].reason;
  // esbuild has printed its errors already (logLevel "error"); say which output they broke.
  console.error(`build: ${n} failed${e?.errors ? "" : `: ${e?.message ?? e}`}`);
}
if (!quiet || failed.length) console.log(`build: ${names.length - failed.length} of ${names.length} outputs ready (built, or up to date) in ${Date.now() - started} ms`);
process.exit(failed.length ? 1 : 0);

async function bundle(options) {
  const stamp = `.build/stamps/${options.outfile.replaceAll("/", "_")}.json`;
  if (fresh(stamp)) return;
  const { build } = await import("esbuild"); // loaded only when something is out of date
  const result = await build({ ...options, metafile: true });
  const outputs = result.outputFiles.map((f) => relative(process.cwd(), f.path));
  result.outputFiles.forEach((f, i) => replace(outputs[i], f.contents));
  const files = [...Object.keys(result.metafile.inputs).filter((f) => !f.includes(":")), BUILD_SCRIPT, ...outputs];
  replace(stamp, Buffer.from(JSON.stringify(Object.fromEntries(files.map((f) => [f, signature(f)])))));
}

/** A file's size and modification time, or null when it is missing. */
function signature(path) {
  try {
    const s = statSync(path);
    return [s.size, s.mtimeMs];
  } catch {
    return null;
  }
}

/** Whether every file a stamp lists (inputs and outputs) is as it was when the stamp was written. */
function fresh(stamp) {
  try {
    const files = JSON.parse(readFileSync(stamp, "utf8"));
    return Object.entries(files).every(([f, sig]) => sig !== null && JSON.stringify(signature(f)) === JSON.stringify(sig));
  } catch {
    return false;
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename, unless it holds them already. */
function replace(path, bytes) {
  try {
    if (statSync(path).size === bytes.length && Buffer.compare(readFileSync(path), bytes) === 0) return;
  } catch {
    // missing: write it
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/**
 * Browser bundles never load `ws`: the client falls back to the global WebSocket when `ws` is
 * not there (client/websocket-class.ts), and a bundler given the package's browser build must not
 * reach for ws's browser stub.
 */
function noWs() {
  return {
    name: "no-ws",
    setup(b) {
      b.onResolve({ filter: /^ws$/ }, () => ({ path: "ws", namespace: "no-ws" }));
      b.onLoad({ filter: /.*/, namespace: "no-ws" }, () => ({ contents: "export default undefined;", loader: "js" }));
    },
  };
}

/** tsc's declarations of the package's entry points, written beside each other under dist/types. */
async function types() {
  const tmp = `.build/types.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const args = [
    "--ignoreConfig", "client/mod.ts", "runtime/embed.ts", ".build/deno.d.ts",
    "--declaration", "--emitDeclarationOnly", "--outDir", tmp, "--rootDir", ".",
    "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--allowImportingTsExtensions",
    "--strict", "--skipLibCheck", "--types", "node", "--lib", "es2022,dom", "--pretty", "false",
  ];
  const { ensureDenoTypes } = await import("./typecheck.mjs");
  ensureDenoTypes();
  const { code, output } = await new Promise((resolve) => {
    const child = spawn("node_modules/.bin/tsc", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ code, output }));
  });
  if (code !== 0) throw new Error(`tsc could not write the declarations:\n${output}`);
  for (const f of readdirSync(tmp, { recursive: true })) {
    const from = join(tmp, String(f));
    if (String(f).endsWith(".d.ts")) replace(join("dist/types", String(f)), readFileSync(from));
  }
  rmSync(tmp, { recursive: true, force: true });
}
