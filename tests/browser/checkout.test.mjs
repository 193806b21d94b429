// Browser check of subscribing, in a real Chromium: a reader meets the
// offer box on a subscriber-only article, picks the annual plan, creates a
// free account, confirms its address from the emailed link (a real SMTP
// server on loopback, see mail.mjs), goes through the Stripe STAND-IN's payment page (the
// stand-in of crates/masthead/tests/it/stripe_standin.rs, run as the
// example `stripe-standin`: Stripe itself cannot be reached from here),
// lands back through the success page on the article, and reads it in
// full. The stand-in also sends the signed webhook, which races the
// success page as Stripe's would.
//
// Run through tests/browser/run, which builds the stand-in and sets
// STRIPE_STANDIN_BIN. Nothing here is ever skipped.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startMailServer } from './mail.mjs';
import { startServer } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** A subscriber-only demo article and a sentence from its last section. */
const GATED = '/bus-redesign-winners-and-losers';
const LAST_WORDS = 'The board has asked for a six-month review of the minibus.';

const VERIFY_LINK = /https?:\/\/[^\s/]+\/account\/verify\/[A-Za-z0-9_-]+/;

let mail;
let standin;
let stripeBase;
let server;
let browser;

/** Starts the stand-in and reads its base URL from its first line. */
function startStandIn() {
  const bin = process.env.STRIPE_STANDIN_BIN;
  if (!bin) throw new Error('STRIPE_STANDIN_BIN is not set (tests/browser/run sets it)');
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  process.on('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Stripe stand-in did not start')), 10_000);
    child.on('exit', (code) => reject(new Error(`the Stripe stand-in exited (${code})`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, base: line.trim() });
    });
  });
}

before(async () => {
  ({ child: standin, base: stripeBase } = await startStandIn());
  mail = await startMailServer();
  server = await startServer({
    env: {
      MASTHEAD_SMTP_URL: mail.url,
      MASTHEAD_STRIPE_SECRET_KEY: 'sk_test_standin',
      MASTHEAD_STRIPE_API_BASE: stripeBase,
      MASTHEAD_STRIPE_WEBHOOK_SECRETS: 'whsec_standin',
    },
  });
  // Now that the server's address is known, the stand-in sends it events.
  standin.stdin.write(`${server.url('/webhooks/stripe')}\n`);
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    throw new Error(`could not launch Chromium at ${CHROMIUM} (set CHROMIUM to override): ${e.message}`);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
  standin?.stdin.end();
  standin?.kill('SIGTERM');
});

/** Runs `action` and waits until the tab has loaded where it leads. */
async function navigation(tab, action) {
  const committed = tab.waitForEvent('framenavigated', {
    predicate: (f) => f === tab.mainFrame(), timeout: 15_000,
  });
  await action();
  await committed;
  await tab.waitForLoadState('load');
}

test('a reader subscribes from the offer box and reads the gated article', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(15_000);
  const problems = [];
  // Chromium asks for /favicon.ico on its own (neither server has one).
  const favicon = (url) => { try { return new URL(url).pathname === '/favicon.ico'; } catch { return false; } };
  ctx.on('console', (m) => {
    if (m.type() === 'error' && !favicon(m.location().url)) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  ctx.on('weberror', (e) => problems.push(`script error: ${e.error().message}`));
  const tab = await ctx.newPage();
  try {
    await tab.goto(server.url(GATED));
    const offer = tab.locator('section.offer');
    assert.equal(await offer.count(), 1, 'the offer box is shown');
    assert.equal(await tab.getByText(LAST_WORDS).count(), 0, 'the gated text is not on the page');

    // The annual plan, from the offer box.
    await navigation(tab, () => offer.getByRole('link', { name: /Annual: \$100 a year/ }).click());
    assert.equal(new URL(tab.url()).pathname, '/subscribe');
    await navigation(tab, () => tab.getByRole('link', { name: 'Create a free account' }).click());
    assert.equal(new URL(tab.url()).pathname, '/signup');
    const email = `subscriber-${randomBytes(5).toString('hex')}@example.com`;
    await tab.getByLabel('Email address').fill(email);
    await navigation(tab, () => tab.getByRole('button', { name: 'Create my free account' }).click());

    // Back on the plan, asked to confirm the address before paying.
    assert.equal(new URL(tab.url()).pathname, '/subscribe');
    assert.equal(await tab.getByText(/First confirm your email address/).count(), 1);
    assert.equal(await tab.getByRole('button', { name: /continue to payment/ }).count(), 0, 'no payment before the address is proved');
    const { match } = await mail.waitFor(email, VERIFY_LINK);
    await tab.goto(match[0]);
    await navigation(tab, () => tab.getByRole('button', { name: 'Confirm my email' }).click());

    // Back on the plan, without typing anything again; on to payment.
    assert.equal(new URL(tab.url()).pathname, '/subscribe');
    const pay = tab.getByRole('button', { name: /Annual: \$100 a year — continue to payment/ });
    assert.equal(await tab.getByRole('button', { name: /Monthly/ }).count(), 0, 'only the plan picked');
    await navigation(tab, () => pay.click());
    assert.equal(new URL(tab.url()).origin, stripeBase, `on the stand-in's payment page: ${tab.url()}`);
    await navigation(tab, () => tab.getByRole('button', { name: 'Pay and subscribe' }).click());

    // The success page sent the new subscriber back to the article, in full.
    assert.equal(new URL(tab.url()).pathname, GATED, `back on the article: ${tab.url()}`);
    assert.equal(await tab.locator('section.offer').count(), 0, 'no offer box for a subscriber');
    assert.equal(await tab.getByText(LAST_WORDS).count(), 1, 'the whole article is there');

    assert.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});
