// How a client speaks up: a logger with levels (the console by default, warnings and errors
// only) and events an application can listen to. Failures that happen in the background (a
// pull, a heartbeat, a commit, a reconnect) and handler failures are never swallowed: each one
// is an event, and a line in the log. A failure that repeats (a broker that is down fails every
// pull of every queue) is logged when it starts and when it ends, not every time.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** What a client logs through; `console` is one, and so are most logging libraries' loggers. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export interface LogOptions {
  /** Where log lines go. Default: the console. */
  logger?: Logger;
  /** The least severe level logged. Default "warn"; "silent" logs nothing. */
  logLevel?: LogLevel;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** A logger cut at a level, each line prefixed with "[actormq] " and the client's name. */
export class ClientLog {
  private readonly rank: number;
  /** Keys of failures logged as started and not yet as ended. */
  private readonly failingKeys = new Set<string>();

  constructor(private readonly logger: Logger, level: LogLevel, private readonly prefix: string) {
    this.rank = RANK[level];
  }

  debug(message: string, ...details: unknown[]): void {
    if (this.rank <= 0) this.logger.debug(this.prefix + message, ...details);
  }

  info(message: string, ...details: unknown[]): void {
    if (this.rank <= 1) this.logger.info(this.prefix + message, ...details);
  }

  warn(message: string, ...details: unknown[]): void {
    if (this.rank <= 2) this.logger.warn(this.prefix + message, ...details);
  }

  error(message: string, ...details: unknown[]): void {
    if (this.rank <= 3) this.logger.error(this.prefix + message, ...details);
  }

  /** A failure of something that keeps trying (`key` names it): a warning the first time in a row, debug after. */
  failing(key: string, message: string): void {
    if (this.failingKeys.has(key)) return this.debug(message);
    this.failingKeys.add(key);
    this.warn(message);
  }

  /** It worked: if it was failing, say so, at the level its failure was logged. */
  recovered(key: string, message: string): void {
    if (this.failingKeys.delete(key)) this.warn(message);
  }
}

export function clientLog(options: LogOptions, name: string): ClientLog {
  const level = options.logLevel ?? "warn";
  if (!(level in RANK)) throw new BrokerError(ErrorCode.BAD_REQUEST, `logLevel must be one of ${Object.keys(RANK).join(", ")}, not ${JSON.stringify(level)}`);
  const logger = options.logger ?? console;
  for (const m of ["debug", "info", "warn", "error"] as const) {
    if (typeof logger?.[m] !== "function") throw new BrokerError(ErrorCode.WRONG_TYPE, `logger must have debug, info, warn and error methods (console has them); ${m} is missing`);
  }
  return new ClientLog(logger, level, `[actormq] ${name}: `);
}

/** An error's message, for a log line. */
export function why(e: unknown): string {
  if (e instanceof Error) return (e as { code?: string }).code ? `${(e as { code?: string }).code}: ${e.message}` : e.message;
  return String(e);
}
