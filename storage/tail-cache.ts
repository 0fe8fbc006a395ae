// The in-memory tail of the CommitLog: the buffers of the most recent appended batches, kept
// with their start offsets. Consumers mostly read what was just written; serving those reads
// as views of the batch buffers costs no syscall and no copy. The buffers are the ones the
// append wrote to disk, so keeping them costs no copy either.
import { viewOf } from "./record.ts";

export interface TailChunk {
  start: number;
  bytes: Uint8Array;
  view: DataView;
}

/** Stands in for an evicted chunk until the array is compacted, so its buffer can be collected now. */
const EVICTED: TailChunk = { start: 0, bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };

export class TailCache {
  private chunks: TailChunk[] = [];
  /** Index of the oldest live chunk: evicting from the front never shifts the array. */
  private head = 0;
  private held = 0;

  constructor(private readonly limit: number) {}

  add(start: number, bytes: Uint8Array): void {
    if (this.limit <= 0) return;
    this.chunks.push({ start, bytes, view: viewOf(bytes) });
    this.held += bytes.length;
    // Keep the newest chunk even if alone it exceeds the limit.
    while (this.held > this.limit && this.chunks.length - this.head > 1) {
      this.held -= this.chunks[this.head].bytes.length;
      this.chunks[this.head++] = EVICTED;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Bytes of CommitLog held (at most the limit, or the one newest chunk if larger). */
  get bytes(): number {
    return this.held;
  }

  /** The chunk holding all of [offset, offset + size), or null. */
  find(offset: number, size: number): TailChunk | null {
    const { chunks } = this;
    let lo = this.head;
    let hi = chunks.length - 1;
    if (hi < lo || offset < chunks[lo].start) return null;
    // Fresh reads hit the newest chunk: check it before searching.
    if (offset >= chunks[hi].start) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (chunks[mid].start <= offset) lo = mid;
      else hi = mid - 1;
    }
    const c = chunks[lo];
    return offset + size <= c.start + c.bytes.length ? c : null;
  }

  /** Forgets everything at or past offset (the store was cut there). */
  truncate(offset: number): void {
    while (this.chunks.length > this.head && this.chunks[this.chunks.length - 1].start + this.chunks[this.chunks.length - 1].bytes.length > offset) {
      const c = this.chunks.pop()!;
      this.held -= c.bytes.length;
    }
  }
}
