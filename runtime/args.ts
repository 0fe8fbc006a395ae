// Typed access to a request's arguments: each getter throws a BrokerError with a named code
// (MISSING_FIELD, WRONG_TYPE, BAD_REQUEST) that the server turns into an error response.
import { BrokerError, checkGroupName, ErrorCode, type Request } from "../protocol/mod.ts";

type Kind = "string" | "uint" | "bytes" | "array" | "map" | "boolean";

function check(req: Request, name: string, kind: Kind, value: unknown): void {
  const ok = kind === "string" ? typeof value === "string"
    : kind === "uint" ? typeof value === "number" && Number.isInteger(value) && value >= 0
    : kind === "bytes" ? value instanceof Uint8Array
    : kind === "array" ? Array.isArray(value)
    : kind === "boolean" ? typeof value === "boolean"
    : value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array);
  if (!ok) {
    const want = kind === "uint" ? "an unsigned integer" : kind === "bytes" ? "a byte string" : `a${kind === "array" ? "n" : ""} ${kind}`;
    throw new BrokerError(ErrorCode.WRONG_TYPE, `${req.op}: "${name}" must be ${want}`);
  }
}

export function required<T>(req: Request, name: string, kind: Kind): T {
  const value = req[name];
  if (value === undefined || value === null) throw new BrokerError(ErrorCode.MISSING_FIELD, `${req.op}: "${name}" is required`);
  check(req, name, kind, value);
  return value as T;
}

export function optional<T>(req: Request, name: string, kind: Kind, fallback: T): T {
  const value = req[name];
  if (value === undefined || value === null) return fallback;
  check(req, name, kind, value);
  return value as T;
}

/** A group name argument: required, a string, and a legal group name (protocol/names.ts), or a named error. */
export function groupArg(req: Request, name = "group"): string {
  return checkGroupName(required<string>(req, name, "string"), `${req.op}: "${name}"`);
}
