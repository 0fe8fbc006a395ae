// A broker's registration with its name servers (RocketMQ's BrokerController.registerBrokerAll):
// on start, after every topic change and every `registerIntervalMs`, the broker sends its name,
// address and whole topic table to every name server, so any one of them can answer routes.
// The embedded name server of a standalone broker is registered with in-process, at once. The
// same links ask the name servers for the cluster's routes (the gRPC endpoint's assignments).
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";
import type { RouteBroker } from "../../actors/namesrv.machine.ts";
import { normalizeEndpoint } from "../../protocol/endpoint-url.ts";
import type { Platform } from "../../platform/platform.ts";
import type { BrokerRegistration, NameServer } from "./name-server.ts";
import { PeerLink } from "./peer-link.ts";

export interface RegistrationDeps {
  /** The registration as of now (topics read at call time). */
  registration(): BrokerRegistration;
  /** Remote name servers, "host:port" or ws:// URLs. */
  namesrvAddrs: string[];
  /** The embedded name server, if this broker has one. */
  local?: NameServer;
  intervalMs: number;
  log(line: string): void;
  platform: Pick<Platform, "dial" | "clock">;
}

export class BrokerRegistrar {
  private readonly remotes: { url: string; link: PeerLink; ok: boolean | undefined }[];
  private timer: ReturnType<typeof setInterval> | undefined;
  private pending = false;
  private closed = false;

  constructor(private readonly deps: RegistrationDeps) {
    this.remotes = deps.namesrvAddrs.map((a) => {
      const url = normalizeEndpoint(a);
      return { url, link: new PeerLink(url, deps.platform, 3000), ok: undefined };
    });
  }

  /** Registers now and every interval. */
  start(): void {
    this.registerAll();
    this.timer = setInterval(() => this.registerAll(), this.deps.intervalMs);
  }

  /** A topic was created or changed: the embedded name server hears at once, remote ones after this turn. */
  topicsChanged(): void {
    if (this.closed) return;
    if (this.deps.local) this.deps.local.register(this.deps.registration());
    if (this.remotes.length === 0 || this.pending) return;
    this.pending = true;
    // Several topics created in one turn (a restore, a batch of sends) make one registration.
    setTimeout(() => {
      this.pending = false;
      this.registerRemote();
    }, 0);
  }

  /** Registers with every name server; resolves when each has answered or failed. */
  registerAll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.deps.local) this.deps.local.register(this.deps.registration());
    return this.registerRemote();
  }

  /**
   * A topic's route as the name servers know it (asked in turn until one answers): the brokers
   * of the cluster holding it, [] when none does. Throws when no name server answers.
   */
  async queryRoute(topic: string): Promise<RouteBroker[]> {
    let last: unknown = new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, "no name server is configured");
    for (const ns of this.remotes) {
      try {
        const r = await ns.link.request("queryRoute", { topic }, 3000);
        return Array.isArray(r.brokers) ? (r.brokers as RouteBroker[]) : [];
      } catch (e) {
        if (e instanceof BrokerError && e.code === ErrorCode.TOPIC_NOT_FOUND) return [];
        last = e;
      }
    }
    throw last;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all(this.remotes.map((r) => r.link.close()));
  }

  private registerRemote(): Promise<void> {
    if (this.closed || this.remotes.length === 0) return Promise.resolve();
    const r = this.deps.registration();
    const args = { ...r } as unknown as Record<string, unknown>;
    return Promise.all(this.remotes.map(async (ns) => {
      try {
        await ns.link.request("registerBroker", args, 3000);
        if (ns.ok !== true) this.deps.log(`registered with name server ${ns.url}`);
        ns.ok = true;
      } catch (e) {
        // Logged when it starts failing, not every 30 s: a name server may be down for a while.
        if (ns.ok !== false && !this.closed) this.deps.log(`cannot register with name server ${ns.url}: ${e instanceof BrokerError ? `${e.code} ${e.message}` : e}`);
        ns.ok = false;
      }
    })).then(() => {});
  }
}
