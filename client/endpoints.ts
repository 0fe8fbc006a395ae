// Endpoint strings as users write them ("127.0.0.1:9876", "ws://host:9876", "a:1;b:2") turned
// into the WebSocket URLs the protocol names: ws://<host>:<port>/ws.
import { BrokerError, ErrorCode } from "../protocol/mod.ts";
// One normalization for clients and brokers (which dial their name servers): it lives in protocol/.
import { DEFAULT_PORT, normalizeEndpoint } from "../protocol/endpoint-url.ts";

export { DEFAULT_PORT, normalizeEndpoint };

export function normalizeEndpoints(endpoints: string | string[]): string[] {
  const list = (Array.isArray(endpoints) ? endpoints : [endpoints])
    .flatMap((e) => (typeof e === "string" ? e.split(/[;,\s]+/) : [e]))
    .filter((e) => e !== "");
  if (list.length === 0) throw new BrokerError(ErrorCode.BAD_REQUEST, "endpoints: give at least one broker address");
  return [...new Set(list.map(normalizeEndpoint))];
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
