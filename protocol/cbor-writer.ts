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

  /** A number: a safe integer as int(), anything else as a double. */
  number(n: number): this {
    if (Number.isSafeInteger(n)) return this.int(n);
    this.ensure(9);
    this.buf[this.pos++] = 0xfb;
    this.view.setFloat64(this.pos, n);
    this.pos += 8;
    return this;
  }

  /** A text string: ASCII byte by byte (keys, names, ids), anything else through TextEncoder. */
  text(s: string): this {
    const start = this.pos;
    this.head(3, s.length).ensure(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        const bytes = textEncoder.encode(s);
        return this.head(3, bytes.length).raw(bytes);
      }
      this.buf[this.pos++] = c;
    }
    return this;
  }

  /** A byte string. */
  byteString(bytes: Uint8Array): this {
    return this.head(2, bytes.length).raw(bytes);
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

  /**
   * Goes on writing into `buf` from `pos` (a region of a buffer the caller hands out, such as a
   * slab of messages): bytes() then holds what was there before `pos` too.
   */
  into(buf: Uint8Array, pos: number): this {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.pos = pos;
    return this;
  }

  private ensure(extra: number): this {
    if (this.pos + extra <= this.buf.length) return this;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    return this;
  }
}
