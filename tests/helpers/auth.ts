// A broker with --auth on for tests: an ACL file in its data directory's sibling, users made by
// the test, and a raw request channel per user (the SDK's Transport, signing in as that user).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Transport } from "../../client/transport.ts";
import { resolveWebSocket } from "../../client/websocket-class.ts";
import { BrokerError, type Credentials } from "../../protocol/mod.ts";
import type { BrokerConfig } from "../../runtime/config.ts";
import { startBroker, tempDir } from "./broker.ts";

export interface AclFile {
  users: { accessKey: string; secretKey: string; super?: boolean; disabled?: boolean }[];
  acls?: { user: string; entries: { resource: string; actions: string[]; decision: string; sourceIps?: string[] }[] }[];
}

export async function startAuthBroker(acl: AclFile, overrides: Partial<BrokerConfig> = {}) {
  const dir = tempDir("actormq-auth-");
  const aclFile = join(dir.path, "acl.json");
  writeFileSync(aclFile, JSON.stringify(acl, null, 2));
  const b = await startBroker({ auth: "on", aclFile, ...overrides });
  return {
    ...b,
    aclFile,
    writeAcl: (next: AclFile) => writeFileSync(aclFile, JSON.stringify(next, null, 2)),
    async stop() {
      await b.stop();
      dir.remove();
    },
  };
}

/** Requests as one user (or anonymously): resolves with the reply, or with the error's code. */
export function channel(url: string, credentials?: Credentials) {
  const t = new Transport(url, { WebSocket: resolveWebSocket(), credentials, connectTimeoutMs: 3000 });
  return {
    transport: t,
    request: (op: string, args: Record<string, unknown> = {}) => t.request(op, args, 5000),
    /** The error code of a request that must fail ("OK" if it did not). */
    code: (op: string, args: Record<string, unknown> = {}) =>
      t.request(op, args, 5000).then(() => "OK", (e) => (e instanceof BrokerError ? e.code : String(e))),
    close: () => t.close(),
  };
}
