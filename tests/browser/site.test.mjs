// Browser checks of the reader site, against one demo server for the whole
// run: every page answers, its HTML is valid (Nu Html Checker), it loads
// without errors, has no serious accessibility violations (axe-core), the
// skip link works from the keyboard, and screenshots document the UI.
//
// Run through tests/browser/run, which installs the packages and sets
// MASTHEAD_BIN. Nothing here is ever skipped: a missing browser or Java
// fails the run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const require = createRequire(import.meta.url);
const VNU_JAR = String(require('vnu-jar')); // the package exports the jar's path
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const JAVA = process.env.JAVA || 'java';
const SCREENSHOT_DIR = fileURLToPath(new URL('./screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };

let server;
let browser;
/** A normal context: the site's CSP applies, as for a reader. */
let context;
/** Only for axe: its script is injected inline, which the CSP would block. */
let axeContext;

/**
 * The pages under test: { name, path, status (expected), got, type, html },
 * fetched once in before(). Fixed paths plus ones found by following the
 * site's own links, so demo content can change.
 */
const pages = [];

function page(name) {
  const p = pages.find((p) => p.name === name);
  assert.ok(p, `no page named ${name}`);
  return p;
}

/** Opens `path` in a fresh tab of `ctx` and hands the tab to `fn`. */
async function withPage(ctx, path, fn) {
  const tab = await ctx.newPage();
  try {
    return await fn(tab, await tab.goto(server.url(path)));
  } finally {
    await tab.close();
  }
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
  context = await browser.newContext({ viewport: DESKTOP });
  axeContext = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });

  // Discover an article, an author and the sections through the site's links.
  const links = await withPage(context, '/', async (tab) => ({
    article: await tab.getAttribute('.card-headline a >> nth=0', 'href'),
    sections: await tab.$$eval('nav.sections a[href^="/sections/"]', (as) => as.map((a) => a.getAttribute('href'))),
  }));
  assert.ok(links.article, 'the front page links to no article card');
  for (const s of ['/sections/news', '/sections/event']) {
    assert.ok(links.sections.includes(s), `the section nav lacks ${s}: ${links.sections}`);
  }
  const author = await withPage(context, '/authors', (tab) =>
    tab.getAttribute('main a[href^="/authors/"] >> nth=0', 'href'));
  assert.ok(author, '/authors links to no author page');

  const list = [
    ['home', '/'],
    ['article', links.article],
    ['topic', '/topics/housing'],
    ['topics', '/topics'],
    ['authors', '/authors'],
    ['author', author],
    ...links.sections.map((s) => [`section-${s.split('/').pop()}`, s]),
    ['search', '/search?q=harbour'],
    ['terms', '/pages/terms'],
    ['newsletters', '/newsletters'],
    ['signup', '/signup'],
    ['not-found', '/no-such-page', 404],
  ];
  for (const [name, path, status = 200] of list) {
    const res = await fetch(server.url(path), { signal: AbortSignal.timeout(10_000) });
    pages.push({ name, path, status, got: res.status, type: res.headers.get('content-type'), html: await res.text() });
  }
});

after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  // A clean shutdown on SIGTERM is part of what we check.
  if (exit && exit.signal === 'SIGKILL') {
    throw new Error(`masthead did not stop on SIGTERM:\n${server.log()}`);
  }
});

test('every page answers with the expected status and HTML', () => {
  const wrong = pages.filter((p) => p.got !== p.status || !p.type?.startsWith('text/html'));
  assert.deepEqual(wrong.map((p) => `${p.path}: ${p.got} ${p.type}`), []);
});

test('search for "harbour" finds articles', () => {
  assert.match(page('search').html, /<ol class="results">\s*<li>/, 'no results listed');
});

