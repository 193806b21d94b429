// Keeping the writer's work safe:
//  - a local copy in localStorage on every change (works offline, for new
//    articles, and when the session has expired), offered back on reload;
//  - server autosave every 10 s while there are unsaved changes, when the
//    form has data-autosave.

import { h } from './dom.js';

// Form fields that are not part of the article's content.
const SKIP = new Set(['csrf', 'revision', 'action', 'body']);
const NOT_FIELDS = new Set(['button', 'submit', 'reset', 'image', 'file', 'password']);
const NEW_ARTICLE_KEY = 'masthead-draft-new';

const isField = (e) =>
  e && e.name && !SKIP.has(e.name) && /^(INPUT|SELECT|TEXTAREA)$/.test(e.tagName) && !NOT_FIELDS.has(e.type);

// {name: value} for the form's fields; checkbox groups and multiple selects
// give arrays, repeated names give arrays in document order.
export function readFields(form) {
  const out = {};
  for (const e of form.elements) {
    if (!isField(e)) continue;
    const name = e.name;
    if (e.type === 'checkbox') {
      if (!Array.isArray(out[name])) out[name] = [];
      if (e.checked) out[name].push(e.value);
    } else if (e.type === 'radio') {
      if (!(name in out)) out[name] = '';
      if (e.checked) out[name] = e.value;
    } else if (e.type === 'select-multiple') {
      out[name] = Array.from(e.selectedOptions, (o) => o.value);
    } else if (name in out) {
      out[name] = [].concat(out[name], e.value);
    } else {
      out[name] = e.value;
    }
  }
  return out;
}

