// Moving an encoded message to another topic without decoding and re-encoding it. A delayed,
// timed, transactional or re-put message is stored in a system topic with its real topic and
// queue in properties; re-encoding the decoded map costs the broker a full CBOR encode of the
// body per message (a quarter of its busy CPU when scheduling timers). The CBOR map is instead walked
// once for the byte ranges of its entries, and the new map is the old entries copied verbatim
// (the body in one copy) with `topic` replaced, some entries dropped and `props` edited.
//
// Only the layout our codec and any plain CBOR encoder write is handled in place: a definite-
// length top-level map whose `topic`, `props` and dropped keys are definite text strings, and a
// definite-length `props` map. Anything else (an indefinite-length map, a second `props`, a
// nesting deeper than MAX_DEPTH) returns null; `move` then re-encodes the decoded map with the
// same edit (`reencode`), so callers describe an edit once. The in-place result decodes to what
// `reencode` gives: `encode({ ...map without drop, topic, props: edited })`.
import { encode } from "./codec.ts";
import { bytesEqual, CborWalker, utf8 } from "./cbor-walker.ts";

export interface MessageEdit {
  /** Top-level entries removed (e.g. deliverAt, delayMs, delayLevel). */
  drop?: readonly string[];
  /** Properties set (their values given per message), replacing any of the same name. */
  setProps?: readonly string[];
  /** Properties removed. A `props` map left empty is removed too. */
  dropProps?: readonly string[];
}

/**
 * Results are carved out of shared slabs of this size: a typed array of its own costs about a
 * microsecond (its backing store is allocated and zeroed outside the heap), as much as the rest
 * of the rewrite. A slab is never written twice, so a result stays valid as long as it is held;
 * holding one keeps its slab's memory alive, which the store does not (it copies the bytes).
 */
const SLAB = 64 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;
/** Ranges shorter than this are copied byte by byte: cheaper than making a view to set() from. */
const SHORT_COPY = 64;
const textEncoder = new TextEncoder();
/** Topic names, encoded once: the same few repeat. */
const topicBytes = new Map<string, Uint8Array>();
const TOPIC = utf8("topic");
const PROPS = utf8("props");
const EMPTY = new Uint8Array(0);

/**
 * One kind of edit (say, "into the timer topic: drop deliverAt and delayMs, set REAL_TOPIC,
 * REAL_QID and DELIVER_AT"), made once with its names encoded, applied per message.
 */
export class MessageRewrite {
  private readonly drop: Uint8Array[];
  private readonly setNames: Uint8Array[];
  private readonly dropProps: Uint8Array[];
  // Scratch, reused by every apply (it runs to completion, so never twice at once).
  private readonly walker = new CborWalker();
  private readonly kept: number[] = [];
  private readonly keptProps: number[] = [];
  private readonly encoded: (Uint8Array | null)[] = [];

  constructor(private readonly edit: MessageEdit) {
    this.drop = (edit.drop ?? []).map(utf8);
    this.setNames = (edit.setProps ?? []).map(utf8);
    this.dropProps = (edit.dropProps ?? []).map(utf8);
  }

  /**
   * The message moved to `topic` with this edit: `sent` (its encoded bytes, when the broker has
   * them) edited in place when their layout allows, else `map` (the same message, decoded)
   * re-encoded.
   */
  move(sent: Uint8Array | undefined, map: Record<string, unknown>, topic: string, values: readonly string[]): Uint8Array {
    return (sent && this.apply(sent, topic, values)) ?? this.reencode(map, topic, values);
  }

  /** The edit made on a decoded map, re-encoded: the slow way, for what `apply` refuses. */
  reencode(map: Record<string, unknown>, topic: string, values: readonly string[]): Uint8Array {
    const { drop = [], setProps = [], dropProps = [] } = this.edit;
    const msg: Record<string, unknown> = { ...map };
    for (const k of drop) delete msg[k];
    const props: Record<string, unknown> = { ...(msg.props as Record<string, unknown> | undefined) };
    for (const k of dropProps) delete props[k];
    setProps.forEach((k, i) => (props[k] = values[i]));
    delete msg.props;
    msg.topic = topic;
    if (Object.keys(props).length > 0) msg.props = props;
    return encode(msg);
  }

