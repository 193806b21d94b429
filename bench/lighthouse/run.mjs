// Lighthouse (the pinned npm package) over the demo publication's article
// and home pages: desktop preset, Debian's Chromium, loopback only.
// Prints each category's score (target: 100 in all four) and the audits
// that cost points.
//
//   cargo build --release && bench/lighthouse/run [--bin PATH]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lighthouse from 'lighthouse';
import desktop from 'lighthouse/core/config/desktop-config.js';
import * as chromeLauncher from 'chrome-launcher';

const args = process.argv.slice(2);
const bin = args.includes('--bin') ? args[args.indexOf('--bin') + 1] : 'target/release/masthead';
const chromePath = process.env.CHROMIUM || '/usr/bin/chromium';

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const data = await mkdtemp(join(tmpdir(), 'masthead-lighthouse-'));
const server = spawn(bin, ['--data-dir', data, 'serve', '--demo', '--listen', `127.0.0.1:${port}`], {
  env: { ...process.env, MASTHEAD_LOG: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
let chrome;
try {
  let home;
  for (let i = 0; i < 600 && !home; i++) {
    try {
      const r = await fetch(base + '/');
      if (r.ok) home = await r.text();
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (!home) throw new Error('the demo server did not answer');
  const article = home.match(/class="card-headline"><a href="(\/[a-z0-9-]+)"/)?.[1];
  if (!article) throw new Error('no article on the home page');
  chrome = await chromeLauncher.launch({
    chromePath,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
  });
  let worst = 100;
  for (const [name, path] of [['article', article], ['home', '/']]) {
    const result = await lighthouse(base + path, { port: chrome.port, output: 'json', logLevel: 'error' }, desktop);
    const lhr = result.lhr;
    const scores = Object.values(lhr.categories).map((c) => [c.title, Math.round(c.score * 100)]);
    console.log(`${name} (${path}): ` + scores.map(([t, s]) => `${t} ${s}`).join(', '));
    for (const [, s] of scores) worst = Math.min(worst, s);
    for (const c of Object.values(lhr.categories)) {
      if (c.score === 1) continue;
      for (const ref of c.auditRefs) {
        const a = lhr.audits[ref.id];
        if (ref.weight > 0 && a.score !== null && a.score < 1) {
          console.log(`  ${c.title}: ${a.title} (${a.displayValue || Math.round(a.score * 100)})`);
        }
      }
    }
  }
  console.log(`lowest category score: ${worst} (target 100)`);
} finally {
  if (chrome) await chrome.kill();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(data, { recursive: true, force: true });
}
