// Users and ACLs, administered over the wire (RocketMQ 5's createUser ... listAcl): each change
// is an edit of the ACL file (runtime/security/acl-store.ts), answered once the file is written
// and the new rules are in force. Only a user with ADMIN on Cluster gets here (guard.ts).
import { BrokerError, ErrorCode, type Request } from "../../protocol/mod.ts";
import * as acl from "../security/acl.ts";
import type { AclStore } from "../security/acl-store.ts";
import { optional, required } from "../args.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

function store(ctx: ProcessorContext, op: string): AclStore {
  const s = ctx.security.acl;
  if (!s) throw new BrokerError(ErrorCode.BAD_REQUEST, `${op}: this broker has no --acl-file to keep users and ACLs in`);
  return s;
}

function change(ctx: ProcessorContext, session: Session, req: Request, edit: (doc: acl.AclDocument) => acl.AclDocument, result: Record<string, unknown> = {}): void {
  store(ctx, req.op).edit(edit).then(() => session.reply(req.id, result), (e) => session.fail(req.id, e));
}

export function createUser(ctx: ProcessorContext, session: Session, req: Request): void {
  const user = { accessKey: req.accessKey, secretKey: req.secretKey, super: req.super, disabled: req.disabled };
  change(ctx, session, req, (doc) => acl.createUser(doc, user), { accessKey: req.accessKey });
}

export function updateUser(ctx: ProcessorContext, session: Session, req: Request): void {
  const accessKey = required<string>(req, "accessKey", "string");
  change(ctx, session, req, (doc) => acl.updateUser(doc, { accessKey, secretKey: req.secretKey, super: req.super, disabled: req.disabled }), { accessKey });
}

export function deleteUser(ctx: ProcessorContext, session: Session, req: Request): void {
  const accessKey = required<string>(req, "accessKey", "string");
  change(ctx, session, req, (doc) => acl.deleteUser(doc, accessKey), { accessKey });
}

export function listUser(ctx: ProcessorContext, session: Session, req: Request): void {
  session.reply(req.id, { users: acl.listUsers(store(ctx, req.op).document) });
}

export function createAcl(ctx: ProcessorContext, session: Session, req: Request): void {
  const user = required<string>(req, "user", "string");
  change(ctx, session, req, (doc) => acl.createAcl(doc, user, req.entries), { user });
}

export function updateAcl(ctx: ProcessorContext, session: Session, req: Request): void {
  const user = required<string>(req, "user", "string");
  change(ctx, session, req, (doc) => acl.updateAcl(doc, user, req.entries), { user });
}

export function deleteAcl(ctx: ProcessorContext, session: Session, req: Request): void {
  const user = required<string>(req, "user", "string");
  const resource = optional<string | undefined>(req, "resource", "string", undefined);
  change(ctx, session, req, (doc) => acl.deleteAcl(doc, user, resource), { user });
}

export function listAcl(ctx: ProcessorContext, session: Session, req: Request): void {
  const user = optional<string | undefined>(req, "user", "string", undefined);
  const acls = store(ctx, req.op).document.acls.filter((a) => user === undefined || a.user === user);
  session.reply(req.id, { acls });
}
