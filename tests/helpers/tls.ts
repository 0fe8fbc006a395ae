// Certificates made by the test with openssl (Debian's package): a CA, a certificate for
// localhost and 127.0.0.1 signed by it (server and client use), and a client certificate. PEM
// files in a temporary directory; `spki` is the server key's SHA-256 pin for Chromium's
// --ignore-certificate-errors-spki-list (trust this one certificate, nothing else).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./broker.ts";

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** PEM text of the CA, for the client's tls.ca. */
  ca: string;
  spki: string;
  remove(): void;
}

/** Why these tests cannot run here, or null. */
export function opensslUnavailable(): string | null {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return null;
  } catch {
    return existsSync("/usr/bin/openssl") ? "openssl does not run" : "no openssl (apt-get install openssl)";
  }
}

export function makeCerts(): TestCerts {
  const d = tempDir("actormq-tls-");
  const p = (f: string) => join(d.path, f);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-days", "2", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-subj", "/CN=ActorMQ test CA");
  const sign = (name: string, cn: string, ext: string) => {
    ssl("req", ...ec, "-keyout", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext);
    ssl("x509", "-req", "-in", p(`${name}.csr`), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2", "-out", p(`${name}.pem`), "-extfile", p(`${name}.ext`));
  };
  sign("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n");
  sign("client", "test-client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  const der = execFileSync("openssl", ["pkey", "-in", p("server.key"), "-pubout", "-outform", "der"]);
  const spki = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der }).toString("base64");
  return {
    dir: d.path,
    caCert: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    ca: readFileSync(p("ca.pem"), "utf8"),
    spki,
    remove: d.remove,
  };
}
