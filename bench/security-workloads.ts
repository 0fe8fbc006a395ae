// bench --only security: produce (1,000 in flight) and consume (4 queues, pulls of 32) against a
// plain broker, one with TLS, one with --auth on (an ACL of a few entries), and one with both,
// in the same run: the cost of each as a ratio to plain. Certificates are made with openssl.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCerts } from "../tests/helpers/tls.ts";
import { type BenchClientOptions, consume, produce, startBrokerProcess } from "./broker-workloads.ts";

export interface SecurityFigures {
  produce: Record<Mode, number>;
  consume: Record<Mode, number>;
}

export type Mode = "plain" | "tls" | "auth" | "tls+auth";
export const MODES: Mode[] = ["plain", "tls", "auth", "tls+auth"];

const USER = { accessKey: "bench", secretKey: "bench-secret-1" };

export async function securityWorkloads(root: string, n: number): Promise<SecurityFigures> {
  const certs = makeCerts();
  const aclFile = join(root, "acl.json");
  // A realistic ACL: a few users and entries, the bench user's right among them.
  writeFileSync(aclFile, JSON.stringify({
    users: [USER, { accessKey: "other", secretKey: "other-secret-1" }],
    acls: [
      { user: "other", entries: [{ resource: "Topic:other-*", actions: ["PUB", "SUB"], decision: "ALLOW" }] },
      { user: "bench", entries: [
        { resource: "Topic:Secure*", actions: ["PUB", "SUB"], decision: "ALLOW" },
        { resource: "Topic:Secure-denied", actions: ["ALL"], decision: "DENY" },
        { resource: "Group:bench*", actions: ["PUB", "SUB"], decision: "ALLOW" }, // producer and consumer groups
        { resource: "Topic:*", actions: ["SUB"], decision: "ALLOW", sourceIps: ["10.0.0.0/8"] },
      ] },
    ],
  }));
  const out: SecurityFigures = { produce: {} as Record<Mode, number>, consume: {} as Record<Mode, number> };
  const brokers: { mode: Mode; url: string; client: BenchClientOptions; stop(): Promise<void> }[] = [];
  try {
    // All four brokers at once, and the work in short turns through them: load that comes and
    // goes on a shared machine falls on every mode alike.
    for (const mode of MODES) {
      const tls = mode.includes("tls");
      const auth = mode.includes("auth");
      const args = ["--data-dir", join(root, `security-${mode.replace("+", "-")}`)];
      if (tls) args.push("--tls-cert", certs.serverCert, "--tls-key", certs.serverKey);
      if (auth) args.push("--auth", "on", "--acl-file", aclFile);
      const b = await startBrokerProcess(args);
      const client: BenchClientOptions = { ...(tls ? { tls: { ca: certs.ca } } : {}), ...(auth ? { credentials: USER } : {}) };
      brokers.push({ mode, url: b.url, client, stop: () => b.stop() });
    }
    const rounds = 5;
    const spent = new Map<Mode, { n: number; s: number }>(MODES.map((m) => [m, { n: 0, s: 0 }]));
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < brokers.length; k++) {
        const b = brokers[(k + r) % brokers.length];
        const count = Math.floor(n / rounds);
        const rate = await produce(b.url, "SecureBench", count, 1000, b.client);
        const t = spent.get(b.mode)!;
        t.n += count;
        t.s += count / rate;
      }
    }
    for (const m of MODES) out.produce[m] = spent.get(m)!.n / spent.get(m)!.s;
    for (const b of brokers) out.consume[b.mode] = await consume(b.url, "SecureBench", 4, Math.floor(n / rounds) * rounds, b.client);
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
    certs.remove();
  }
  return out;
}
