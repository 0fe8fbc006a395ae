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
import { CborWriter } from "./cbor-writer.ts";
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

/**
 * Messages are written into a shared slab, as Node's Buffer pool does: an ArrayBuffer of its own
 * per 1 KiB message (malloc'd outside the heap, and swept) cost more than all the encoding. A
 * slab lives until the last message cut from it goes.
 */
const SLAB_SIZE = 256 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;
/** Writes each message into the slab, or into a buffer of its own when large. */
const writer = new CborWriter(0);

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
  const inSlab = bound <= SLAB_SIZE / 8;
  if (inSlab && slabUsed + bound > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const start = inSlab ? slabUsed : 0;
  const w = writer.into(inSlab ? slab : new Uint8Array(bound), start).map(entries);
  for (const f in record) {
    w.text(f);
    const v = record[f];
    if (typeof v === "string") w.text(v);
    else if (typeof v === "number") w.number(v);
    else if (v instanceof Uint8Array) w.byteString(v);
    else {
      const keys = v as string[];
      w.array(keys.length);
      for (const k of keys) w.text(k);
    }
  }
  const bytes = w.bytes().subarray(start);
  if (inSlab) slabUsed = (w.length + 7) & ~7; // aligned, as the Buffer pool does
  return bytes;
}
