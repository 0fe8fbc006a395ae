// A replicated broker group for end-to-end tests, all real processes: etcd (Debian's etcd-server,
// on free loopback ports with a temporary data dir), a name server, controllers (--role
// controller) and the group's brokers (--controller), each broker with its own data directory.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin, type ClusterBroker } from "../../client/mod.ts";
import type { Credentials } from "../../protocol/mod.ts";
import { Transport } from "../../client/transport.ts";
import { resolveWebSocket, type TlsClientOptions } from "../../client/websocket-class.ts";
import { type BrokerProcess, killSpawned, spawnBroker, tempDir, until } from "./broker.ts";

export const ETCD = ["/usr/bin/etcd", "/usr/local/bin/etcd"].find((p) => existsSync(p));

/** A free TCP port on 127.0.0.1 (etcd takes no port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Etcd {
  url: string;
  /** SIGKILLs it (its data stays). */
  kill(): Promise<void>;
  /** Starts it again on the same data and ports. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * etcd on free ports with a fresh data dir. Raft ticks are short (50 ms heartbeat, 500 ms
 * election) so a 1 s lease is allowed (etcd's minimum TTL is 1.5 election timeouts).
 */
export async function startEtcd(): Promise<Etcd> {
  if (!ETCD) throw new Error("etcd is not installed (Debian: apt-get install etcd-server)");
  const dir = mkdtempSync(join(tmpdir(), "actormq-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const etcd: Etcd = {
    url,
    async start() {
      const c = spawn(ETCD, [
        "--name", "actormq-test", "--data-dir", `${dir}/data`,
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
        "--initial-cluster", `actormq-test=http://127.0.0.1:${peer}`,
        "--heartbeat-interval", "50", "--election-timeout", "500",
      ], { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      let err = "";
      c.stderr!.on("data", (d) => (err = (err + d).slice(-4000)));
      exited = new Promise((r) => c.on("close", () => r()));
      // Ready once it answers a health check over its client port.
      await until(`etcd at ${url} ready`, async () => {
        if (c.exitCode !== null) throw new Error(`etcd exited (${c.exitCode}):\n${err}`);
        try {
          const r = await fetch(`${url}/health`);
          return r.ok && ((await r.json()) as { health?: string }).health === "true";
        } catch {
          return false;
        }
      }, 15_000, 50);
    },
    async kill() {
      if (child) signal({ child } as BrokerProcess, "SIGKILL");
      await exited;
    },
    async stop() {
      if (child) signal({ child } as BrokerProcess, "SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await etcd.start();
  return etcd;
}

/**
 * Signals a process by pid: Deno's ChildProcess.kill ignores every signal after its first (a
 * SIGSTOP, then SIGCONT or SIGKILL, would never arrive), process.kill does not.
 */
export function signal(p: BrokerProcess, sig: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, sig);
  } catch { /* gone already */ }
}

export interface GroupMember {
  id: number;
  dir: string;
  args: string[];
  proc: BrokerProcess;
}

export interface ReplicatedGroup {
  etcd: Etcd;
  namesrv: BrokerProcess;
  /** The name server's ws:// URL: clients' endpoint. */
  url: string;
  controllers: BrokerProcess[];
  members: GroupMember[];
  brokerName: string;
  /** SIGKILLs a member; resolves when it has exited. */
  kill(m: GroupMember): Promise<void>;
  /** Sends a member a signal (SIGSTOP, SIGCONT). */
  signal(m: GroupMember, signal: "SIGSTOP" | "SIGCONT"): void;
  /** Starts a member again on its data directory. */
  restart(m: GroupMember): Promise<void>;
  /** The group's state as a controller has it (any that answers). */
  state(): Promise<GroupView>;
  /** Waits until the state satisfies `ok`. */
  waitFor(what: string, ok: (s: GroupView) => boolean, timeoutMs?: number): Promise<GroupView>;
  /** The name server's clusterList rows of this group. */
  cluster(): Promise<ClusterBroker[]>;
  /** Kills everything; `graceful`: the members get SIGTERM first (a --cpu-prof is written at a clean exit). */
  stop(graceful?: boolean): Promise<void>;
}

export interface GroupView {
  masterId: number;
  masterAddress: string;
  masterEpoch: number;
  syncStateSet: number[];
  /** Members whose lease is alive. */
  alive: number[];
}

export interface GroupOptions {
  members?: number;
  controllers?: number;
  /** Flags for every broker of the group (replication mode, flush, ...). */
  brokerArgs?: string[];
  /** Seconds a member may be silent (the etcd lease); 1 s in tests. */
  leaseTtl?: number;
  /** Node flags for the group's brokers (the bench's --cpu-prof). */
  nodeArgs?: string[];
  /** Flags for every process: name server, controllers and brokers (TLS, --auth). */
  commonArgs?: string[];
  /** How this helper's own clients sign in and trust the processes' certificates. */
  client?: { credentials?: Credentials; tls?: TlsClientOptions };
}

export async function startGroup(o: GroupOptions = {}): Promise<ReplicatedGroup> {
  const etcd = await startEtcd();
  const common = o.commonArgs ?? [];
  const dirs: { remove(): void }[] = [];
  const brokerName = "g1";
  const [namesrv, ...controllers] = await Promise.all([
    spawnBroker(["--role", "namesrv", "--port", "0", ...common]),
    ...Array.from({ length: o.controllers ?? 1 }, () => spawnBroker(["--role", "controller", "--port", "0", "--etcd", new URL(etcd.url).host, "--lease-ttl", String(o.leaseTtl ?? 1), "--etcd-prefix", "/actormq-test", ...common])),
  ]);
  // host:port means ws://; a TLS process is named by its wss:// URL.
  const address = (url: string) => (url.startsWith("wss:") ? url : new URL(url).host);
  const ns = address(namesrv.url);
  const ctl = controllers.map((c) => address(c.url)).join(",");
  const members: GroupMember[] = [];
  // Broker 0 first: it is the group's first master, and the others find it when they beat.
  for (let id = 0; id < (o.members ?? 3); id++) {
    const dir = tempDir(`actormq-group-b${id}-`);
    dirs.push(dir);
    const args = [
      "--role", "broker", "--namesrv", ns, "--controller", ctl, "--broker-name", brokerName, "--broker-id", String(id),
      "--port", "0", "--data-dir", dir.path, "--segment-size", "4m", "--register-interval", "1000",
      "--controller-heartbeat-interval", "200", ...common, ...(o.brokerArgs ?? []),
    ];
    members.push({ id, dir: dir.path, args, proc: await spawnBroker(args, undefined, o.nodeArgs) });
  }
  let controllerIndex = 0;
  const transports = controllers.map((c) => new Transport(c.url, { WebSocket: resolveWebSocket(o.client?.tls), credentials: o.client?.credentials, connectTimeoutMs: 1000, maxBackoffMs: 200 }));
  const admin = new Admin({ endpoints: namesrv.url, ...o.client });
  const group: ReplicatedGroup = {
    etcd,
    namesrv,
    url: namesrv.url,
    controllers,
    members,
    brokerName,
    async kill(m) {
      signal(m.proc, "SIGKILL");
      await m.proc.exited;
    },
    signal(m, sig) {
      signal(m.proc, sig);
    },
    async restart(m) {
      m.proc = await spawnBroker(m.args, undefined, o.nodeArgs);
    },
    async state() {
      let last: unknown;
      const start = controllerIndex;
      for (let i = 0; i < transports.length; i++) {
        const k = (start + i) % transports.length;
        const child = controllers[k].child;
        if (child.exitCode !== null || child.signalCode !== null) continue;
        try {
          const r = await transports[k].request("groupState", { brokerName }, 2000);
          const g = (r.groups as { state: GroupView; members: { brokerId: number }[] }[])[0];
          controllerIndex = k;
          return { ...g.state, alive: g.members.map((m) => m.brokerId) };
        } catch (e) {
          last = e;
        }
      }
      throw last ?? new Error("no controller is running");
    },
    async waitFor(what, ok, timeoutMs = 15_000) {
      return await until(what, async () => {
        try {
          const s = await group.state();
          return ok(s) ? s : null;
        } catch {
          return null;
        }
      }, timeoutMs, 50) as GroupView;
    },
    async cluster() {
      return (await admin.clusterList()).brokers.filter((b) => b.name === brokerName);
    },
    async stop(graceful = false) {
      await admin.shutdown();
      await Promise.all(transports.map((t) => t.close()));
      if (graceful) {
        for (const m of members) m.proc.child.kill("SIGTERM");
        await Promise.race([Promise.all(members.map((m) => m.proc.exited)), new Promise((r) => setTimeout(r, 15_000))]);
      }
      for (const p of [namesrv, ...controllers, ...members.map((m) => m.proc)]) signal(p, "SIGKILL");
      killSpawned();
      await Promise.all([namesrv.exited, ...controllers.map((c) => c.exited), ...members.map((m) => m.proc.exited)]);
      await etcd.stop();
      for (const d of dirs) d.remove();
    },
  };
  const n = o.members ?? 3;
  await group.waitFor(`broker 0 master with all ${n} members in sync`, (s) => s.masterId === 0 && s.syncStateSet.length === n);
  return group;
}
