// Ghost's official API clients (@tryghost/content-api and
// @tryghost/admin-api, pinned in package.json) against one demo server:
// every endpoint they have that Masthead implements, in the versions
// clients configure, with the keys of an integration made by `masthead
// integrations add`. A gated post comes back from the Content API with
// `access: false` and only its preview; a post written through the Admin
// API shows on the site once published.
//
// Run through tests/browser/run (it sets MASTHEAD_BIN). Nothing here is
// ever skipped.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import GhostAdminAPI from '@tryghost/admin-api';
import GhostContentAPI from '@tryghost/content-api';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { png } from './png.mjs';
import { startServer } from './server.mjs';

/** Text of the demo's subscribers-only analysis, past its preview. */
const PAST_PREVIEW = 'The biggest gains are in Northgate';

let server;
let key;
let adminKey;

/** `masthead integrations add`, against the running server's data directory. */
async function addIntegration(name) {
  const { stdout } = await promisify(execFile)(process.env.MASTHEAD_BIN,
    ['--data-dir', server.dataDir, 'integrations', 'add', name, '--role', 'administrator'],
    { cwd: server.dataDir, env: { ...process.env, MASTHEAD_LOG: 'warn' } });
  const content = /Content API key: ([0-9a-f]{26})/.exec(stdout);
  const admin = /Admin API key:\s+([0-9a-f]{24}:[0-9a-f]{64})/.exec(stdout);
  assert.ok(content && admin, `integrations add printed its keys: ${stdout}`);
  return { content: content[1], admin: admin[1] };
}

function client(version = 'v5.0', k = key) {
  return new GhostContentAPI({ url: server.origin, key: k, version });
}

