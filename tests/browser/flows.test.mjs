// Browser checks of the paywall and account flows, in a real Chromium
// against one demo server that sends its mail to a real SMTP server
// (aiosmtpd, see mail.mjs):
//
//   1. an anonymous reader opens metered articles until the offer box
//      appears (the anonymous meter allows 2 per 30 days);
//   2. signs up from the offer box and is back on the article, in full;
//   3. logs out;
//   4. logs in again with a link emailed to them;
//
// once with the mouse, once with the keyboard alone, each in a fresh
// browser context; and axe-core on the pages of these flows.
//
// Run through tests/browser/run, which installs the packages and sets
// MASTHEAD_BIN. Nothing here is ever skipped: a missing browser or a
// missing aiosmtpd fails the run.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startMailServer } from './mail.mjs';
import { startServer } from './server.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };

/**
 * Metered demo articles (demo/content/articles/*.md: access "metered", or
 * "default" for news and analysis), three per flow; each flow has its own
 * browser context and so its own meter.
 */
const METERED = {
  mouse: ['/council-approves-harbour-seawall-plan', '/bus-network-redesign-approved', '/falling-enrolment-smallest-schools'],
  keyboard: ['/ferry-reliability-report', '/island-ferry-fares-rise-january', '/school-board-delays-catchment-changes'],
  axe: ['/mayor-proposes-leaner-2027-budget', '/kestrel-marsh-restoration-grant', '/northgate-seafoods-plant-closure'],
};
/** An emailed log-in link, as the server writes it into the message. */
const LOGIN_LINK = /https?:\/\/[^\s/]+\/login\/link\/[A-Za-z0-9_-]+/;
const VERIFY_LINK = /https?:\/\/[^\s/]+\/account\/verify\/[A-Za-z0-9_-]+/;

let mail;
let server;
let browser;

before(async () => {
  mail = await startMailServer();
  try {
    server = await startServer({ env: { MASTHEAD_SMTP_URL: mail.url } });
  } catch (e) {
    await mail.stop();
    throw e;
  }
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
  const exit = await server?.stop();
  await mail?.stop();
  if (exit && exit.signal === 'SIGKILL') {
    throw new Error(`masthead did not stop on SIGTERM:\n${server.log()}`);
  }
});

// ---- helpers ----

/** A fresh address nobody has used: every flow signs up anew. */
function freshEmail(who) {
  return `${who}-${randomBytes(5).toString('hex')}@example.com`;
}

/**
 * A fresh browser context (its own cookies, so its own meter and session)
 * and a tab in it. Script errors, console errors (CSP violations among
 * them) and failed requests are collected in `problems`.
 */
