// Masthead article editor.
//
// Progressive enhancement of the admin article form: the body <textarea>
// stays in the form (it is what gets submitted) but is hidden, and a Tiptap
// editor mounted after it writes the serialized article into it on every
// change. See README.md for the DOM contract with the server.

import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import { Doc, Embed, Figure, Paywall, PullQuote } from './nodes.js';
import { createSerializer } from './serialize.js';
import { cleanPastedHtml } from './paste.js';
import { askUrl, imageDialog } from './dialogs.js';
import { setupDrafts } from './drafts.js';
import { isSafeEmbedUrl, isSafeHref } from './urls.js';
import { h } from './dom.js';

function readData(script) {
  try {
    const data = JSON.parse(script.textContent);
    return data && typeof data === 'object' ? data : null;
  } catch {
    return null;
  }
}

// "example.com/x" → "https://example.com/x", "a@b.org" → "mailto:a@b.org".
function completeHref(v) {
  if (/^[^\s@/:]+@[^\s@/]+\.[^\s@/]+$/.test(v)) return `mailto:${v}`;
  if (/^[\w-]+(\.[\w-]+)+(:\d+)?([/?#]\S*)?$/.test(v)) return `https://${v}`;
  return v;
}

// ------------------------------------------------------------------ toolbar

// Accessible names are part of the contract (tests click them by name).
const TOOLS = [
  { name: 'Bold', mark: 'bold', run: (c) => c.toggleBold() },
  { name: 'Italic', mark: 'italic', run: (c) => c.toggleItalic() },
  { name: 'Link', action: 'link' },
  { name: 'Heading', active: ['heading', { level: 2 }], run: (c) => c.toggleHeading({ level: 2 }) },
  { name: 'Subheading', active: ['heading', { level: 3 }], run: (c) => c.toggleHeading({ level: 3 }) },
  { name: 'Bulleted list', active: ['bulletList'], run: (c) => c.toggleBulletList() },
  { name: 'Numbered list', active: ['orderedList'], run: (c) => c.toggleOrderedList() },
  { name: 'Quote', active: ['blockquote'], run: (c) => c.toggleBlockquote() },
  { name: 'Pull quote', active: ['pullQuote'], run: (c) => c.togglePullQuote() },
  { name: 'Image', action: 'image' },
  { name: 'Embed', action: 'embed' },
  { name: 'Paywall divider', run: (c) => c.insertPaywall() },
  { name: 'Undo', history: 'undo', run: (c) => c.undo() },
  { name: 'Redo', history: 'redo', run: (c) => c.redo() },
];

function buildToolbar(editor, actions) {
  const bar = h('div', { role: 'toolbar', 'aria-label': 'Formatting', class: 'editor-toolbar' });
  const buttons = TOOLS.map((tool) => {
    const b = h('button', { type: 'button', class: `editor-tool editor-tool-${tool.name.toLowerCase().replace(/ /g, '-')}` }, tool.name);
    if (tool.mark || tool.active) b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => {
      if (b.getAttribute('aria-disabled') === 'true') return;
      if (tool.action) return actions[tool.action]();
      // Focus now (Tiptap's focus command waits a frame), so keys typed
      // right after the click land in the text.
      editor.view.focus();
      tool.run(editor.chain().focus()).run();
    });
    bar.append(b);
    return { tool, b };
  });

  // Roving tabindex (ARIA toolbar pattern): one Tab stop, arrow keys move.
  let current = 0;
  const focusAt = (i) => {
    current = (i + buttons.length) % buttons.length;
    buttons.forEach(({ b }, j) => (b.tabIndex = j === current ? 0 : -1));
    buttons[current].b.focus();
  };
  buttons.forEach(({ b }, i) => {
    b.tabIndex = i === 0 ? 0 : -1;
    b.addEventListener('focus', () => {
      current = i;
      buttons.forEach(({ b: o }, j) => (o.tabIndex = j === i ? 0 : -1));
    });
  });
  bar.addEventListener('keydown', (e) => {
    const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: buttons.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      focusAt(moves[e.key]);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      editor.view.focus();
    }
  });

  // Reflect the selection: pressed toggles, unavailable undo/redo.
  const update = () => {
    for (const { tool, b } of buttons) {
      if (tool.mark) b.setAttribute('aria-pressed', String(editor.isActive(tool.mark)));
      else if (tool.active) b.setAttribute('aria-pressed', String(editor.isActive(...tool.active)));
      else if (tool.history) b.setAttribute('aria-disabled', String(!editor.can()[tool.history]()));
    }
  };
  return { bar, update, focus: () => focusAt(current) };
}

// ------------------------------------------------------------------- mount

function mount() {
  const script = document.getElementById('editor-data');
  if (!script) return;
  const data = readData(script);
  const form = document.getElementById('article-form');
  const textarea = form && form.querySelector('textarea[name="body"]');
  // Without data or form, leave the plain textarea working.
  if (!data || !textarea) return;
  const media = Array.isArray(data.media) ? data.media : [];

  // The label can no longer point at the (hidden) textarea: name the
  // editable area through aria-labelledby instead.
  const baseId = textarea.id || 'a-body';
  const label = textarea.id ? document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`) : null;
  if (label && !label.id) label.id = `${baseId}-label`;
  const hintId = textarea.getAttribute('aria-describedby') || `${baseId}-hint`;

  let status = document.getElementById('editor-status');
  const say = (msg) => {
    const text = Array.isArray(msg) ? msg.map((m) => (typeof m === 'string' ? m : m.textContent)).join('') : msg;
    if (status.textContent === text) return; // do not re-announce
    status.replaceChildren(...[].concat(msg));
  };

  // The editor is built detached; the page is only changed once it exists.
  const wrapper = h('div', { class: 'masthead-editor' });
  const area = h('div', { class: 'editor-area' });

  let editor;
  let drafts = null;
  let serialize;
  const sync = () => {
    if (serialize) textarea.value = serialize(editor.state.doc);
  };

  const editFigure = async (pos) => {
    const node = editor.state.doc.nodeAt(pos);
    if (!node || node.type.name !== 'figure') return;
    const attrs = await imageDialog({ media, library: data.library, current: node.attrs });
    const now = editor.state.doc.nodeAt(pos);
    if (attrs && now && now.type.name === 'figure') {
      editor.chain().focus().setNodeSelection(pos).updateAttributes('figure', attrs).run();
    } else {
      editor.commands.focus();
    }
  };

  const attributes = {
    id: `${baseId}-editor`,
    class: 'editor-content',
    'aria-multiline': 'true',
  };
  if (label) attributes['aria-labelledby'] = label.id;
  if (document.getElementById(hintId)) attributes['aria-describedby'] = hintId;

  let toolbar;
  editor = new Editor({
    element: area,
    injectCSS: false, // styles live in editor.css (works with a strict style-src too)
    content: typeof data.html === 'string' ? data.html : '',
    extensions: [
      StarterKit.configure({
        document: false, // replaced by Doc, which allows the top-level-only blocks
        heading: { levels: [2, 3] }, // the headline is the h1
        code: false,
        codeBlock: false,
        strike: false,
        underline: false,
        horizontalRule: false, // the only rule is the paywall divider
        link: {
          openOnClick: false,
          autolink: true,
          linkOnPaste: true,
          defaultProtocol: 'https',
          HTMLAttributes: { target: null, rel: null, class: null },
          isAllowedUri: (url) => isSafeHref(url),
        },
      }),
      Doc,
      PullQuote,
      Figure.configure({ media, onEdit: editFigure }),
      Embed,
      Paywall,
    ],
    editorProps: {
      attributes,
      transformPastedHTML: cleanPastedHtml,
      handleKeyDown: (view, e) => {
        // Alt+F10: jump to the toolbar (common editor convention).
        if (e.altKey && e.key === 'F10') {
          e.preventDefault();
          toolbar.focus();
          return true;
        }
        return false;
      },
    },
    onUpdate: () => {
      sync();
      if (drafts) drafts.changed();
    },
    onTransaction: () => toolbar && toolbar.update(),
  });
  serialize = createSerializer(editor.schema);

  const actions = {
    link: async () => {
      const old = editor.getAttributes('link').href || '';
      const value = await askUrl({
        title: 'Link',
        label: 'Link address',
        hint: 'Starts with https://, http:// or mailto:. Leave empty to remove the link.',
        value: old,
        submitText: 'Apply',
        check: (v) => (v === '' || isSafeHref(completeHref(v)) ? '' : 'Use an address that starts with https://, http:// or mailto:.'),
      });
      const chain = editor.chain().focus();
      if (value === null) return void chain.run();
      if (value === '') return void chain.extendMarkRange('link').unsetLink().run();
      const href = completeHref(value);
      const { empty } = editor.state.selection;
      if (empty && !editor.isActive('link')) {
        // Nothing selected: insert the address itself as linked text.
        chain.insertContent({ type: 'text', text: href, marks: [{ type: 'link', attrs: { href } }] }).run();
      } else {
        chain.extendMarkRange('link').setLink({ href }).run();
      }
    },
    image: async () => {
      const attrs = await imageDialog({ media, library: data.library });
      const chain = editor.chain().focus();
      if (attrs) chain.insertFigure(attrs);
      chain.run();
    },
    embed: async () => {
      const url = await askUrl({
        title: 'Embed',
        label: 'Address of the post or video to embed',
        hint: 'Starts with https:// or http://.',
        submitText: 'Insert',
        check: (v) => (isSafeEmbedUrl(v) ? '' : 'Use an address that starts with https:// or http://.'),
      });
      const chain = editor.chain().focus();
      if (url) chain.insertEmbed(url);
      chain.run();
    },
  };

  toolbar = buildToolbar(editor, actions);
  wrapper.append(toolbar.bar, area);
  toolbar.update();

  textarea.after(wrapper);
  textarea.hidden = true;
  textarea.style.display = 'none'; // even if page CSS overrides [hidden]
  textarea.required = false; // a hidden required field would block submit
  if (label) {
    label.removeAttribute('for');
    label.addEventListener('click', () => editor.commands.focus());
  }
  if (!status) {
    status = h('p', { id: 'editor-status', role: 'status', 'aria-live': 'polite' });
    wrapper.after(status);
  }

  // The page's body becomes the serialized editor content right away, so
  // what is submitted is exactly what the editor shows.
  sync();

  drafts = setupDrafts({
    form,
    snapshot: () => ({ body: serialize(editor.state.doc), html: editor.getHTML() }),
    // The copy is the editor's own HTML: keep its spaces exactly.
    restoreHtml: (html) => editor.commands.setContent(html, { parseOptions: { preserveWhitespace: true } }),
    say,
    focusEditor: () => editor.commands.focus(),
  });
  drafts.offer();

  // The submit itself is left alone: just make sure the textarea is current
  // and the local copy is written (it is kept until the save is confirmed).
  form.addEventListener('submit', () => {
    sync();
    drafts.flush();
  });
}

function start() {
  try {
    mount();
  } catch (e) {
    // Most failures happen before the page is touched, leaving the plain
    // textarea in place; report for the developer console.
    console.error('Masthead editor failed to start:', e);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
