// Browser checks of the newsroom (/admin), in a real Chromium against one
// demo server: an owner added with `masthead staff add` sets a password
// from the printed link and logs in; scripted reader traffic meets the
// meter; the dashboard then shows it; an administrator's plan reaches the
// offer at once; axe-core finds no serious or critical violation on the
// staff pages.
//
// Run through tests/browser/run (it sets MASTHEAD_BIN). Nothing here is
// ever skipped.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { png } from './png.mjs';
import { startServer } from './server.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const METERED = ['/council-approves-harbour-seawall-plan', '/bus-network-redesign-approved', '/falling-enrolment-smallest-schools'];

let server;
let browser;

/**
 * With MASTHEAD_SCREENSHOTS=DIR, the README's screenshots of the staff
 * side are taken on the way (docs/screenshots in the repository).
 */
async function screenshot(tab, name) {
  const dir = process.env.MASTHEAD_SCREENSHOTS;
  if (dir) await tab.screenshot({ path: `${dir}/${name}.png`, fullPage: false });
}

before(async () => {
  server = await startServer();
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
});

/** `masthead staff add`, against the running server's data directory. */
async function addStaff(email, role) {
  const { stdout } = await promisify(execFile)(process.env.MASTHEAD_BIN,
    ['--data-dir', server.dataDir, 'staff', 'add', email, '--role', role, '--name', `Test ${role}`],
    { cwd: server.dataDir, env: { ...process.env, MASTHEAD_LOG: 'warn' } });
  const link = stdout.match(/https?:\/\/\S+\/admin\/set-password\/\S+/);
  assert.ok(link, `no set-password link in:\n${stdout}`);
  return new URL(link[0]).pathname;
}

async function navigation(tab, action) {
  const committed = tab.waitForEvent('framenavigated', { predicate: (f) => f === tab.mainFrame(), timeout: 15_000 });
  await action();
  await committed;
  await tab.waitForLoadState('load');
}

async function runAxe(t, tab, label) {
  await tab.addScriptTag({ content: AXE_SOURCE });
  const violations = await tab.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  for (const v of violations.filter((v) => !['serious', 'critical'].includes(v.impact))) {
    t.diagnostic(`${label}: [${v.impact}] ${v.id}: ${v.help}`);
  }
  const blocking = violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.equal(blocking.length, 0, `axe violations on ${label}:\n${JSON.stringify(blocking, null, 2)}`);
}

test('an owner sets a password, logs in, and reads the funnel after reader traffic', { timeout: 120_000 }, async (t) => {
  const setPassword = await addStaff('owner@newsroom.example', 'owner');
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  ctx.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text()); });
  const tab = await ctx.newPage();
  try {
    await tab.goto(server.url(setPassword));
    await tab.getByLabel('New password').fill('a newsroom password');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save my password' }).click());
    assert.equal(new URL(tab.url()).pathname, '/admin/login');
    await tab.getByLabel('Email address').fill('owner@newsroom.example');
    await tab.getByLabel('Password').fill('a newsroom password');
    await navigation(tab, () => tab.getByRole('button', { name: 'Log in' }).click());
    assert.equal(new URL(tab.url()).pathname, '/admin');
    assert.ok((await tab.locator('main h1').innerText()).includes('Newsroom'));

    // A reader (another browser context) meets the meter.
    const reader = await browser.newContext();
    const rtab = await reader.newPage();
    for (const path of METERED) await rtab.goto(server.url(path));
    assert.equal(await rtab.locator('section.offer').count(), 1, 'the third metered article shows the offer box');
    await reader.close();

    await tab.reload();
    const views = tab.getByRole('img', { name: /^Metered article views: 2 in 30 days/ });
    assert.equal(await views.count(), 1, 'the chart counts the two metered views');
    assert.equal(await tab.getByRole('img', { name: /^Offer boxes shown: 1 in 30 days/ }).count(), 1);
    const row = tab.locator('table.data a[href="/falling-enrolment-smallest-schools"]');
    assert.equal(await row.count(), 1, 'the article has its row');
    await screenshot(tab, 'newsroom-dashboard');

    // A new plan from the form reaches the offer at once.
    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Plans' }).click());
    await tab.getByLabel('Short name (in links)').fill('student');
    await tab.getByLabel('Name readers see').fill('Student');
    await tab.getByLabel('Billed').selectOption('year');
    await tab.getByLabel('Amount').fill('45');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save the plan' }).click());
    assert.ok((await tab.locator('table.data').innerText()).includes('Student'));
    await screenshot(tab, 'newsroom-plans');
    const offer = await (await fetch(server.url('/subscribe'))).text();
    assert.ok(offer.includes('$45'), 'the offer lists the new plan');
    assert.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});