async function freshTab(options = {}) {
  const ctx = await browser.newContext({ viewport: DESKTOP, ...options });
  ctx.setDefaultTimeout(15_000);
  const problems = [];
  // Chromium asks for /favicon.ico on its own, not for the page, at times
  // of its choosing; the site has none (a 404), which is not a flow problem.
  const favicon = (url) => { try { return new URL(url).pathname === '/favicon.ico'; } catch { return false; } };
  ctx.on('weberror', (e) => problems.push(`script error: ${e.error().message}`));
  ctx.on('console', (m) => {
    if (m.type() === 'error' && !favicon(m.location().url)) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  ctx.on('requestfailed', (r) => {
    // ERR_ABORTED: a load the flow cut short by moving on to the next page
    // (card images still loading); a cancellation, not a failure.
    const error = r.failure()?.errorText ?? '';
    if (!favicon(r.url()) && error !== 'net::ERR_ABORTED') problems.push(`failed: ${r.url()} ${error}`);
  });
  ctx.on('response', (r) => {
    if (r.status() >= 400 && !favicon(r.url())) problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  const tab = await ctx.newPage();
  return { ctx, tab, problems };
}

/**
 * Steps of one flow, each a subtest. A flow is a story: once a step fails,
 * the later ones fail too (saying which step broke) rather than run on a
 * page they were not meant for.
 */
function steps(t) {
  let broken = null;
  return (name, fn) => t.test(name, async () => {
    if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    try {
      await fn();
    } catch (e) {
      broken = name;
      throw e;
    }
  });
}

/** Runs `action` and waits until the tab has loaded the page it leads to. */
async function navigation(tab, action) {
  const committed = tab.waitForEvent('framenavigated', {
    predicate: (f) => f === tab.mainFrame(), timeout: 15_000,
  });
  await action();
  await committed;
  await tab.waitForLoadState('load');
}

/** Opens `path` as if typed into the address bar; asserts a 200. */
async function open(tab, path) {
  const res = await tab.goto(server.url(path));
  assert.equal(res.status(), 200, `${path} answered ${res.status()}`);
}

const squash = (s) => s.replace(/\s+/g, ' ').trim();
const textOf = async (locator) => squash(await locator.innerText());
const pathOf = (tab) => new URL(tab.url()).pathname;
const paragraphs = (tab) => tab.locator('.article-body > p').count();
const heading = async (tab) => textOf(tab.locator('main h1'));

/** Everything the offer box after a preview must offer. */
async function checkOfferBox(tab) {
  const offer = tab.locator('section.offer');
  assert.equal(await offer.count(), 1, `${tab.url()}: no offer box after two metered articles`);
  assert.ok(await offer.isVisible(), 'the offer box is not visible');
  const text = await textOf(offer);
  for (const want of ['Subscribe for unlimited access', '$14 monthly or $100 annually ($8.33/month)',
    '10 of our newsletters']) {
    assert.ok(text.includes(want), `the offer box lacks "${want}":\n${text}`);
  }
  const form = offer.locator('form.signup-inline');
  assert.equal(await form.count(), 1, 'the offer box has no form.signup-inline');
  const email = form.getByLabel('Email address', { exact: true });
  assert.equal(await email.count(), 1, 'the sign-up form has no field labelled "Email address"');
  assert.equal(await email.getAttribute('type'), 'email');
  assert.equal(await form.getByRole('button').count(), 1, 'the sign-up form has no submit button');
  const login = offer.locator('.offer-login');
  assert.equal(await textOf(login), 'Already have an account? Log in');
  const href = await login.getByRole('link', { name: 'Log in' }).getAttribute('href');
  assert.ok(href?.startsWith('/login'), `"Log in" goes to ${href}`);
}

/** Reads the first two articles in full, then the third up to the offer box. */
async function readToOfferBox(tab, articles) {
  const [first, second, third] = articles;
  for (const path of [first, second]) {
    await open(tab, path);
    assert.equal(await tab.locator('.offer').count(), 0, `${path}: an offer box within the free allowance`);
    assert.ok(await paragraphs(tab) > 0, `${path}: no article text`);
  }
  await open(tab, third);
  await checkOfferBox(tab);
  const preview = await paragraphs(tab);
  assert.ok(preview > 0, `${third}: the preview has no text`);
  return preview;
}

/** After sign-up: back on the same article, in full. */
async function checkFullArticle(tab, path, preview) {
  assert.equal(tab.url(), server.url(path), 'sign-up did not return to the article');
  assert.equal(await tab.locator('.offer').count(), 0, `${path}: still an offer box after sign-up`);
  const full = await paragraphs(tab);
  assert.ok(full > preview, `${path}: ${full} paragraphs after sign-up, ${preview} in the preview`);
}

/** The log-in link emailed to `email`, after asking for it. */
async function emailedLink(email, pattern) {
  const { match } = await mail.waitFor(email, pattern);
  const link = match[0];
  assert.ok(link.startsWith(`${server.origin}/`), `the emailed link ${link} is not on ${server.origin}`);
  return link;
}

/** The signed-in, verified member's account page. */
async function checkAccountPage(tab, email) {
  assert.equal(pathOf(tab), '/account', `not on /account but ${tab.url()}`);
  assert.equal(await heading(tab), 'Your account');
  assert.equal(await textOf(tab.locator('.account-email')), email);
}

/** Asserts /account now sends the reader to log in. */
async function checkLoggedOut(tab) {
  await tab.goto(server.url('/account'));
  assert.equal(pathOf(tab), '/login', `/account did not redirect to /login but showed ${tab.url()}`);
}

// ---- keyboard ----

/** What has focus, and whether it is a real, visible, visibly focused control. */
function focused(tab) {
  return tab.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) {
      return { what: 'nothing (the document)', control: false };
    }
    const tag = el.tagName.toLowerCase();
    const control = (tag === 'a' && el.hasAttribute('href')) || tag === 'button' || tag === 'select' ||
      tag === 'textarea' || tag === 'summary' || (tag === 'input' && el.type !== 'hidden');
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const name = tag === 'input'
      ? [...(el.labels ?? [])].map((l) => l.textContent.trim()).join(' ') || el.getAttribute('aria-label') || ''
      : (el.textContent.trim() || el.getAttribute('aria-label') || el.querySelector('img')?.alt || '').replace(/\s+/g, ' ');
    return {
      what: `${tag}${el.type && tag !== 'a' ? `[type=${el.type}]` : ''} "${name.slice(0, 60)}"`,
      tag, type: el.type ?? '', name, href: el.getAttribute('href'), id: el.id,
      control: control && !el.disabled,
      inOffer: !!el.closest('.offer'),
      formButtons: el.form ? [...el.form.querySelectorAll('button')].map((b) => b.textContent.trim()) : [],
      onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight &&
        box.right > 0 && box.left < innerWidth,
      ring: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
    };
  });
}

/** Asserts focus is on a real control, on screen and visibly focused. */
function assertControl(f, where) {
  assert.ok(f.control, `${where}: focus is on ${f.what}, not on a control`);
  assert.ok(f.onScreen, `${where}: the focused ${f.what} is not on screen`);
  assert.ok(f.ring, `${where}: the focused ${f.what} shows no focus indicator`);
}

/**
 * Presses Tab (Shift+Tab with back) until `want(focus)`; every stop on
 * the way must be a real control. Returns the focus.
 */
async function tabTo(tab, want, what, { back = false, max = 150 } = {}) {
  const path = [];
  for (let i = 1; i <= max; i++) {
    await tab.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(tab);
    path.push(f.what);
    assertControl(f, `${tab.url()}, ${back ? 'Shift+Tab' : 'Tab'} #${i} (looking for ${what})`);
    if (want(f)) return f;
  }
  assert.fail(`${max} presses of Tab on ${tab.url()} never reached ${what}; focus went:\n  ${path.join('\n  ')}`);
}

/** The very next Tab (or Shift+Tab) must land on what `want` accepts. */
async function nextFocus(tab, want, what, { back = false } = {}) {
  await tab.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  const f = await focused(tab);
  assertControl(f, `${tab.url()}, ${back ? 'Shift+Tab' : 'Tab'} to ${what}`);
  assert.ok(want(f), `${tab.url()}: ${back ? 'Shift+Tab' : 'Tab'} went to ${f.what}, not to ${what}`);
  return f;
}

const isButton = (name) => (f) => f.tag === 'button' && f.name === name;
const isAccountLink = (f) => f.tag === 'a' && f.href === '/account';

/** Presses Enter on the focused control and waits for the next page. */
const enter = (tab) => navigation(tab, () => tab.keyboard.press('Enter'));

async function runAxe(t, tab, label) {
  await tab.addScriptTag({ content: AXE_SOURCE });
  const violations = await tab.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      targets: v.nodes.slice(0, 10).map((n) => n.target.join(' '))
        .concat(v.nodes.length > 10 ? [`…and ${v.nodes.length - 10} more`] : []),
    }));
  });
  const describe = (v) => `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n    ${v.targets.join('\n    ')}`;
  for (const v of violations.filter((v) => !['serious', 'critical'].includes(v.impact))) {
    t.diagnostic(`${label}: ${describe(v)}`);
  }
  const blocking = violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.equal(blocking.length, 0, `axe violations on ${label}:\n${blocking.map(describe).join('\n')}`);
}

