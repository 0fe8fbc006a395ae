// The ACL model, RocketMQ 5's ACL 2.0 in small (docs/SECURITY.md): users with an access key and a
// secret key; per user, entries of a resource pattern, actions, a decision and optional source
// address ranges. Pure: parse and check a document, compile it, decide, and edit it (the admin
// commands); the file and its reloads are acl-store.ts.
//
// Deciding: a super user may do anything. Otherwise, of the user's entries whose resource,
// action and source range match, the most specific resource wins (a literal name over a prefix,
// a longer prefix over a shorter one, over `Topic:*`, over `*`), and at equal specificity DENY
// wins over ALLOW (RocketMQ's PolicyEntry order). No matching entry: denied.
import { type AclEntry, type AclUser, BrokerError, DLQ_PREFIX, ErrorCode, isSystemTopic, RETRY_PREFIX } from "../../protocol/mod.ts";

export type { AclEntry, AclUser };
import { type IpRange, ipInRange, parseIp, parseIpRange } from "./ip-range.ts";

export const ACTIONS = ["PUB", "SUB", "ADMIN"] as const;
export type Action = (typeof ACTIONS)[number];
export type Decision = AclEntry["decision"];
export type ResourceType = "Topic" | "Group" | "Cluster";

/** What an op touches. The cluster (admin of the broker itself) has no name. */
export interface Resource {
  type: ResourceType;
  name: string;
}

export interface UserAcl {
  user: string;
  entries: AclEntry[];
}

export interface AclDocument {
  users: AclUser[];
  acls: UserAcl[];
}

const ACCESS_KEY = /^[A-Za-z0-9_.@:-]{1,128}$/;
const MIN_SECRET = 8;
const MAX_SECRET = 256;
const NAME_PATTERN = /^[%|a-zA-Z0-9_-]*$/;
const MAX_ENTRIES_PER_USER = 1000;

/**
 * Topic resource of a topic name: a group's retry and DLQ topics are the group's (RocketMQ does
 * the same); the broker's own topics (schedule, timer, half messages, offsets), which hold other
 * topics' messages, are the cluster's.
 */
export function topicResource(topic: string): Resource {
  if (isSystemTopic(topic)) return CLUSTER;
  if (topic.startsWith(RETRY_PREFIX)) return { type: "Group", name: topic.slice(RETRY_PREFIX.length) };
  if (topic.startsWith(DLQ_PREFIX)) return { type: "Group", name: topic.slice(DLQ_PREFIX.length) };
  return { type: "Topic", name: topic };
}

export function groupResource(group: string): Resource {
  return { type: "Group", name: group };
}

export const CLUSTER: Resource = { type: "Cluster", name: "" };

export function resourceText(r: Resource): string {
  return r.type === "Cluster" ? "Cluster" : `${r.type}:${r.name}`;
}

// ---- checking a document ----

function bad(message: string): never {
  throw new BrokerError(ErrorCode.BAD_REQUEST, message);
}

export function checkUser(u: unknown, where = "user"): AclUser {
  if (u === null || typeof u !== "object" || Array.isArray(u)) bad(`${where} must be a map { accessKey, secretKey }`);
  const { accessKey, secretKey, super: isSuper, disabled } = u as Record<string, unknown>;
  if (typeof accessKey !== "string" || !ACCESS_KEY.test(accessKey)) bad(`${where}: accessKey must be 1..128 characters of [A-Za-z0-9_.@:-]`);
  if (typeof secretKey !== "string" || secretKey.length < MIN_SECRET || secretKey.length > MAX_SECRET) {
    bad(`${where} "${accessKey}": secretKey must be ${MIN_SECRET}..${MAX_SECRET} characters`);
  }
  if (isSuper !== undefined && typeof isSuper !== "boolean") bad(`${where} "${accessKey}": super must be true or false`);
  if (disabled !== undefined && typeof disabled !== "boolean") bad(`${where} "${accessKey}": disabled must be true or false`);
  return { accessKey, secretKey, ...(isSuper ? { super: true } : {}), ...(disabled ? { disabled: true } : {}) };
}

