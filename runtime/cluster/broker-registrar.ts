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
import { type PeerDial, PeerLink } from "./peer-link.ts";

export interface RegistrationDeps {
  /**
   * The registration as of now (topics read at call time). `live`: for the embedded name server,
   * whose routes may hold the broker's own topic table rather than a copy of it (a copy per
   * change made creating the n-th topic cost O(n)).
   */
  registration(live?: boolean): BrokerRegistration;
  /** Remote name servers, "host:port" or ws:// URLs. */
  namesrvAddrs: string[];
  /** The embedded name server, if this broker has one. */
  local?: NameServer;
  intervalMs: number;
  log(line: string): void;
  platform: Pick<Platform, "dial" | "clock">;
  /** TLS trust for wss:// name servers, and the access key to sign in with (their --auth on). */
  dial?: PeerDial;
}

export class BrokerRegistrar {
  /**
   * `inFlight`: a registration is on its way there; `dirty`: something changed meanwhile, so one
   * more follows its answer. The whole table goes each time: one at a time per name server, not
   * one per change (creating 10,000 topics one by one would send 50 million entries).
   */
  private readonly remotes: { url: string; link: PeerLink; ok: boolean | undefined; inFlight: boolean; dirty: boolean }[];
  private timer: ReturnType<typeof setInterval> | undefined;
  private pending = false;
  private closed = false;

  constructor(private readonly deps: RegistrationDeps) {
    this.remotes = deps.namesrvAddrs.map((a) => {
      const url = normalizeEndpoint(a);
      return { url, link: new PeerLink(url, deps.platform, 3000, deps.dial), ok: undefined, inFlight: false, dirty: false };
    });
  }

  /** Registers now and every interval. */
  start(): void {
    this.registerAll();
    this.timer = setInterval(() => this.registerAll(), this.deps.intervalMs);
  }

  /**
   * A topic was created or changed: the embedded name server hears at once, remote ones after
   * this turn (or after the registration on its way there is answered).
   */
  topicsChanged(): void {
    if (this.closed) return;
    if (this.deps.local) this.deps.local.register(this.deps.registration(true));
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
    if (this.deps.local) this.deps.local.register(this.deps.registration(true));
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
    let args: Record<string, unknown> | undefined;
    const sent: Promise<void>[] = [];
    for (const ns of this.remotes) {
      if (ns.inFlight) ns.dirty = true;
      else sent.push(this.register(ns, (args ??= { ...this.deps.registration() } as unknown as Record<string, unknown>)));
    }
    return Promise.all(sent).then(() => {});
  }

  private async register(ns: (typeof this.remotes)[number], args: Record<string, unknown>): Promise<void> {
    ns.inFlight = true;
    ns.dirty = false;
    try {
      await ns.link.request("registerBroker", args, 3000);
      if (ns.ok !== true) this.deps.log(`registered with name server ${ns.url}`);
      ns.ok = true;
    } catch (e) {
      // Logged when it starts failing, not every 30 s: a name server may be down for a while.
      if (ns.ok !== false && !this.closed) this.deps.log(`cannot register with name server ${ns.url}: ${e instanceof BrokerError ? `${e.code} ${e.message}` : e}`);
      ns.ok = false;
    } finally {
      ns.inFlight = false;
    }
    if (ns.dirty && !this.closed) await this.register(ns, { ...this.deps.registration() } as unknown as Record<string, unknown>);
  }
}
