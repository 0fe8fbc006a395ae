// HTTP endpoints with --auth on: /metrics takes `Authorization: Bearer <accessKey>:<secretKey>`
// of a user with SUB or ADMIN on Cluster (Prometheus' bearer_token / bearer_token_file). The
// secret travels as it is, so serve it over https:// (--tls-cert). Source ranges of ACL entries
// do not apply here (an HTTP request carries no session), so such entries never grant it.
import type { HttpHeaders, HttpResponse } from "../../platform/platform.ts";
import { CLUSTER } from "./acl.ts";
import type { Security } from "./security.ts";
import { sameText } from "./same-text.ts";

/** null when the request may read /metrics; otherwise the 401 or 403 to answer. */
export function metricsRefusal(security: Security, headers: HttpHeaders): HttpResponse | null {
  if (!security.enabled) return null;
  const m = /^Bearer\s+([^:\s]+):(\S+)$/i.exec(headers.get("authorization") ?? "");
  const acl = security.acl!.acl;
  const user = m ? acl.user(m[1]) : undefined;
  if (!m || !user || user.disabled || !sameText(user.secretKey, m[2])) {
    security.counters.authFailure("metrics_token");
    return {
      status: 401,
      headers: { "content-type": "text/plain", "www-authenticate": 'Bearer realm="actormq"' },
      body: "AUTH_REQUIRED: this broker runs with --auth on; send Authorization: Bearer <accessKey>:<secretKey>\n",
    };
  }
  if (!acl.decide(user.accessKey, CLUSTER, "SUB", "") && !acl.decide(user.accessKey, CLUSTER, "ADMIN", "")) {
    security.counters.denied("SUB", "Cluster");
    return { status: 403, headers: { "content-type": "text/plain" }, body: `NO_PERMISSION: user "${user.accessKey}" may not SUB Cluster (needed for /metrics)\n` };
  }
  return null;
}

