// Reading CBOR without decoding it: a cursor that reads item heads and skips whole items without
// building values (MessageRewrite edits a stored message in place with it; messageHead reads a
// replicated message's few routing fields with it).

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();
/** Nesting this deep inside one item is not walked (the caller decodes instead). */
const MAX_DEPTH = 64;

/** A cursor over CBOR items: reads heads and skips whole items without building values. */
export class CborWalker {
  pos = 0;
  bytes: Uint8Array = EMPTY;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
  }

  /** Starts on `bytes`, which must open with a definite-length map: its entry count, or -1. */
  openMap(bytes: Uint8Array): number {
    this.reset(bytes);
    if (bytes.length === 0 || bytes[0] >> 5 !== 5) return -1;
    return Math.max(-1, this.head());
  }

  /** Reads a head; returns its argument (-1 when malformed, -2 for an indefinite length). */
  head(): number {
    const b = this.bytes;
    if (this.pos >= b.length) return -1;
    const info = b[this.pos++] & 31;
    if (info < 24) return info;
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : info === 31 ? 0 : -1;
    if (n < 0) return -1;
    if (n === 0) return -2;
    if (this.pos + n > b.length) return -1;
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + b[this.pos++];
    return v;
  }

  /**
   * Reads a map key. A definite text string: its bytes' start (the walker then stands after it).
   * Any other key: -1, the walker after it. Malformed: -2.
   */
  textKey(): number {
    const b = this.bytes;
    if (this.pos < b.length && b[this.pos] >> 5 === 3 && (b[this.pos] & 31) !== 31) {
      const len = this.head();
      if (len < 0 || this.pos + len > b.length) return -2;
      const start = this.pos;
      this.pos += len;
      return start;
    }
    return this.skip(0) ? -1 : -2;
  }

  /** Skips one whole item; false when it is malformed or nested deeper than MAX_DEPTH. */
  skip(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const b = this.bytes;
    if (this.pos >= b.length) return false;
    const major = b[this.pos] >> 5;
    const info = b[this.pos] & 31;
    if (major === 7) {
      // Simple values and floats: the head is the whole item; a lone break is malformed here.
      if (info === 31) return false;
      const n = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
      if (n < 0 || this.pos + 1 + n > b.length) return false;
      this.pos += 1 + n;
      return true;
    }
    const arg = this.head();
    if (arg === -1) return false;
    switch (major) {
      case 0:
      case 1:
        return arg !== -2;
      case 2:
      case 3:
        if (arg === -2) return this.chunks(major);
        if (this.pos + arg > b.length) return false;
        this.pos += arg;
        return true;
      case 4:
      case 5: {
        if (arg === -2) return this.untilBreak(() => this.skip(depth + 1));
        const items = major === 5 ? arg * 2 : arg;
        for (let i = 0; i < items; i++) if (!this.skip(depth + 1)) return false;
        return true;
      }
      default: // 6: a tag and the item it tags
        return arg !== -2 && this.skip(depth + 1);
    }
  }

  /** The chunks of an indefinite-length byte or text string, up to its break. */
  private chunks(major: number): boolean {
    return this.untilBreak(() => {
      if (this.bytes[this.pos] >> 5 !== major) return false;
      const len = this.head();
      if (len < 0 || this.pos + len > this.bytes.length) return false;
      this.pos += len;
      return true;
    });
  }

  /** The items of an indefinite-length string, array or map, each read by `item`, up to its break. */
  private untilBreak(item: () => boolean): boolean {
    const b = this.bytes;
    for (;;) {
      if (this.pos >= b.length) return false;
      if (b[this.pos] === 0xff) {
        this.pos++;
        return true;
      }
      if (!item()) return false;
    }
  }
}

export function bytesEqual(bytes: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (bytes[start + k] !== name[k]) return false;
  return true;
}

/** The UTF-8 bytes of a string: ASCII by hand (short and common here), the rest via TextEncoder. */
export function utf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return textEncoder.encode(s);
    out[i] = c;
  }
  return out;
}

const textDecoder = new TextDecoder();

/** The string of UTF-8 bytes [start, end): short ASCII by hand (topic names, ids, tags), the rest via TextDecoder. */
export function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return textDecoder.decode(bytes.subarray(start, end));
  let s = "";
  for (let k = start; k < end; k++) {
    const c = bytes[k];
    if (c >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}
