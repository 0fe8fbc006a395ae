// One declaration of options (runtime/options.ts) makes the flag parser, the config-file reader,
// --help and the README's table. Every bad value is refused with one line naming the option and
// what it expects; as a process, the broker then exits 1 within a second, without a stack trace,
// and before it creates anything in its data directory.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError, defaults, optionsMarkdown, parseCommandLine, parseConfig, usage } from "../runtime/config.ts";
import { isDeno, tempDir } from "./helpers/broker.ts";

const noFile = () => {
  throw new Error("no config file expected");
};

function refused(argv: string[], file?: unknown): string {
  try {
    parseCommandLine(argv, () => JSON.stringify(file));
  } catch (e) {
    assert.instance(e, ConfigError);
    const line = (e as Error).message;
    assert.not.match(line, /\n/, "one line");
    return line;
  }
  throw new Error(`accepted: ${argv.join(" ")} ${JSON.stringify(file)}`);
}

test("defaults, and flags of every kind", () => {
  assert.equal(parseConfig([], noFile), defaults);
  const c = parseConfig([
    "--port", "0", "--segment-size", "64m", "--tail-size=0", "--flush-interval", "2s", "--flush", "sync",
    "--timer-max-delay", "12h", "--namesrv", "a:1,b:2", "--role", "broker", "--delay-levels", "1s 2m", "--log-level", "debug",
  ], noFile)!;
  assert.is(c.port, 0);
  assert.is(c.segmentSize, 64 * 1024 * 1024);
  assert.is(c.tailBytes, 0);
  assert.is(c.flushIntervalMs, 2000);
  assert.is(c.flush, "sync");
  assert.is(c.timerMaxDelayMs, 12 * 3_600_000);
  assert.equal(c.namesrvAddrs, ["a:1", "b:2"]);
  assert.equal(c.delayLevels, [1000, 120_000]);
  assert.is(c.logLevel, "debug");
  // A bare number is in the option's unit (ms here).
  assert.is(parseConfig(["--flush-interval", "250"], noFile)!.flushIntervalMs, 250);
  assert.is(parseCommandLine(["--help"], noFile).kind, "help");
  assert.is(parseCommandLine(["-V"], noFile).kind, "version");
});

test("the config file takes the flags' names in camelCase, and flags win", () => {
  const file = { flushInterval: 100, tailSize: "1m", namesrv: "h:1", segmentSize: "64m", port: 1234, delayLevels: [5, 6] };
  const c = parseConfig(["--config", "c.json", "--port", "4321"], () => JSON.stringify(file))!;
  assert.is(c.flushIntervalMs, 100);
  assert.is(c.tailBytes, 1024 * 1024);
  assert.equal(c.namesrvAddrs, ["h:1"]);
  assert.is(c.segmentSize, 64 * 1024 * 1024);
  assert.is(c.port, 4321);
  assert.equal(c.delayLevels, [5, 6]);
});

test("bad flags: one line naming the flag and what it expects", () => {
  assert.match(refused(["--port", "99999"]), /^--port: expected an integer 0\.\.65535, got "99999"$/);
  assert.match(refused(["--port", "abc"]), /^--port: expected an integer/);
  assert.match(refused(["--segment-size", "64x"]), /^--segment-size: expected a size 64k\.\.4g/);
  assert.match(refused(["--segment-size", "1k"]), /^--segment-size: expected a size 64k/);
  assert.match(refused(["--flush", "never"]), /^--flush: expected one of async, sync, got "never"$/);
  assert.match(refused(["--default-queues", "0"]), /^--default-queues: expected an integer 1\.\.1024/);
  assert.match(refused(["--flush-interval", "5 parsecs"]), /^--flush-interval: expected a duration/);
  assert.match(refused(["--namesrv", "nohost"]), /^--namesrv: expected host:port/);
  assert.match(refused(["--delay-levels", "1s 5x"]), /^--delay-levels: expected 1\.\.1024 delays/);
  assert.match(refused(["--port"]), /^--port needs a value: an integer/);
  assert.match(refused(["--prot", "1"]), /^unknown option --prot \(did you mean --port\?\)$/);
  assert.match(refused(["--segmentsize", "1g"]), /did you mean --segment-size\?/);
  assert.match(refused(["--zzzzzzzz"]), /^unknown option --zzzzzzzz \(--help lists the options\)$/);
  assert.match(refused(["port"]), /^unexpected argument "port"/);
  assert.match(refused(["--role", "broker"]), /^--role broker needs --namesrv/);
});