test('no serious or critical accessibility violations on the staff pages (axe-core)', { timeout: 120_000 }, async (t) => {
  const setPassword = await addStaff('admin@newsroom.example', 'administrator');
  // A member to look at.
  const signup = await fetch(server.url('/signup'), {
    method: 'POST', body: new URLSearchParams({ email: 'axe-member@example.com' }), redirect: 'manual',
  });
  assert.equal(signup.status, 303);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const tab = await ctx.newPage();
  try {
    await tab.goto(server.url(setPassword));
    await runAxe(t, tab, '/admin/set-password');
    await tab.getByLabel('New password').fill('another newsroom password');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save my password' }).click());
    await runAxe(t, tab, '/admin/login');
    await tab.getByLabel('Email address').fill('admin@newsroom.example');
    await tab.getByLabel('Password').fill('another newsroom password');
    await navigation(tab, () => tab.getByRole('button', { name: 'Log in' }).click());
    for (const path of ['/admin', '/admin/articles', '/admin/articles/new', '/admin/members', '/admin/plans', '/admin/newsletters', '/admin/staff', '/admin/settings', '/admin/audit', '/admin/integrations', '/admin/front', '/admin/topics', '/admin/pages', '/admin/media', '/admin/account', '/admin/articles/1']) {
      await tab.goto(server.url(path));
      await runAxe(t, tab, path);
    }
    await tab.goto(server.url('/admin/members?q=axe-member'));
    const member = await tab.locator('table.data a').first().getAttribute('href');
    await tab.goto(server.url(member));
    assert.ok((await tab.locator('main h1').innerText()).includes('axe-member@example.com'));
    await runAxe(t, tab, 'a member');
    // The rich-text editor, and its image dialog open.
    await tab.goto(server.url('/admin/articles/new'));
    await runAxe(t, tab, 'the article editor');
    await tab.getByRole('button', { name: 'Image', exact: true }).click();
    await runAxe(t, tab, 'the image dialog');
  } finally {
    await ctx.close();
  }
});

/** A new staff member with `role`, signed in in a fresh context. */
async function signedIn(email, role, options = {}) {
  const setPassword = await addStaff(email, role);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  ctx.setDefaultTimeout(15_000);
  const problems = [];
  ctx.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text()); });
  const tab = await ctx.newPage();
  await tab.goto(server.url(setPassword));
  await tab.getByLabel('New password').fill('a long newsroom password');
  await navigation(tab, () => tab.getByRole('button', { name: 'Save my password' }).click());
  await tab.getByLabel('Email address').fill(email);
  await tab.getByLabel('Password').fill('a long newsroom password');
  await navigation(tab, () => tab.getByRole('button', { name: 'Log in' }).click());
  assert.equal(new URL(tab.url()).pathname, '/admin');
  return { ctx, tab, problems };
}

const SECRET = 'Only subscribers read this sentence about the ferry budget.';


/** Chromium logs every non-2xx fetch as a console error; the tests make some on purpose. */
const expectedNoise = (text) => /Failed to load resource: the server responded with a status of (401|422)/.test(text);

