// A plain message checked without decoding it. The send path decoded every message (its body,
// strings and map) only to check it and read four fields: 11 % of the broker's time under a
// publish load (bench:peers). Most messages hold only topic, body, id, born, and maybe tags, keys
// and the producer's group (which only a transactional message uses): those are checked here by
// walking their bytes. Anything else (another field, a string that is not ASCII, an indefinite
// length, a repeated key, a value checkMessage would refuse) answers null, and the caller decodes
// the message and checks it with checkMessage as before: both ways accept the same messages, and
// every refusal keeps checkMessage's code and words.
//
// The client writes plain messages by hand too (encodePlainMessage): cbor-x's general encoder
// was the client's largest cost per send under load, its profile led by writing the key and
// value strings one character at a time and by matching each value against its extension
// classes, which a known shape does not need.
import { bytesEqual, CborWalker, utf8 } from "./cbor-walker.ts";
import { checkTopicName, type Message } from "./message.ts";

/** What the broker reads from a plain message to store and index it. */
export interface PlainMessage {
  topic: string;
  id: string;
  tags?: string;
  keys?: string[];
}

const TOPIC = utf8("topic");
const BODY = utf8("body");
const ID = utf8("id");
const BORN = utf8("born");
const TAGS = utf8("tags");
const KEYS = utf8("keys");
const GROUP = utf8("group");
const EMPTY = new Uint8Array(0);
/** Scratch: every call runs to completion. */
const walker = new CborWalker();

export function plainMessage(bytes: Uint8Array): PlainMessage | null {
  const w = walker;
  try {
    const entries = w.openMap(bytes);
    if (entries < 0) return null;
    let topic: string | undefined;
    let id: string | undefined;
    let tags: string | undefined;
    let keys: string[] | undefined;
    let body = false;
    let born = false;
    let group = false;
    for (let i = 0; i < entries; i++) {
      const key = w.textKey();
      if (key < 0) return null;
      const end = w.pos;
      if (bytesEqual(bytes, key, end, TOPIC)) {
        if (topic !== undefined || (topic = ascii(w)) === undefined) return null;
      } else if (bytesEqual(bytes, key, end, BODY)) {
        if (body || !(body = nonEmptyString(w))) return null;
      } else if (bytesEqual(bytes, key, end, ID)) {
        if (id !== undefined || (id = ascii(w)) === undefined || id === "") return null;
      } else if (bytesEqual(bytes, key, end, BORN)) {
        if (born || !(born = number(w))) return null;
      } else if (bytesEqual(bytes, key, end, TAGS)) {
        if (tags !== undefined || (tags = ascii(w)) === undefined) return null;
      } else if (bytesEqual(bytes, key, end, KEYS)) {
        if (keys !== undefined || (keys = asciiArray(w)) === undefined) return null;
      } else if (bytesEqual(bytes, key, end, GROUP)) {
        if (group || !(group = ascii(w) !== undefined)) return null;
      } else {
        return null;
      }
    }
    // Trailing bytes are checkMessage's to refuse; so is a topic name it would not take.
    if (w.pos !== bytes.length || topic === undefined || id === undefined || !body || !born || !validTopic(topic)) return null;
    return { topic, id, tags, keys };
  } finally {
    w.reset(EMPTY); // hold no message past the call
  }
}

function validTopic(topic: string): boolean {
  try {
    checkTopicName(topic);
    return true;
  } catch {
    return false;
  }
}

/** A definite text string of ASCII bytes at the walker (the walker then after it), or undefined. */
function ascii(w: CborWalker): string | undefined {
  const b = w.bytes;
  if (w.pos >= b.length || b[w.pos] >> 5 !== 3) return undefined;
  const len = w.head();
  if (len < 0 || w.pos + len > b.length) return undefined;
  let s = "";
  for (let k = w.pos; k < w.pos + len; k++) {
    if (b[k] >= 0x80) return undefined;
    s += String.fromCharCode(b[k]);
  }
  w.pos += len;
  return s;
}

