// Builds what Node runs (Node 20 does not run TypeScript) and the browser bundle of the client.
// Deno runs the .ts sources directly and needs none of this.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const quiet = process.argv.includes("--quiet");
const started = Date.now();

const node = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "linked", logLevel: "warning" };

const tests = readdirSync("tests").filter((f) => f.endsWith(".test.ts")).map((f) => `tests/${f}`);

await Promise.all([
  build({ ...node, entryPoints: { broker: "runtime/main.ts", admin: "runtime/admin.ts" }, outdir: "dist", entryNames: "[name]", outExtension: { ".js": ".mjs" } }),
  build({ ...node, entryPoints: tests, outdir: ".build/tests", outExtension: { ".js": ".mjs" } }),
  build({ ...node, entryPoints: { bench: "bench/main.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  // The SDK for browsers (and any runtime with a global WebSocket): one self-contained file.
  build({ entryPoints: ["client/mod.ts"], bundle: true, platform: "browser", format: "esm", target: "es2022", external: ["ws"], outfile: "dist/actormq-client.js", sourcemap: "linked", logLevel: "warning" }),
]);

if (!quiet) console.log(`built dist/ and .build/ in ${Date.now() - started} ms`);