export function checkEntry(e: unknown, where = "entry"): AclEntry {
  if (e === null || typeof e !== "object" || Array.isArray(e)) bad(`${where} must be a map { resource, actions, decision }`);
  const { resource, actions, decision, sourceIps } = e as Record<string, unknown>;
  if (typeof resource !== "string") bad(`${where}: resource must be a string like "Topic:orders", "Group:cg-*" or "Cluster"`);
  const parsed = parseResourcePattern(resource);
  if (!parsed) bad(`${where}: resource "${String(resource).slice(0, 140)}" is not Topic:<name>, Group:<name> (a trailing * for a prefix, * alone for any), Cluster or *`);
  if (!Array.isArray(actions) || actions.length === 0) bad(`${where}: actions must be a non-empty list of PUB, SUB, ADMIN, ALL`);
  const normalized = actions.map((a) => (typeof a === "string" ? a.toUpperCase() : a));
  for (const a of normalized) if (a !== "ALL" && !(ACTIONS as readonly unknown[]).includes(a)) bad(`${where}: action ${JSON.stringify(a)} is not PUB, SUB, ADMIN or ALL`);
  const d = typeof decision === "string" ? decision.toUpperCase() : decision;
  if (d !== "ALLOW" && d !== "DENY") bad(`${where}: decision must be ALLOW or DENY`);
  let ips: string[] | undefined;
  if (sourceIps !== undefined) {
    if (!Array.isArray(sourceIps) || sourceIps.length === 0) bad(`${where}: sourceIps must be a non-empty list of addresses or CIDR blocks`);
    for (const ip of sourceIps) if (typeof ip !== "string" || !parseIpRange(ip)) bad(`${where}: ${JSON.stringify(ip)} is not an address or CIDR block like 10.0.0.0/8`);
    ips = sourceIps as string[];
  }
  return { resource: parsed.text, actions: [...new Set(normalized as AclEntry["actions"])], decision: d, ...(ips ? { sourceIps: ips } : {}) };
}

/** Parses and checks a whole document (the ACL file); throws BAD_REQUEST naming the first fault. */
export function checkDocument(doc: unknown): AclDocument {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) bad("the ACL document must be a map { users: [...], acls: [...] }");
  const { users = [], acls = [] } = doc as Record<string, unknown>;
  if (!Array.isArray(users)) bad("users must be a list");
  if (!Array.isArray(acls)) bad("acls must be a list");
  const out: AclDocument = { users: users.map((u, i) => checkUser(u, `users[${i}]`)), acls: [] };
  const keys = new Set<string>();
  for (const u of out.users) {
    if (keys.has(u.accessKey)) bad(`users: "${u.accessKey}" is listed twice`);
    keys.add(u.accessKey);
  }
  const seen = new Set<string>();
  acls.forEach((a, i) => {
    if (a === null || typeof a !== "object" || Array.isArray(a)) bad(`acls[${i}] must be a map { user, entries }`);
    const { user, entries } = a as Record<string, unknown>;
    if (typeof user !== "string" || !keys.has(user)) bad(`acls[${i}]: user ${JSON.stringify(user)} is not in users`);
    if (seen.has(user)) bad(`acls: user "${user}" has two lists; put its entries in one`);
    seen.add(user);
    if (!Array.isArray(entries)) bad(`acls[${i}]: entries must be a list`);
    if (entries.length > MAX_ENTRIES_PER_USER) bad(`acls[${i}]: at most ${MAX_ENTRIES_PER_USER} entries per user`);
    out.acls.push({ user, entries: entries.map((e, j) => checkEntry(e, `acls[${i}].entries[${j}]`)) });
  });
  return out;
}

// ---- patterns and the compiled form ----

interface ResourcePattern {
  /** null: any type ("*"). */
  type: ResourceType | null;
  /** "literal": name equals; "prefix": name starts with; "any": every name of the type. */
  kind: "literal" | "prefix" | "any";
  name: string;
  text: string;
}

