// A minimal CBOR writer for frames that splice stored bytes in verbatim. A pull response holds
// messages copied byte for byte out of the CommitLog; cbor-x cannot embed pre-encoded items, so
// the envelope around them is written here by hand. The output is plain RFC 8949 CBOR.
import { encode } from "./codec.ts";

const textEncoder = new TextEncoder();

export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Major type and argument (RFC 8949 section 3). */
  head(major: number, n: number): this {
    this.ensure(9);
    const m = major << 5;
    if (n < 24) this.buf[this.pos++] = m | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else if (n < 0x100000000) {
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000));
      this.view.setUint32(this.pos + 4, n >>> 0);
      this.pos += 8;
    }
    return this;
  }

  map(entries: number): this {
    return this.head(5, entries);
  }

  array(items: number): this {
    return this.head(4, items);
  }

  /** A safe integer: major type 0 or 1. */
  int(n: number): this {
    return n >= 0 ? this.head(0, n) : this.head(1, -1 - n);
  }

  text(s: string): this {
    const bytes = textEncoder.encode(s);
    this.head(3, bytes.length);
    return this.raw(bytes);
  }

  /** Any value, through the codec (for the few fields of unknown type, such as a request id). */
  value(v: unknown): this {
    return this.raw(encode(v));
  }

  /** Pre-encoded CBOR, copied in as it is. */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** The written bytes (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