  /**
   * The encoded message `bytes` moved to `topic`, with entries dropped and property i of setProps
   * set to values[i]; null when its layout is not one handled in place (see above) or it is not
   * well-formed CBOR: then re-encode the decoded map.
   */
  apply(bytes: Uint8Array, topic: string, values: readonly string[]): Uint8Array | null {
    if (values.length !== this.setNames.length) throw new RangeError(`MessageRewrite: ${values.length} values for ${this.setNames.length} properties`);
    const kept = this.kept;
    const keptProps = this.keptProps;
    kept.length = 0;
    keptProps.length = 0;
    this.walker.reset(bytes);
    const ok = this.walkMessage();
    this.walker.reset(EMPTY); // hold no message past the call
    if (!ok) return null;
    let topicName = topicBytes.get(topic);
    if (!topicName) {
      topicName = utf8(topic);
      if (topicBytes.size < 4096) topicBytes.set(topic, topicName);
    }
    const setNames = this.setNames;
    const encoded = this.encoded;
    encoded.length = values.length;
    const propCount = countPairs(keptProps) + values.length;
    const entries = countPairs(kept) + 1 + (propCount > 0 ? 1 : 0);
    let size = headSize(entries) + 1 + TOPIC.length + headSize(topicName.length) + topicName.length;
    for (let k = 0; k < kept.length; k += 3) size += kept[k + 1] - kept[k];
    if (propCount > 0) {
      size += 1 + PROPS.length + headSize(propCount);
      for (let k = 0; k < keptProps.length; k += 3) size += keptProps[k + 1] - keptProps[k];
      for (let k = 0; k < values.length; k++) {
        const len = asciiLength(values[k]);
        const enc = len < 0 ? textEncoder.encode(values[k]) : null;
        encoded[k] = enc;
        const n = enc ? enc.length : len;
        size += headSize(setNames[k].length) + setNames[k].length + headSize(n) + n;
      }
    }
    const out = allocate(size);
    let at = writeHead(out, 0, 5, entries);
    at = writeText(out, at, TOPIC);
    at = writeText(out, at, topicName);
    for (let k = 0; k < kept.length; k += 3) at = copy(out, at, bytes, kept[k], kept[k + 1]);
    if (propCount > 0) {
      at = writeText(out, at, PROPS);
      at = writeHead(out, at, 5, propCount);
      for (let k = 0; k < keptProps.length; k += 3) at = copy(out, at, bytes, keptProps[k], keptProps[k + 1]);
      for (let k = 0; k < values.length; k++) {
        at = writeText(out, at, setNames[k]);
        const enc = encoded[k];
        if (enc) at = writeText(out, at, enc);
        else at = writeAscii(out, at, values[k]);
      }
    }
    encoded.fill(null);
    return out;
  }

  /** Walks the whole message: the ranges of the entries and properties kept; false when it cannot. */
  private walkMessage(): boolean {
    const w = this.walker;
    const bytes = w.bytes;
    if (bytes.length === 0 || bytes[0] >> 5 !== 5 || (bytes[0] & 31) === 31) return false;
    const pairs = w.head();
    if (pairs < 0) return false;
    let hasProps = false;
    for (let i = 0; i < pairs; i++) {
      const start = w.pos;
      const key = w.textKey();
      if (key === -2) return false;
      const end = w.pos;
      if (key >= 0 && bytesEqual(bytes, key, end, PROPS)) {
        if (hasProps) return false; // two props maps: which one counts is the decoder's business
        hasProps = true;
        if (!this.walkProps(this.keptProps)) return false;
        continue;
      }
      if (!w.skip(0)) return false;
      if (key >= 0 && (bytesEqual(bytes, key, end, TOPIC) || matchesAny(bytes, key, end, this.drop))) continue;
      addRange(this.kept, start, w.pos);
    }
    return w.pos === bytes.length; // else trailing bytes: not one CBOR item
  }

