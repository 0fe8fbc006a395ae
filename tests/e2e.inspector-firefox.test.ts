// The inspector page in real Firefox (Debian's firefox-esr, over WebDriver BiDi) against a real
// broker: it connects, shows a new topic's queues, a selected queue's max offset follows the
// sends, the event log shows them, and a msgId search finds a message.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { firefoxUnavailable, openInFirefox } from "./helpers/firefox.ts";

const unavailable = firefoxUnavailable();
if (unavailable) console.log(`skipping the Firefox inspector test: ${unavailable}`);
const it = unavailable ? test.skip : test;

const TOPIC = "FoxTopic";

it("the inspector page works in Firefox: tree, live offsets, event log, search", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  await Promise.all([admin.start(), producer.start()]);
  const page = await openInFirefox(`http://127.0.0.1:${new URL(env.url).port}/inspector`);
  const has = (selector: string) => page.evaluate<boolean>(`document.querySelector(${JSON.stringify(selector)}) !== null`);
  const text = (selector: string) => page.evaluate<string | null>(`document.querySelector(${JSON.stringify(selector)})?.innerText ?? null`);
  try {
    await until("the page connected", () => has('#status[data-status="connected"]'), 20_000);
    await admin.createTopic(TOPIC, 2);
    await until("the topic's queues in the tree", async () => (await has(`#tree [data-actor="queue:${TOPIC}:0"]`)) && has(`#tree [data-actor="queue:${TOPIC}:1"]`), 10_000);

    await page.evaluate(`document.querySelector('#tree [data-actor="queue:${TOPIC}:1"]').click()`);
    const maxOffset = '#context tr[data-key="maxOffset"] td';
    await until("the selected queue's context", async () => (await text(maxOffset)) === "0", 10_000);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await producer.send({ topic: TOPIC, body: `fox ${i}`, queueId: 1 }));
    await until("maxOffset 3 in the page", async () => (await text(maxOffset)) === "3", 10_000);
    await until("APPENDED in the event log", () => has(`#log .log-row[data-type="APPENDED"][data-actor="queue:${TOPIC}:1"]`), 10_000);

    await page.evaluate(`(() => {
      const input = document.querySelector("#search-input");
      input.value = ${JSON.stringify(sent[2].msgId)};
      input.dispatchEvent(new Event("input", { bubbles: true }));
      document.querySelector("#search button[type=submit]").click();
    })()`);
    const result = `#search-results [data-msg-id="${sent[2].msgId}"]`;
    await until("the search result", () => has(result), 10_000);
    assert.is(await text(`${result} tr[data-key="topic"] td`), TOPIC);
    assert.is(await text(`${result} tr[data-key="offset"] td`), "2");
  } finally {
    await page.close();
    await Promise.all([admin.shutdown(), producer.shutdown()]);
    await env.stop();
  }
});

test.run();
