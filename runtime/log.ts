// Logging with LogTape (runs on Node, Deno and in browsers): every module takes a logger for its
// category with getLogger(["actormq", ...]) and logs structured properties; the process entry
// points configure once where records go and how they look (--log-level, --log-format).
import { configureSync, getConsoleSink, getLogger, getTextFormatter, type LogLevel, type LogRecord, resetSync } from "@logtape/logtape";

export { getLogger };
export type { Logger } from "@logtape/logtape";

export interface LogOptions {
  level: LogLevel;
  format: "text" | "json";
}

/**
 * Routes every "actormq" category to the console: text lines with a timestamp and level, or
 * JSON lines. info and debug go to stdout, warnings and errors to stderr.
 */
export function configureLogging(options: LogOptions): void {
  const formatter = options.format === "json"
    ? jsonLine
    : getTextFormatter({ timestamp: "date-time-tz", value: "bare", category: (c) => c.join(".") });
  resetSync();
  configureSync({
    sinks: { console: getConsoleSink({ formatter }) },
    loggers: [
      { category: ["actormq"], lowestLevel: options.level, sinks: ["console"] },
      // LogTape's own complaints (a sink that threw), never its chatter.
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

/**
 * One JSON object per record: time, level, logger, the message with its values as they are
 * (strings unquoted), then every property as a field of its own. (LogTape's JSON Lines
 * formatter quotes strings inside the message.)
 */
function jsonLine(record: LogRecord): string {
  let message = "";
  for (let i = 0; i < record.message.length; i++) message += i % 2 === 0 ? record.message[i] : show(record.message[i]);
  const fields: Record<string, unknown> = { time: new Date(record.timestamp).toISOString(), level: record.level, logger: record.category.join("."), message };
  for (const [k, v] of Object.entries(record.properties)) fields[k] ??= v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  return JSON.stringify(fields) + "\n";
}

function show(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}

/** A plain-text line in the form LogTape's templates take (braces are placeholders there). */
export function literal(line: string): string {
  return line.replace(/[{}]/g, (b) => b + b);
}

/** `(line) => void` for code that reports in plain lines (the broker's start, recovery progress). */
export function lineLogger(category: string[], level: "info" | "warn" = "info"): (line: string) => void {
  const logger = getLogger(["actormq", ...category]);
  return level === "warn" ? (line) => logger.warn(literal(line)) : (line) => logger.info(literal(line));
}
