// Browsers send an Origin header with every WebSocket handshake, and a page from any site may
// open one: without this check any web page a developer visits could drive a broker on their
// machine. A handshake without Origin (not a browser), or from the broker's own origin (its
// inspector page), passes; another origin only when listed in --allowed-origins ("*": any), or
// when it is one of the name servers this broker registers with (their console shows the
// cluster's brokers). With --auth on an allowed origin still has to sign in.
import type { ServerSocket } from "../../platform/platform.ts";
import { closeReason } from "./limits.ts";

/** The page origins of these name servers ("host:port" or ws:// URLs), http and https. */
export function nameServerOrigins(namesrvAddrs: readonly string[]): string[] {
  return namesrvAddrs.flatMap((a) => {
    try {
      const host = new URL(/^wss?:\/\//.test(a) ? a : `ws://${a}`).host;
      return [`http://${host}`, `https://${host}`];
    } catch {
      return [];
    }
  });
}

/** null when the connection may stay; otherwise the close reason. */
export function originRefusal(socket: Pick<ServerSocket, "origin" | "host">, allowed: readonly string[]): string | null {
  const origin = socket.origin;
  if (origin === undefined || origin === "") return null;
  if (allowed.includes("*")) return null;
  const normalized = origin.toLowerCase().replace(/\/+$/, "");
  if (allowed.some((a) => a.toLowerCase().replace(/\/+$/, "") === normalized)) return null;
  try {
    if (socket.host !== undefined && new URL(normalized).host === socket.host.toLowerCase()) return null;
  } catch { /* "null" and other non-URLs: not the broker's own */ }
  return closeReason(`ORIGIN_NOT_ALLOWED: ${origin} is not in --allowed-origins`);
}
