// Real brokers for end-to-end tests: in this process (Broker.start on port 0 and a temp dir),
// or as a child process (for crash tests), on whichever runtime runs the test.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../runtime/broker.ts";
import { type BrokerConfig, defaults } from "../../runtime/config.ts";
import { loadPlatform } from "../../platform/select.ts";
import { BROKER_LAUNCH_FLAGS } from "../../platform/v8-flags.ts";

export const isDeno = "Deno" in globalThis;

export function tempDir(prefix = "actormq-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startBroker(overrides: Partial<BrokerConfig> = {}): Promise<{ broker: Broker; url: string; dir: string; stop(): Promise<void> }> {
  const dir = overrides.dataDir ?? tempDir().path;
  const platform = await loadPlatform();
  const broker = await Broker.start(platform, { ...defaults, port: 0, grpcPort: 0, dataDir: dir, ...overrides });
  return {
    broker,
    url: broker.listenAddress,
    dir,
    async stop() {
      await broker.shutdown();
      if (!overrides.dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BrokerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

const spawned = new Set<ChildProcess>();

/** SIGKILLs every broker process spawnBroker started that is still running (for test.after). */
export function killSpawned(): void {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  spawned.clear();
}

/**
 * Starts `npm start`'s entry point as a child process (on Node with its launch flags) and waits
 * for its listening line. Without a --grpc-port in `args` it serves no gRPC endpoint: test files
 * run side by side, and a standalone broker's default (8081) would be taken by the first.
 * `nodeArgs` go to Node (the bench's --cpu-prof); Deno takes none.
 */
export function spawnBroker(args: string[], timeoutMs = 20_000, nodeArgs: string[] = []): Promise<BrokerProcess> {
  if (!args.includes("--grpc-port")) args = [...args, "--grpc-port", "0"];
  const [cmd, argv] = isDeno
    ? ["node_modules/.bin/deno", ["run", "-A", "--quiet", "runtime/main.ts", ...args]]
    : [process.execPath, [...BROKER_LAUNCH_FLAGS, ...nodeArgs, "dist/broker.mjs", ...args]];
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  spawned.add(child);
  let out = "";
  const exited = new Promise<number | string>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (wss?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out, exited });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d) => (out += d));
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code}) before listening:\n${out}`));
    });
  });
}

/** Polls a condition until it holds or the deadline passes: waiting on a state, not a sleep. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
