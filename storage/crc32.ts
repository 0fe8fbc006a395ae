// CRC-32 (IEEE) of records and of small files' records: the platform's native one once a broker
// hands it over (StoreConfig.crc32), the crc-32 package until then and where the runtime has none
// (Node before 20.15). Same polynomial, same results; every record is CRC'd when it is appended
// and again when it is read from disk, and for a 1 KiB record the native one costs half (Node's
// zlib) to a fifteenth (Deno's op) of the package's.
import CRC32 from "crc-32";

let impl: (data: Uint8Array) => number = (data) => CRC32.buf(data) >>> 0;

/** The CRC-32 of `data`, unsigned. */
export function crc32(data: Uint8Array): number {
  return impl(data);
}

/** Uses `fn` from now on (it must give crc32's results). */
export function useCrc32(fn: (data: Uint8Array) => number): void {
  impl = fn;
}
