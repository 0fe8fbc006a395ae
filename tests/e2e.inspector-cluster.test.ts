// The console a name server serves, in real Chromium against a real cluster (a name server and
// two brokers, each a process of its own): it shows the cluster — every broker with its health
// (from the broker's own `overview`), a link to its console, and the topics across brokers with
// their messages summed — and a broker that dies turns "unreachable".
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";
import { startCluster } from "./helpers/cluster.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the cluster console test: ${unavailable}`);
const it = unavailable ? test.skip : test;

it("the name server's console: brokers with their health, topics across brokers, a dead broker unreachable", async () => {
  const cluster = await startCluster({ brokers: 2 });
  const admin = new Admin({ endpoints: cluster.url });
  const producer = new Producer({ endpoints: cluster.url, group: "pg" });
  const browser = await launchChromium();
  try {
    await Promise.all([admin.start(), producer.start()]);
    await admin.createTopic("ClusterOrders", 2); // on every broker
    for (let i = 0; i < 10; i++) await producer.send({ topic: "ClusterOrders", body: `order ${i}` });

    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://${new URL(cluster.url).host}/`);
    await page.locator("#view-cluster:not([hidden])").waitFor({ timeout: 15_000 });
    assert.is(new URL(page.url()).hash, "#cluster");
    const health = (name: string) => page.locator(`#cluster-brokers tr[data-key="${name}"] td[data-col="health"]`).innerText();
    await until("both brokers healthy", async () => (await page.locator("#cluster-brokers tbody tr[data-key]").count()) === 2 && (await health("b1")) === "ok" && (await health("b2")) === "ok", 15_000);
    const b1 = cluster.brokers[0].proc.url;
    assert.is(await page.locator('#cluster-brokers tr[data-key="b1"] a.broker-link').getAttribute("href"), `http://${new URL(b1).host}/inspector/`);
    const topic = (col: string) => page.locator(`#cluster-topics tr[data-key="ClusterOrders"] td[data-col="${col}"]`).innerText();
    await until("the topic across both brokers", async () => (await page.locator('#cluster-topics tr[data-key="ClusterOrders"]').count()) === 1 && (await topic("messages")) === "10", 15_000);
    assert.is(await topic("brokers"), "b1, b2");
    assert.is(await topic("queues"), "4");
    assert.is(await page.locator('[data-figure="brokers"] .value').innerText(), "2 of 2");
    await page.screenshot({ path: screenshotPath("cluster-1440.png"), fullPage: true });

    // A broker dies: the name server still lists it until it expires, and the console says it cannot reach it.
    await cluster.kill(cluster.brokers[1]);
    await until("b2 unreachable", async () => (await health("b2")) === "unreachable", 15_000);
    assert.is(await health("b1"), "ok");
    assert.is(await page.locator('[data-figure="brokers"] .value').innerText(), "1 of 2");
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await browser.close();
    await Promise.allSettled([admin.shutdown(), producer.shutdown()]);
    await cluster.stop();
  }
});

test.run();
