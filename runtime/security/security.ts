// Who is asking, and may they (docs/SECURITY.md). `Security` is the broker's (or name server's)
// service: the auth switch, the ACL store, the counters /metrics shows. Each connection (a
// session of any front-end) gets a `SessionSecurity`: its sign-in state and a decision cache.
// Processors call `authorize(resource, action)` where they know the resource; with --auth off it
// returns at once, which is today's behaviour.
import { BrokerError, ErrorCode, hmacKey, newNonce, type Request, verifySignature } from "../../protocol/mod.ts";
import { sameText } from "./same-text.ts";
import type { Clock } from "../../platform/platform.ts";
import { type Action, groupResource, type Resource, resourceText, topicResource } from "./acl.ts";
import type { AclStore } from "./acl-store.ts";
import { SecurityCounters } from "./counters.ts";

export interface SecurityOptions {
  /** false: every client may do everything (local development). */
  auth: boolean;
  /** Users and ACLs; required when auth is on. */
  acl?: AclStore;
  /** A signature's timestamp may be this far from the broker's clock, either way. */
  maxSkewMs: number;
  clock: Clock;
  /** Failed sign-ins a connection may make before it is closed. */
  maxSignInFailures?: number;
}

export class Security {
  readonly counters = new SecurityCounters();
  private keys = new Map<string, Promise<CryptoKey>>();
  private keysVersion = 0;
  /** RocketMQ 5 signatures already checked (a client signs each second's requests alike): header -> access key. */
  private rocketmqVerified = new Map<string, string>();

  constructor(readonly options: SecurityOptions) {
    if (options.auth && !options.acl) throw new Error("--auth on needs --acl-file: the users and their rights");
  }

  get enabled(): boolean {
    return this.options.auth;
  }

  get acl(): AclStore | undefined {
    return this.options.acl;
  }

  /** The security state of a new connection from this address. */
  session(remoteAddress: string): SessionSecurity {
    return new SessionSecurity(this, remoteAddress);
  }

  /** The HMAC key of a user's current secret (imported once per ACL version). */
  key(secretKey: string, hash: "SHA-256" | "SHA-1" = "SHA-256"): Promise<CryptoKey> {
    this.forgetIfChanged();
    const id = `${hash}\0${secretKey}`;
    let k = this.keys.get(id);
    if (!k) this.keys.set(id, (k = hmacKey(secretKey, hash)));
    return k;
  }

  /**
   * A gRPC call's session (RocketMQ 5's clients): signed in when its headers carry RocketMQ's
   * signature, `authorization: MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time,
   * Signature=<hex>`, the HMAC-SHA1 of `x-mq-date-time` (yyyyMMddTHHmmssZ) under the secret key,
   * with that time within the skew window. RocketMQ's scheme has no nonce: serve gRPC over TLS.
   */
  async rocketmqSession(authorization: string | undefined, dateTime: string | undefined, remoteAddress: string): Promise<SessionSecurity> {
    const s = this.session(remoteAddress);
    if (!this.enabled || authorization === undefined) return s; // anonymous: AUTH_REQUIRED at its first op
    const m = /^MQv2-HMAC-SHA1 Credential=([^,\s]{1,128}),\s*SignedHeaders=x-mq-date-time,\s*Signature=([0-9A-Fa-f]{40})$/.exec(authorization);
    const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(dateTime ?? "");
    if (!m || !t) return s.refuse("bad_signature", "gRPC: the authorization header is not RocketMQ's MQv2-HMAC-SHA1 over x-mq-date-time");
    const at = Date.UTC(+t[1], +t[2] - 1, +t[3], +t[4], +t[5], +t[6]);
    const skew = at - this.options.clock.now();
    if (!(Math.abs(skew) <= this.options.maxSkewMs)) return s.refuse("stale", `gRPC: x-mq-date-time is ${Math.round(skew / 1000)} s from the broker's clock; at most ${this.options.maxSkewMs / 1000} s is accepted`);
    const [, accessKey, signature] = m;
    const cacheKey = `${authorization}\0${dateTime}`;
    this.forgetIfChanged();
    if (this.rocketmqVerified.get(cacheKey) !== accessKey) {
      const user = this.acl!.acl.user(accessKey);
      const mac = user && new Uint8Array(await crypto.subtle.sign("HMAC", await this.key(user.secretKey, "SHA-1"), new TextEncoder().encode(dateTime)));
      const expected = mac ? [...mac].map((b) => b.toString(16).padStart(2, "0")).join("") : "";
      if (!user || !sameText(expected, signature.toLowerCase())) return s.refuse(user ? "bad_signature" : "unknown_user", `gRPC: access key "${accessKey}" and this signature do not match`);
      if (this.rocketmqVerified.size >= 10_000) this.rocketmqVerified.clear();
      this.rocketmqVerified.set(cacheKey, accessKey);
    }
    return s.signedInAs(accessKey);
  }

  close(): void {
    this.options.acl?.close();
  }

  /** Keys and checked signatures belong to one version of the ACL. */
  private forgetIfChanged(): void {
    const version = this.options.acl?.version ?? 0;
    if (version === this.keysVersion) return;
    this.keys.clear();
    this.rocketmqVerified.clear();
    this.keysVersion = version;
  }
}

export class SessionSecurity {
  /** The access key this connection signed in with. */
  user: string | undefined;
  private nonce: string | undefined;
  private failures = 0;
  /** Why a sign-in checked elsewhere failed (gRPC headers). */
  private failed: string | undefined;
  private cache = new Map<string, boolean>();
  private cacheVersion = 0;

  constructor(private readonly security: Security, readonly remoteAddress: string) {}

  /** May this connection send anything but hello and auth? */
  get signedIn(): boolean {
    return !this.security.enabled || this.user !== undefined;
  }

