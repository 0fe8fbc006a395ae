// The in-memory tail of the CommitLog: the most recent appended batches, kept with their start
// offsets. Consumers mostly read what was just written; serving those reads as views of the
// batch buffers costs no syscall and no copy.
//
// The batch buffers are slices of one ring of `limit` bytes, allocated once: an append encodes
// its records straight into the ring (alloc), writes them to disk from there, and hands the same
// bytes to the cache (add), so keeping them costs no copy. Reusing the ring, rather than a new
// buffer per batch that the cache keeps until it falls out, means the memory is the ring and
// nothing else: no evicted batch waits for a full GC as garbage (60-90 MB of it, at times, in a
// broker storing 1 KiB messages at full speed) and no fresh pages are zeroed and faulted in for
// every batch. The price: a record read from the tail is a view that stays valid only until the
// next append may reuse its bytes. Every reader uses the bytes before it returns (encodes a
// reply, decodes a message); anything kept longer must be copied.
import { viewOf } from "./record.ts";

export interface TailChunk {
  start: number;
  bytes: Uint8Array;
  view: DataView;
  /** Where the chunk sits in the ring; -1 for a batch larger than the ring, held on its own. */
  ringAt: number;
}

/** Stands in for an evicted chunk until the array is compacted. */
const EVICTED: TailChunk = { start: 0, bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), ringAt: -1 };

export class TailCache {
  private chunks: TailChunk[] = [];
  /** Index of the oldest live chunk: evicting from the front never shifts the array. */
  private head = 0;
  private held = 0;
  /** Allocated at the first append, so a store that is only read costs nothing. */
  private ring: Uint8Array | null = null;
  /** Where the next batch goes in the ring. */
  private next = 0;

  constructor(private readonly limit: number) {}

  /**
   * A buffer of n bytes for the next batch, every byte of which the caller writes: a slice of
   * the ring when it fits (the chunks it overlaps are evicted first), else a buffer of its own.
   */
  alloc(n: number): Uint8Array {
    if (this.limit <= 0 || n > this.limit) return new Uint8Array(n);
    this.ring ??= new Uint8Array(this.limit);
    let at = this.next;
    if (at + n > this.limit) {
      // Wrap: the end of the ring goes unused this lap; what lies there is the oldest data.
      while (this.live() && this.chunks[this.head].ringAt >= at) this.evictOldest();
      at = 0;
    }
    // The live ring chunks run oldest to newest from just past `next` round to `next`: the
    // oldest ones are those in the way.
    while (this.live()) {
      const c = this.chunks[this.head];
      if (c.ringAt >= 0 && (c.ringAt >= at + n || c.ringAt + c.bytes.length <= at)) break;
      this.evictOldest();
    }
    this.next = at + n;
    return this.ring.subarray(at, at + n);
  }

  /** Whether these bytes lie in the ring (the next alloc may overwrite them). */
  owns(bytes: Uint8Array): boolean {
    return this.ring !== null && bytes.buffer === this.ring.buffer;
  }

  /** Keeps `bytes` (from alloc, or a prefix of it) as the records from offset `start`. */
  add(start: number, bytes: Uint8Array): void {
    if (this.limit <= 0) return;
    const ringAt = this.owns(bytes) ? bytes.byteOffset - this.ring!.byteOffset : -1;
    // A batch larger than the ring is the only one kept until the next.
    if (ringAt < 0) while (this.live()) this.evictOldest();
    this.chunks.push({ start, bytes, view: viewOf(bytes), ringAt });
    this.held += bytes.length;
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Bytes of CommitLog held: at most the ring's size, or one batch larger than it. */
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

  /**
   * Forgets every chunk and lets the ring go; the next append allocates a fresh one. What it
   * held is on disk already (an append writes before it adds), so reads go on from there.
   */
  release(): void {
    this.chunks = [];
    this.head = this.held = this.next = 0;
    this.ring = null;
  }

  /** Forgets everything at or past offset (the store was cut there). */
  truncate(offset: number): void {
    while (this.live() && this.chunks[this.chunks.length - 1].start + this.chunks[this.chunks.length - 1].bytes.length > offset) {
      const c = this.chunks.pop()!;
      this.held -= c.bytes.length;
    }
  }

  private live(): boolean {
    return this.chunks.length > this.head;
  }

  private evictOldest(): void {
    this.held -= this.chunks[this.head].bytes.length;
    this.chunks[this.head++] = EVICTED;
  }
}
