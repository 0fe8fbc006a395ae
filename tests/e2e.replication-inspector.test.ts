// The console shows a replicated group (docs/REPLICATION.md, INSPECTOR.md), in real Chromium
// against real processes (etcd, a name server, a controller, a group of three): the master's
// console lists the members with their roles, the master epoch, the in-sync set and how far each
// is behind, and follows a slave stopped with SIGSTOP out of the set and back in; a slave's
// console names its master; the name server's console lists the three members, one row each.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";
import { ETCD, startGroup } from "./helpers/replication.ts";

const unavailable = chromiumUnavailable() ?? (ETCD ? null : "etcd is not installed (apt-get install etcd-server)");
if (unavailable) console.log(`skipping the replication console test: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("the group in the console: members, roles, epoch, in-sync set and lag, on a master, a slave and the name server", async () => {
  const group = await startGroup({ brokerArgs: ["--replication", "async", "--ha-max-lag-ms", "1000"] });
  const browser = await launchChromium();
  const producer = new Producer({ endpoints: group.url });
  try {
    await producer.start();
    const [master, slave1, slave2] = group.members;
    const consoleOf = (url: string) => `http://${new URL(url).host}/`;
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(consoleOf(master.proc.url));
    const cell = (id: number, col: string) => page.locator(`#replication-members tr[data-key="${id}"] td[data-col="${col}"]`).innerText();
    await until("the three members in sync", async () => (await page.locator("#replication-members tbody tr[data-key]").count()) === 3 && (await cell(2, "inSync")) === "yes" && (await cell(1, "inSync")) === "yes", 15_000);
    assert.is(await page.locator('[data-figure="replication"] .value').innerText(), "master");
    assert.match(await page.locator('[data-figure="replication"] .sub').innerText(), /^#0 · epoch 1 · 3 in sync$/);
    assert.match(await page.locator("#replication-summary").innerText(), /broker #0, master, epoch 1 · SyncStateSet \[0, 1, 2\] · async replication/);
    assert.equal([await cell(0, "role"), await cell(1, "role"), await cell(2, "role")], ["master", "slave", "slave"]);
    assert.is(await cell(1, "address"), slave1.proc.url);

    // Slave 2 stopped while messages come: it falls behind and leaves the in-sync set; resumed, it is back.
    group.signal(slave2, "SIGSTOP");
    const body = new Uint8Array(1024);
    const sending = (async () => {
      for (let i = 0; i < 300; i++) await producer.send({ topic: "Watched", body });
    })();
    await until("slave 2 out of the set, behind", async () => (await cell(2, "inSync")) === "no" && (await cell(2, "behind")) !== "0 B", 15_000);
    assert.match(await page.locator('[data-figure="replication"] .sub').innerText(), /2 in sync$/);
    await page.screenshot({ path: screenshotPath("replication-master.png"), fullPage: true });
    group.signal(slave2, "SIGCONT");
    await sending;
    await until("slave 2 back in the set", async () => (await cell(2, "inSync")) === "yes" && (await cell(2, "behind")) === "0 B", 15_000);

    // A slave's console: itself and its master.
    const other = await browser.context.newPage();
    other.on("pageerror", (e) => errors.push(e.message));
    await other.goto(consoleOf(slave1.proc.url));
    await other.locator('#replication-members tr[data-key="0"]').waitFor({ timeout: 15_000 });
    assert.is(await other.locator('[data-figure="replication"] .value').innerText(), "slave");
    assert.match(await other.locator("#replication-summary").innerText(), /broker #1, slave of #0, epoch 1/);
    assert.is(await other.locator('#replication-members tr[data-key="0"] td[data-col="address"]').innerText(), master.proc.url);

    // The name server's console: one row per member.
    await other.goto(consoleOf(group.url));
    const row = (key: string, col: string) => other.locator(`#cluster-brokers tr[data-key="${key}"] td[data-col="${col}"]`).innerText();
    await until("the three members listed", async () => (await other.locator("#cluster-brokers tbody tr[data-key]").count()) === 3 && (await row("g1#2", "inSync")) === "yes", 15_000);
    assert.is(await row("g1#0", "role"), "#0 master, epoch 1");
    assert.is(await row("g1#1", "role"), "#1 slave of #0, epoch 1");
    assert.equal(errors, [], "no script errors in the pages");
  } finally {
    group.signal(group.members[2], "SIGCONT");
    await browser.close();
    await producer.shutdown().catch(() => {});
    await group.stop();
  }
});

test.run();
