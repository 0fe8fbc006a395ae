// The binary CommitLog record: a fixed 56-byte big-endian header, then the message's CBOR bytes
// verbatim. The header carries everything the store needs to rebuild its consume queues
// except the topic, which only the CBOR map holds (decoding it is kept off the hot path).
//
//   0 totalSize u32   (header + message)     28 physicalOffset u64 (where the record starts)
//   4 magic u32                              36 storeTimestamp u64 (ms)
//   8 crc u32  (CRC32 of bytes [12, total))  44 reconsumeTimes u32
//  12 flags u32                              48 txOffset u64
//  16 queueId u32
//  20 queueOffset u64
//
// u64 fields hold values below 2^53, written as two u32 (high, low): DataView's BigInt
// accessors would cost an allocation per field on the hot path.
import { crc32 } from "./crc32.ts";

/** A record as read back from the CommitLog. */
export interface StoredRecord {
  commitLogOffset: number;
  size: number;
  queueId: number;
  queueOffset: number;
  storeTimestamp: number;
  reconsumeTimes: number;
  flags: number;
  txOffset: number;
  /**
   * The stored CBOR bytes: a view into a read buffer or the in-memory tail, never decoded on the
   * pull path. A view of the tail is valid until the next append may reuse its ring bytes: use
   * it before returning to the event loop, or copy it.
   */
  message: Uint8Array;
}

export interface RecordHeader {
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  storeTimestamp: number;
  flags: number;
  reconsumeTimes: number;
  txOffset: number;
}

export const HEADER_SIZE = 56;
export const MAGIC_MESSAGE = 0xaabbccdd;
export const MAGIC_BLANK = 0xbbccddee;
/**
 * A record is placed only if this many bytes remain after it in its segment, so the blank
 * marker (totalSize + magic) that ends a segment always fits: no segment ever ends in a gap
 * too small to describe.
 */
export const BLANK_MIN = 8;

const F_SIZE = 0;
const F_MAGIC = 4;
const F_CRC = 8;
const F_FLAGS = 12;
const F_QUEUE_ID = 16;
const F_QUEUE_OFFSET = 20;
const F_PHYSICAL = 28;
const F_TIMESTAMP = 36;
const F_RECONSUME = 44;
const F_TX = 48;
/** The CRC covers everything after itself: header fields and message. */
const CRC_FROM = 12;

const TWO_32 = 0x1_0000_0000;

export function getU64(dv: DataView, at: number): number {
  return dv.getUint32(at) * TWO_32 + dv.getUint32(at + 4);
}

export function setU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, Math.floor(value / TWO_32));
  dv.setUint32(at + 4, value >>> 0);
}

/** Writes one message record at `at` of buf (dv views the same bytes); returns its size. */
export function writeRecord(buf: Uint8Array, dv: DataView, at: number, h: RecordHeader, message: Uint8Array): number {
  const size = HEADER_SIZE + message.length;
  dv.setUint32(at + F_SIZE, size);
  dv.setUint32(at + F_MAGIC, MAGIC_MESSAGE);
  dv.setUint32(at + F_FLAGS, h.flags >>> 0);
  dv.setUint32(at + F_QUEUE_ID, h.queueId >>> 0);
  setU64(dv, at + F_QUEUE_OFFSET, h.queueOffset);
  setU64(dv, at + F_PHYSICAL, h.physicalOffset);
  setU64(dv, at + F_TIMESTAMP, h.storeTimestamp);
  dv.setUint32(at + F_RECONSUME, h.reconsumeTimes >>> 0);
  setU64(dv, at + F_TX, h.txOffset);
  buf.set(message, at + HEADER_SIZE);
  dv.setUint32(at + F_CRC, crcOf(buf, at, size));
  return size;
}

/** Ends a segment: `size` is every byte from `at` to the segment's end. */
export function writeBlank(dv: DataView, at: number, size: number): void {
  dv.setUint32(at + F_SIZE, size);
  dv.setUint32(at + F_MAGIC, MAGIC_BLANK);
}

export function crcOf(buf: Uint8Array, at: number, size: number): number {
  return crc32(buf.subarray(at + CRC_FROM, at + size));
}

export function recordSize(dv: DataView, at: number): number {
  return dv.getUint32(at + F_SIZE);
}

export function recordMagic(dv: DataView, at: number): number {
  return dv.getUint32(at + F_MAGIC);
}

export function recordPhysicalOffset(dv: DataView, at: number): number {
  return getU64(dv, at + F_PHYSICAL);
}

export function recordTimestamp(dv: DataView, at: number): number {
  return getU64(dv, at + F_TIMESTAMP);
}

export function storedCrc(dv: DataView, at: number): number {
  return dv.getUint32(at + F_CRC);
}

/**
 * Checks the header of a message record whose `size` bytes are all in buf at `at`: magic,
 * size bounds, position, and (if verify) the CRC. The caller has checked the size fits.
 */
export function isValidRecord(buf: Uint8Array, dv: DataView, at: number, position: number, verify: boolean): boolean {
  const size = dv.getUint32(at + F_SIZE);
  if (dv.getUint32(at + F_MAGIC) !== MAGIC_MESSAGE || size < HEADER_SIZE) return false;
  if (getU64(dv, at + F_PHYSICAL) !== position) return false;
  return !verify || crcOf(buf, at, size) === dv.getUint32(at + F_CRC);
}

/** The record at `at` of buf as a StoredRecord; message is a view, not a copy. */
export function toStoredRecord(buf: Uint8Array, dv: DataView, at: number): StoredRecord {
  const size = dv.getUint32(at + F_SIZE);
  return {
    commitLogOffset: getU64(dv, at + F_PHYSICAL),
    size,
    queueId: dv.getUint32(at + F_QUEUE_ID),
    queueOffset: getU64(dv, at + F_QUEUE_OFFSET),
    storeTimestamp: getU64(dv, at + F_TIMESTAMP),
    reconsumeTimes: dv.getUint32(at + F_RECONSUME),
    flags: dv.getUint32(at + F_FLAGS),
    txOffset: getU64(dv, at + F_TX),
    message: buf.subarray(at + HEADER_SIZE, at + size),
  };
}

export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
