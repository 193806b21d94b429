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
import { startServer } from './server.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const METERED = ['/council-approves-harbour-seawall-plan', '/bus-network-redesign-approved', '/falling-enrolment-smallest-schools'];

let server;
let browser;

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

    // A new plan from the form reaches the offer at once.
    await navigation(tab, () => tab.getByRole('navigation', { name: 'Newsroom' }).getByRole('link', { name: 'Plans' }).click());
    await tab.getByLabel('Short name (in links)').fill('student');
    await tab.getByLabel('Name readers see').fill('Student');
    await tab.getByLabel('Billed').selectOption('year');
    await tab.getByLabel('Amount').fill('45');
    await navigation(tab, () => tab.getByRole('button', { name: 'Save the plan' }).click());
    assert.ok((await tab.locator('table.data').innerText()).includes('Student'));
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
    for (const path of ['/admin', '/admin/members', '/admin/plans', '/admin/audit']) {
      await tab.goto(server.url(path));
      await runAxe(t, tab, path);
    }
    await tab.goto(server.url('/admin/members?q=axe-member'));
    const member = await tab.locator('table.data a').first().getAttribute('href');
    await tab.goto(server.url(member));
    assert.ok((await tab.locator('main h1').innerText()).includes('axe-member@example.com'));
    await runAxe(t, tab, 'a member');
  } finally {
    await ctx.close();
  }
});