test('an editor uploads an image, writes an article with it for subscribers, places the paywall divider, previews, schedules and publishes it; a contributor cannot publish', { timeout: 180_000 }, async () => {
  const { ctx, tab, problems } = await signedIn('writer@newsroom.example', 'editor');
  try {
    // The media library: an image with its alt text, caption and credit.
    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Media' }).click());
    await tab.getByLabel('Image file').setInputFiles({ name: 'quay.png', mimeType: 'image/png', buffer: png(1200, 700) });
    await tab.getByLabel('Alt text (what the image shows, for readers who cannot see it)').fill('The ferry quay at low tide');
    await tab.getByRole('form', { name: 'Upload an image' }).getByLabel('Caption', { exact: true }).fill('The quay the new ferry will use.');
    await tab.getByLabel('Credit (e.g. NAME/AGENCY)').fill('Mara Quist/Harbour Ledger');
    await navigation(tab, () => tab.getByRole('button', { name: 'Upload' }).click());
    assert.ok((await tab.locator('.notice').innerText()).includes('The image is in the library.'));
    await screenshot(tab, 'newsroom-media');
    // A HEIC photo is refused with a reason.
    await tab.getByLabel('Image file').setInputFiles({ name: 'phone.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1') });
    await tab.getByLabel('Alt text (what the image shows, for readers who cannot see it)').fill('x');
    await navigation(tab, () => tab.getByRole('button', { name: 'Upload' }).click());
    assert.ok((await tab.getByRole('alert').innerText()).includes('HEIC/HEIF images are not accepted'));

    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Articles' }).click());
    await navigation(tab, () => tab.getByRole('link', { name: 'Write a new article' }).click());
    await tab.getByLabel('Headline', { exact: true }).fill('Ferry budget gap widens');
    await tab.getByLabel('Standfirst', { exact: true }).fill('The island service needs more money than the council set aside.');
    await tab.getByLabel('Access level').selectOption('subscribers');
    await tab.getByLabel('Topics (slugs, comma-separated)').fill('transit');
    await tab.getByLabel('Lead image', { exact: true }).selectOption({ label: 'The ferry quay at low tide' });
    // The rich-text editor: a paragraph, the divider, the gated paragraph, a figure.
    const body = tab.getByRole('textbox', { name: 'Body' });
    await body.click();
    await tab.keyboard.type('Everyone reads this first paragraph.');
    await tab.keyboard.press('Enter');
    await tab.getByRole('button', { name: 'Paywall divider' }).click();
    await tab.keyboard.type(SECRET);
    await tab.keyboard.press('Enter');
    await tab.getByRole('button', { name: 'Image', exact: true }).click();
    const dialog = tab.getByRole('dialog', { name: 'Insert image' });
    await dialog.getByRole('button', { name: 'The ferry quay at low tide' }).click();
    assert.equal(await dialog.getByLabel('Credit').inputValue(), 'Mara Quist/Harbour Ledger', 'the stored credit is offered again');
    await dialog.getByRole('button', { name: 'Insert', exact: true }).click();
    await tab.waitForFunction(() => document.querySelector('#a-body').value.includes('<figure'), null, { timeout: 5_000 });
    const source = await tab.locator('#a-body').inputValue();
    assert.equal(source.split('<!-- paywall -->').length, 2, `one divider:\n${source}`);
    assert.ok(source.includes('<span class="credit">Mara Quist/Harbour Ledger</span>'), source);
    await screenshot(tab, 'newsroom-editor');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save the draft' }).click());
    assert.match(new URL(tab.url()).pathname, /^\/admin\/articles\/\d+$/);
    assert.equal(await tab.locator('.article-status').innerText(), 'draft');
    const edit = new URL(tab.url()).pathname;

    // Preview as an anonymous reader: the paywall cuts after the divider.
    await navigation(tab, () => tab.getByRole('link', { name: 'an anonymous reader' }).click());
    assert.ok((await tab.locator('.paywall-cut').innerText()).includes('The paywall cuts here'));
    assert.equal(await tab.getByText(SECRET).count(), 0);
    await screenshot(tab, 'newsroom-preview');
    await navigation(tab, () => tab.getByRole('link', { name: 'subscriber' }).click());
    assert.equal(await tab.getByText(SECRET).count(), 1);
    assert.equal(await tab.locator('figure img[alt="The ferry quay at low tide"]').count(), 1, 'the figure is in the body');

    // Schedule it for later: not on the site yet.
    await tab.goto(server.url(edit));
    await tab.getByLabel('Publish at (for scheduling)').fill('2099-01-01T08:00');
    await navigation(tab, () => tab.getByRole('button', { name: 'Schedule' }).click());
    assert.equal(await tab.locator('.article-status').innerText(), 'scheduled');
    assert.equal((await fetch(server.url('/ferry-budget-gap-widens'))).status, 404);

    // Publish now: on the site, gated after the divider, with its lead image.
    await navigation(tab, () => tab.getByRole('button', { name: 'Publish', exact: true }).click());
    assert.equal(await tab.locator('.article-status').innerText(), 'published');
    const reader = await browser.newContext();
    const rtab = await reader.newPage();
    await rtab.goto(server.url('/ferry-budget-gap-widens'));
    assert.equal(await rtab.getByText('Everyone reads this first paragraph.').count(), 1);
    assert.equal(await rtab.getByText(SECRET).count(), 0);
    assert.equal(await rtab.locator('section.offer').count(), 1);
    assert.ok((await rtab.locator('figure.lead-image figcaption').innerText()).includes('Mara Quist/Harbour Ledger'));
    await reader.close();
    assert.deepEqual(problems.filter((p) => !expectedNoise(p)), [], 'only the refused HEIC upload');
  } finally {
    await ctx.close();
  }

  const c = await signedIn('junior@newsroom.example', 'contributor');
  try {
    await c.tab.goto(server.url('/admin/articles/new'));
    await c.tab.getByLabel('Headline', { exact: true }).fill('A contributor draft');
    await c.tab.getByRole('textbox', { name: 'Body' }).click();
    await c.tab.keyboard.type('Some words.');
    await navigation(c.tab, () => c.tab.getByRole('button', { name: 'Save the draft' }).click());
    assert.equal(await c.tab.getByRole('button', { name: 'Publish', exact: true }).count(), 0, 'a contributor has no Publish button');
    assert.equal(await c.tab.locator('.article-status').innerText(), 'draft');
    assert.deepEqual(c.problems, []);
  } finally {
    await c.ctx.close();
  }
});

