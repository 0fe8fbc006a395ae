import { crc32 } from "node:zlib";
import { dialWith } from "../dial.ts";
import type { Platform } from "../platform.ts";
import { denoFiles } from "./files.ts";
import { denoServe } from "./serve.ts";
import { procStartTime } from "../proc-stat.ts";

/**
 * glibc keeps what it frees in holes of its heap, and only malloc_trim gives those pages back
 * (an idle Node broker, measured through gdb: 169-345 B per delivered message before, below
 * where it started after). Linux with glibc only: elsewhere, or without --allow-ffi, undefined.
 */
function trimAllocator(): (() => void) | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return undefined;
  }
}

export const denoPlatform: Platform = {
  name: "deno",
  files: denoFiles,
  clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
  join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
  serve: denoServe,
  // Deno's WebSocket trusts only the system's CAs (or --cert): with a CA or a client certificate of
  // our own, ws through Deno's node:tls dials instead.
  dial: async (url, options) => {
    if (!options.tls) return dialWith((u) => new WebSocket(u) as never, url, options);
    const { WebSocket: WS } = await import("ws");
    return dialWith((u) => new WS(u, { perMessageDeflate: false, ...options.tls }) as never, url, options);
  },
  // Deno ships setImmediate for Node compatibility; it runs after the current I/O turn.
  afterTurn: (fn) => setImmediate(fn),
  sendGathered: () => {}, // Deno's WebSocket writes a frame only when the turn yields: nothing can leave earlier
  // Deno's node:zlib crc32 is a native op: ~0.1 µs for 1 KiB against ~1.8 µs for the crc-32 package.
  crc32: (data) => crc32(data),
  memoryUsage: () => Deno.memoryUsage(),
  totalMemory: () => Deno.systemMemoryInfo().total,
  collectGarbage: () => (globalThis as { gc?: () => void }).gc,
  trimAllocator,
  // Deno takes V8 flags on its command line only (`--v8-flags`, as deno.json's start task does).
  setV8Flags: () => {},
  process: {
    args: () => Deno.args,
    env: (name) => Deno.env.get(name),
    exit: (code) => Deno.exit(code),
    onSignal: (fn) => {
      // Once, as Node's process.once: a task runner may forward the same signal again.
      let fired = false;
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(sig, () => {
          if (!fired) fn(sig);
          fired = true;
        });
      }
    },
    readText: (path) => Deno.readTextFileSync(path),
    pid: Deno.pid,
    startMark(pid) {
      try {
        return procStartTime(Deno.readTextFileSync(`/proc/${pid}/stat`));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) return "";
        try {
          Deno.statSync("/proc/self/stat");
          return null; // /proc exists and has no such process
        } catch {
          return ""; // no /proc (macOS): assume alive; a stale lock there is removed by hand
        }
      }
    },
  },
};
