// Signing a raw WebSocket in (hello, then auth with the signed nonce) before its owner uses it:
// for links that speak frames of their own rather than through the SDK's Transport (a slave's
// replication link to its master). Resolves once signed in, or at once when the peer does not
// ask (--auth off); rejects with the peer's error, or after timeoutMs.
import { BrokerError, type Credentials, decode, encode, ErrorCode, signHandshake } from "../../protocol/mod.ts";

/** The part of a client WebSocket this needs (the caller's, e.g. `ws`'s or the runtime's). */
export interface SignInSocket {
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
}

/** `bytesOf`: a frame's bytes from a message event's data (the caller's WebSocket decides its form). */
export function signInSocket(socket: SignInSocket, credentials: Credentials, bytesOf: (data: unknown) => Uint8Array | null, now: () => number, timeoutMs = 5000): Promise<void> {
  const previous = socket.onmessage;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new BrokerError(ErrorCode.TIMEOUT, `no answer to the sign-in in ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: BrokerError) => {
      clearTimeout(timer);
      socket.onmessage = previous;
      if (err) reject(err);
      else resolve();
    };
    socket.onmessage = (ev) => {
      const bytes = bytesOf(ev.data);
      if (!bytes) return;
      let f: Record<string, unknown>;
      try {
        f = decode(bytes) as Record<string, unknown>;
      } catch {
        return;
      }
      if (f.id === "sign-in-hello") {
        if (f.code !== 0) return finish(new BrokerError(String(f.code), String(f.message ?? "")));
        if (f.auth !== true) return finish();
        signHandshake(credentials, String(f.nonce), now()).then(
          (args) => socket.send(encode({ id: "sign-in-auth", op: "auth", ...args })),
          (e) => finish(new BrokerError(ErrorCode.AUTH_FAILED, (e as Error).message)),
        );
      } else if (f.id === "sign-in-auth") {
        finish(f.code === 0 ? undefined : new BrokerError(String(f.code), String(f.message ?? "")));
      }
    };
    socket.send(encode({ id: "sign-in-hello", op: "hello" }));
  });
}
