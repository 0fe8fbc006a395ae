// The console page's files: found in dist/ (built by `npm run build`), bundled with esbuild at
// start when they are missing (a fresh checkout run with Deno, which needs no build), and served
// at /inspector/. `/` and `/inspector` redirect there. Files are read per request: they are
// small, and a rebuild shows up on reload. The page refers to its files by relative paths and
// the redirects are relative too, so a reverse proxy may serve it all under a path prefix.
import type { Files, HttpResponse } from "../platform/platform.ts";

/** Where the page lives, relative to `/` and to `/inspector` alike. */
const REDIRECTS: Record<string, string> = { "/": "inspector/", "/inspector": "inspector/" };

const FILES: Record<string, [name: string, type: string]> = {
  "/inspector/": ["inspector.html", "text/html; charset=utf-8"],
  "/inspector/index.html": ["inspector.html", "text/html; charset=utf-8"],
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
          await buildInspector(root);
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

  /** The response for `/` or an /inspector path, or null when the path is not the console's. */
  serve(path: string): HttpResponse | null {
    const [bare, query] = path.split("?");
    const to = REDIRECTS[bare];
    if (to) return { status: 302, headers: { location: query ? `${to}?${query}` : to, "content-type": "text/plain" }, body: `the console is at ${to}\n` };
    const entry = FILES[bare];
    if (!entry) return null;
    const body = this.distDir ? this.files.readFile(`${this.distDir}/${entry[0]}`) : null;
    if (!body) return { status: 404, headers: { "content-type": "text/plain" }, body: "the inspector page is not built: run npm run build\n" };
    return { status: 200, headers: { "content-type": entry[1], "cache-control": "no-cache" }, body };
  }
}

/** inspector/build.mjs, the same build `npm run build` runs (esbuild, uPlot's style sheet and ours). */
async function buildInspector(root: string): Promise<void> {
  const builder = await import(`file://${root}/inspector/build.mjs`);
  await builder.buildInspector(root);
}
