// format.json: what a data directory is and the geometry its files were written with. Segment
// and file sizes decide where every record and entry sits, so a store always opens with the
// geometry it was created with, whatever the configuration asks now (a broker restarted with
// another --segment-size keeps the recorded one and says so, instead of misreading, and
// deleting, its segments). A directory written before this file existed gets one inferred from
// its CommitLog's segment names and sizes.
import * as v from "valibot";
import type { Files } from "../platform/platform.ts";

export const FORMAT_FILE = "format.json";
export const FORMAT_VERSION = 1;

export interface Geometry {
  segmentSize: number;
  cqEntriesPerFile: number;
  indexSlots: number;
  indexEntries: number;
}

const positive = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
const FormatSchema = v.object({
  format: v.literal("actormq-store"),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  segmentSize: positive,
  cqEntriesPerFile: positive,
  indexSlots: positive,
  indexEntries: positive,
  createdAt: v.number(),
});

/** A data directory this broker cannot open (a newer format): start-up refuses it. */
export class StoreFormatError extends Error {
  override name = "StoreFormatError";
}

export interface OpenedFormat {
  geometry: Geometry;
  /** What differed from the configuration, or was inferred or repaired, for the log. */
  notes: string[];
}

const SEGMENT_NAME = /^\d{20}$/;

/**
 * Reads the directory's format (writing one for a new or older directory) and returns the
 * geometry to open it with. Synchronous: it runs before recovery.
 */
export function openFormat(files: Files, dir: string, wanted: Geometry, now: number): OpenedFormat {
  const path = `${dir}/${FORMAT_FILE}`;
  const notes: string[] = [];
  const bytes = files.readFile(path);
  if (bytes) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      parsed = undefined;
    }
    const r = v.safeParse(FormatSchema, parsed);
    if (r.success) {
      if (r.output.version > FORMAT_VERSION) {
        throw new StoreFormatError(`${path}: format version ${r.output.version} is newer than this broker's (${FORMAT_VERSION}); use a newer ActorMQ`);
      }
      const geometry = pick(r.output);
      for (const key of Object.keys(geometry) as (keyof Geometry)[]) {
        if (geometry[key] !== wanted[key]) notes.push(`the data directory was created with ${key} ${geometry[key]}: keeping it (${wanted[key]} asked for)`);
      }
      return { geometry, notes };
    }
    const aside = `${path}.bad-${now}`;
    files.rename(path, aside);
    notes.push(`${path} is damaged: set aside as ${aside}, geometry inferred from the files`);
  }
  const geometry = { ...wanted, segmentSize: inferSegmentSize(files, `${dir}/commitlog`, wanted.segmentSize, notes) };
  writeFormat(files, path, geometry, now);
  return { geometry, notes };
}

function pick(g: Geometry): Geometry {
  return { segmentSize: g.segmentSize, cqEntriesPerFile: g.cqEntriesPerFile, indexSlots: g.indexSlots, indexEntries: g.indexEntries };
}

/**
 * The segment size of a CommitLog written without a format file. Segments are named by their
 * start offset, a multiple of the segment size, and every finished segment is exactly that
 * long: the sizes and starts found bound it. The configured size is kept when it fits them.
 */
function inferSegmentSize(files: Files, clDir: string, configured: number, notes: string[]): number {
  const segs = files.list(clDir).filter((n) => SEGMENT_NAME.test(n)).map((n) => ({ start: Number(n), size: files.stat(`${clDir}/${n}`)?.size ?? 0 }));
  if (segs.length === 0) return configured;
  const starts = segs.map((s) => s.start).filter((s) => s > 0);
  const g = starts.reduce(gcd, 0);
  // Finished segments (all but the last) are full length; the last is at most that long.
  const finished = segs.slice(0, -1).map((s) => s.size);
  const largest = Math.max(...segs.map((s) => s.size));
  const fits = (size: number) => starts.every((s) => s % size === 0) && finished.every((f) => f === size) && largest <= size;
  let size: number;
  if (fits(configured)) size = configured;
  else if (finished.length > 0 && fits(finished[0])) size = finished[0];
  else if (g > 0 && fits(g)) size = g;
  else {
    // One segment (at 0) longer than configured: it was written with a larger size. Any size
    // that holds it and its blank marker reads it.
    size = 64 * 1024;
    while (size <= 2 ** 32 && (!fits(size) || size < largest + 8)) size *= 2;
    if (size > 2 ** 32) {
      notes.push(`the CommitLog's segment size could not be inferred from its segments: using ${configured}`);
      return configured;
    }
  }
  if (size !== configured) notes.push(`the CommitLog was written with segmentSize ${size} (inferred from its segments): keeping it (${configured} asked for)`);
  return size;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Written once, when the directory gets its format: a temporary file renamed over. */
function writeFormat(files: Files, path: string, g: Geometry, now: number): void {
  const body = JSON.stringify({ format: "actormq-store", version: FORMAT_VERSION, ...g, createdAt: now }, null, 2) + "\n";
  const data = new TextEncoder().encode(body);
  const tmp = `${path}.tmp`;
  const h = files.open(tmp);
  try {
    h.write(data, 0);
    h.truncate(data.length);
  } finally {
    h.close();
  }
  files.rename(tmp, path);
}
