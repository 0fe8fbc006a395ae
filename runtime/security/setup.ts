// Everything security needs at start-up, from the configuration: the ACL file (watched), the TLS
// files, this process's own credentials. Shared by the broker and the name server process.
import type { BrokerConfig } from "../config.ts";
import type { Platform, TlsFiles } from "../../platform/platform.ts";
import { AclStore } from "./acl-store.ts";
import { Security } from "./security.ts";
import type { PeerDial } from "../cluster/peer-link.ts";
import { dialTls, readCredentials, serverTls } from "./tls.ts";

/** How often the ACL file is looked at for changes. */
export const ACL_RELOAD_INTERVAL_MS = 1000;

export interface SecuritySetup {
  security: Security;
  /** What the server listens with; undefined: plain ws:// and http://. */
  tls?: TlsFiles;
  /** How this process dials name servers and brokers. */
  dial: PeerDial;
}

/** Reads and checks every file; throws an Error with one line saying what is wrong. */
export function setupSecurity(platform: Platform, config: BrokerConfig, log: (line: string) => void): SecuritySetup {
  const readText = platform.process.readText;
  const tls = serverTls(config, readText);
  const dial = { tls: dialTls(config, readText), credentials: readCredentials(config, readText) };
  let acl: AclStore | undefined;
  if (config.aclFile) {
    acl = AclStore.open(platform.files, config.aclFile, log);
    acl.watch(platform.clock, ACL_RELOAD_INTERVAL_MS);
  }
  const security = new Security({ auth: config.auth === "on", acl, maxSkewMs: config.authMaxSkewMs, clock: platform.clock });
  return { security, tls, dial };
}

/** The start-up line's security part: what a reader must know before putting this on a network. */
export function securitySummary(config: BrokerConfig, setup: SecuritySetup): string {
  const auth = config.auth === "on"
    ? `auth on (${setup.security.acl!.document.users.length} users in ${config.aclFile})`
    : "auth OFF: any client may do anything (local development; --auth on --acl-file <file> for a shared network)";
  const tls = setup.tls ? `TLS${setup.tls.ca ? " with client certificates" : ""}` : "no TLS";
  const origins = config.allowedOrigins.length ? `browser origins: own + ${config.allowedOrigins.join(", ")}` : "browser origins: own only";
  return `${auth}; ${tls}; ${origins}`;
}
