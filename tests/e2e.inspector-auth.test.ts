// The console of a broker with --auth on, in real Chromium: the page asks to sign in (the broker
// said AUTH_REQUIRED), a wrong secret asks again (AUTH_FAILED), a user with read-only SUB on
// Cluster connects and sees the actors, and the page never shows anything before that; that
// user's console actions (ADMIN) are refused with NO_PERMISSION and change nothing. Its
// signing is the SDK's (Web Crypto in the page).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin } from "../client/mod.ts";
import { chromiumUnavailable, launchChromium } from "./helpers/chromium.ts";
import { startAuthBroker } from "./helpers/auth.ts";

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipping the console sign-in test: ${unavailable}`);
const it = unavailable ? test.skip : test;

const ROOT = { accessKey: "root", secretKey: "root-secret-0" };
const OPS = { accessKey: "ops", secretKey: "ops-secret-11" };

it("the console signs in: asked, refused with a wrong secret, connected as a read-only user", async () => {
  const b = await startAuthBroker({
    users: [{ ...ROOT, super: true }, OPS],
    acls: [{ user: "ops", entries: [{ resource: "Cluster", actions: ["SUB"], decision: "ALLOW" }] }],
  });
  const admin = new Admin({ endpoints: b.url, credentials: ROOT });
  const browser = await launchChromium();
  try {
    await admin.createTopic("SignedIn", 2);
    const page = await browser.context.newPage();
    await page.goto(`${b.url.replace("ws://", "http://").replace(/\/ws$/, "")}/inspector/`);
    const dialog = page.locator("dialog#signin");
    await dialog.waitFor({ timeout: 15_000 });
    assert.match(await dialog.locator(".signin-reason").innerText(), /sign in first/);
    assert.is(await page.locator("#status").getAttribute("data-status"), "reconnecting", "nothing shown before signing in");

    await page.locator("#signin-access-key").fill(OPS.accessKey);
    await page.locator("#signin-secret-key").fill("not-the-secret");
    await page.locator("#signin button[type=submit]").click();
    await dialog.waitFor({ timeout: 15_000 });
    assert.match(await dialog.locator(".signin-reason").innerText(), /AUTH_FAILED|do not match|access key "ops"/);

    await page.locator("#signin-access-key").fill(OPS.accessKey);
    await page.locator("#signin-secret-key").fill(OPS.secretKey);
    await page.locator("#signin button[type=submit]").click();
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    const actors = await page.evaluate(() => [...(globalThis as any).actormqInspector.model.actors.keys()] as string[]);
    assert.ok(actors.includes("queue:SignedIn:0"), actors.slice(0, 10).join(","));

    // The console's actions are behind ADMIN: a user with SUB alone is refused, and nothing changes.
    await page.goto(page.url().replace(/#.*$/, "") + "#actions");
    await page.locator('#status[data-status="connected"]').waitFor({ timeout: 15_000 });
    await page.locator('#create-topic input[name="name"]').fill("NotYours");
    await page.locator('#create-topic input[name="queues"]').fill("2");
    const before = await page.locator("#action-log li").count();
    await page.locator("#create-topic button[type=submit]").click();
    await page.locator("#confirm[open]").waitFor({ timeout: 5000 });
    await page.locator('#confirm button[value="confirm"]').click();
    const newest = page.locator("#action-log li").first();
    await page.waitForFunction((n) => {
      const items = document.querySelectorAll("#action-log li");
      return items.length > n && items[0].getAttribute("data-outcome") !== "running";
    }, before, { timeout: 15_000 });
    assert.is(await newest.getAttribute("data-outcome"), "error");
    const refusal = await newest.locator(".outcome").innerText();
    assert.match(refusal, /^NO_PERMISSION: user "ops" may not ADMIN Topic:NotYours/, refusal);
    assert.not.ok((await admin.topicList()).some((t) => t.topic === "NotYours"), "the refused topic was not created");
  } finally {
    await browser.close();
    await admin.shutdown();
    await b.stop();
  }
});

test.run();