// ---- the flows ----

test('paywall and account flow with the mouse', { timeout: 180_000 }, async (t) => {
  const { ctx, tab, problems } = await freshTab();
  const step = steps(t);
  const email = freshEmail('mouse');
  const article = METERED.mouse[2];
  let preview;
  try {
    await step('1. an anonymous reader reads two metered articles; the third shows the offer box', async () => {
      preview = await readToOfferBox(tab, METERED.mouse);
    });

    await step('2. signs up from the offer box and is back on the article, in full', async () => {
      const form = tab.locator('section.offer form.signup-inline');
      await form.getByLabel('Email address', { exact: true }).fill(email);
      await navigation(tab, () => form.getByRole('button').click());
      await checkFullArticle(tab, article, preview);
    });

    await step('3. logs out from /account; /account then asks to log in', async () => {
      await open(tab, '/account');
      assert.equal(await heading(tab), 'Check your email', 'an unverified account should be asked to check email');
      await navigation(tab, () => tab.locator('main').getByRole('button', { name: 'Log out', exact: true }).click());
      assert.equal(pathOf(tab), '/', `logging out led to ${tab.url()}`);
      await checkLoggedOut(tab);
    });

    await step('4. logs in with a link emailed over SMTP', async () => {
      // checkLoggedOut left the tab on /login.
      const form = tab.locator('main form', { has: tab.getByRole('button', { name: 'Email me a log-in link' }) });
      assert.equal(await form.count(), 1, '/login has no "Email me a log-in link" form');
      await form.getByLabel('Email address', { exact: true }).fill(email);
      await navigation(tab, () => form.getByRole('button', { name: 'Email me a log-in link' }).click());
      assert.equal(await heading(tab), 'Check your email');

      await open(tab, new URL(await emailedLink(email, LOGIN_LINK)).pathname);
      const buttons = tab.locator('main').getByRole('button');
      assert.deepEqual(await buttons.allInnerTexts(), ['Log me in'], 'the link page should have one button');
      await navigation(tab, () => buttons.click());
      await checkAccountPage(tab, email);
      // Still signed in on the next visit: no redirect to /login.
      await open(tab, '/account');
      await checkAccountPage(tab, email);
    });

    await step('no script errors, console errors or failed requests on the way', () => {
      assert.deepEqual(problems, []);
    });
  } finally {
    await ctx.close();
  }
});

