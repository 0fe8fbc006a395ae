// Dependencies point one way (docs/ARCHITECTURE.md, "Layers"): every import of the source tree,
// `import type` included, read from the files themselves, checked against the layers, and no
// module reaches itself through its imports. Type-only circles count: they are what a service
// locator looks like, and esbuild's metafile (or madge on the bundle) never sees them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const LAYERS = ["platform", "protocol", "storage", "actors", "runtime", "client", "inspector"] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import besides itself (bottom first). */
const ALLOWED: Record<Layer, Layer[]> = {
  platform: [],
  protocol: [],
  storage: ["platform", "protocol"],
  actors: ["protocol"],
  runtime: ["platform", "protocol", "storage", "actors"],
  client: ["protocol"],
  inspector: ["client", "protocol"],
};

/** Imports across the layers that are meant, and why. */
const EXCEPTIONS: Record<string, string> = {
  // The admin CLI is a client program shipped with the broker (`actormq-admin`).
  "runtime/admin-cli.ts -> client/admin.ts": "the admin CLI drives the Admin client",
  // Replication dials the master as a client does (ws in Node, the runtime's WebSocket in Deno).
  "runtime/ha/ha-client.ts -> client/websocket-class.ts": "a slave's connection to its master",
};

/** Files outside platform/ that use a `node:` module, and why (platform/ is the only layer meant to). */
const NODE_OUTSIDE_PLATFORM: Record<string, string> = {
  "runtime/admin-cli.ts": "a Node CLI: parseArgs, process, realpath of its own path",
  "runtime/transports/grpc/md5.ts": "MD5 of a body (RocketMQ's digest); WebCrypto has no MD5",
  "runtime/transports/grpc/server.ts": "grpc-js's ServerCredentials.createSsl takes node Buffers (TLS for gRPC)",
};

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) files.push(path.replaceAll("\\", "/"));
    }
  };
  for (const layer of LAYERS) walk(layer);
  return files.sort();
}

// import x from "a"; import type { T } from "a"; export * from "a"; import "a"; import("a")
const IMPORT = /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?[^;'"]*?\bfrom\s*["']([^"']+)["']|(?:^|[\n;])\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, "");
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const files = sourceFiles();
const known = new Set(files);
const edges: Edge[] = [];
const external = new Map<string, string[]>();
for (const file of files) {
  for (const spec of importsOf(file)) {
    if (spec.startsWith(".")) edges.push({ from: file, to: normalize(join(dirname(file), spec)).replaceAll("\\", "/") });
    else external.set(file, [...(external.get(file) ?? []), spec]);
  }
}
const layerOf = (path: string) => path.split("/")[0] as Layer;

test("the parser sees the imports (a sanity check on the check)", () => {
  assert.ok(files.length > 100, `${files.length} source files`);
  assert.ok(edges.some((e) => e.from === "runtime/broker.ts" && e.to === "runtime/context.ts"), "runtime/broker.ts imports runtime/context.ts");
  assert.ok(edges.some((e) => e.from === "storage/commit-log.ts" && e.to === "platform/platform.ts"), "storage/commit-log.ts imports platform/platform.ts (a type import)");
  const unresolved = edges.filter((e) => !known.has(e.to) && !e.to.endsWith(".json"));
  assert.equal(unresolved, [], "every relative import names a source file");
});

test("each layer imports only the layers below it", () => {
  const wrong = edges
    .filter((e) => known.has(e.to) && layerOf(e.from) !== layerOf(e.to) && !ALLOWED[layerOf(e.from)].includes(layerOf(e.to)))
    .map((e) => `${e.from} -> ${e.to}`)
    .filter((e) => !(e in EXCEPTIONS));
  assert.equal(wrong, [], "imports against the layers (docs/ARCHITECTURE.md)");
  for (const e of Object.keys(EXCEPTIONS)) {
    const [from, to] = e.split(" -> ");
    assert.ok(edges.some((x) => x.from === from && x.to === to), `the exception "${e}" no longer happens: remove it from the list`);
  }
});

test("only platform/ imports node:* (and the files named, for the reasons given)", () => {
  const users = [...external].filter(([file, specs]) => layerOf(file) !== "platform" && specs.some((s) => s.startsWith("node:"))).map(([file]) => file);
  assert.equal(users.filter((f) => !(f in NODE_OUTSIDE_PLATFORM)), [], "node:* outside platform/");
  assert.equal(Object.keys(NODE_OUTSIDE_PLATFORM).filter((f) => !users.includes(f)), [], "listed but no longer importing node:*: remove from the list");
});

test("no module reaches itself through its imports (type-only imports included)", () => {
  const next = new Map<string, string[]>();
  for (const e of edges) if (known.has(e.to)) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  // Depth-first, three colours: a grey module met again closes a circle; the path says which.
  const state = new Map<string, "grey" | "black">();
  const circles: string[] = [];
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "grey");
    path.push(file);
    for (const to of next.get(file) ?? []) {
      const s = state.get(to);
      if (s === "grey") circles.push([...path.slice(path.indexOf(to)), to].join(" -> "));
      else if (s === undefined) visit(to);
    }
    path.pop();
    state.set(file, "black");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.equal(circles, [], "import circles");
});

test.run();
