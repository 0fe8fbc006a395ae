// The README's code runs as written. Every code block of README.md (js, ts, html) is a file of
// examples/, included verbatim below a `<!-- example: examples/<file> -->` line
// (UPDATE_README=1 npm test -- readme rewrites the blocks from the files). Each example runs
// here, from a project that imports "actormq" as an installed package would, against a real
// broker: on the runtime running this test (Node, then Deno), and the page in real Chromium.
// The one change made to an example is its broker address, 127.0.0.1:9876 in the text.
// examples/secure.mjs runs against a broker with TLS (certificates made with openssl, its CA as
// ca.pem in the project) and --auth on with examples/acl.json as its ACL file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { isDeno, startBroker, tempDir } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { makeCerts, opensslUnavailable } from "./helpers/tls.ts";

const README = "README.md";
const CODE = /^```(js|mjs|javascript|ts|typescript|html|json)\s*$/;
const MARKER = /^<!-- example: (examples\/[\w./-]+) -->$/;

/** What each example must print (every pattern, on its own runtime). */
const EXPECTED: Record<string, RegExp[]> = {
  "examples/quick-start.mjs": [/^sent \S+ to Orders queue \d+$/m, /^received "hello" \(\S+, tags paid, queue \d+ offset \d+\)$/m],
  "examples/iterate.mjs": [/^working on "task 1"$/m, /^working on "task 2"$/m, /^working on "task 3"$/m],
  "examples/events.mjs": [/^reported: TypeError: cannot bill this \(message \S+\)$/m, /^sent \S+$/m, /: connected$/m],
  "examples/embedded.mjs": [/^broker listening on ws:\/\/127\.0\.0\.1:\d+\/ws$/m, /^read 1 message\(s\): started$/m],
  "examples/ordered.mjs": [/^o-1: created -> paid -> shipped -> delivered$/m, /^o-2: created -> paid -> shipped$/m, /^o-3: created -> paid -> shipped$/m],
  "examples/transaction.mjs": [/: local COMMIT, broker COMMITTED$/m],
  "examples/simple-consumer.mjs": [/^job "resize image 42", attempt 1$/m],
  "examples/cluster.mjs": [/^click 0 -> broker broker-a, queue \d$/m, /^click 3 -> broker broker-a, queue \d$/m],
  "examples/browser.html": [/^received "hello from a browser"$/m],
  "examples/secure.mjs": [/^sent \S+$/m, /^refused: NO_PERMISSION: user "orders-app" may not PUB Topic:payroll$/m, /^received "signed in"$/m],
  "examples/acl.json": [], // the ACL file of secure.mjs's broker
};

/** README's code blocks: each with the example its marker names (or none), and its lines [start, end). */
function codeBlocks(lines: string[]): { line: number; end: number; example: string | undefined; code: string }[] {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (!CODE.test(lines[i])) continue;
    const end = lines.indexOf("```", i + 1);
    const marker = MARKER.exec(lines[i - 1] ?? "");
    const code = lines.slice(i + 1, end).join("\n");
    blocks.push({ line: i + 1, end, example: marker?.[1], code: code ? code + "\n" : "" });
    i = end;
  }
  return blocks;
}

test("every code block of the README is an example file, word for word", () => {
  let lines = readFileSync(README, "utf8").split("\n");
  if (process.env.UPDATE_README === "1") {
    for (const b of codeBlocks(lines).reverse()) {
      if (b.example) lines.splice(b.line, b.end - b.line, ...readFileSync(b.example, "utf8").replace(/\n$/, "").split("\n"));
    }
    writeFileSync(README, lines.join("\n"));
    lines = readFileSync(README, "utf8").split("\n");
  }
  const blocks = codeBlocks(lines);
  for (const b of blocks) {
    assert.ok(b.example, `README.md:${b.line}: a code block without <!-- example: examples/... --> above it (put the code in examples/ and include it)`);
    assert.fixture(b.code, readFileSync(b.example!, "utf8"), `README.md:${b.line} differs from ${b.example} (UPDATE_README=1 npm test -- readme)`);
  }
  assert.equal(blocks.map((b) => b.example).sort(), Object.keys(EXPECTED).sort(), "the README shows every example, and every example is run");
});

// The browser example's page comes from a server of its own: its origin is allowed, as the README says.
const env = await startBroker({ brokerName: "broker-a", allowedOrigins: ["*"] });
const noOpenssl = opensslUnavailable();
if (noOpenssl) console.log(`skipping examples/secure.mjs: ${noOpenssl}`);
const certs = noOpenssl ? undefined : makeCerts();
const aclDir = tempDir("actormq-readme-acl-");
copyFileSync("examples/acl.json", join(aclDir.path, "acl.json")); // admin commands would rewrite it
const secure = certs ? await startBroker({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, auth: "on", aclFile: join(aclDir.path, "acl.json") }) : undefined;
/** An example as written, its broker address put where this test's broker listens. */
const asWritten = (file: string) => {
  const port = new URL((file === "examples/secure.mjs" ? secure! : env).url).port;
  return readFileSync(file, "utf8").replaceAll("127.0.0.1:9876", `127.0.0.1:${port}`);
};

// A project that has installed the package: node_modules/actormq is this repository (its
// package.json exports the built client, dist/client.mjs, and the rest).
const project = tempDir("actormq-readme-");
writeFileSync(join(project.path, "package.json"), JSON.stringify({ type: "module", dependencies: { actormq: "*" } }));
mkdirSync(join(project.path, "node_modules"));
symlinkSync(resolve("."), join(project.path, "node_modules", "actormq"), "dir");

if (certs) copyFileSync(certs.caCert, join(project.path, "ca.pem"));

test.after(async () => {
  await env.stop();
  await secure?.stop();
  certs?.remove();
  aclDir.remove();
  project.remove();
});

/** Runs an example in the project on this runtime; resolves with what it printed, or rejects with it. */
function run(file: string): Promise<string> {
  const path = join(project.path, file.replace("examples/", ""));
  writeFileSync(path, asWritten(file));
  const [cmd, args] = isDeno ? [resolve("node_modules/.bin/deno"), ["run", "-A", "--quiet", path]] : [process.execPath, [path]];
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: project.path, env: { ...process.env, NO_COLOR: "1", ORDERS_SECRET: "change-me-orders-secret" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(out);
      else reject(new Error(`${file} exited with ${code}:\n${out}`));
    });
  });
}

for (const file of Object.keys(EXPECTED).filter((f) => f.endsWith(".mjs"))) {
  (file === "examples/secure.mjs" && noOpenssl ? test.skip : test)(`${file} runs as written on ${isDeno ? "Deno" : "Node"}`, async () => {
    const out = await run(file);
    for (const pattern of EXPECTED[file]) assert.match(out, pattern, `${file} printed:\n${out}`);
    assert.not.match(out, /\[actormq\].*(warn|error|failed)/i, `no complaint from the client:\n${out}`);
  });
}

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping examples/browser.html: ${unavailable}`);
(unavailable ? test.skip : test)("examples/browser.html runs as written in Chromium", async () => {
  // The page and the one-file browser build at the path its import map names.
  const server = createServer((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(asWritten("examples/browser.html"));
    } else if (req.url === "/node_modules/actormq/dist/actormq-client.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync("dist/actormq-client.js"));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.waitForFunction(() => document.getElementById("log")?.textContent?.includes("received"), undefined, { timeout: 15_000 });
    const text = await page.evaluate(() => document.getElementById("log")!.textContent ?? "");
    for (const pattern of EXPECTED["examples/browser.html"]) assert.match(text, pattern, text);
    assert.equal(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test.run();
