// Signing in (docs/SECURITY.md): `hello` hands out a nonce (and says whether signing in is
// needed), `auth` checks the signed answer and sets the session's identity. A session that fails
// too often is closed.
import type { Request } from "../../protocol/mod.ts";
import type { ProcessorContext } from "../context.ts";
import type { Session } from "../session.ts";

export function hello(ctx: ProcessorContext, session: Session, req: Request): void {
  session.reply(req.id, { broker: ctx.facts.brokerName, ...session.security.hello() });
}

export function auth(_ctx: ProcessorContext, session: Session, req: Request): void {
  session.security.signIn(req).then(
    (result) => {
      session.identity = session.security.user;
      session.reply(req.id, result);
    },
    (e) => {
      session.fail(req.id, e);
      if (session.security.exhausted && session.open) session.close("AUTH_FAILED: too many failed sign-ins");
    },
  );
}