test("bad config files: unknown keys with a suggestion, wrong types, bad sizes", () => {
  const c = ["--config", "x.json"];
  assert.match(refused(c, { segmentSize: "64x" }), /^"segmentSize" in x\.json: expected a size .*, got "64x"$/);
  assert.match(refused(c, { port: "abc" }), /^"port" in x\.json: expected an integer 0\.\.65535, got "abc"$/);
  assert.match(refused(c, { port: 1.5 }), /^"port" in x\.json: expected an integer/);
  assert.match(refused(c, { prot: 1 }), /unknown key "prot" \(did you mean "port"\?\)$/);
  assert.match(refused(c, { "data-dir": "/x" }), /unknown key "data-dir" \(did you mean "dataDir"\?\)$/);
  assert.match(refused(c, { flushIntervalMs: 5 }), /unknown key "flushIntervalMs" \(did you mean "flushInterval"\?\)$/);
  assert.match(refused(c, { tailBytes: 5 }), /unknown key "tailBytes" \(did you mean "tailSize"\?\)$/);
  assert.match(refused(c, { namesrvAddrs: ["a:1"] }), /did you mean "namesrv"\?/);
  assert.match(refused(c, [1, 2]), /expected a JSON object/);
  assert.match(refused(c, { dataDir: 5 }), /^"dataDir" in x\.json: expected a non-empty string, got 5$/);
  assert.throws(() => parseCommandLine(c, () => "{ not json"), (e: Error) => e instanceof ConfigError && /x\.json: not valid JSON/.test(e.message));
});

