import * as fs from "node:fs";
import { createRequire } from "node:module";
import { totalmem } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as zlib from "node:zlib";
import CRC32 from "crc-32";
import { WebSocket } from "ws";
import { dialWith } from "../dial.ts";
import type { Platform } from "../platform.ts";
import { nodeFiles } from "./files.ts";
import { nodeServe, sendGathered } from "./serve.ts";
import { procStartTime } from "../proc-stat.ts";

/**
 * --expose-gc set at run time (by setV8Flags) puts `gc` in contexts made after it, not in the main
 * one: it is taken from a new context, and collects the whole heap all the same.
 */
function collectGarbage(): (() => void) | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) return gc;
  try {
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined; // no --expose-gc
  }
}

/**
 * glibc keeps what it frees in holes of its heap, and only malloc_trim gives those pages back
 * (an idle broker after 20,000 delayed messages: 84-597 B per message kept without it, below
 * where it started with it). Node has no FFI of its own: koffi, an optional dependency, makes the call.
 * Linux with glibc only; elsewhere, or where koffi did not install, undefined.
 */
function trimAllocator(): (() => void) | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    // musl has no libc.so.6 (and gives freed pages back by itself): the load throws there.
    // Typed here, not from koffi's declarations: it is optional, and the type check runs without it.
    const koffi = createRequire(import.meta.url)("koffi") as { load(path: string): { func(signature: string): (n: number) => number } };
    const mallocTrim = koffi.load("libc.so.6").func("int malloc_trim(size_t)");
    return () => void mallocTrim(0);
  } catch {
    return undefined;
  }
}

export const nodePlatform: Platform = {
  name: "node",
  files: nodeFiles,
  clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
  join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
  serve: nodeServe,
  // ws sets TCP_NODELAY; no compression (frames are CBOR, small and mostly incompressible).
  dial: (url, options) => dialWith((u) => new WebSocket(u, { perMessageDeflate: false, ...options.tls }) as never, url, options),
  afterTurn: (fn) => setImmediate(fn),
  sendGathered,
  // zlib's crc32 (Node 20.15+, 22.2+) costs a fixed ~250 ns per call in argument checks, so the
  // crc-32 package stays faster below a few hundred bytes; above, zlib is 2x (1 KiB) to 3x (4 KiB).
  crc32: typeof zlib.crc32 === "function" ? (data) => (data.length < 256 ? CRC32.buf(data) >>> 0 : zlib.crc32(data)) : undefined,
  memoryUsage: () => process.memoryUsage(),
  totalMemory: () => totalmem(),
  collectGarbage,
  trimAllocator,
  setV8Flags: (flags) => flags.forEach((flag) => setFlagsFromString(flag)),
  process: {
    args: () => process.argv.slice(2),
    env: (name) => process.env[name],
    exit: (code) => process.exit(code),
    onSignal: (fn) => {
      process.once("SIGINT", () => fn("SIGINT"));
      process.once("SIGTERM", () => fn("SIGTERM"));
    },
    readText: (path) => fs.readFileSync(path, "utf8"),
    pid: process.pid,
    startMark(pid) {
      try {
        return procStartTime(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || fs.existsSync("/proc/self/stat")) return null;
      }
      // No /proc (macOS): alive or not is all there is to know.
      try {
        process.kill(pid, 0);
        return "";
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM" ? "" : null;
      }
    },
  },
};
