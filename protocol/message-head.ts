// The fields of a stored message that place it (topic, tags, keys, id), read from its CBOR bytes
// without decoding the rest: a replica dispatches every record it copies into its ConsumeQueue
// and IndexFile, and decoding the whole map, body and properties included, was the larger part of
// that (storage/message-store.ts: appendReplicated). Only a definite-length map with text keys
// and definite text values for these fields is read here; anything else answers null and the
// caller decodes the message.
import { bytesEqual, CborWalker, utf8, utf8Text } from "./cbor-walker.ts";

export interface MessageHead {
  topic: string;
  tags?: string;
  keys?: string[];
  id?: string;
}

const TOPIC = utf8("topic");
const TAGS = utf8("tags");
const KEYS = utf8("keys");
const ID = utf8("id");
const EMPTY = new Uint8Array(0);
/** Scratch: every call runs to completion. */
const walker = new CborWalker();

export function messageHead(bytes: Uint8Array): MessageHead | null {
  const w = walker;
  try {
    const entries = w.openMap(bytes);
    if (entries < 0) return null;
    let topic: string | undefined;
    let tags: string | undefined;
    let keys: string[] | undefined;
    let id: string | undefined;
    for (let i = 0; i < entries; i++) {
      const key = w.textKey();
      if (key === -2) return null;
      if (key === -1) {
        if (!w.skip(0)) return null;
        continue;
      }
      const end = w.pos;
      const field = bytesEqual(bytes, key, end, TOPIC) ? "topic" : bytesEqual(bytes, key, end, TAGS) ? "tags" : bytesEqual(bytes, key, end, ID) ? "id" : null;
      if (field !== null) {
        const s = text(w);
        if (s === undefined) return null;
        if (field === "topic") topic = s;
        else if (field === "tags") tags = s;
        else id = s;
      } else if (bytesEqual(bytes, key, end, KEYS)) {
        if (w.pos >= bytes.length || bytes[w.pos] >> 5 !== 4) return null;
        const n = w.head();
        if (n < 0) return null;
        keys = [];
        for (let k = 0; k < n; k++) {
          const s = text(w);
          if (s === undefined) return null;
          keys.push(s);
        }
      } else if (!w.skip(0)) return null;
    }
    return topic === undefined ? null : { topic, tags, keys, id };
  } finally {
    w.reset(EMPTY); // hold no message past the call
  }
}

/** A definite text string at the walker (it then stands after it), or undefined (the walker where it was). */
function text(w: CborWalker): string | undefined {
  const b = w.bytes;
  if (w.pos >= b.length || b[w.pos] >> 5 !== 3 || (b[w.pos] & 31) === 31) return undefined;
  const at = w.pos;
  const len = w.head();
  if (len < 0 || w.pos + len > b.length) {
    w.pos = at;
    return undefined;
  }
  const s = utf8Text(b, w.pos, w.pos + len);
  w.pos += len;
  return s;
}
