// The body digest RocketMQ's clients check on every delivered message (MD5, upper-case hex).
// node:crypto here, beside @grpc/grpc-js, which is node:http2 on both runtimes already: this
// front-end runs on Node's APIs (Deno provides them), as the platform layer does.
import { createHash } from "node:crypto";

export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex").toUpperCase();
}