test('a session that expires mid-edit loses no work; versions compare and restore', { timeout: 180_000 }, async () => {
  const { ctx, tab, problems } = await signedIn('nightdesk@newsroom.example', 'editor');
  try {
    await tab.goto(server.url('/admin/articles/new'));
    await tab.getByLabel('Headline', { exact: true }).fill('Storm closes the causeway');
    await tab.getByRole('textbox', { name: 'Body' }).click();
    await tab.keyboard.type('The causeway closed at noon.');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save the draft' }).click());
    const edit = new URL(tab.url()).pathname;

    // The session ends (cookies gone) while the editor is open.
    await ctx.clearCookies();
    await tab.getByRole('textbox', { name: 'Body' }).click();
    await tab.keyboard.press('End');
    await tab.keyboard.press('Enter');
    await tab.keyboard.type('Words typed after the session ended.');
    await tab.getByText('Your session has expired.').waitFor({ timeout: 30_000 });

    // Log in again (the editor tab stays put), come back: the words are offered back.
    const login = await ctx.newPage();
    await login.goto(server.url('/admin/login'));
    await login.getByLabel('Email address').fill('nightdesk@newsroom.example');
    await login.getByLabel('Password').fill('a long newsroom password');
    await navigation(login, () => login.getByRole('button', { name: 'Log in' }).click());
    await login.close();
    await tab.goto(server.url(edit));
    await tab.getByRole('button', { name: 'Restore them' }).click();
    assert.ok((await tab.locator('#a-body').inputValue()).includes('Words typed after the session ended.'));
    await navigation(tab, () => tab.getByRole('button', { name: 'Save', exact: true }).click());
    const saved = await tab.locator('#a-body').inputValue();
    assert.ok(saved.includes('Words typed after the session ended.'), `saved:\n${saved}`);

    // Versions: compare the first with now, and restore it.
    const versions = tab.getByRole('table', { name: 'Versions' });
    assert.equal(await versions.getByRole('cell', { name: 'saved', exact: true }).count(), 2, 'two saves');
    await navigation(tab, () => versions.getByRole('link', { name: 'Compare with now' }).last().click());
    assert.equal(await tab.locator('.diff ins', { hasText: 'Words typed after the session ended.' }).count(), 1);
    await navigation(tab, () => tab.getByRole('link', { name: 'Restore this version' }).click());
    assert.ok((await tab.locator('#article-notice').innerText()).includes('It is not saved yet'));
    assert.ok(!(await tab.locator('#a-body').inputValue()).includes('Words typed after'));
    assert.deepEqual(problems.filter((p) => !expectedNoise(p)), []);
  } finally {
    await ctx.close();
  }
});

