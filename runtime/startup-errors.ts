// What stops a start, as one line a person can act on: the errors of Node (err.code) and Deno
// (err.code, or the class name of Deno.errors.*) for the usual causes, and the message of
// anything else. Never a stack trace.
import type { BrokerConfig } from "./config.ts";

interface SystemError {
  code?: string;
  name?: string;
  message?: string;
  path?: string;
  syscall?: string;
}

const DENO_NAMES: Record<string, string> = {
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
  AlreadyExists: "EEXIST",
  NotADirectory: "ENOTDIR",
  NotFound: "ENOENT",
  IsADirectory: "EISDIR",
};

export function startupErrorLine(e: unknown, config?: BrokerConfig): string {
  const err = (e ?? {}) as SystemError;
  const code = err.code ?? DENO_NAMES[err.name ?? ""];
  // Deno's messages carry the path after a colon; Node's have err.path.
  const path = err.path ?? /['"`]([^'"`]+)['"`]\s*$/.exec(err.message ?? "")?.[1];
  const where = config ? `${config.host}:${config.port}` : "the address";
  switch (code) {
    case "EADDRINUSE":
      return `port ${config?.port ?? "?"} on ${config?.host ?? "?"} is already in use (another broker? pick one with --port)`;
    case "EADDRNOTAVAIL":
      return `cannot listen on ${where}: no such local address (--host)`;
    case "EACCES":
    case "EPERM":
      return err.syscall === "listen" || /listen|bind/i.test(err.message ?? "")
        ? `permission denied listening on ${where} (ports below 1024 need privileges)`
        : `permission denied: ${path ?? config?.dataDir ?? "a file"} (is --data-dir ${config?.dataDir ?? ""} writable by this user?)`;
    case "EEXIST":
    case "ENOTDIR":
      return `--data-dir ${config?.dataDir ?? ""}: ${path ?? "a path in it"} is a file where a directory is needed`;
    case "ENOSPC":
    case "EDQUOT":
      return `no space left on the disk of --data-dir ${config?.dataDir ?? ""}`;
    case "EROFS":
      return `--data-dir ${config?.dataDir ?? ""} is on a read-only file system`;
  }
  if (err.name === "DirLockedError" || err.name === "StoreFormatError") return err.message ?? String(e);
  const message = (err.message ?? String(e)).split("\n")[0];
  return code ? `${message} (${code})` : message;
}
