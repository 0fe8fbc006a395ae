// MessageStore hot path: appendBatch of 1 KiB records in batches of 100 (async flush, the
// flush loop running), then getMessages of the same records from the in-memory tail and from
// disk. Runs on Node (build with esbuild, see below) and on Deno (deno run -A bench/storage-append.ts).
//   node_modules/.bin/esbuild bench/storage-append.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=.build/storage-append.mjs && node .build/storage-append.mjs [records] [native|package]
// The second argument picks the records' CRC-32: the platform's native one (as a broker uses) or the crc-32 package.
import { encode } from "../protocol/mod.ts";
import { loadPlatform } from "../platform/select.ts";
import { type AppendItem, MessageStore } from "../storage/message-store.ts";
import CRC32 from "crc-32";

const platform = await loadPlatform();
const { files, clock } = platform;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const root: string = g.Deno ? g.Deno.makeTempDirSync({ prefix: "actormq-bench-storage-" }) : (await import("node:fs")).mkdtempSync(`${(await import("node:os")).tmpdir()}/actormq-bench-storage-`);

const TOTAL = Number(g.Deno ? g.Deno.args[0] ?? 500_000 : process.argv[2] ?? 500_000);
const CRC = (g.Deno ? g.Deno.args[1] : process.argv[3]) ?? "native";
const crc32 = CRC === "package" || !platform.crc32 ? (data: Uint8Array) => CRC32.buf(data) >>> 0 : platform.crc32;
const BATCH = 100;
const QUEUES = 8;

/** 200 distinct batches, appended in turn: pre-encoding every message would measure the GC. */
function batches(): AppendItem[][] {
  const body = new Uint8Array(1024 - 80).fill(42); // ~1 KiB of CBOR per message, with topic, id, born, tags, keys
  const out: AppendItem[][] = [];
  let n = 0;
  for (let b = 0; b < 200; b++) {
    const items: AppendItem[] = [];
    for (let i = 0; i < BATCH; i++, n++) {
      const id = `id-${n.toString(36).padStart(10, "0")}`;
      const bytes = encode({ topic: "Bench", body, id, born: 1, tags: "t", keys: [`k${n}`] });
      items.push({ topic: "Bench", queueId: n % QUEUES, bytes, tagsCode: 116, keys: [`k${n}`], msgId: id });
    }
    out.push(items);
  }
  return out;
}

const work = batches();
const recordBytes = work[0][0].bytes.length + 56;
for (const flush of ["async", "sync"] as const) {
  const dir = `${root}/${flush}`;
  const store = MessageStore.open(files, clock, { dir, flush, crc32 });
  const started = performance.now();
  if (flush === "async") {
    for (let b = 0; b < TOTAL / BATCH; b++) store.appendBatch(work[b % work.length]);
  } else {
    // Group commit: keep 10 batches in flight, each waiting for its fsync.
    const inFlight: Promise<void>[] = [];
    for (let b = 0; b < TOTAL / BATCH; b++) {
      const r = store.appendBatch(work[b % work.length]);
      const last = r[r.length - 1];
      inFlight.push(store.waitDurable(last.commitLogOffset + last.size));
      if (inFlight.length >= 10) await inFlight.shift();
    }
    await Promise.all(inFlight);
  }
  const appendSecs = (performance.now() - started) / 1000;
  console.log(`${platform.name} ${flush}, CRC ${CRC}: appendBatch ${TOTAL} records of ${recordBytes} B in batches of ${BATCH}: ${Math.round(TOTAL / appendSecs).toLocaleString("en")} records/s (${((TOTAL * recordBytes) / appendSecs / 1048576).toFixed(0)} MiB/s)`);
  if (flush === "async") {
    for (const [label, from] of [["tail", TOTAL / QUEUES - 20_000], ["disk", 0]] as const) {
      const t = performance.now();
      let got = 0;
      for (let q = 0; q < QUEUES; q++) {
        let off = from;
        while (got < (q + 1) * 20_000) {
          const r = store.getMessages("Bench", q, off, 32, 1 << 20);
          got += r.records.length;
          off = r.nextOffset;
        }
      }
      console.log(`${platform.name}: getMessages (pulls of 32) from the ${label}: ${Math.round(got / ((performance.now() - t) / 1000)).toLocaleString("en")} records/s`);
    }
  }
  await store.close();
  if (flush === "async") {
    // Recovery: a clean reopen (checkpoint current), then with the checkpoint and the consume
    // queues gone (every record verified by CRC and re-dispatched).
    for (const label of ["clean reopen", "no checkpoint, no consume queues"]) {
      if (label !== "clean reopen") {
        files.remove(`${dir}/checkpoint`);
        files.remove(`${dir}/consumequeue`, { recursive: true });
      }
      const t = performance.now();
      const again = MessageStore.open(files, clock, { dir, crc32 });
      const ms = performance.now() - t;
      console.log(`${platform.name}: open, ${label}: ${ms.toFixed(0)} ms (${again.maxOffset("Bench", 0)} in queue 0)`);
      await again.close();
    }
  }
}
files.remove(root, { recursive: true });
