// Endpoint strings as users write them ("127.0.0.1:9876", "ws://host:9876") turned into the
// WebSocket URLs the protocol names: ws://<host>:<port>/ws. Clients and brokers (registering
// with name servers) both dial them.
import { BrokerError, ErrorCode } from "./errors.ts";

export const DEFAULT_PORT = 9876;

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
