// What checking the CRC of every record read from disk costs a consumer: a store of 1 KiB
// messages with no in-memory tail (every read goes to the file, as for a consumer that is
// behind), drained with pulls of 32, with the check on and off, alternating, medians of 7.
//   node_modules/.bin/deno run -A bench/crc-on-read.ts [messages] [bodyBytes]
import { denoFiles } from "../platform/deno/files.ts";
import { MessageStore } from "../storage/message-store.ts";
import { encode, tagsCode } from "../protocol/mod.ts";

const N = Number(Deno.args[0] ?? 200_000);
const BODY = Number(Deno.args[1] ?? 1024);
const dir = Deno.makeTempDirSync({ prefix: "actormq-crc-" });
const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as number) };
const store = MessageStore.open(denoFiles, clock, { dir, tailBytes: 0, flushIntervalMs: 60_000 });
const body = new Uint8Array(BODY).fill(7);
for (let i = 0; i < N; i += 100) {
  store.appendBatch(Array.from({ length: 100 }, (_, k) => {
    const id = `id-${i + k}`;
    return { topic: "B", queueId: 0, bytes: encode({ topic: "B", body, id, born: 1 }), tagsCode: tagsCode(undefined), msgId: id };
  }));
}
await store.flush();

// deno-lint-ignore no-explicit-any
const log = (store as any).commitLog as { verifyReads: boolean };
function drain(): number {
  const t = performance.now();
  let n = 0;
  for (let off = 0; off < N;) {
    const r = store.getMessages("B", 0, off, 32, 1 << 20);
    n += r.records.length;
    off = r.nextOffset;
  }
  if (n !== N) throw new Error(`drained ${n} of ${N}`);
  return performance.now() - t;
}
drain(); // warm the page cache and the JIT
const on: number[] = [];
const off: number[] = [];
for (let run = 0; run < 7; run++) {
  log.verifyReads = true;
  on.push(drain());
  log.verifyReads = false;
  off.push(drain());
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
const mOn = median(on);
const mOff = median(off);
console.log(`${N} records of ${BODY} B body, read from disk with pulls of 32:`);
console.log(`  CRC checked:   ${mOn.toFixed(0)} ms  (${((mOn * 1e3) / N).toFixed(2)} µs/record, ${(N / mOn).toFixed(0)}k records/s)`);
console.log(`  CRC unchecked: ${mOff.toFixed(0)} ms  (${((mOff * 1e3) / N).toFixed(2)} µs/record)`);
console.log(`  cost: +${(((mOn - mOff) * 1e3) / N).toFixed(2)} µs/record, ${(mOn / mOff).toFixed(2)} x`);
await store.close();
Deno.removeSync(dir, { recursive: true });
