// Two `npm start`s at once (issue 15): each builds what it runs before running it, so two builds
// of the same outputs race. A build writes each output through a temporary file of its own and a
// rename (scripts/build.mjs), so a reader never sees a half-written bundle, a process that opened
// the old one keeps reading the old bytes, and neither build fails on the other's files. The builds run in a project of their own (the repository's sources
// linked into it, its own dist/ and .build/), so they really build and never touch this checkout's
// outputs, which other test files are running.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./helpers/broker.ts";

const project = tempDir("actormq-builds-");
const SOURCES = ["actors", "client", "inspector", "platform", "protocol", "runtime", "scripts", "storage", "node_modules", "package.json"];
for (const name of SOURCES) symlinkSync(resolve(name), join(project.path, name));
mkdirSync(join(project.path, "dist"));

test.after(() => project.remove());

/** Reads the file named by its argument in a loop until its stdin ends; prints how many reads and the lengths of torn ones. */
const READER = `
const fs = require("node:fs");
const path = process.argv[1];
let reads = 0, running = true;
const torn = [];
process.stdin.on("end", () => (running = false)).resume();
(function loop() {
  for (let i = 0; i < 50; i++) {
    let text;
    try { text = fs.readFileSync(path, "utf8"); } catch { continue; }
    reads++;
    const end = text.trimEnd();
    if (!end.endsWith("//# sourceMappingURL=broker.mjs.map") && !end.endsWith("// an older build")) torn.push(text.length);
  }
  if (running) setImmediate(loop);
  else console.log(JSON.stringify({ reads, torn }));
})();
`;

/** Runs one build of the broker and the console in the project; resolves with its exit code and output. */
function build(): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn("node", ["scripts/build.mjs", "broker", "inspector"], { cwd: project.path, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => done({ code, out }));
  });
}

test("three builds at once: each succeeds, a reader never sees a half-written bundle, and one that opened it keeps its bytes", async () => {
  const bundle = join(project.path, "dist/broker.mjs");
  const first = await build();
  assert.is(first.code, 0, first.out);
  // Make the outputs stale (the builds below must write them), and hold the stale bundle open
  // as a broker started by the first `npm start` holds what it loaded.
  appendFileSync(bundle, "// an older build\n");
  const held = openSync(bundle, "r");
  const heldBytes = readFileSync(bundle);
  // A reader of its own, reading the bundle as fast as it can while the builds run: a whole
  // bundle ends with its source map comment (or the mark above), a half-written one does not.
  const reader = spawn("node", ["-e", READER, bundle], { stdio: ["pipe", "pipe", "inherit"] });
  let report = "";
  reader.stdout.on("data", (d) => (report += d));
  const readerDone = new Promise((r) => reader.on("close", r));
  const results = await Promise.all([build(), build(), build()]);
  reader.stdin.end(); // tells it to stop and report
  await readerDone;
  const { reads, torn } = JSON.parse(report) as { reads: number; torn: number[] };

  // The open file was replaced, not rewritten in place: it still holds what it held.
  const now = Buffer.alloc(heldBytes.length + 1);
  const got = readSync(held, now, 0, now.length, 0);
  closeSync(held);
  assert.ok(got === heldBytes.length && now.subarray(0, got).equals(heldBytes), `the open bundle changed under its reader (${got} of ${heldBytes.length} bytes as they were)`);
  for (const r of results) assert.is(r.code, 0, r.out);
  assert.ok(reads > 0, "the reader never found the bundle");
  assert.equal(torn, [], `reads of a half-written bundle (lengths): ${torn.join(", ")}`);
  assert.ok(readFileSync(bundle, "utf8").trimEnd().endsWith("//# sourceMappingURL=broker.mjs.map"));
  assert.equal(readdirSync(join(project.path, "dist")).filter((f) => f.endsWith(".tmp")), [], "no temporary file left behind");
  console.log(`(the bundle was read whole ${reads} times while the builds ran)`);

  // What they built runs.
  const version = spawnSync("node", [bundle, "--version"], { encoding: "utf8" });
  assert.is(version.status, 0, version.stderr);
  assert.is(version.stdout.trim(), `actormq ${JSON.parse(readFileSync("package.json", "utf8")).version}`);
});

test("a start with nothing changed builds nothing and rewrites no output", async () => {
  const bundle = join(project.path, "dist/broker.mjs");
  const before = readdirSync(join(project.path, "dist")).map((f) => [f, readFileSync(join(project.path, "dist", f)).length]);
  const mtime = statSync(bundle).mtimeMs;
  const again = await build();
  assert.is(again.code, 0, again.out);
  assert.is(statSync(bundle).mtimeMs, mtime, "dist/broker.mjs was rewritten");
  assert.equal(readdirSync(join(project.path, "dist")).map((f) => [f, readFileSync(join(project.path, "dist", f)).length]), before);
});

test.run();
