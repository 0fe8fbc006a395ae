// Signing in without sending the secret (docs/SECURITY.md). The broker answers `hello` with a
// fresh nonce; the client answers `auth` with its access key, its clock and an HMAC-SHA256 of
// both under its secret key. Web Crypto does the HMAC: Node, Deno and browsers all have it
// (browsers only in secure contexts: https:// pages, or localhost).

/** An access key and its secret key, as RocketMQ's ACL names them. */
export interface Credentials {
  accessKey: string;
  secretKey: string;
}

/** The algorithm named in what is signed: a later version signs something else. */
export const AUTH_ALGORITHM = "ACTORMQ-HMAC-SHA256";

/** What is signed: the algorithm, who, the broker's nonce for this connection, and when (ms). */
export function stringToSign(accessKey: string, nonce: string, timestamp: number): string {
  return `${AUTH_ALGORITHM}\n${accessKey}\n${nonce}\n${timestamp}`;
}

const encoder = new TextEncoder();

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) {
    throw new Error("signing needs Web Crypto (crypto.subtle), which browsers offer only to secure contexts: https:// pages or localhost");
  }
  return s;
}

/** An HMAC-SHA256 key for a secret; import once and reuse (importing costs more than signing). */
export function hmacKey(secretKey: string, hash: "SHA-256" | "SHA-1" = "SHA-256"): Promise<CryptoKey> {
  return subtle().importKey("raw", encoder.encode(secretKey), { name: "HMAC", hash }, false, ["sign", "verify"]);
}

/** The `auth` request's arguments for a nonce: { accessKey, timestamp, signature (base64) }. */
export async function signHandshake(credentials: Credentials, nonce: string, timestamp: number): Promise<{ accessKey: string; timestamp: number; signature: string }> {
  const key = await hmacKey(credentials.secretKey);
  const mac = await subtle().sign("HMAC", key, encoder.encode(stringToSign(credentials.accessKey, nonce, timestamp)));
  return { accessKey: credentials.accessKey, timestamp, signature: toBase64(new Uint8Array(mac)) };
}

/** Checks a signature in constant time (Web Crypto's verify); false for any malformed input. */
export async function verifySignature(key: CryptoKey, accessKey: string, nonce: string, timestamp: number, signature: string): Promise<boolean> {
  const mac = fromBase64(signature);
  if (!mac || mac.length !== 32) return false;
  return await subtle().verify("HMAC", key, mac, encoder.encode(stringToSign(accessKey, nonce, timestamp)));
}

/** A random nonce, 16 bytes as base64url. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

function fromBase64(text: string) {
  if (typeof text !== "string" || text.length > 64) return null;
  try {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** A user of a broker with --auth on: an access key and its secret key (RocketMQ's ACL). */
export interface AclUser {
  accessKey: string;
  secretKey: string;
  /** RocketMQ's userType Super: every action on every resource. */
  super?: boolean;
  /** RocketMQ's userStatus disable: cannot sign in. */
  disabled?: boolean;
}

/** One ACL entry of a user: what it may (ALLOW) or may not (DENY) do, on what, from where. */
export interface AclEntry {
  /** "Topic:orders", "Topic:orders-*" (prefix), "Topic:*", "Group:cg", "Cluster", or "*" (anything). */
  resource: string;
  actions: ("PUB" | "SUB" | "ADMIN" | "ALL")[];
  decision: "ALLOW" | "DENY";
  /** Addresses or CIDR blocks the entry applies from; absent: from anywhere. */
  sourceIps?: string[];
}