function parseResourcePattern(text: string): ResourcePattern | null {
  const t = text.trim();
  if (t === "*") return { type: null, kind: "any", name: "", text: "*" };
  const colon = t.indexOf(":");
  const typeText = (colon < 0 ? t : t.slice(0, colon)).toLowerCase();
  const name = colon < 0 ? "" : t.slice(colon + 1);
  if (typeText === "cluster") return colon < 0 || name === "*" || name === "" ? { type: "Cluster", kind: "any", name: "", text: "Cluster" } : null;
  const type = typeText === "topic" ? "Topic" : typeText === "group" ? "Group" : null;
  if (!type || colon < 0 || name === "" || name.length > 128) return null;
  if (name === "*") return { type, kind: "any", name: "", text: `${type}:*` };
  const prefix = name.endsWith("*");
  const stem = prefix ? name.slice(0, -1) : name;
  if (!NAME_PATTERN.test(stem)) return null;
  return { type, kind: prefix ? "prefix" : "literal", name: stem, text: `${type}:${name}` };
}

interface CompiledEntry {
  pattern: ResourcePattern;
  actions: Set<string>;
  deny: boolean;
  ranges: IpRange[] | null;
  /** Higher wins: literal > prefix (longer first) > Type:* > *. */
  specificity: number;
}

interface CompiledUser {
  user: AclUser;
  entries: CompiledEntry[];
}

/** A document ready for decisions: users by access key, entries pre-parsed. */
export class CompiledAcl {
  private readonly users = new Map<string, CompiledUser>();

  constructor(readonly doc: AclDocument) {
    for (const user of doc.users) this.users.set(user.accessKey, { user, entries: [] });
    for (const acl of doc.acls) {
      const u = this.users.get(acl.user);
      if (!u) continue;
      for (const e of acl.entries) {
        const pattern = parseResourcePattern(e.resource)!;
        const specificity = pattern.kind === "literal" ? 3_000_000 + pattern.name.length
          : pattern.kind === "prefix" ? 2_000_000 + pattern.name.length
          : pattern.type !== null ? 1_000_000 : 0;
        const actions = new Set(e.actions.includes("ALL") ? ACTIONS : e.actions);
        const ranges = e.sourceIps ? e.sourceIps.map((ip) => parseIpRange(ip)!) : null;
        u.entries.push({ pattern, actions, deny: e.decision === "DENY", ranges, specificity });
      }
    }
  }

  user(accessKey: string): AclUser | undefined {
    return this.users.get(accessKey)?.user;
  }

  /**
   * May this user do this? `address` is the client's (a connection's remote address). Pure:
   * the same answer for the same inputs and document.
   */
  decide(accessKey: string, resource: Resource, action: Action, address: string): boolean {
    const u = this.users.get(accessKey);
    if (!u || u.user.disabled) return false;
    if (u.user.super) return true;
    let best: CompiledEntry | undefined;
    let ip: Uint8Array | null | undefined;
    for (const e of u.entries) {
      if (!e.actions.has(action) || !matches(e.pattern, resource)) continue;
      if (e.ranges) {
        ip ??= parseIp(address);
        if (!ip || !e.ranges.some((r) => ipInRange(ip!, r))) continue;
      }
      if (!best || e.specificity > best.specificity || (e.specificity === best.specificity && e.deny)) best = e;
    }
    return best !== undefined && !best.deny;
  }
}

function matches(p: ResourcePattern, r: Resource): boolean {
  if (p.type !== null && p.type !== r.type) return false;
  if (p.kind === "any") return true;
  return p.kind === "literal" ? r.name === p.name : r.name.startsWith(p.name);
}

// ---- the admin commands, as pure edits of a document ----

export function createUser(doc: AclDocument, user: unknown): AclDocument {
  const u = checkUser(user);
  if (doc.users.some((x) => x.accessKey === u.accessKey)) bad(`createUser: user "${u.accessKey}" exists; use updateUser`);
  return { ...doc, users: [...doc.users, u] };
}

