// The files named by the TLS and credentials flags, read once at start-up. Each failure is one
// line naming the flag and the file (main prints it and exits), never a stack trace.
import type { Credentials } from "../../protocol/mod.ts";
import type { BrokerConfig } from "../config.ts";
import type { TlsDialOptions, TlsFiles } from "../../platform/platform.ts";

type ReadText = (path: string) => string;

function pem(flag: string, path: string, readText: ReadText, kind: RegExp): string {
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    throw new Error(`${flag} ${path}: cannot read it (${(e as Error).message.split("\n")[0]})`);
  }
  if (!kind.test(text)) throw new Error(`${flag} ${path}: not a PEM file of the expected kind (no ${kind.source.replace(/\\/g, "")} block)`);
  return text;
}

const CERT = /-----BEGIN CERTIFICATE-----/;
const KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

/** What the server listens with: certificate, key and (for client certificates) a CA; undefined without --tls-cert. */
export function serverTls(config: BrokerConfig, readText: ReadText): TlsFiles | undefined {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  return {
    cert: pem("--tls-cert", config.tlsCert, readText, CERT),
    key: pem("--tls-key", config.tlsKey, readText, KEY),
    ...(config.tlsCa ? { ca: pem("--tls-ca", config.tlsCa, readText, CERT) } : {}),
  };
}

/**
 * How this process dials name servers and brokers: the CAs of --tls-trust, and its own
 * certificate as a client certificate for peers that ask for one (their --tls-ca).
 */
export function dialTls(config: BrokerConfig, readText: ReadText): TlsDialOptions | undefined {
  const out: TlsDialOptions = {};
  if (config.tlsTrust) out.ca = pem("--tls-trust", config.tlsTrust, readText, CERT);
  if (config.tlsCert && config.tlsKey) {
    out.cert = pem("--tls-cert", config.tlsCert, readText, CERT);
    out.key = pem("--tls-key", config.tlsKey, readText, KEY);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** --credentials: the access key this process signs in with to name servers and brokers. */
export function readCredentials(config: BrokerConfig, readText: ReadText): Credentials | undefined {
  if (!config.credentials) return undefined;
  const path = config.credentials;
  let json: unknown;
  try {
    json = JSON.parse(readText(path));
  } catch (e) {
    throw new Error(`--credentials ${path}: cannot read it as JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const { accessKey, secretKey } = (json ?? {}) as Record<string, unknown>;
  if (typeof accessKey !== "string" || typeof secretKey !== "string" || accessKey === "" || secretKey === "") {
    throw new Error(`--credentials ${path}: must hold { "accessKey": "...", "secretKey": "..." }`);
  }
  return { accessKey, secretKey };
}