// Puts stored values back, firing input/change so other page scripts notice.
function writeFields(form, fields) {
  const seen = {};
  for (const e of form.elements) {
    if (!isField(e) || !(e.name in fields)) continue;
    const v = fields[e.name];
    let changed = false;
    if (e.type === 'checkbox' || e.type === 'radio') {
      const on = e.type === 'checkbox' ? [].concat(v).includes(e.value) : v === e.value;
      changed = e.checked !== on;
      e.checked = on;
    } else if (e.type === 'select-multiple') {
      const want = [].concat(v);
      for (const o of e.options) {
        changed = changed || o.selected !== want.includes(o.value);
        o.selected = want.includes(o.value);
      }
    } else {
      const i = (seen[e.name] = (seen[e.name] ?? -1) + 1);
      const next = String(Array.isArray(v) ? v[i] ?? '' : v ?? '');
      changed = e.value !== next;
      e.value = next;
    }
    if (changed) {
      e.dispatchEvent(new Event('input', { bubbles: true }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }
}

const pad = (n) => String(n).padStart(2, '0');
const clock = (ms) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const asRevision = (v) => (/^\d+$/.test(v) ? Number(v) : v);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function load(key) {
  try {
    const entry = JSON.parse(localStorage.getItem(key));
    return entry && typeof entry === 'object' ? entry : null;
  } catch {
    return null;
  }
}
function remove(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    /* storage disabled: nothing to remove */
  }
}

// snapshot() → {body, html} of the editor; restoreHtml(html) puts content
// back; say(message | nodes) writes #editor-status.
export function setupDrafts({ form, snapshot, restoreHtml, say, focusEditor }) {
  const key = form.dataset.storageKey || '';
  const autosaveUrl = form.dataset.autosave || '';
  const loginUrl = form.dataset.login || '';
  const revisionInput = form.querySelector('input[name="revision"]');
  const revision = () => (revisionInput ? revisionInput.value : '');

  let changes = 0; // bumped on every change
  let autosaved = 0; // value of `changes` the server last accepted
  let refused = -1; // value of `changes` the server refused (413/422)
  let timer = null;

  function store() {
    clearTimeout(timer);
    timer = null;
    if (!key) return;
    const { body, html } = snapshot();
    const entry = { revision: asRevision(revision()), saved_at: Date.now(), body, html, fields: readFields(form) };
    try {
      localStorage.setItem(key, JSON.stringify(entry));
    } catch {
      /* quota exceeded or storage disabled: server autosave still runs */
    }
  }

  // Called for every change of the editor or a form field.
  function changed() {
    changes++;
    clearTimeout(timer);
    timer = setTimeout(store, 500);
  }

  // Write a pending local copy now (submit, page hide).
  function flush() {
    if (timer) store();
  }

  form.addEventListener('input', (e) => isField(e.target) && changed());
  form.addEventListener('change', (e) => isField(e.target) && changed());
  window.addEventListener('pagehide', flush);

  // ------------------------------------------------------------ restore offer
  function offer() {
    if (!key) return;
    const saved = new URLSearchParams(location.search).get('saved') === '1';
    const current = snapshot().body;
    if (saved && key !== NEW_ARTICLE_KEY) {
      // A new article's copy lives under the "new" key; once it has been
      // saved as this article, it must not be offered to the next new one.
      const fresh = load(NEW_ARTICLE_KEY);
      const headline = form.querySelector('[name="headline"]');
      if (
        fresh &&
        ((fresh.body && fresh.body === current) ||
          (headline && headline.value && fresh.fields && fresh.fields.headline === headline.value))
      ) {
        remove(NEW_ARTICLE_KEY);
      }
    }
    const entry = load(key);
    if (!entry) return;
    // Saved since the copy was taken: the copy is obsolete.
    if (saved && Number(entry.revision) < Number(revision())) {
      remove(key);
      return;
    }
    // A different revision means someone saved since: keep it, do not offer.
    if (String(entry.revision) !== String(revision())) return;
    const fields = readFields(form);
    const stored = entry.fields || {};
    const differs =
      entry.body !== current || Object.keys(stored).some((n) => n in fields && !same(stored[n], fields[n]));
    if (!differs) return;

    const time = clock(entry.saved_at);
    const textId = `${key}-restore-text`;
    const banner = h(
      'div',
      { class: 'editor-restore', role: 'region', 'aria-labelledby': textId },
      h('p', { id: textId }, `Unsaved changes from ${time} are kept in this browser.`),
      h('button', { type: 'button', onclick: restore }, 'Restore them'),
      h('button', { type: 'button', onclick: discard }, 'Discard'),
    );
    form.parentNode.insertBefore(banner, form);

    function restore() {
      banner.remove();
      writeFields(form, stored);
      // Fallback for copies without editor HTML: the body with a real divider.
      restoreHtml(entry.html || (entry.body || '').split('<!-- paywall -->').join('<hr data-paywall="">'));
      changed();
      say(`Restored the changes from ${time}.`);
      focusEditor();
    }
    function discard() {
      banner.remove();
      remove(key);
      say('Discarded the changes that were kept in this browser.');
      focusEditor();
    }
  }

  // ---------------------------------------------------------- server autosave
  let busy = false;
  let conflict = false;

  function expired() {
    const parts = ['Your session has expired. Your changes are kept in this browser: '];
    parts.push(loginUrl ? h('a', { href: loginUrl, target: '_blank', rel: 'noopener' }, 'log in again') : 'log in again');
    parts.push(', then press Save.');
    say(parts);
  }

  async function autosave() {
    if (!autosaveUrl || busy || conflict || changes === autosaved || changes === refused) return;
    busy = true;
    const at = changes;
    try {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (typeof v === 'string') params.append(k, v);
      params.set('action', 'autosave');
      let res;
      try {
        res = await fetch(autosaveUrl, {
          method: 'POST',
          body: params,
          credentials: 'same-origin',
          redirect: 'manual',
          headers: { Accept: 'application/json' },
        });
      } catch {
        say('Offline: changes are kept in this browser.');
        return;
      }
      const json = () => res.json().catch(() => null);
      if (res.type === 'opaqueredirect' || res.status === 401) {
        expired(); // retried on the next tick
      } else if (res.status === 403 || res.status === 404) {
        // A page from an old session, a role that may not, a deleted
        // article: the server says which; the text stays in this browser.
        refused = at;
        const data = await json();
        say(`${data && data.error ? String(data.error) : 'Autosave was refused.'} Your changes are kept in this browser.`);
      } else if (res.status === 409) {
        conflict = true; // every later autosave would be refused too
        say('Someone else saved this article since you opened it. Your changes are kept in this browser.');
      } else if (res.status === 413 || res.status === 422) {
        refused = at; // same content would be refused again: wait for a change
        const data = await json();
        say(data && data.error ? String(data.error) : `Autosave was refused (error ${res.status}).`);
      } else if (res.ok) {
        const data = await json();
        if (data && data.saved_at) {
          autosaved = at;
          say(`Autosaved at ${data.saved_at} (not yet published: press Save to keep it in the article)`);
        } else {
          say('Autosave failed: unexpected answer from the server. Your changes are kept in this browser.');
        }
      } else {
        say(`Autosave failed (server error ${res.status}). Your changes are kept in this browser.`);
      }
    } catch {
      say('Autosave failed. Your changes are kept in this browser.');
    } finally {
      busy = false;
    }
  }

  if (autosaveUrl) {
    setInterval(autosave, 10000);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') {
        flush();
        autosave();
      }
    });
  }

  return { changed, flush, offer };
}