  /** Whether the connection has used up its sign-in attempts (the caller closes it). */
  get exhausted(): boolean {
    return this.failures >= (this.security.options.maxSignInFailures ?? 3);
  }

  /** The `hello` answer: whether signing in is needed, and a fresh nonce to sign (replacing any earlier one). */
  hello(): Record<string, unknown> {
    const serverTime = this.security.options.clock.now();
    if (!this.security.enabled) return { auth: false, serverTime };
    this.nonce = newNonce();
    return { auth: true, nonce: this.nonce, serverTime };
  }

  /** The `auth` op: checks { accessKey, timestamp, signature } against the nonce of the last hello, which it uses up. */
  async signIn(req: Request): Promise<Record<string, unknown>> {
    const { accessKey, timestamp, signature } = req;
    if (typeof accessKey !== "string" || typeof signature !== "string") {
      throw new BrokerError(ErrorCode.WRONG_TYPE, 'auth: "accessKey" and "signature" must be strings');
    }
    if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp)) throw new BrokerError(ErrorCode.WRONG_TYPE, 'auth: "timestamp" must be an integer (ms since the epoch)');
    if (!this.security.enabled) return { user: accessKey, auth: false };
    if (this.user !== undefined) throw new BrokerError(ErrorCode.BAD_REQUEST, `auth: this connection is signed in as "${this.user}"`);
    const nonce = this.nonce;
    this.nonce = undefined; // one attempt per nonce: a replayed or retried signature needs a new hello
    if (nonce === undefined) return this.fail("no_challenge", "auth: no challenge to answer; send hello first (each nonce answers one auth)");
    const { maxSkewMs, clock } = this.security.options;
    const skew = timestamp - clock.now();
    if (Math.abs(skew) > maxSkewMs) {
      return this.fail("stale", `auth: the signature's timestamp is ${Math.round(skew / 1000)} s from the broker's clock; at most ${maxSkewMs / 1000} s is accepted`);
    }
    const user = this.security.acl!.acl.user(accessKey);
    // An unknown key and a wrong secret get the same answer: which keys exist is not told.
    const ok = user !== undefined && await verifySignature(await this.security.key(user.secretKey), accessKey, nonce, timestamp, signature);
    if (!ok) return this.fail(user ? "bad_signature" : "unknown_user", `auth: access key "${accessKey.slice(0, 128)}" and this signature do not match`);
    if (user.disabled) return this.fail("disabled", `auth: user "${accessKey}" is disabled`);
    this.user = accessKey;
    this.security.counters.signIns++;
    return { user: accessKey };
  }

  /** A sign-in checked elsewhere (a gRPC call's headers): this session is that user's, unless disabled. */
  signedInAs(accessKey: string): SessionSecurity {
    const user = this.security.acl?.acl.user(accessKey);
    if (!user || user.disabled) return this.refuse("disabled", `user "${accessKey}" is disabled`);
    this.user = accessKey;
    return this;
  }

  /** A failed sign-in elsewhere: counted; the session stays anonymous and its ops get AUTH_FAILED. */
  refuse(reason: string, message: string): SessionSecurity {
    this.security.counters.authFailure(reason);
    this.failed = message;
    return this;
  }

  /** Throws AUTH_REQUIRED unless the connection may send ops. */
  requireSignedIn(op: string): void {
    if (this.signedIn) return;
    if (this.failed !== undefined) throw new BrokerError(ErrorCode.AUTH_FAILED, this.failed);
    this.security.counters.authFailure("not_signed_in");
    throw new BrokerError(ErrorCode.AUTH_REQUIRED, `${op}: sign in first (hello, then auth with an access key); this broker runs with --auth on`);
  }

  can(resource: Resource, action: Action): boolean {
    if (!this.security.enabled) return true;
    if (this.user === undefined) return false;
    const acl = this.security.acl!;
    if (this.cacheVersion !== acl.version) {
      this.cache.clear();
      this.cacheVersion = acl.version;
    }
    const key = `${action}\0${resource.type}\0${resource.name}`;
    let allowed = this.cache.get(key);
    if (allowed === undefined) {
      allowed = acl.acl.decide(this.user, resource, action, this.remoteAddress);
      if (this.cache.size >= 4096) this.cache.clear(); // bounded: names come from the client
      this.cache.set(key, allowed);
    }
    return allowed;
  }

  /** Throws AUTH_REQUIRED or NO_PERMISSION (naming the resource and action, counted) unless allowed. */
  authorize(resource: Resource, action: Action): void {
    if (!this.security.enabled) return;
    this.requireSignedIn(action);
    if (this.can(resource, action)) return;
    this.security.counters.denied(action, resource.type);
    const what = resourceText(resource);
    throw new BrokerError(ErrorCode.NO_PERMISSION, `user "${this.user}" may not ${action} ${what.slice(0, 200)}`, { resource: what, action });
  }

  /**
   * A producer group's right: PUB on the group, or on the topic of that name (RocketMQ 5's
   * clients have no producer group: over gRPC, a transaction's group is its topic).
   */
  authorizeProducerGroup(group: string): void {
    if (this.can(topicResource(group), "PUB")) return;
    this.authorize(groupResource(group), "PUB");
  }

  /** Allowed if any one of the actions is: a read-only view takes SUB or ADMIN. */
  authorizeAny(resource: Resource, actions: readonly Action[]): void {
    if (!this.security.enabled) return;
    for (const a of actions) if (this.can(resource, a)) return;
    this.authorize(resource, actions[0]);
  }

  private fail(reason: string, message: string): never {
    this.failures++;
    this.security.counters.authFailure(reason);
    throw new BrokerError(ErrorCode.AUTH_FAILED, message);
  }
}
