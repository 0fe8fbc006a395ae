// What /metrics says about security and limits: sign-ins, failed sign-ins by reason, refusals by
// action and resource type (never by name: names come from clients, and would make the series
// unbounded), and each limit's refusals. Plain numbers, bumped where the refusal happens.

export interface CounterFamily {
  name: string;
  help: string;
  samples: [Record<string, string>, number][];
}

export class SecurityCounters {
  signIns = 0;
  private readonly authFailures = new Map<string, number>();
  private readonly denials = new Map<string, number>();
  private readonly limits = new Map<string, number>();

  authFailure(reason: string): void {
    this.authFailures.set(reason, (this.authFailures.get(reason) ?? 0) + 1);
  }

  denied(action: string, resourceType: string): void {
    const key = `${action}\0${resourceType}`;
    this.denials.set(key, (this.denials.get(key) ?? 0) + 1);
  }

  /** A limit refused something: a connection, a request, or closed a connection. */
  limit(name: string): void {
    this.limits.set(name, (this.limits.get(name) ?? 0) + 1);
  }

  limitCount(name: string): number {
    return this.limits.get(name) ?? 0;
  }

  families(): CounterFamily[] {
    const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return [
      { name: "actormq_auth_sign_ins_total", help: "Connections that signed in (--auth on).", samples: [[{}, this.signIns]] },
      {
        name: "actormq_auth_failures_total",
        help: "Refused sign-ins and ops before sign-in, by reason (unknown_user, bad_signature, stale, no_challenge, disabled, not_signed_in).",
        samples: sorted(this.authFailures).map(([reason, n]) => [{ reason }, n]),
      },
      {
        name: "actormq_permission_denied_total",
        help: "Ops refused with NO_PERMISSION by the ACL, by action and resource type.",
        samples: sorted(this.denials).map(([key, n]) => {
          const [action, type] = key.split("\0");
          return [{ action, resource_type: type }, n];
        }),
      },
      {
        name: "actormq_limit_refusals_total",
        help: "Connections and requests refused, and connections closed, by a configured limit (see docs/SECURITY.md).",
        samples: sorted(this.limits).map(([limit, n]) => [{ limit }, n]),
      },
    ];
  }
}
