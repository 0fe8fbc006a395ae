// Reads a stopped (or killed) broker's CommitLog files as they are on disk, without opening its
// store (opening would recover, and so change, them): for tests that compare replicas.
import { readdirSync, readFileSync } from "node:fs";
import { decode } from "../../protocol/mod.ts";
import { BLANK_MIN, HEADER_SIZE, isValidRecord, MAGIC_BLANK, MAGIC_MESSAGE, recordMagic, recordSize, toStoredRecord, viewOf } from "../../storage/record.ts";

export interface LogRecord {
  offset: number;
  size: number;
  topic: string;
  id: string;
}

/** The valid records of a data directory's CommitLog, in order, and where they end. */
export function readLog(dataDir: string): { records: LogRecord[]; end: number; bytes: Uint8Array } {
  const dir = `${dataDir}/commitlog`;
  const names = readdirSync(dir).filter((n) => /^\d{20}$/.test(n)).sort();
  const records: LogRecord[] = [];
  const parts: Uint8Array[] = [];
  let end = names.length ? Number(names[0]) : 0;
  for (const name of names) {
    const start = Number(name);
    if (start !== end) break; // a gap: the log ends before it
    const buf = new Uint8Array(readFileSync(`${dir}/${name}`));
    const dv = viewOf(buf);
    let pos = 0;
    let finished = false;
    while (pos + BLANK_MIN <= buf.length) {
      const size = recordSize(dv, pos);
      const magic = recordMagic(dv, pos);
      if (magic === MAGIC_BLANK && pos + size === buf.length) {
        pos += size;
        finished = true;
        break;
      }
      if (magic !== MAGIC_MESSAGE || size < HEADER_SIZE || pos + size > buf.length || !isValidRecord(buf, dv, pos, start + pos, true)) break;
      const m = decode(toStoredRecord(buf, dv, pos).message) as { topic?: string; id?: string };
      records.push({ offset: start + pos, size, topic: String(m.topic), id: String(m.id) });
      pos += size;
    }
    parts.push(buf.subarray(0, pos));
    end = start + pos;
    if (!finished) break;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { records, end, bytes };
}

/** A data directory's epoch file: [epoch, start offset] entries. */
export function readEpochs(dataDir: string): [number, number][] {
  try {
    return decode(readFileSync(`${dataDir}/ha/epochs`)) as [number, number][];
  } catch {
    return [];
  }
}