  /** Walks the value of `props` (the walker stands on it): the ranges of the properties kept. */
  private walkProps(kept: number[]): boolean {
    const w = this.walker;
    const b = w.bytes;
    if (w.pos >= b.length || b[w.pos] >> 5 !== 5 || (b[w.pos] & 31) === 31) return false;
    const n = w.head();
    if (n < 0) return false;
    for (let i = 0; i < n; i++) {
      const start = w.pos;
      const key = w.textKey();
      if (key === -2) return false;
      const end = w.pos;
      if (!w.skip(0)) return false; // the value
      if (key >= 0 && (matchesAny(b, key, end, this.setNames) || matchesAny(b, key, end, this.dropProps))) continue;
      addRange(kept, start, w.pos);
    }
    return true;
  }
}

/** rewriteMessage(bytes, { topic, drop, setProps: [[name, value]], dropProps }): a one-off MessageRewrite. */
export function rewriteMessage(
  bytes: Uint8Array,
  edit: Omit<MessageEdit, "setProps"> & { topic: string; setProps?: readonly (readonly [string, string])[] },
): Uint8Array | null {
  const setProps = edit.setProps ?? [];
  return new MessageRewrite({ ...edit, setProps: setProps.map(([n]) => n) }).apply(bytes, edit.topic, setProps.map(([, v]) => v));
}

/**
 * Ranges are kept as triples [start, end, entries]: a range that starts where the last one ended
 * extends it (the body and the fields around it are then one copy).
 */
function addRange(ranges: number[], start: number, end: number): void {
  const n = ranges.length;
  if (n > 0 && ranges[n - 2] === start) {
    ranges[n - 2] = end;
    ranges[n - 1]++;
    return;
  }
  ranges.push(start, end, 1);
}

function countPairs(ranges: number[]): number {
  let n = 0;
  for (let k = 2; k < ranges.length; k += 3) n += ranges[k];
  return n;
}

function copy(out: Uint8Array, at: number, from: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len < SHORT_COPY) {
    for (let k = 0; k < len; k++) out[at + k] = from[start + k];
  } else {
    // A plain view: a Buffer's own subarray would make another Buffer, which costs more.
    out.set(new Uint8Array(from.buffer, from.byteOffset + start, len), at);
  }
  return at + len;
}

function matchesAny(bytes: Uint8Array, start: number, end: number, names: Uint8Array[]): boolean {
  for (const name of names) if (bytesEqual(bytes, start, end, name)) return true;
  return false;
}

function allocate(size: number): Uint8Array {
  if (size > SLAB / 8) return new Uint8Array(size);
  if (slabUsed + size > slab.length) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab.buffer, slabUsed, size);
  slabUsed += (size + 7) & ~7; // 8-byte aligned: the next copy starts on a word
  return out;
}

function headSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  const size = headSize(n) - 1;
  out[at] = m | (size === 1 ? 24 : size === 2 ? 25 : size === 4 ? 26 : 27);
  for (let k = size; k >= 1; k--) {
    out[at + k] = n % 256;
    n = Math.floor(n / 256);
  }
  return at + 1 + size;
}

function writeText(out: Uint8Array, at: number, text: Uint8Array): number {
  at = writeHead(out, at, 3, text.length);
  if (text.length >= SHORT_COPY) {
    out.set(text, at);
    return at + text.length;
  }
  for (let k = 0; k < text.length; k++) out[at + k] = text[k];
  return at + text.length;
}

/** The length of an all-ASCII string (its UTF-8 length), or -1 when it has any other character. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return -1;
  return s.length;
}

/** Writes an all-ASCII string as a CBOR text string. */
function writeAscii(out: Uint8Array, at: number, s: string): number {
  at = writeHead(out, at, 3, s.length);
  for (let k = 0; k < s.length; k++) out[at + k] = s.charCodeAt(k);
  return at + s.length;
}
