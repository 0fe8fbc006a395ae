// The controller's state in etcd (the `etcd3` client): every key under one prefix, written only
// by compare-and-set on its mod revision, or with a lease so that it disappears when its writer
// stops renewing it. The controller processes hold nothing between requests.
import { Etcd3 } from "etcd3";
import { noop } from "cockatiel";
import { BrokerError, ErrorCode } from "../../protocol/mod.ts";

export interface Versioned {
  value: string;
  /** etcd's mod revision of the key: what a compare-and-set compares. */
  revision: string;
}

/** The little a controller needs of a consistent key-value store. */
export interface ControllerStore {
  get(key: string): Promise<Versioned | null>;
  /** Every key under `prefix`, with its value. */
  list(prefix: string): Promise<Record<string, string>>;
  /** Writes `value` if the key's mod revision is still `revision` ("0": the key does not exist); false if another write came first. */
  compareAndSet(key: string, value: string, revision: string): Promise<boolean>;
  /** Writes `value` under a new lease of `ttlSeconds`: the key is deleted once that long has passed without another write. */
  putLeased(key: string, value: string, ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

export class EtcdStore implements ControllerStore {
  private readonly client: Etcd3;

  constructor(endpoints: string[], private readonly timeoutMs = 2000) {
    // No retries or circuit breaker of the client's own: a request either works within the
    // timeout or the broker asking hears SERVICE_UNAVAILABLE and asks again at its next heartbeat.
    // gRPC's own reconnect backoff grows to minutes; an etcd that restarts must be found again
    // within a broker's lease, or its members' leases lapse and a master is replaced for nothing.
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: timeoutMs,
      faultHandling: { host: () => noop, global: noop },
      grpcOptions: { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 500 },
    });
  }

  async get(key: string): Promise<Versioned | null> {
    const r = await this.call(this.client.get(key).exec());
    const kv = r.kvs[0];
    return kv ? { value: kv.value.toString(), revision: String(kv.mod_revision) } : null;
  }

  list(prefix: string): Promise<Record<string, string>> {
    return this.call(this.client.getAll().prefix(prefix).strings());
  }

  async compareAndSet(key: string, value: string, revision: string): Promise<boolean> {
    const r = await this.call(this.client.if(key, "Mod", "==", revision).then(this.client.put(key).value(value)).commit());
    return r.succeeded;
  }

  async putLeased(key: string, value: string, ttlSeconds: number): Promise<void> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    lease.on("lost", () => {}); // expected: the next heartbeat writes the key under a new lease
    try {
      await this.call(lease.put(key).value(value).exec());
    } finally {
      lease.release();
    }
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  private call<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `etcd did not answer in ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).then(
      (v) => {
        clearTimeout(timer);
        return v;
      },
      (e) => {
        clearTimeout(timer);
        p.catch(() => {}); // the late answer (or failure) of a request that timed out
        throw e instanceof BrokerError ? e : new BrokerError(ErrorCode.SERVICE_UNAVAILABLE, `etcd: ${(e as Error)?.message ?? e}`);
      },
    );
  }
}
