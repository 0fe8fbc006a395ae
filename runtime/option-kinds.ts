// The kinds of value an option takes, each a valibot schema that accepts a flag's text or a
// config file's JSON value and gives the typed value, with the words that say what it expects.
// runtime/options.ts declares every option with one of these.
import * as v from "valibot";

export type Schema<T> = v.GenericSchema<unknown, T>;

export interface Kind<T> {
  /** The value's placeholder in --help: "<ms>", "<bytes>", "async|sync". */
  arg: string;
  /** What a valid value looks like, for the one-line error: "an integer 1..1024". */
  expected: string;
  schema: Schema<T>;
  /** A value as the user would write it (defaults in --help and the README). */
  show(value: T): string;
  /** A flag that needs no value (`--x` means true; `--no-x` false). */
  boolean?: true;
}

// ------------------------------------------------------------------ numbers and units

const SIZE_UNITS = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 } as const;
const SIZE = /^(\d+)\s*([kmgt]?)(i?b)?$/i;

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof DURATION_UNITS;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim())!;
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase() as keyof typeof SIZE_UNITS];
}

export function showSize(n: number): string {
  for (const u of ["t", "g", "m", "k"] as const) if (n >= SIZE_UNITS[u] && n % SIZE_UNITS[u] === 0) return `${n / SIZE_UNITS[u]}${u}`;
  return String(n);
}

export function showDuration(ms: number): string {
  for (const u of ["d", "h", "m", "s"] as const) if (ms >= DURATION_UNITS[u] && ms % DURATION_UNITS[u] === 0) return `${ms / DURATION_UNITS[u]}${u}`;
  return `${ms}ms`;
}

/** An unsigned integer given as a JSON number or as digits. */
const wholeNumber = v.union([
  v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  v.pipe(v.string(), v.trim(), v.regex(/^\d{1,15}$/), v.transform(Number)),
]);

function bounded(schema: Schema<number>, min: number, max: number): Schema<number> {
  return v.pipe(schema, v.minValue(min), v.maxValue(max));
}

export function int(min: number, max: number): Kind<number> {
  return { arg: "<n>", expected: `an integer ${min}..${max}`, schema: bounded(wholeNumber, min, max), show: String };
}

/** A percentage of the disk, 1..100 (RocketMQ's ratios are whole percents too). */
export function percent(min = 1, max = 100): Kind<number> {
  return { arg: "<percent>", expected: `a percentage ${min}..${max}`, schema: bounded(wholeNumber, min, max), show: String };
}

/** Bytes: a number, or digits with k, m, g or t (powers of 1024; "kb", "MiB" too). */
export function size(min: number, max: number): Kind<number> {
  const schema = v.union([
    v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    v.pipe(v.string(), v.trim(), v.regex(SIZE), v.transform(parseSize)),
  ]);
  return { arg: "<bytes>", expected: `a size ${showSize(min)}..${showSize(max)} like 65536, 64k, 512m or 1g`, schema: bounded(schema, min, max), show: showSize };
}

/** Bytes, or a share of the machine's physical memory (resolved where the memory is known). */
export type SizeOrShare = { bytes: number } | { percent: number };

/** A size (as `size`), or a percentage of physical memory: "40%" (RocketMQ's ratios of memory). */
export function sizeOrMemoryShare(maxBytes: number): Kind<SizeOrShare> {
  const share = v.pipe(v.string(), v.trim(), v.regex(/^\d{1,3}%$/), v.transform((t) => Number(t.slice(0, -1))), v.minValue(1), v.maxValue(100), v.transform((percent) => ({ percent })));
  const bytes = v.pipe(size(1, maxBytes).schema, v.transform((n) => ({ bytes: n })));
  return {
    arg: "<bytes|N%>",
    expected: `a size 1..${showSize(maxBytes)} like 64k or 512m, or a share of memory 1%..100% like 40%`,
    schema: v.union([share, bytes]),
    show: (x) => ("percent" in x ? `${x.percent}%` : showSize(x.bytes)),
  };
}

/**
 * A duration, kept in ms: a number (or digits) counts in `unit`; text may name its unit
 * (500ms, 30s, 5m, 72h, 7d).
 */