test("--help lists every option of the schema; the README's table is the schema's", () => {
  const help = usage();
  for (const flag of optionsMarkdown().matchAll(/^\| `(--[a-z-]+)/gm)) assert.ok(help.includes(`${flag[1]} `), `--help shows ${flag[1]}`);
  const readme = readFileSync("README.md", "utf8");
  const start = "<!-- options: generated from runtime/options.ts; UPDATE_README=1 npm test -- config rewrites it -->\n";
  const end = "<!-- options end -->";
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  assert.ok(from >= 0 && to > from, "README has the options block");
  const table = optionsMarkdown();
  if (process.env.UPDATE_README === "1") writeFileSync("README.md", readme.slice(0, from + start.length) + table + readme.slice(to));
  else assert.fixture(readme.slice(from + start.length, to), table);
});

// ------------------------------------------------------------------ as a process

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `as`: a command line the broker's runs behind (setpriv, to run it as another user). */
function run(entry: "broker" | "admin", args: string[], env: Record<string, string> = {}, as: string[] = []): Promise<Exit> {
  let [cmd, argv] = isDeno
    ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", `runtime/${entry === "broker" ? "main" : "admin-cli"}.ts`]]
    : [process.execPath, [`dist/${entry}.mjs`]];
  if (as.length > 0) [cmd, argv] = [as[0], [...as.slice(1), cmd, ...argv]];
  const started = Date.now();
  const child = spawn(cmd, [...argv, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  return new Promise((resolve) => child.on("close", (code) => {
    clearTimeout(killer);
    resolve({ code, stdout, stderr, ms: Date.now() - started });
  }));
}

async function refusedStart(args: string[], pattern: RegExp, dataDir?: string, as: string[] = []): Promise<void> {
  // What a start that does nothing takes right now (--version; the machine may be busy): the
  // refusal must come within a second beyond it.
  const baseline = (await run("broker", ["--version"], {}, as)).ms;
  const r = await run("broker", args, {}, as);
  const line = r.stderr.trim();
  assert.is(r.code, 1, `exit 1 for ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  assert.match(line, pattern);
  assert.not.match(line, /\n/, `one line for ${args.join(" ")}: ${line}`);
  assert.not.match(line, /\bat .*:\d+:\d+/, "no stack trace");
  assert.ok(r.ms < baseline * 1.5 + 1000, `refused in ${r.ms} ms (a plain --version took ${baseline} ms)`);
  if (dataDir) assert.not.ok(existsSync(join(dataDir, "commitlog")), "storage was not touched");
}

test("--version on the broker and the admin CLI", async () => {
  const version = JSON.parse(readFileSync("package.json", "utf8")).version;
  const b = await run("broker", ["--version"]);
  assert.is(b.code, 0);
  assert.is(b.stdout.trim(), `actormq ${version}`);
  const a = await run("admin", ["--version"]);
  assert.is(a.code, 0);
  assert.is(a.stdout.trim(), `actormq admin ${version}`);
});

test("each bad value: one line, exit 1, within a second, storage untouched", async () => {
  const dir = tempDir();
  const cfg = (name: string, body: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, JSON.stringify(body));
    return path;
  };
  const data = join(dir.path, "data");
  await refusedStart(["--data-dir", data, "--port", "99999"], /^actormq: --port: expected an integer 0\.\.65535, got "99999"$/, data);
  await refusedStart(["--data-dir", data, "--config", cfg("a.json", { segmentSize: "64x" })], /"segmentSize" in .*a\.json: expected a size/, data);
  await refusedStart(["--data-dir", data, "--config", cfg("b.json", { port: "abc" })], /"port" in .*b\.json: expected an integer/, data);
  await refusedStart(["--data-dir", data, "--config", cfg("c.json", { prot: 9 })], /unknown key "prot" \(did you mean "port"\?\)/, data);
  await refusedStart(["--data-dir", data, "--config", cfg("d.json", { "data-dir": "x" })], /unknown key "data-dir" \(did you mean "dataDir"\?\)/, data);
  await refusedStart(["--data-dir", data, "--config", join(dir.path, "missing.json")], /missing\.json: cannot be read/, data);
  // A data directory that is a file.
  const file = join(dir.path, "a-file");
  writeFileSync(file, "x");
  await refusedStart(["--port", "0", "--data-dir", file], /^actormq: --data-dir .*a-file is not a directory$/);
  dir.remove();
});

test("port in use: one line naming the port, exit 1, before storage is touched", async () => {
  const dir = tempDir();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  await refusedStart(["--port", String(port), "--data-dir", dir.path], new RegExp(`^actormq: port ${port} on 127\\.0\\.0\\.1 is already in use`), dir.path);
  blocker.close();
  dir.remove();
});

// Permission denied needs a user the data directory refuses: root is refused nothing, so as root
// the broker runs as nobody (setpriv), whose mkdir inside a root-only directory fails with EACCES.
const asNobody = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];
const eaccesSkip = process.getuid?.() !== 0
  ? null
  : !["/usr/bin/setpriv", "/bin/setpriv"].some((p) => existsSync(p))
  ? "running as root without setpriv to drop to an unprivileged user"
  : null;
if (eaccesSkip) console.log(`skipping the EACCES start-up test: ${eaccesSkip}`);
(eaccesSkip ? test.skip : test)("a data dir this user may not write: one line, exit 1, no stack trace", async () => {
  const dir = tempDir(); // mode 0700, root's own when root runs the tests
  if (process.getuid?.() !== 0) chmodSync(dir.path, 0o500);
  const data = join(dir.path, "data");
  await refusedStart(["--port", "0", "--data-dir", data], /^actormq: permission denied: .*data.* \(is --data-dir .*data writable by this user\?\)$/, data, asNobody);
  chmodSync(dir.path, 0o700);
  dir.remove();
});

test("--log-format json: one JSON object per line, with level, logger and the message", async () => {
  const dir = tempDir();
  const [cmd, argv] = isDeno ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/main.ts"]] : [process.execPath, ["dist/broker.mjs"]];
  const child = spawn(cmd, [...argv, "--port", "0", "--grpc-port", "0", "--data-dir", dir.path, "--log-format", "json", "--log-level", "debug"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.includes("listening on"));
      if (line) resolve(JSON.parse(line));
    });
    child.on("close", () => reject(new Error(`exited before listening:\n${out}`)));
  });
  assert.is(listening.level, "info");
  assert.is(listening.logger, "actormq.main");
  assert.match(String(listening.message), /^ActorMQ \d+\.\d+\.\d+, broker broker-a on (node|deno): listening on ws:\/\/127\.0\.0\.1:\d+\/ws$/);
  assert.match(String(listening.url), /^ws:\/\//);
  assert.ok(Date.parse(String(listening.time)) > 0);
  for (const line of out.trim().split("\n")) JSON.parse(line);
  const closed = new Promise((resolve) => child.on("close", resolve));
  child.kill("SIGTERM");
  await closed;
  // (Deno's child_process reports a handled SIGTERM as the signal even after exit(0): read the log.)
  assert.match(out, /"message":"stopped cleanly"/);
  dir.remove();
});

test.run();
