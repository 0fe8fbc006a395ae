// The broker's V8 flags are set by runtime/main.ts on Node; Deno takes them only on its command
// line, so deno.json's start task and the systemd unit in docs/DEPLOY.md must name every one.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BROKER_V8_FLAGS } from "../platform/v8-flags.ts";

test("deno task start and DEPLOY.md's Deno unit pass every flag of BROKER_V8_FLAGS", () => {
  const start = JSON.parse(readFileSync("deno.json", "utf8")).tasks.start as string;
  const deploy = readFileSync("docs/DEPLOY.md", "utf8");
  const flagsIn = (text: string) => new Set([...text.matchAll(/--v8-flags=(\S+)/g)].flatMap((m) => m[1].split(",")));
  for (const flag of BROKER_V8_FLAGS) {
    assert.ok(flagsIn(start).has(flag), `deno.json's start task lacks ${flag}`);
    assert.ok(flagsIn(deploy).has(flag), `docs/DEPLOY.md lacks ${flag}`);
  }
});

test.run();
