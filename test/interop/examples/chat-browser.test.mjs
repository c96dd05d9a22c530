// The chat page in a real browser: Debian's chromium driven by playwright-core, against our chat example and
// the client bundle it serves. Two people (two browser contexts) meet in one room through the shareable link,
// see each other join and type, and exchange messages; HTML in a message shows as text.
// Chromium is required: without it this test FAILS (`make test` installs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { startExample } from "../lib/example.mjs";
import { root } from "../lib/server.mjs";

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const MS = 10000;
const shot = path.join(root, "build/chat-browser.png");

async function joinAs(page, url, name) {
  await page.goto(url);
  await page.fill("#name", name);
  await page.click("#join");
  await page.waitForSelector("#chat-view:not([hidden])", { timeout: MS });
}

const texts = (page, sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent));

test("two browsers chat in one room through the shareable link", { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(executablePath),
    `chromium not found at ${executablePath}: install it (apt-get install chromium; \`make test\` does) or set CHROMIUM`);
  const app = await startExample("chat");
  let browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox"] });
    const errors = [];
    const open = async () => {
      const context = await browser.newContext({ viewport: { width: 900, height: 650 } });
      const page = await context.newPage();
      page.setDefaultTimeout(MS);
      page.on("pageerror", (err) => errors.push(err.message));
      return page;
    };
    const alice = await open();
    const bob = await open();

    // Alice opens / (a new random room), joins, and the URL becomes the room's link.
    await joinAs(alice, app.base + "/", "Alice");
    const link = alice.url();
    const m = /\/\?room=([A-Za-z0-9_-]+)$/.exec(link);
    assert.ok(m, `the URL shows the room: ${link}`);
    const room = m[1];
    assert.equal(await alice.textContent("#share-link"), link);
    assert.match(await alice.textContent("#share"), /Share this link/);
    assert.deepEqual(await texts(alice, "#users li"), ["Alice (you)"]);

    // Bob opens her link: the room is filled in.
    await bob.goto(link);
    assert.equal(await bob.inputValue("#room"), room);
    assert.equal(await bob.isVisible("#join-form"), true);
    assert.equal(await bob.isVisible("#messages"), false, "the chat is hidden until one joins");
    await joinAs(bob, link, "Bob");
    assert.deepEqual((await texts(bob, "#users .user")).sort(), ["Alice", "Bob"]);
    assert.equal(await bob.isVisible("#join-form"), false);
    await alice.waitForFunction(() => /Bob joined/.test(document.getElementById("messages").textContent));
    await alice.waitForFunction(() => document.getElementById("count").textContent === "2");
    assert.deepEqual((await texts(alice, "#users .user")).sort(), ["Alice", "Bob"]);

    // Bob types: Alice sees the hint.
    await bob.click("#message");
    await bob.keyboard.type("Hi Alice", { delay: 20 });
    await alice.waitForFunction(() => document.getElementById("typing").textContent === "Bob is typing…");
    await bob.keyboard.type("!");
    await bob.keyboard.press("Enter");
    // Alice answers with HTML in her message: it must show as text.
    const html = "Hello Bob, this is <b>x</b>";
    await alice.fill("#message", html);
    await alice.click("#send");

    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll("#messages li:not(.notice)").length === 2);
      assert.deepEqual(await texts(page, "#messages li:not(.notice) .who"), ["Bob", "Alice"]);
      assert.deepEqual(await texts(page, "#messages li:not(.notice) .text"), ["Hi Alice!", html]);
      assert.equal(await page.$$eval("#messages b", (els) => els.length), 0, "no <b> element: escaped");
      for (const t of await texts(page, "#messages li:not(.notice) .time"))
        assert.match(t, /\d{1,2}.\d{2}/);
    }
    // The message cleared Bob's typing hint at once.
    assert.equal(await alice.textContent("#typing"), "");

    fs.mkdirSync(path.dirname(shot), { recursive: true });
    fs.rmSync(shot, { force: true });
    await bob.screenshot({ path: shot });
    const png = fs.readFileSync(shot);
    assert.ok(png.length > 1000, `${shot} is written`);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");

    // Bob leaves: Alice's page says so and counts one.
    await bob.context().close();
    await alice.waitForFunction(() => /Bob left/.test(document.getElementById("messages").textContent));
    await alice.waitForFunction(() => document.getElementById("count").textContent === "1");
    assert.deepEqual(errors, [], "no script errors");
  } finally {
    if (browser) await browser.close();
    await app.stop();
  }
});
