// The console's layout in real Chromium: at 390 px (a phone) every view and every panel of the
// actor view can be reached and nothing runs off the side of the page; at 1024 px the event
// log's controls fit their panel; behind a reverse proxy that adds a path prefix the page loads
// its files and reaches the broker; the dark theme. Screenshots go to docs/screenshots/.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { chromiumUnavailable, launchChromium, screenshotPath } from "./helpers/chromium.ts";
import { startPrefixProxy } from "./helpers/prefix-proxy.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the inspector layout tests: ${unavailable}`);
const it = unavailable ? test.skip : test;

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof launchChromium>>["context"]["newPage"]>>;

/** Nothing wider than the viewport: the page itself never scrolls sideways. */
async function noSideways(page: Page, where: string): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth }));
  assert.ok(scroll <= width + 1, `${where}: the page is ${scroll} px wide in a ${width} px viewport`);
}

/** The element is on screen, inside the viewport's width, after scrolling to it. */
async function reachable(page: Page, selector: string): Promise<void> {
  const el = page.locator(selector).first();
  await el.scrollIntoViewIfNeeded();
  const box = await el.boundingBox();
  const width = page.viewportSize()!.width;
  assert.ok(box && box.width > 0 && box.height > 0, `${selector} is visible`);
  assert.ok(box!.x >= -1 && box!.x + Math.min(box!.width, width) <= width + 1, `${selector} lies within the ${width} px viewport (x ${box!.x}, width ${box!.width})`);
}

it("at 390 px every view and panel is reachable; at 1024 px the log's controls fit; behind a path prefix it works", async () => {
  const env = await startBroker();
  const port = Number(new URL(env.url).port);
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: env.url, group: "phone-cg" });
  const browser = await launchChromium();
  const proxy = await startPrefixProxy("/mq/", port);
  try {
    await Promise.all([admin.start(), producer.start(), consumer.start()]);
    await admin.createTopic("PhoneOrders", 4);
    for (let i = 0; i < 20; i++) await producer.send({ topic: "PhoneOrders", body: JSON.stringify({ order: i }), keys: [`o-${i}`] });
    await consumer.commitOffset({ topic: "PhoneOrders", queueId: 0, offset: 2 });

    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    await page.locator('#topics tr[data-key="PhoneOrders"]').waitFor({ timeout: 10_000 });
    await page.locator("#chart-traffic canvas").first().waitFor({ timeout: 10_000 });
    await noSideways(page, "overview at 390");
    for (const s of ['[data-figure="status"]', '[data-figure="dlq"]', "#chart-traffic", "#chart-lag", "#topics", "#groups"]) await reachable(page, s);
    await page.screenshot({ path: screenshotPath("overview-390.png"), fullPage: true });

    for (const view of ["messages", "actors", "actions", "overview"]) {
      await reachable(page, `#nav a[data-view="${view}"]`);
      await page.locator(`#nav a[data-view="${view}"]`).click();
      await page.locator(`#view-${view}:not([hidden])`).waitFor({ timeout: 5000 });
      await noSideways(page, `${view} at 390`);
    }
    // The actor view: tree, detail and events one under the other, each reached by its button.
    await page.locator('#nav a[data-view="actors"]').click();
    await page.locator('#tree [data-actor="queue:PhoneOrders:0"]').click();
    await page.locator("#machine svg").waitFor({ timeout: 10_000 });
    for (const [button, panel] of [["Tree", "#panel-tree"], ["Selected actor", "#panel-detail"], ["Events", "#panel-log"]]) {
      await page.locator(".subnav button", { hasText: button }).click();
      await until(`${panel} scrolled to`, async () => {
        const box = await page.locator(panel).boundingBox();
        return box !== null && box.y >= 0 && box.y < 844 - 200;
      }, 5000);
      await reachable(page, panel);
    }
    for (const control of ["#log-actor", "#log-type", "#log-internal", "#log-pause", '#log-mode label:last-child']) await reachable(page, control);
    await noSideways(page, "actors at 390");
    await page.locator(".subnav button", { hasText: "Selected actor" }).click();
    await page.waitForTimeout(600); // the smooth scroll
    await page.screenshot({ path: screenshotPath("actors-390.png") });

    // 1024 px: the event log's controls fit inside its panel.
    await page.setViewportSize({ width: 1024, height: 768 });
    const panel = (await page.locator("#panel-log").boundingBox())!;
    for (const control of ["#log-actor", "#log-type", "#log-internal", "#log-pause"]) {
      const box = (await page.locator(control).boundingBox())!;
      assert.ok(box.x >= panel.x && box.x + box.width <= panel.x + panel.width + 1, `${control} inside the events panel at 1024 px`);
    }
    await noSideways(page, "actors at 1024");
    await page.screenshot({ path: screenshotPath("actors-1024.png") });

    // The dark theme, remembered across a reload.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.locator('#nav a[data-view="overview"]').click();
    await page.locator("#theme").click();
    assert.is(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.reload();
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    assert.is(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.locator("#chart-traffic canvas").first().waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1200); // a second point on the charts
    await page.screenshot({ path: screenshotPath("overview-dark-1440.png"), fullPage: true });
    await page.locator("#theme").click();

    // Behind a reverse proxy under /mq/: relative redirects, asset paths and socket address.
    const proxied = await browser.context.newPage();
    proxied.on("pageerror", (e) => errors.push(e.message));
    await proxied.goto(proxy.url);
    assert.is(new URL(proxied.url()).pathname, "/mq/inspector/");
    await proxied.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    await proxied.locator('#topics tr[data-key="PhoneOrders"]').waitFor({ timeout: 10_000 });
    assert.is(await proxied.locator("#broker").innerText(), "broker-a");
    assert.equal(errors, [], "no script errors in the page");
  } finally {
    await browser.close();
    await proxy.close();
    await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