test('HTML is valid (Nu Html Checker)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'masthead-vnu-'));
  try {
    const files = [];
    const byFile = new Map(); // file URL -> page path, to name pages in errors
    for (const p of pages) {
      const file = join(dir, `${p.name}.html`);
      await writeFile(file, p.html);
      files.push(file);
      byFile.set(pathToFileURL(file).href, p.path);
    }
    // One JVM for all files: starting Java is the slow part.
    const run = spawnSync(JAVA, ['-jar', VNU_JAR, '--errors-only', '--format', 'json', ...files],
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 180_000 });
    if (run.error) throw new Error(`could not run ${JAVA} -jar ${VNU_JAR}: ${run.error.message}`);
    let report;
    try {
      report = JSON.parse(run.stderr); // vnu writes its JSON report to stderr
    } catch {
      throw new Error(`vnu exited ${run.status} without a JSON report:\n${run.stderr}${run.stdout}`);
    }
    // vnu writes "file:/tmp/x" where Node writes "file:///tmp/x".
    const pathOf = (url) => byFile.get(pathToFileURL(fileURLToPath(url)).href) ?? url;
    const errors = report.messages
      .filter((m) => m.type === 'error' || m.type === 'non-document-error')
      .map((m) => `${pathOf(m.url)}:${m.lastLine ?? '?'}:${m.firstColumn ?? m.lastColumn ?? '?'}: ${m.message}` +
        (m.extract ? `\n    ${m.extract.replace(/\n/g, ' ')}` : ''));
    // A template error repeats on every page; the first ones are enough.
    const shown = errors.slice(0, 30).join('\n') + (errors.length > 30 ? `\n…and ${errors.length - 30} more` : '');
    assert.equal(errors.length, 0, `${errors.length} HTML errors:\n${shown}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('pages load in Chromium without errors or failed requests', async (t) => {
  for (const p of pages) {
    await t.test(p.path, async () => {
      const problems = [];
      const tab = await context.newPage();
      tab.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
      tab.on('console', (m) => {
        // Chromium logs the 404 page's own (intended) status as an error.
        const ownStatus = p.status !== 200 && m.location().url === server.url(p.path);
        if (m.type() === 'error' && !ownStatus) problems.push(`console: ${m.text()}`);
      });
      tab.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
      tab.on('response', (r) => {
        // The document's own status is checked below; this is for its parts.
        if (r.status() >= 400 && !r.request().isNavigationRequest()) problems.push(`${r.status()}: ${r.url()}`);
      });
      try {
        const res = await tab.goto(server.url(p.path), { waitUntil: 'load' });
        assert.equal(res.status(), p.status);
      } finally {
        await tab.close();
      }
      assert.deepEqual(problems, []);
    });
  }
});

test('no serious or critical accessibility violations (axe-core)', async (t) => {
  for (const p of pages) {
    await t.test(p.path, async () => {
      const violations = await withPage(axeContext, p.path, async (tab) => {
        await tab.addScriptTag({ content: AXE_SOURCE });
        return tab.evaluate(async () => {
          const r = await window.axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            targets: v.nodes.slice(0, 10).map((n) => n.target.join(' '))
              .concat(v.nodes.length > 10 ? [`…and ${v.nodes.length - 10} more`] : []),
          }));
        });
      });
      const describe = (v) => `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n    ${v.targets.join('\n    ')}`;
      // Minor and moderate findings are reported but do not fail the run.
      for (const v of violations.filter((v) => !['serious', 'critical'].includes(v.impact))) {
        t.diagnostic(`${p.path}: ${describe(v)}`);
      }
      const blocking = violations.filter((v) => ['serious', 'critical'].includes(v.impact));
      assert.equal(blocking.length, 0, `axe violations on ${p.path}:\n${blocking.map(describe).join('\n')}`);
    });
  }
});

test('keyboard: the first Tab reaches the skip link, Enter jumps to #main', async () => {
  await withPage(context, page('article').path, async (tab) => {
    await tab.keyboard.press('Tab');
    const focused = await tab.evaluate(() => {
      const el = document.activeElement;
      const box = el.getBoundingClientRect();
      return {
        tag: el.tagName, text: el.textContent.trim(), href: el.getAttribute('href'),
        // On screen once focused (it is hidden off-screen until then).
        onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0 &&
          box.right <= innerWidth && box.bottom <= innerHeight,
      };
    });
    assert.equal(focused.text, 'Skip to main content', `Tab focused ${JSON.stringify(focused)}`);
    assert.ok(focused.onScreen, 'the focused skip link is not visible on screen');
    await tab.keyboard.press('Enter');
    await tab.waitForURL(/#main$/);
    assert.equal(new URL(tab.url()).hash, '#main');
    // Focus must follow, or the next Tab starts again from the top.
    assert.equal(await tab.evaluate(() => document.activeElement.id), 'main');
  });
});

test('screenshots of the home and article pages', async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const name of ['home', 'article']) {
    await withPage(context, page(name).path, async (tab) => {
      // Cards' images load lazily; scroll through so the full page has them.
      await tab.evaluate(async () => {
        for (let y = 0; y < document.body.scrollHeight; y += innerHeight) {
          scrollTo(0, y);
          await new Promise((r) => setTimeout(r, 50));
        }
        scrollTo(0, 0);
      });
      await tab.waitForLoadState('networkidle');
      await tab.screenshot({ path: join(SCREENSHOT_DIR, `${name}.jpg`), type: 'jpeg', quality: 70, fullPage: true });
    });
  }
});
