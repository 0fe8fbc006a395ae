// The one CBOR codec of the wire and the CommitLog: plain RFC 8949, no cbor-x record
// extensions (useRecords: false), so any CBOR library can read what we write.
import { Encoder } from "cbor-x";

// int64AsNumber: offsets and timestamps come back as numbers, not BigInt (cbor-x's types omit it).
const codec = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, int64AsNumber: true } as ConstructorParameters<typeof Encoder>[0]);

export function encode(value: unknown): Uint8Array {
  return codec.encode(value);
}

export function decode(bytes: Uint8Array): unknown {
  return codec.decode(bytes);
}

/** Decodes stored message bytes into their map; null for bytes that are not a CBOR map. */
export function decodeMap(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const m = decode(bytes);
    return m !== null && typeof m === "object" && !Array.isArray(m) ? (m as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