test('an administrator changes the meter and adds a newsletter; the reader site follows at once', { timeout: 120_000 }, async () => {
  const { ctx, tab, problems } = await signedIn('settings@newsroom.example', 'administrator');
  try {
    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Settings' }).click());
    await tab.getByLabel('Free metered articles, anonymous readers').fill('0');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save settings' }).click());
    assert.ok((await tab.locator('.form-notice').innerText()).includes('Saved'));
    const reader = await browser.newContext();
    const rtab = await reader.newPage();
    await rtab.goto(server.url(METERED[0]));
    assert.equal(await rtab.locator('section.offer').count(), 1, 'no free metered article any more');
    await reader.close();

    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Newsletters' }).click());
    await tab.getByLabel('Short name (in links)').fill('night-desk');
    await tab.getByLabel('Name', { exact: true }).fill('The Night Desk');
    await tab.getByLabel('Description').fill('What happened while you slept.');
    await tab.getByLabel('Sender address').fill('night@harbourledger.example');
    await tab.getByLabel('Offer it on the sign-up form').check();
    await navigation(tab, () => tab.getByRole('button', { name: 'Save the newsletter' }).click());
    const list = await (await fetch(server.url('/newsletters'))).text();
    assert.ok(list.includes('The Night Desk'), '/newsletters lists it');
    const signup = await (await fetch(server.url('/signup'))).text();
    assert.ok(signup.includes('The Night Desk'), 'the sign-up form offers it');
    // Put the meter back for other tests sharing this server.
    await tab.goto(server.url('/admin/settings'));
    await tab.getByLabel('Free metered articles, anonymous readers').fill('2');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save settings' }).click());
    assert.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});

// Issue 14: the Import page. An administrator uploads a WordPress export
// (the Rust tests' fixture), reads the dry run, confirms, and the import
// runs as a job on the server's queue; the articles and their old
// addresses are there. Its images point at a loopback address, which the
// server refuses to fetch (no [imports] allow_private_fetch): they are
// reported, not copied. Last in this file: it changes the home page.
test('an administrator imports a WordPress export from the Import page, after its dry run', { timeout: 120_000 }, async (t) => {
  // bypassCSP only so that axe-core can be injected.
  const { ctx, tab, problems } = await signedIn('mover@newsroom.example', 'administrator', { bypassCSP: true });
  try {
    const fixture = new URL('../../crates/masthead/tests/fixtures/wordpress/export.xml', import.meta.url);
    const xml = (await readFile(fixture, 'utf8')).replaceAll('{{IMAGES}}', 'http://127.0.0.1:9');
    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Import' }).click());
    await runAxe(t, tab, '/admin/import');
    await tab.getByLabel(/^The export/).setInputFiles({ name: 'gazette.xml', mimeType: 'text/xml', buffer: Buffer.from(xml) });
    await navigation(tab, () => tab.getByRole('button', { name: 'Upload and check' }).click());
    // The page follows the job by itself until the dry run is read.
    await tab.getByRole('heading', { name: 'What the import would do' }).waitFor({ timeout: 30_000 }).catch(async (e) => {
      // Say why: the page's own error, if it refused the upload.
      const refused = await tab.locator('#import-error').allInnerTexts();
      throw new Error(`no dry run at ${tab.url()}: ${refused.join(' ') || e.message}`);
    });
    const articles = tab.getByRole('row', { name: /^Articles/ });
    assert.match(await articles.innerText(), /Articles\s+8\b/);
    await runAxe(t, tab, 'the dry run');
    const before = await fetch(server.url('/ferry-timetable-winter'));
    assert.equal(before.status, 404, 'nothing imported before confirming');
    await navigation(tab, () => tab.getByRole('button', { name: 'Import it' }).click());
    await tab.getByRole('heading', { name: 'Imported', exact: true }).waitFor({ timeout: 60_000 });
    assert.ok((await tab.locator('.import-notes').first().innerText()).includes('loopback'), 'refused images are reported');
    const reader = await browser.newContext();
    const rtab = await reader.newPage();
    await rtab.goto(server.url('/2024/05/17/ferry-timetable-winter/'));
    assert.equal(new URL(rtab.url()).pathname, '/ferry-timetable-winter', 'the old address leads to the new one');
    assert.equal(await rtab.getByRole('heading', { level: 1 }).innerText(), 'Ferry timetable changes for the winter');
    await reader.close();
    assert.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});
