// Unknown options are refused, not ignored: `{ handlr: ... }` or `{ consumeFrom: ..., groupe: ... }`
// would otherwise run with defaults and fail later in a way that does not point at the typo.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";

/**
 * The option names of an options type, listed once: a record with every key of `T` set to true
 * (TypeScript fails the build when the list and the type part ways).
 */
export function optionNames<T>(names: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(names);
}

/** Throws BAD_REQUEST naming the first option of `options` that is not in `known`. */
export function refuseUnknown(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${what}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ` (options: ${known.join(", ")})`}`);
  }
}

/** The known name closest to `name` by edit distance, if close enough to be a typo. */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
