// A client's connection to the broker, as the request handlers see it.
import type { ServerSocket } from "../platform/platform.ts";

export interface Connection {
  id: string;
  socket: ServerSocket;
  open: boolean;
  clientId?: string;
  /** Consumer groups this connection's client heartbeats for: it leaves them when it closes. */
  groups: Set<string>;
}
