// The package as a user gets it: `npm pack` of this repository, installed into a new project
// (its dependencies from the npm registry), and from there, on the runtime running this test:
// the broker started through its bin, the README's quick start sending and consuming, the
// embedded broker, the admin bin, and (on Node) the types checked by tsc. The pack and the
// install are shared by the Node and Deno runs of this file (kept by the tarball's hash).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BROKER_LAUNCH_FLAGS } from "../platform/v8-flags.ts";
import { isDeno, tempDir } from "./helpers/broker.ts";

const DENO = resolve("node_modules/.bin/deno");
const TSC = resolve("node_modules/.bin/tsc");

/** What the tarball holds: the built client, broker, admin, inspector and types, README, LICENSE. */
const SHIPPED = [
  "LICENSE",
  "README.md",
  "dist/actormq-client.js",
  "dist/admin.mjs",
  "dist/broker.mjs",
  "dist/client.mjs",
  "dist/embed.mjs",
  "dist/inspector.css",
  "dist/inspector.html",
  "dist/inspector.js",
  "package.json",
];

function sh(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// Pack (prepack builds what ships), then install the tarball into a project of its own.
const packDir = tempDir("actormq-pack-");
const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", packDir.path], "."))[0] as { filename: string; files: { path: string }[] };
const tarball = join(packDir.path, packed.filename);
const hash = createHash("sha256").update(readFileSync(tarball)).digest("hex").slice(0, 16);
const project = resolve(`.build/package-test/${hash}`);
if (!existsSync(join(project, "node_modules/actormq/package.json"))) {
  rmSync(".build/package-test", { recursive: true, force: true }); // installs of older tarballs
  const staging = `${project}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, "package.json"), JSON.stringify({ name: "newcomer", private: true, type: "module" }));
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], staging);
  rmSync(project, { recursive: true, force: true });
  renameSync(staging, project);
}
packDir.remove();

const dataDir = tempDir("actormq-pkg-data-");
let broker: { url: string; stop(): Promise<void> } | undefined;

test.after(async () => {
  await broker?.stop();
  dataDir.remove();
});

/** Runs a command in the project; resolves with its output, rejects with it if it fails. */
function runIn(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: project, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(out);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${out}`));
    });
  });
}

/** A file of this runtime's: node runs it, or deno run -A. */
const runtime = (file: string, ...args: string[]) => (isDeno ? runIn(DENO, ["run", "-A", "--quiet", file, ...args]) : runIn(process.execPath, [file, ...args]));

test("npm pack ships exactly the built client, broker, admin, inspector, types, README and LICENSE", () => {
  const files = packed.files.map((f) => f.path).sort();
  const types = files.filter((f) => f.startsWith("dist/types/"));
  assert.equal(files.filter((f) => !f.startsWith("dist/types/")), SHIPPED);
  assert.ok(types.length > 0 && types.every((f) => f.endsWith(".d.ts")), "declarations only under dist/types");
  for (const entry of ["dist/types/client/mod.d.ts", "dist/types/client/admin.d.ts", "dist/types/runtime/embed.d.ts"]) assert.ok(types.includes(entry), entry);
  assert.ok(!files.some((f) => /(^|\/)(tests|data[^/]*|\.build)\//.test(f)), "no tests, data or build files");
});

test(`the broker starts through its bin (on ${isDeno ? "Deno" : "Node"})`, async () => {
  const bin = join(project, "node_modules/.bin/actormq");
  const [command, args] = isDeno ? [DENO, ["run", "-A", "--quiet", bin]] : [bin, []];
  const child = spawn(command, [...args, "--port", "0", "--grpc-port", "0", "--data-dir", dataDir.path], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr.on("data", (d) => (out += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 20 s:\n${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on("close", (code) => reject(new Error(`the broker exited (${code}):\n${out}`)));
  });
  const exited = new Promise((r) => child.on("close", r));
  broker = {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
  assert.match(out, new RegExp(`ActorMQ ${JSON.parse(readFileSync("package.json", "utf8")).version}`));
  // The bin's launcher line: sh execs Node (same pid) with the flags V8 takes only at start.
  if (!isDeno) {
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
    for (const flag of BROKER_LAUNCH_FLAGS) assert.ok(argv.includes(flag), `node runs with ${flag}: ${argv.join(" ")}`);
  }
});

test("the README's quick start, copied into the project, sends and consumes", async () => {
  assert.ok(broker, "the broker runs");
  const port = new URL(broker!.url).port;
  writeFileSync(join(project, "quick-start.mjs"), readFileSync("examples/quick-start.mjs", "utf8").replaceAll("127.0.0.1:9876", `127.0.0.1:${port}`));
  const out = await runtime("quick-start.mjs");
  assert.match(out, /^sent \S+ to Orders queue \d+$/m, out);
  assert.match(out, /^received "hello" \(/m, out);
});

test("actormq/broker runs a broker in the program", async () => {
  rmSync(join(project, "embedded-data"), { recursive: true, force: true }); // the example's data, from an earlier run
  writeFileSync(join(project, "embedded.mjs"), readFileSync("examples/embedded.mjs", "utf8"));
  const out = await runtime("embedded.mjs");
  assert.match(out, /^read 1 message\(s\): started$/m, out);
});

test("the admin bin talks to the broker", async () => {
  const bin = join(project, "node_modules/.bin/actormq-admin");
  const args = ["topicList", "--endpoints", broker!.url, "--json"];
  const out = isDeno ? await runIn(DENO, ["run", "-A", "--quiet", bin, ...args]) : await runIn(bin, args);
  assert.ok((JSON.parse(out) as { topics: { topic: string }[] }).topics.some((t) => t.topic === "Orders"), out);
});

if (isDeno) console.log("skipping the type check of the package on Deno: tsc runs on Node (the Node run of this file checks them)");
(isDeno ? test.skip : test)("the package's types: a TypeScript project that uses it type-checks (strict, nodenext)", async () => {
  writeFileSync(join(project, "check.ts"), `
import { Producer, PushConsumer, type ClientErrorEvent, type MessageView } from "actormq";
import { Admin } from "actormq/admin";
import { startBroker } from "actormq/broker";

const broker = await startBroker({ port: 0, dataDir: "./data" });
const producer = new Producer({ endpoints: broker.address, logLevel: "error" });
const r = await producer.send({ topic: "T", body: "x" }, { signal: AbortSignal.timeout(1000) });
const id: string = r.msgId;
const consumer = new PushConsumer({ endpoints: broker.address, group: "g", subscriptions: { T: "*" }, handler: async (m: MessageView) => "SUCCESS" });
consumer.on("error", (e: ClientErrorEvent) => e.kind === "handler" && console.log(e.messageId));
const iterated = new PushConsumer({ endpoints: broker.address, group: "h", subscriptions: { T: "*" } });
for await (const m of iterated) console.log(m.body, id);
await new Admin({ endpoints: broker.address }).topicList();
// @ts-expect-error: a typo is a type error too
new Producer({ endpoints: broker.address, sendTimeout: 5 });
`);
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, typeRoots: [resolve("node_modules/@types")], types: ["node"] },
    files: ["check.ts"],
  }));
  await runIn(TSC, ["-p", "tsconfig.json"]);
});

test.run();
