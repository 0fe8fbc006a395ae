// Builds what Node runs (Node 20 does not run TypeScript) and the browser bundle of the client.
// Deno runs the .ts sources directly and needs none of this. Each output builds on its own, so
// one broken file fails its own bundle (and its tests), not everything.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";

const quiet = process.argv.includes("--quiet");
const started = Date.now();

const node = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "linked", logLevel: "error" };

const tests = readdirSync("tests").filter((f) => f.endsWith(".test.ts"));

const results = await Promise.allSettled([
  build({ ...node, entryPoints: { broker: "runtime/main.ts", bench: "bench/main.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  build({ ...node, entryPoints: { admin: "runtime/admin-cli.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  build({ ...node, entryPoints: { "bench-peers": "bench/peers/main.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  ...tests.map((f) => build({ ...node, entryPoints: [`tests/${f}`], outfile: `.build/tests/${f.replace(/\.ts$/, ".mjs")}` })),
  // The SDK for browsers (and any runtime with a global WebSocket): one self-contained file.
  build({ entryPoints: ["client/mod.ts"], bundle: true, platform: "browser", format: "esm", target: "es2022", external: ["ws"], outfile: "dist/actormq-client.js", sourcemap: "linked", logLevel: "error" }),
  // The inspector page (runtime/inspector-assets.ts builds the same when the broker finds it missing).
  build({ entryPoints: ["inspector/main.ts"], bundle: true, platform: "browser", format: "esm", target: "es2022", external: ["ws"], outfile: "dist/inspector.js", sourcemap: "linked", logLevel: "error" }).then(() => {
    mkdirSync("dist", { recursive: true });
    copyFileSync("inspector/index.html", "dist/inspector.html");
    copyFileSync("inspector/style.css", "dist/inspector.css");
  }),
]);

const failed = results.filter((r) => r.status === "rejected").length;
if (!quiet || failed) console.log(`build: ${results.length - failed} of ${results.length} outputs built in ${Date.now() - started} ms`);
process.exit(failed ? 1 : 0);
