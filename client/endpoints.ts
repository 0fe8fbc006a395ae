// Endpoint strings as users write them ("127.0.0.1:9876", "ws://host:9876", "a:1;b:2") turned
// into the WebSocket URLs the protocol names: ws://<host>:<port>/ws.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";

export const DEFAULT_PORT = 9876;

export function normalizeEndpoints(endpoints: string | string[]): string[] {
  const list = (Array.isArray(endpoints) ? endpoints : [endpoints])
    .flatMap((e) => (typeof e === "string" ? e.split(/[;,\s]+/) : [e]))
    .filter((e) => e !== "");
  if (list.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "endpoints: give at least one broker address");
  return [...new Set(list.map(normalizeEndpoint))];
}

export function normalizeEndpoint(endpoint: string): string {
  if (typeof endpoint !== "string") throw new BrokerError(ErrorCode.WRONG_TYPE, "an endpoint must be a string");
  let s = endpoint.trim();
  if (/^https?:\/\//i.test(s)) s = s.replace(/^http/i, "ws");
  const bare = !/^wss?:\/\//i.test(s); // "host" or "host:port": a broker address, not a URL
  if (bare) s = `ws://${s}`;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `endpoint "${endpoint}" is not host:port or a ws:// URL`);
  }
  if (url.hostname === "") throw new BrokerError(ErrorCode.BAD_REQUEST, `endpoint "${endpoint}" names no host`);
  if (bare && url.port === "") url.port = String(DEFAULT_PORT);
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/ws";
  return url.toString();
}

/**
 * A broker's advertised address, made dialable from here: a broker listening on every interface
 * advertises 0.0.0.0 (or ::), which only means "this machine" to the broker itself.
 */
export function dialableAddress(advertised: string, via: string): string {
  try {
    const url = new URL(normalizeEndpoint(advertised));
    if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = new URL(via).hostname;
    return url.toString();
  } catch {
    return via;
  }
}