export function duration(min: number, max: number, unit: DurationUnit = "ms"): Kind<number> {
  const schema = v.union([
    v.pipe(wholeNumber, v.transform((n) => n * DURATION_UNITS[unit])),
    v.pipe(v.string(), v.trim(), v.regex(DURATION), v.transform((t) => {
      const m = DURATION.exec(t)!;
      return Number(m[1]) * DURATION_UNITS[m[2] as DurationUnit];
    })),
  ]);
  const range = `${showDuration(min)}..${showDuration(max)}`;
  return {
    arg: `<${unit === "ms" ? "ms" : `duration`}>`,
    expected: `a duration ${range} like ${unit === "ms" ? "500 (ms), " : `72 (${unit}), `}30s, 5m or 72h`,
    schema: bounded(schema, min, max),
    show: showDuration,
  };
}

// ------------------------------------------------------------------ words

export function choice<const T extends readonly [string, ...string[]]>(values: T): Kind<T[number]> {
  return { arg: values.join("|"), expected: `one of ${values.join(", ")}`, schema: v.picklist(values), show: String };
}

export function text(arg: string, expected = "a non-empty string", pattern?: RegExp): Kind<string> {
  const schema = pattern ? v.pipe(v.string(), v.regex(pattern)) : v.pipe(v.string(), v.minLength(1));
  return { arg, expected, schema, show: (s) => s };
}

export function bool(): Kind<boolean> {
  const schema = v.union([v.boolean(), v.pipe(v.picklist(["true", "false"]), v.transform((t) => t === "true"))]);
  return { arg: "[true|false]", expected: "true or false", schema, show: String, boolean: true };
}

/** Addresses "host:port" (or ws:// / wss:// URLs): a list, or one text separated by commas, semicolons or spaces. */
export function hostPorts(): Kind<string[]> {
  const address = v.pipe(v.string(), v.regex(/^(?:[^\s,;:]+:\d{1,5}|wss?:\/\/[^\s,;]+)$/));
  const schema = v.union([
    v.array(address),
    v.pipe(v.string(), v.transform((t) => t.split(/[,;\s]+/).filter((a) => a !== "")), v.array(address)),
  ]);
  return { arg: "<host:port,...>", expected: "host:port addresses separated by commas", schema, show: (l) => l.join(",") || "none" };
}

/** Words (no spaces): a list, or one text separated by commas or spaces. */
export function words(arg: string, expected: string): Kind<string[]> {
  const word = v.pipe(v.string(), v.regex(/^[^\s,]+$/));
  const schema = v.union([
    v.array(word),
    v.pipe(v.string(), v.transform((t) => t.split(/[,\s]+/).filter((w) => w !== "")), v.array(word)),
  ]);
  return { arg, expected, schema, show: (l) => l.join(",") || "none" };
}

/**
 * Delays in RocketMQ's messageDelayLevel syntax ("1s 5s 10s ... 2h", units ms s m h d), or a
 * list of ms.
 */
export function delayList(maxItems: number): Kind<number[]> {
  const item = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
  const schema = v.pipe(
    v.union([
      v.array(item),
      v.pipe(
        v.string(),
        v.transform((t) => t.trim().split(/\s+/).filter((x) => x !== "")),
        v.array(v.pipe(v.string(), v.regex(DURATION), v.transform((x) => {
          const m = DURATION.exec(x)!;
          return Number(m[1]) * DURATION_UNITS[m[2] as DurationUnit];
        }), item)),
      ),
    ]),
    v.minLength(1),
    v.maxLength(maxItems),
  );
  return { arg: '"<delays>"', expected: `1..${maxItems} delays like "1s 5s 10s 30s 1m 2h"`, schema, show: (l) => `"${l.map(showDuration).join(" ")}"` };
}

/** Hours of the day, RocketMQ's deleteWhen: "04", or several as "04;12". */
export function hoursOfDay(): Kind<number[]> {
  const hour = v.pipe(v.string(), v.regex(/^\d{1,2}$/), v.transform(Number), v.maxValue(23));
  const schema = v.union([
    v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(23))), v.minLength(1)),
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(23), v.transform((n) => [n])),
    v.pipe(v.string(), v.transform((t) => t.split(/[;,\s]+/).filter((x) => x !== "")), v.minLength(1), v.array(hour)),
  ]);
  return { arg: "<hh[;hh]>", expected: 'hours of the day 00..23, like "04" or "04;16"', schema, show: (l) => l.map((h) => String(h).padStart(2, "0")).join(";") };
}

// ------------------------------------------------------------------ names

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The closest known name within a small edit distance, if any. */
export function nearest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

export function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
