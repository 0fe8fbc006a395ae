// Numbers and times as people read them: "1.2k", "3.4 MB", "12 s ago", "2 h 5 min".

/** A count: 950, 12.3k, 4.5M. Exact below 10,000 so small figures can be checked by eye. */
export function count(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a < 10_000) return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(a < 10 ? 1 : 0);
  if (a < 1e6) return `${trim(n / 1e3)}k`;
  if (a < 1e9) return `${trim(n / 1e6)}M`;
  return `${trim(n / 1e9)}G`;
}

/** A rate per second: "0", "0.4/s", "1.2k/s". */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond === 0) return "0/s";
  return `${perSecond < 10 ? perSecond.toFixed(1).replace(/\.0$/, "") : count(Math.round(perSecond))}/s`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : trim(v)} ${UNITS[i]}`;
}

/** A duration: "850 ms", "12 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const neg = ms < 0 ? "-" : "";
  ms = Math.abs(ms);
  if (ms < 1000) return `${neg}${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${neg}${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${neg}${m} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${neg}${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${neg}${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}

/** A moment relative to now: "just now", "12 s ago", "in 3 min"; "never" for 0. */
export function ago(t: number, now = Date.now()): string {
  if (!t) return "never";
  const d = now - t;
  if (Math.abs(d) < 1000) return "just now";
  return d > 0 ? `${duration(d)} ago` : `in ${duration(-d)}`;
}

/** A wall-clock time, with the date when it is not today: "14:03:21", "2026-12-01 14:03:21". */
export function clock(t: number, now = Date.now()): string {
  if (!t) return "–";
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** With milliseconds, for event logs: "14:03:21.042". */
export function clockMs(t: number): string {
  const d = new Date(t);
  return `${clock(t, t)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** RocketMQ's permission bits: 6 "read/write", 4 "read only", 2 "write only", 0 "none". */
export function perm(p: number): string {
  const r = (p & 4) !== 0;
  const w = (p & 2) !== 0;
  return r && w ? "read/write" : r ? "read only" : w ? "write only" : "no access";
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : "–";
}

function trim(v: number): string {
  return (Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)).replace(/\.0$/, "");
}
