// The inspector page's files: found in dist/ (built by `npm run build`), bundled with esbuild at
// start when they are missing (a fresh checkout run with Deno, which needs no build), and served
// at /inspector. Files are read per request: they are small, and a rebuild shows up on reload.
import type { Files, HttpResponse } from "../platform/platform.ts";

const FILES: Record<string, [name: string, type: string]> = {
  "/inspector": ["inspector.html", "text/html; charset=utf-8"],
  "/inspector/": ["inspector.html", "text/html; charset=utf-8"],
  "/inspector/inspector.js": ["inspector.js", "text/javascript; charset=utf-8"],
  "/inspector/inspector.js.map": ["inspector.js.map", "application/json"],
  "/inspector/inspector.css": ["inspector.css", "text/css; charset=utf-8"],
};

export class InspectorAssets {
  private constructor(private readonly files: Files, readonly distDir: string | null) {}

  /**
   * Finds the project's dist/ from this module's place: runtime/ (Deno, sources), dist/ (the
   * Node bundle) or .build/tests/ (bundled tests); builds the page there if it is missing.
   */
  static async locate(files: Files, log: (line: string) => void): Promise<InspectorAssets> {
    const here = new URL(".", import.meta.url);
    if (here.protocol !== "file:") return new InspectorAssets(files, null);
    for (const up of ["../", "../../"]) {
      const root = decodeURIComponent(new URL(up, here).pathname).replace(/\/$/, "");
      const dist = `${root}/dist`;
      if (files.stat(`${dist}/inspector.js`)?.isFile && files.stat(`${dist}/inspector.html`)?.isFile) return new InspectorAssets(files, dist);
      if (files.stat(`${root}/inspector/main.ts`)?.isFile) {
        try {
          const started = Date.now();
          await buildInspector(files, root);
          log(`built the inspector page into ${dist} in ${Date.now() - started} ms`);
          return new InspectorAssets(files, dist);
        } catch (e) {
          log(`the inspector page is not built and could not be (${(e as Error).message}); run npm run build`);
          return new InspectorAssets(files, null);
        }
      }
    }
    return new InspectorAssets(files, null);
  }

  /** The response for an /inspector path, or null when the path is not the inspector's. */
  serve(path: string): HttpResponse | null {
    const entry = FILES[path.split("?")[0]];
    if (!entry) return null;
    const body = this.distDir ? this.files.readFile(`${this.distDir}/${entry[0]}`) : null;
    if (!body) return { status: 404, headers: { "content-type": "text/plain" }, body: "the inspector page is not built: run npm run build\n" };
    return { status: 200, headers: { "content-type": entry[1], "cache-control": "no-cache" }, body };
  }
}

/**
 * The same bundle scripts/build.mjs makes (keep the two in step): inspector/main.ts for
 * browsers, and the page and its style sheet copied beside it.
 */
async function buildInspector(files: Files, root: string): Promise<void> {
  const { build } = await import("esbuild");
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
  for (const [from, to] of [["index.html", "inspector.html"], ["style.css", "inspector.css"]]) {
    const data = files.readFile(`${root}/inspector/${from}`);
    if (!data) throw new Error(`inspector/${from} is missing`);
    await files.writeFileAtomic(`${root}/dist/${to}`, data);
  }
}
