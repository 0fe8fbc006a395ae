// The client alone: one Producer sending 1 KiB messages with N sends in flight to the in-memory
// echo broker of the client tests (tests/helpers/client-echo-server.ts, storing nothing), which
// runs in a child process so that each side has a core. Measures what the SDK (encoding,
// coalescing, the WebSocket) can carry, without a CommitLog behind it.
//
//   deno run -A bench/client-send.ts [inFlight...]
//   npx esbuild bench/client-send.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=.build/client-send.mjs && node .build/client-send.mjs [inFlight...]
//
// Options: --schedule microtask|timer (the coalescer's flush), --total N (messages per run).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Producer } from "../client/mod.ts";
import { startEchoServer } from "../tests/helpers/client-echo-server.ts";

const isDeno = "Deno" in globalThis;
const argv = process.argv.slice(2);

if (argv.includes("--echo-server")) {
  const server = await startEchoServer({ store: false });
  console.log(server.url);
} else {
  const option = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 2)[1] : fallback;
  };
  const schedule = option("--schedule", "microtask") as "microtask" | "timer";
  const total = Number(option("--total", "200000"));
  const inFlights = argv.length ? argv.map(Number) : [1, 100, 1000];

  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...(isDeno ? ["run", "-A", "--quiet"] : []), self, "--echo-server"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => child.stdout!.once("data", (d) => resolve(String(d).trim())));
  const producer = new Producer({ endpoints: url, flushSchedule: schedule });
  await producer.start();
  const body = new Uint8Array(1024).fill(42);

  /** n messages, or as many as fit in 3 s (Deno's WebSocket client can stall 40 ms per lone send). */
  const run = async (inFlight: number, n: number) => {
    let next = 0;
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < n && performance.now() - started < 3000) {
        next++;
        const t = performance.now();
        await producer.send({ topic: "Bench", body });
        latencies.push(performance.now() - t);
      }
    }));
    const rate = latencies.length / ((performance.now() - started) / 1000);
    latencies.sort((a, b) => a - b);
    const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))];
    return { rate, p50: at(50), p99: at(99) };
  };

  const runtime = isDeno ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}` : `Node ${process.version}`;
  console.log(`client-send on ${runtime}, 1 KiB messages, flush on ${schedule}`);
  for (const inFlight of inFlights) {
    await run(inFlight, Math.min(total, 20_000)); // warm-up
    const runs = [await run(inFlight, total), await run(inFlight, total), await run(inFlight, total)].sort((a, b) => a.rate - b.rate);
    const median = runs[1];
    console.log(
      `  ${String(inFlight).padStart(5)} in flight: ${Math.round(median.rate).toLocaleString("en-US").padStart(8)} msg/s` +
        ` (runs ${runs.map((r) => Math.round(r.rate / 1000)).join("/")}k), p50 ${median.p50.toFixed(2)} ms, p99 ${median.p99.toFixed(2)} ms`,
    );
  }
  await producer.shutdown();
  child.kill();
}