/** A definite array of ASCII text strings, or undefined. */
function asciiArray(w: CborWalker): string[] | undefined {
  const b = w.bytes;
  if (w.pos >= b.length || b[w.pos] >> 5 !== 4) return undefined;
  const n = w.head();
  if (n < 0) return undefined;
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const s = ascii(w);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/** A definite, non-empty byte or text string (a body), skipped. */
function nonEmptyString(w: CborWalker): boolean {
  const b = w.bytes;
  if (w.pos >= b.length) return false;
  const major = b[w.pos] >> 5;
  if (major !== 2 && major !== 3) return false;
  const len = w.head();
  if (len <= 0 || w.pos + len > b.length) return false;
  w.pos += len;
  return true;
}

/** An integer (major 0 or 1) or a half, single or double float: what decodes to a number. */
function number(w: CborWalker): boolean {
  const b = w.bytes;
  if (w.pos >= b.length) return false;
  const major = b[w.pos] >> 5;
  const info = b[w.pos] & 31;
  if (major === 7 && (info < 25 || info > 27)) return false;
  if (major !== 0 && major !== 1 && major !== 7) return false;
  return w.skip(0);
}

// ------------------------------------------------------------------------------ writing

const PLAIN_FIELDS = new Set(["topic", "body", "id", "born", "tags", "keys", "group"]);
const textEncoder = new TextEncoder();

/**
 * Messages are written into a shared slab, as Node's Buffer pool does: an ArrayBuffer of its own
 * per 1 KiB message (malloc'd outside the heap, and swept) cost more than all the encoding. A
 * slab lives until the last message cut from it goes.
 */
const SLAB_SIZE = 256 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;
/** Where the message being written goes: the slab, or a buffer of its own when large. */
let out = slab;
let at = 0;

/**
 * A plain message's CBOR: a definite map with text keys in the message's own order, as cbor-x
 * writes it but for integer widths (the smallest that holds each). Null for a message with any
 * other field: the caller encodes it with the general encoder.
 */
export function encodePlainMessage(m: Message): Uint8Array | null {
  const record = m as unknown as Record<string, unknown>;
  // First the most it can take (UTF-8 is at most 3 bytes per UTF-16 unit), and the shape.
  let entries = 0;
  let bound = 1;
  for (const f in record) {
    const v = record[f];
    if (!PLAIN_FIELDS.has(f)) return null;
    entries++;
    bound += 1 + f.length + 9;
    if (typeof v === "string") bound += 3 * v.length;
    else if (v instanceof Uint8Array) bound += v.length;
    else if (Array.isArray(v) && v.length < 24) {
      for (const k of v) {
        if (typeof k !== "string") return null;
        bound += 5 + 3 * k.length;
      }
    } else if (typeof v !== "number") return null;
  }
  if (entries > 23) return null;
  if (bound > SLAB_SIZE / 8) {
    out = new Uint8Array(bound);
    at = 0;
  } else {
    if (slabUsed + bound > SLAB_SIZE) {
      slab = new Uint8Array(SLAB_SIZE);
      slabUsed = 0;
    }
    out = slab;
    at = slabUsed;
  }
  const start = at;
  out[at++] = 0xa0 | entries;
  for (const f in record) {
    writeText(f);
    const v = record[f];
    if (typeof v === "string") writeText(v);
    else if (typeof v === "number") writeNumber(v);
    else if (v instanceof Uint8Array) {
      writeHead(0x40, v.length);
      out.set(v, at);
      at += v.length;
    } else {
      const keys = v as string[];
      writeHead(0x80, keys.length);
      for (const k of keys) writeText(k);
    }
  }
  const bytes = out.subarray(start, at);
  if (out === slab) slabUsed = (at + 7) & ~7; // aligned, as the Buffer pool does
  return bytes;
}

/** A head: major type (already shifted) and a length below 2^32. */
function writeHead(major: number, n: number): void {
  if (n < 24) {
    out[at++] = major | n;
  } else if (n < 0x100) {
    out[at++] = major | 24;
    out[at++] = n;
  } else if (n < 0x10000) {
    out[at++] = major | 25;
    out[at++] = n >>> 8;
    out[at++] = n & 0xff;
  } else {
    out[at++] = major | 26;
    writeUint32(n);
  }
}

function writeUint32(n: number): void {
  out[at++] = n >>> 24;
  out[at++] = (n >>> 16) & 0xff;
  out[at++] = (n >>> 8) & 0xff;
  out[at++] = n & 0xff;
}

/** A text string: ASCII byte by byte (ids, topics, tags), anything else through TextEncoder. */
function writeText(s: string): void {
  const head = at;
  writeHead(0x60, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      at = head;
      const bytes = textEncoder.encode(s);
      writeHead(0x60, bytes.length);
      out.set(bytes, at);
      at += bytes.length;
      return;
    }
    out[at++] = c;
  }
}

/** An integer in the smallest head that holds it (major 0 or 1), anything else as a double. */
function writeNumber(n: number): void {
  if (!Number.isSafeInteger(n)) {
    out[at++] = 0xfb;
    const f = new DataView(out.buffer, out.byteOffset + at, 8);
    f.setFloat64(0, n);
    at += 8;
    return;
  }
  const major = n < 0 ? 0x20 : 0;
  const v = n < 0 ? -1 - n : n;
  if (v < 0x100000000) return writeHead(major, v);
  out[at++] = major | 27;
  writeUint32(Math.floor(v / 0x100000000));
  writeUint32(v >>> 0);
}
