// Builds the console page into <root>/dist: inspector.js (esbuild bundle of inspector/main.ts,
// uPlot included), inspector.css (uPlot's style sheet, then ours) and inspector.html, for a broker
// that finds the page missing at start (runtime/inspector-assets.ts); scripts/build.mjs builds the
// same (keep the two in step).
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

export async function buildInspector(root) {
  await build({
    entryPoints: [`${root}/inspector/main.ts`],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    external: ["ws"],
    outfile: `${root}/dist/inspector.js`,
    sourcemap: "linked",
    logLevel: "error",
  });
  mkdirSync(`${root}/dist`, { recursive: true });
  const uplot = readFileSync(`${root}/node_modules/uplot/dist/uPlot.min.css`, "utf8");
  writeFileSync(`${root}/dist/inspector.css`, `${uplot}\n${readFileSync(`${root}/inspector/style.css`, "utf8")}`);
  writeFileSync(`${root}/dist/inspector.html`, readFileSync(`${root}/inspector/index.html`));
}