before(async () => {
  server = await startServer();
  ({ content: key, admin: adminKey } = await addIntegration('Ghost clients'));
  // The server learns of the new key within a second (the settings
  // counter it polls).
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client().settings.browse();
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the new key never worked: ${e.message}\n${server.log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

after(async () => {
  await server?.stop();
});

test('posts: browse with Ghost’s parameters, read by slug and id', async () => {
  const api = client();
  const posts = await api.posts.browse({ limit: 5, include: 'tags,authors' });
  assert.equal(posts.length, 5);
  assert.equal(posts.meta.pagination.page, 1);
  assert.equal(posts.meta.pagination.limit, 5);
  assert.equal(posts.meta.pagination.next, 2);
  assert.ok(posts.meta.pagination.total > 20);
  for (const p of posts) {
    assert.match(p.id, /^[0-9a-f]{24}$/);
    assert.ok(p.url.startsWith(server.origin));
    assert.ok(Array.isArray(p.tags) && Array.isArray(p.authors));
    assert.ok(p.primary_author && !('email' in p.primary_author));
  }
  const page2 = await api.posts.browse({ limit: 5, page: 2 });
  assert.equal(page2.meta.pagination.prev, 1);
  assert.ok(!page2.some((p) => posts.some((q) => q.id === p.id)));

  const transit = await api.posts.browse({ filter: 'tag:transit', include: 'tags', limit: 'all' });
  assert.ok(transit.length > 0);
  for (const p of transit) assert.ok(p.tags.some((t) => t.slug === 'transit'));
  const titled = await api.posts.browse({ order: 'title asc', fields: 'title,slug', limit: 'all' });
  assert.deepEqual(Object.keys(titled[0]).sort(), ['slug', 'title']);
  const titles = titled.map((p) => p.title);
  assert.deepEqual(titles, [...titles].sort());

  const one = await api.posts.read({ slug: 'central-library-sunday-hours-return' }, { formats: ['html', 'plaintext'] });
  assert.equal(one.slug, 'central-library-sunday-hours-return');
  assert.equal(one.access, true);
  assert.ok(one.plaintext.length > 100);
  const byId = await api.posts.read({ id: one.id });
  assert.equal(byId.slug, one.slug);
});

test('a gated post is its preview, with access false', async () => {
  const post = await client().posts.read({ slug: 'bus-redesign-winners-and-losers' }, { formats: 'html,plaintext' });
  assert.equal(post.access, false);
  assert.equal(post.visibility, 'paid');
  assert.ok(post.html.length > 0);
  assert.ok(!post.html.includes(PAST_PREVIEW) && !post.plaintext.includes(PAST_PREVIEW));
  const all = await client().posts.browse({ limit: 'all', formats: 'html,plaintext' });
  assert.ok(!JSON.stringify(all).includes(PAST_PREVIEW));
});

test('pages, tags, authors, tiers and settings', async () => {
  const api = client();
  const pages = await api.pages.browse();
  assert.ok(pages.some((p) => p.slug === 'terms'));
  const terms = await api.pages.read({ slug: 'terms' });
  assert.ok(terms.html.length > 50);
  const tags = await api.tags.browse({ include: 'count.posts', limit: 'all' });
  const transit = tags.find((t) => t.slug === 'transit');
  assert.ok(transit.count.posts >= 3);
  const tag = await api.tags.read({ slug: 'transit' }, { include: 'count.posts' });
  assert.equal(tag.count.posts, transit.count.posts);
  assert.equal((await api.tags.read({ id: tag.id })).slug, 'transit');
  const authors = await api.authors.browse({ include: 'count.posts' });
  assert.ok(authors.length >= 3);
  assert.ok(!JSON.stringify(authors).includes('@'));
  const mara = await api.authors.read({ slug: 'mara-oyelaran' });
  assert.equal(mara.name, 'Mara Oyelaran');
  const tiers = await api.tiers.browse({ include: 'monthly_price,yearly_price,benefits' });
  assert.equal(tiers[0].type, 'free');
  assert.equal(tiers[1].type, 'paid');
  assert.ok(tiers[1].monthly_price > 0 && tiers[1].yearly_price > tiers[1].monthly_price);
  const settings = await api.settings.browse();
  assert.equal(settings.title, 'The Harbour Ledger');
  assert.ok(Array.isArray(settings.navigation));
});

test('every version a client may be configured with', async () => {
  for (const version of ['v2', 'v3', 'v4', 'v4.0', 'v5.0', 'v6.0', 'canary', true, false]) {
    const posts = await client(version).posts.browse({ limit: 2 });
    assert.equal(posts.length, 2, `version ${version}`);
  }
});

test('errors come back in Ghost’s shape', async () => {
  await assert.rejects(client('v5.0', '0123456789abcdef0123456789').posts.browse(), (e) => {
    assert.equal(e.name, 'UnauthorizedError');
    assert.equal(e.response.status, 401);
    return true;
  });
  await assert.rejects(client().posts.read({ slug: 'free-school-meals-pilot-expansion' }), (e) => {
    assert.equal(e.name, 'NotFoundError', 'a draft does not exist');
    return true;
  });
  await assert.rejects(client().posts.browse({ filter: 'html:~secret' }), (e) => {
    assert.equal(e.name, 'BadRequestError');
    return true;
  });
});

function admin(version = 'v5.0') {
  return new GhostAdminAPI({ url: server.origin, key: adminKey, version });
}

test('the Admin API client writes a post from html, publishes, edits and deletes it', async () => {
  const api = admin();
  const site = await api.site.read();
  assert.equal(site.title, 'The Harbour Ledger');
  const drafts = await api.posts.browse({ filter: 'status:draft', limit: 'all' });
  assert.ok(drafts.length > 0 && drafts.every((p) => p.status === 'draft'));
  const made = await api.posts.add(
    { title: 'Pier lights switched back on', html: '<p>The lights are back.</p><script>alert(1)</script>', tags: ['Pier works'] },
    { source: 'html' },
  );
  assert.equal(made.status, 'draft');
  assert.ok(!made.html.includes('script'));
  assert.deepEqual(made.tags.map((t) => t.slug), ['pier-works']);
  const published = await api.posts.edit({ id: made.id, updated_at: made.updated_at, status: 'published', visibility: 'public' });
  assert.equal(published.status, 'published');
  // The reader site and the Content API have it.
  const page = await fetch(server.url(`/${published.slug}`));
  assert.equal(page.status, 200);
  assert.ok((await page.text()).includes('The lights are back.'));
  const read = await client().posts.read({ id: made.id });
  assert.equal(read.access, true);
  // An edit from a stale copy is Ghost's collision error and changes nothing.
  await assert.rejects(api.posts.edit({ id: made.id, updated_at: made.updated_at, title: 'Overwritten' }), (e) => {
    assert.equal(e.name, 'UpdateCollisionError');
    return true;
  });
  const edited = await api.posts.edit(
    { id: made.id, updated_at: published.updated_at, title: 'Pier lights back on', html: '<p>The lights are on again.</p>' },
    { source: 'html' },
  );
  assert.equal(edited.title, 'Pier lights back on');
  assert.ok(edited.html.includes('on again'));
  assert.equal((await api.posts.read({ id: made.id })).title, 'Pier lights back on');
  await api.posts.delete({ id: made.id });
  await assert.rejects(api.posts.read({ id: made.id }), (e) => e.name === 'NotFoundError');
  assert.equal((await fetch(server.url(`/${published.slug}`))).status, 404);
});

test('the Admin API client under older versions, and a wrong key', async () => {
  for (const version of ['v4', 'v5.0', 'canary']) {
    const posts = await admin(version).posts.browse({ limit: 2 });
    assert.equal(posts.length, 2, `version ${version}`);
  }
  const wrong = new GhostAdminAPI({ url: server.origin, key: `${'0'.repeat(24)}:${'1'.repeat(64)}`, version: 'v5.0' });
  await assert.rejects(wrong.posts.browse(), (e) => e.name === 'UnauthorizedError');
});

test('the Admin API client uploads an image and leads a post with it', async () => {
  const api = admin();
  const file = join(server.dataDir, 'upload-test.png');
  await writeFile(file, png(800, 500));
  const image = await api.images.upload({ file, ref: 'lead' });
  assert.equal(image.ref, 'lead');
  assert.ok(image.url.startsWith(`${server.origin}/media/`));
  assert.equal((await fetch(image.url)).status, 200);
  const post = await api.posts.add(
    { title: 'Dusk on the pier', html: '<p>Quiet evening.</p>', feature_image: image.url, feature_image_alt: 'The pier at dusk' },
    { source: 'html' },
  );
  assert.equal(post.feature_image, image.url);
  const text = join(server.dataDir, 'notes.txt');
  await writeFile(text, 'not an image');
  await assert.rejects(api.images.upload({ file: text }), (e) => e.name === 'UnsupportedMediaTypeError');
});

test('the Admin API client adds, edits and deletes a tag', async () => {
  const api = admin();
  const tag = await api.tags.add({ name: 'Lifeboat station', description: 'The crew and their calls.' });
  assert.equal(tag.slug, 'lifeboat-station');
  const edited = await api.tags.edit({ id: tag.id, name: 'Lifeboat station news' });
  assert.equal(edited.name, 'Lifeboat station news');
  assert.equal((await api.tags.read({ slug: 'lifeboat-station' })).id, tag.id);
  assert.equal((await fetch(server.url('/topics/lifeboat-station'))).status, 200);
  await api.tags.delete({ id: tag.id });
  await assert.rejects(api.tags.read({ id: tag.id }), (e) => e.name === 'NotFoundError');
});

test('the Admin API client adds and edits a page', async () => {
  const api = admin();
  const page = await api.pages.add({ title: 'How we fund our journalism', html: '<p>Readers pay for it.</p>' }, { source: 'html' });
  assert.equal(page.slug, 'how-we-fund-our-journalism');
  const edited = await api.pages.edit(
    { id: page.id, updated_at: page.updated_at, html: '<p>Readers pay for it, and nobody else.</p>' },
    { source: 'html' },
  );
  assert.ok(edited.html.includes('nobody else'));
  const site = await fetch(server.url('/pages/how-we-fund-our-journalism'));
  assert.ok((await site.text()).includes('nobody else'));
  assert.ok((await client().pages.browse({ limit: 'all' })).some((p) => p.id === page.id));
});