test('the same flow with the keyboard alone', { timeout: 180_000 }, async (t) => {
  // Addresses are "typed into the address bar" (tab.goto); on the pages
  // everything is Tab, Shift+Tab, typing and Enter: no clicks, no fill().
  const { ctx, tab, problems } = await freshTab();
  const step = steps(t);
  const email = freshEmail('keyboard');
  const article = METERED.keyboard[2];
  let preview;
  try {
    await step('1. reads to the offer box and reaches its email field with Tab', async () => {
      preview = await readToOfferBox(tab, METERED.keyboard);
      const f = await tabTo(tab, (f) => f.inOffer && f.tag === 'input', 'the offer box email field');
      assert.equal(f.type, 'email');
      assert.equal(f.name, 'Email address');
      assert.deepEqual(f.formButtons, ['Continue reading']);
    });

    await step('2. types an email, Tab to the button, Shift+Tab back and forth, Enter: the article in full', async () => {
      await tab.keyboard.type(email);
      await nextFocus(tab, (f) => f.inOffer && f.tag === 'button', 'the sign-up button');
      await nextFocus(tab, (f) => f.inOffer && f.type === 'email', 'the email field again', { back: true });
      assert.equal(await tab.evaluate(() => document.activeElement.value), email, 'the typed email was lost');
      await nextFocus(tab, (f) => f.inOffer && f.tag === 'button', 'the sign-up button');
      await enter(tab);
      await checkFullArticle(tab, article, preview);
    });

    await step('3. Tab to "Account", Enter, Tab to "Log out", Enter; "Account" then leads to /login', async () => {
      await tabTo(tab, isAccountLink, 'the Account link');
      await enter(tab);
      assert.equal(pathOf(tab), '/account');
      assert.equal(await heading(tab), 'Check your email');
      await tabTo(tab, isButton('Log out'), 'the Log out button');
      await enter(tab);
      assert.equal(pathOf(tab), '/', `logging out led to ${tab.url()}`);
      await tabTo(tab, isAccountLink, 'the Account link');
      await enter(tab);
      assert.equal(pathOf(tab), '/login', `"Account" after logging out led to ${tab.url()}`);
    });

    await step('4. asks for a log-in link with the keyboard, follows it, Tab to "Log me in", Enter', async () => {
      const f = await tabTo(tab, (f) => f.tag === 'input' && f.formButtons.includes('Email me a log-in link'),
        'the email field of the log-in link form');
      assert.equal(f.name, 'Email address');
      await tab.keyboard.type(email);
      await nextFocus(tab, isButton('Email me a log-in link'), 'the "Email me a log-in link" button');
      await enter(tab);
      assert.equal(await heading(tab), 'Check your email');

      // Following the link from a mail client is typing it into the address bar.
      await open(tab, new URL(await emailedLink(email, LOGIN_LINK)).pathname);
      await tabTo(tab, isButton('Log me in'), 'the Log me in button');
      await enter(tab);
      await checkAccountPage(tab, email);
    });

    await step('5. on the account page, "Log out" is reachable from the end with Shift+Tab and works', async () => {
      // Skip to the content, Tab through all of it to the last footer
      // link, then walk back: the Shift+Tab order is sound too.
      await nextFocus(tab, (f) => f.href === '#main', 'the skip link');
      await tab.keyboard.press('Enter');
      await tab.waitForFunction(() => document.activeElement?.id === 'main');
      await tabTo(tab, (f) => f.href === '/feeds/atom.xml', 'the last footer link');
      await tabTo(tab, isButton('Log out'), 'the Log out button', { back: true });
      await enter(tab);
      assert.equal(pathOf(tab), '/');
      await checkLoggedOut(tab);
    });

    await step('no script errors, console errors or failed requests on the way', () => {
      assert.deepEqual(problems, []);
    });
  } finally {
    await ctx.close();
  }
});

