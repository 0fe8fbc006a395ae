// A real cluster for end-to-end tests: one name server process and brokers as child processes
// (--role broker), each with its own data directory, all on 127.0.0.1 with ports the OS picks.
import { type BrokerProcess, killSpawned, spawnBroker, tempDir, until } from "./broker.ts";
import { Admin } from "../../client/mod.ts";

export interface ClusterBroker {
  name: string;
  dir: string;
  args: string[];
  proc: BrokerProcess;
}

export interface Cluster {
  namesrv: BrokerProcess;
  /** Every name server (the first is `namesrv`); each broker registers with all of them. */
  namesrvs: BrokerProcess[];
  /** The name server's ws:// URL: what clients take as their endpoint. */
  url: string;
  brokers: ClusterBroker[];
  /** SIGKILLs a broker; resolves when it has exited. */
  kill(b: ClusterBroker): Promise<void>;
  /** Starts a broker again on its data directory (and port 0); resolves once the first name server lists its new address. */
  restart(b: ClusterBroker): Promise<void>;
  /** Waits until the name server lists exactly these brokers. */
  waitForBrokers(names: string[], timeoutMs?: number, via?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  brokers?: number;
  /** Name server processes side by side (default 1). */
  namesrvs?: number;
  /** Extra flags per broker (index), e.g. the send delay hook. */
  brokerArgs?: (i: number) => string[];
  namesrvArgs?: string[];
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const namesrvs = await Promise.all(Array.from({ length: options.namesrvs ?? 1 }, () => spawnBroker(["--role", "namesrv", "--port", "0", ...(options.namesrvArgs ?? [])])));
  const namesrv = namesrvs[0];
  const nsAddr = namesrvs.map((n) => new URL(n.url).host).join(",");
  const dirs: { remove(): void }[] = [];
  const brokers: ClusterBroker[] = [];
  await Promise.all(Array.from({ length: options.brokers ?? 2 }, async (_, i) => {
    const dir = tempDir(`actormq-cluster-b${i + 1}-`);
    dirs.push(dir);
    const name = `b${i + 1}`;
    const args = ["--role", "broker", "--namesrv", nsAddr, "--broker-name", name, "--port", "0", "--data-dir", dir.path, ...(options.brokerArgs?.(i) ?? [])];
    brokers[i] = { name, dir: dir.path, args, proc: await spawnBroker(args) };
  }));
  const cluster: Cluster = {
    namesrv,
    namesrvs,
    url: namesrv.url,
    brokers,
    async kill(b) {
      b.proc.child.kill("SIGKILL");
      await b.proc.exited;
    },
    async restart(b) {
      b.proc = await spawnBroker(b.args);
      // Until it registers, the name server may still list the dead process's address.
      const admin = new Admin({ endpoints: namesrv.url });
      try {
        await until(`${b.name} registered at ${b.proc.url}`, async () => (await admin.clusterList()).brokers.some((x) => x.name === b.name && x.address === b.proc.url), 15_000, 50);
      } finally {
        await admin.shutdown();
      }
    },
    async waitForBrokers(names, timeoutMs = 15_000, via = namesrv.url) {
      const admin = new Admin({ endpoints: via });
      try {
        const want = [...names].sort().join(",");
        await until(`brokers ${want} registered`, async () => {
          const c = await admin.clusterList();
          return c.brokers.map((b) => b.name).sort().join(",") === want;
        }, timeoutMs, 50);
      } finally {
        await admin.shutdown();
      }
    },
    async stop() {
      killSpawned();
      await Promise.all([...namesrvs.map((n) => n.exited), ...brokers.map((b) => b.proc.exited)]);
      for (const d of dirs) d.remove();
    },
  };
  for (const n of namesrvs) await cluster.waitForBrokers(brokers.map((b) => b.name), 15_000, n.url);
  return cluster;
}
