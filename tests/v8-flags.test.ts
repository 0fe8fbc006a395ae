// The broker's V8 flags are set by runtime/main.ts on Node; Deno takes them only on its command
// line, so deno.json's start task and the systemd unit in docs/DEPLOY.md must name every one. The
// launch flags, which V8 reads only when it makes the heap, are on every command line that starts
// a broker: npm start, the bin's launcher line, deno.json's start task and both units.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BROKER_LAUNCH_FLAGS, BROKER_V8_FLAGS } from "../platform/v8-flags.ts";

const v8FlagsIn = (text: string) => new Set([...text.matchAll(/--v8-flags=(\S+)/g)].flatMap((m) => m[1].split(",")));

test("deno task start and DEPLOY.md's Deno unit pass every flag of BROKER_V8_FLAGS and BROKER_LAUNCH_FLAGS", () => {
  const start = JSON.parse(readFileSync("deno.json", "utf8")).tasks.start as string;
  const deploy = readFileSync("docs/DEPLOY.md", "utf8");
  for (const flag of [...BROKER_V8_FLAGS, ...BROKER_LAUNCH_FLAGS]) {
    assert.ok(v8FlagsIn(start).has(flag), `deno.json's start task lacks ${flag}`);
    assert.ok(v8FlagsIn(deploy).has(flag), `docs/DEPLOY.md lacks ${flag}`);
  }
});

test("npm start, the broker bin's launcher line and DEPLOY.md's Node unit start Node with BROKER_LAUNCH_FLAGS", () => {
  const flags = BROKER_LAUNCH_FLAGS.join(" ");
  const start = JSON.parse(readFileSync("package.json", "utf8")).scripts.start as string;
  assert.ok(start.endsWith(`node ${flags} dist/broker.mjs`), start);
  assert.ok(readFileSync("scripts/build.mjs", "utf8").includes(`exec node ${flags} "$0" "$@"`), "scripts/build.mjs's broker banner");
  assert.match(readFileSync("docs/DEPLOY.md", "utf8"), `ExecStart=/usr/bin/node ${flags} /opt/actormq/`);
});

test.run();