test('no serious or critical accessibility violations on the account pages (axe-core)', { timeout: 180_000 }, async (t) => {
  // axe is injected inline, which the site's CSP would block: this context
  // bypasses CSP (the flows above keep it).
  const { ctx, tab } = await freshTab({ bypassCSP: true });
  const step = steps(t);
  const email = freshEmail('axe');
  try {
    await step('/signup', async () => {
      await open(tab, '/signup');
      await runAxe(t, tab, '/signup');
    });
    await step('/login', async () => {
      await open(tab, '/login');
      await runAxe(t, tab, '/login');
    });
    await step('an article with the offer box', async () => {
      await readToOfferBox(tab, METERED.axe);
      await runAxe(t, tab, `${METERED.axe[2]} with the offer box`);
    });
    await step('/account of an unverified member ("Check your email")', async () => {
      const form = tab.locator('section.offer form.signup-inline');
      await form.getByLabel('Email address', { exact: true }).fill(email);
      await navigation(tab, () => form.getByRole('button').click());
      await open(tab, '/account');
      assert.equal(await heading(tab), 'Check your email');
      await runAxe(t, tab, '/account (unverified)');
    });
    await step('/account of a signed-in verified member', async () => {
      // Verified through the sign-up email's confirmation link, which
      // returns to the article the reader signed up from.
      await open(tab, new URL(await emailedLink(email, VERIFY_LINK)).pathname);
      await navigation(tab, () => tab.locator('main').getByRole('button', { name: 'Confirm my email' }).click());
      assert.equal(pathOf(tab), METERED.axe[2], 'confirming returns to the article signed up from');
      await open(tab, '/account');
      await checkAccountPage(tab, email);
      await runAxe(t, tab, '/account (verified member)');
    });
    await step('/newsletters', async () => {
      await open(tab, '/newsletters');
      await runAxe(t, tab, '/newsletters');
    });
  } finally {
    await ctx.close();
  }
});

test('a reader picks newsletters at sign-up and changes them on the account page', { timeout: 120_000 }, async (t) => {
  const { ctx, tab, problems } = await freshTab();
  const step = steps(t);
  const email = freshEmail('letters');
  const box = (name) => tab.getByRole('checkbox', { name, exact: true });
  try {
    await step('sign up with one newsletter ticked (none is ticked for you)', async () => {
      await open(tab, '/signup');
      assert.equal(await box('The Morning Ledger').isChecked(), false, 'unchecked by default');
      assert.equal(await box('Tideline').isChecked(), false, 'unchecked by default');
      await tab.getByLabel('Email address', { exact: true }).fill(email);
      await box('Tideline').check();
      await navigation(tab, () => tab.getByRole('button', { name: 'Create my free account' }).click());
    });
    await step('confirm the address from the email', async () => {
      await open(tab, new URL(await emailedLink(email, VERIFY_LINK)).pathname);
      await navigation(tab, () => tab.locator('main').getByRole('button', { name: 'Confirm my email' }).click());
      await checkAccountPage(tab, email);
    });
    await step('the account page shows the choice; change it', async () => {
      const section = tab.locator('section[aria-labelledby="acct-newsletters"]');
      assert.equal(await section.getByRole('checkbox').count(), 10, 'all ten newsletters');
      assert.equal(await box('Tideline').isChecked(), true);
      assert.equal(await box('The Morning Ledger').isChecked(), false);
      await box('Tideline').uncheck();
      await box('The Morning Ledger').check();
      await navigation(tab, () => section.getByRole('button', { name: 'Save my newsletters' }).click());
      assert.equal(pathOf(tab), '/account');
      assert.equal(await textOf(tab.locator('.form-notice')), 'Your newsletters are saved.');
      assert.equal(await box('Tideline').isChecked(), false);
      assert.equal(await box('The Morning Ledger').isChecked(), true);
    });
    await step('no errors along the way', async () => {
      assert.deepEqual(problems, []);
    });
  } finally {
    await ctx.close();
  }
});