export function updateUser(doc: AclDocument, changes: Record<string, unknown>): AclDocument {
  const old = doc.users.find((x) => x.accessKey === changes.accessKey);
  if (!old) bad(`updateUser: no user "${String(changes.accessKey).slice(0, 128)}"`);
  const merged: Record<string, unknown> = { ...old };
  for (const k of ["secretKey", "super", "disabled"]) if (changes[k] !== undefined) merged[k] = changes[k];
  const u = checkUser(merged);
  return { ...doc, users: doc.users.map((x) => (x.accessKey === u.accessKey ? u : x)) };
}

export function deleteUser(doc: AclDocument, accessKey: string): AclDocument {
  if (!doc.users.some((x) => x.accessKey === accessKey)) bad(`deleteUser: no user "${String(accessKey).slice(0, 128)}"`);
  return { users: doc.users.filter((x) => x.accessKey !== accessKey), acls: doc.acls.filter((a) => a.user !== accessKey) };
}

/** Users as listUser shows them: never the secret. */
export function listUsers(doc: AclDocument): Omit<AclUser, "secretKey">[] {
  return doc.users.map(({ secretKey: _, ...rest }) => rest);
}

/** Adds entries for a user; an entry for a resource the user already has an entry for is refused (use updateAcl). */
export function createAcl(doc: AclDocument, user: string, entries: unknown): AclDocument {
  const list = checkEntries(doc, user, entries, "createAcl");
  const existing = doc.acls.find((a) => a.user === user)?.entries ?? [];
  for (const e of list) {
    if (existing.some((x) => x.resource === e.resource)) bad(`createAcl: user "${user}" already has an entry for ${e.resource}; use updateAcl`);
  }
  return withEntries(doc, user, [...existing, ...list]);
}

/** Replaces the user's entries for the resources named (adds those it had none for). */
export function updateAcl(doc: AclDocument, user: string, entries: unknown): AclDocument {
  const list = checkEntries(doc, user, entries, "updateAcl");
  const names = new Set(list.map((e) => e.resource));
  const existing = (doc.acls.find((a) => a.user === user)?.entries ?? []).filter((x) => !names.has(x.resource));
  return withEntries(doc, user, [...existing, ...list]);
}

/** Deletes a user's entries: all of them, or those for one resource. */
export function deleteAcl(doc: AclDocument, user: string, resource?: string): AclDocument {
  const acl = doc.acls.find((a) => a.user === user);
  if (!acl) bad(`deleteAcl: user "${String(user).slice(0, 128)}" has no ACL`);
  if (resource === undefined) return { ...doc, acls: doc.acls.filter((a) => a.user !== user) };
  const text = parseResourcePattern(resource)?.text;
  if (!acl.entries.some((e) => e.resource === text)) bad(`deleteAcl: user "${user}" has no entry for ${String(resource).slice(0, 140)}`);
  return withEntries(doc, user, acl.entries.filter((e) => e.resource !== text));
}

function checkEntries(doc: AclDocument, user: string, entries: unknown, op: string): AclEntry[] {
  if (!doc.users.some((x) => x.accessKey === user)) bad(`${op}: no user "${String(user).slice(0, 128)}"`);
  if (!Array.isArray(entries) || entries.length === 0) bad(`${op}: entries must be a non-empty list`);
  const list = entries.map((e, i) => checkEntry(e, `${op}: entries[${i}]`));
  if (new Set(list.map((e) => e.resource)).size !== list.length) bad(`${op}: one entry per resource`);
  return list;
}

function withEntries(doc: AclDocument, user: string, entries: AclEntry[]): AclDocument {
  if (entries.length > MAX_ENTRIES_PER_USER) bad(`at most ${MAX_ENTRIES_PER_USER} entries per user`);
  const others = doc.acls.filter((a) => a.user !== user);
  return { ...doc, acls: entries.length === 0 ? others : [...others, { user, entries }] };
}
