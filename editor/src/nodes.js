// Custom Tiptap nodes for Masthead articles: pull quote, figure, embed and
// the paywall divider, plus the document node that keeps the article-level
// blocks (figure, embed, paywall, pull quote) at the top level, where the
// server looks for them.

import { Node } from '@tiptap/core';
import { Plugin, PluginKey, Selection, TextSelection } from '@tiptap/pm/state';
import { isSafeEmbedUrl, isSafeImageSrc } from './urls.js';

export const SIZES = '(max-width: 760px) 100vw, 760px';
export const PAYWALL_LABEL = 'Paywall: readers who are not entitled stop here';

// Top-level only group; every other block may also nest in lists and quotes.
const TOP = 'topBlock';

export const Doc = Node.create({
  name: 'doc',
  topNode: true,
  content: `(block | ${TOP})+`,
});

const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();

// Insert `node` between top-level blocks as close to the cursor as possible:
// an empty paragraph is replaced, a paragraph or heading is split at the
// cursor, anything nested (lists, quotes) gets the node after it.
export function insertTopLevel(tr, node) {
  const sel = tr.selection;
  const { $from } = sel;
  let pos;
  let replaceTo = null;
  if ($from.depth === 0) {
    pos = sel.node ? sel.to : $from.pos;
  } else {
    const top = $from.node(1);
    if ($from.depth === 1 && top.isTextblock) {
      if (top.content.size === 0) {
        pos = $from.before(1);
        replaceTo = $from.after(1);
      } else if ($from.parentOffset === 0) {
        pos = $from.before(1);
      } else if ($from.parentOffset === top.content.size) {
        pos = $from.after(1);
      } else {
        tr.split($from.pos);
        pos = $from.pos + 1;
      }
    } else {
      pos = $from.after(1);
    }
  }
  if (replaceTo === null) tr.insert(pos, node);
  else tr.replaceWith(pos, replaceTo, node);
  // Put the cursor in the block after the new node, making one at the end.
  let after = pos + node.nodeSize;
  if (after >= tr.doc.content.size) {
    tr.insert(after, tr.doc.type.schema.nodes.paragraph.create());
    tr.setSelection(TextSelection.create(tr.doc, after + 1));
  } else {
    tr.setSelection(Selection.near(tr.doc.resolve(after), 1));
  }
  return tr.scrollIntoView();
}

// Node views of atoms keep double clicks to themselves: ProseMirror would
// try to select a word at the block boundary (and log a warning).
const multiClick = (e) => e.type === 'mousedown' && e.detail > 1;

// Small DOM helper for node views.
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------- pull quote

export const PullQuote = Node.create({
  name: 'pullQuote',
  group: TOP,
  content: 'paragraph+',
  defining: true,
  parseHTML() {
    return [{ tag: 'aside.pullquote' }];
  },
  renderHTML() {
    return ['aside', { class: 'pullquote' }, 0];
  },
  addCommands() {
    return {
      togglePullQuote: () => ({ commands }) => commands.toggleWrap(this.name),
    };
  },
});

// -------------------------------------------------------------------- figure

// `media` is editor-data.media; used to find the library id of a parsed image.
function mediaIdFor(media, src) {
  const hit = media.find((m) => m && m.src === src);
  return hit ? hit.id : null;
}

export const Figure = Node.create({
  name: 'figure',
  group: TOP,
  atom: true,
  draggable: true,
  selectable: true,

  addOptions() {
    return { media: [], onEdit: null };
  },

  addAttributes() {
    // Rendered by renderHTML below, not by Tiptap's attribute machinery.
    const attr = (d) => ({ default: d, rendered: false });
    return {
      src: attr(null),
      srcset: attr(null),
      alt: attr(''),
      caption: attr(''),
      credit: attr(''),
      mediaId: attr(null),
    };
  },

  parseHTML() {
    const media = this.options.media || [];
    const fromImg = (img) => {
      const src = img.getAttribute('src');
      if (!isSafeImageSrc(src)) return false;
      return {
        src,
        srcset: img.getAttribute('srcset') || null,
        alt: img.getAttribute('alt') || '',
        caption: squash(img.getAttribute('title')),
        credit: '',
        mediaId: mediaIdFor(media, src),
      };
    };
    return [
      {
        // The form this editor writes.
        tag: 'figure',
        getAttrs: (dom) => {
          const img = dom.querySelector('img');
          const attrs = img && fromImg(img);
          if (!attrs) return false;
          const cap = dom.querySelector('figcaption');
          let caption = '';
          let credit = '';
          if (cap) {
            const copy = cap.cloneNode(true);
            const c = copy.querySelector('.credit');
            if (c) {
              credit = squash(c.textContent);
              c.remove();
            }
            caption = squash(copy.textContent);
          }
          return { ...attrs, caption, credit };
        },
      },
      {
        // A paragraph holding only an image (old Markdown articles): the
        // whole paragraph becomes the figure, leaving no empty paragraph.
        tag: 'p',
        priority: 60,
        getAttrs: (p) => {
          const img = p.querySelector('img');
          if (!img || p.children.length !== 1 || squash(p.textContent)) return false;
          return fromImg(img);
        },
      },
      // Any other bare image (pastes, images inside text): title → caption.
      { tag: 'img[src]', getAttrs: fromImg },
    ];
  },

  renderHTML({ node }) {
    const a = node.attrs;
    const img = [
      'img',
      { src: a.src, srcset: a.srcset || null, alt: a.alt || '', sizes: a.srcset ? SIZES : null },
    ];
    const cap = [];
    if (a.caption) cap.push(a.caption);
    if (a.credit) {
      if (a.caption) cap.push(' ');
      cap.push(['span', { class: 'credit' }, a.credit]);
    }
    return cap.length ? ['figure', img, ['figcaption', ...cap]] : ['figure', img];
  },

  addNodeView() {
    return ({ node, getPos }) => {
      const dom = el('figure', 'editor-figure');
      const img = el('img');
      const cap = el('figcaption');
      const edit = el('button', 'editor-figure-edit', 'Edit image');
      edit.type = 'button';
      dom.append(img, cap, edit);

      const render = (n) => {
        const a = n.attrs;
        img.src = a.src || '';
        if (a.srcset) {
          img.srcset = a.srcset;
          img.sizes = SIZES;
        } else {
          img.removeAttribute('srcset');
          img.removeAttribute('sizes');
        }
        img.alt = a.alt || '';
        cap.replaceChildren();
        if (a.caption) cap.append(a.caption);
        if (a.credit) cap.append(a.caption ? ' ' : '', el('span', 'credit', a.credit));
        // Missing alt text is shown to the editor, not hidden.
        if (!a.alt) cap.append(el('span', 'editor-figure-noalt', ' (no alt text)'));
      };
      render(node);

      const open = (e) => {
        e.preventDefault();
        const pos = typeof getPos === 'function' ? getPos() : null;
        if (typeof pos === 'number' && this.options.onEdit) this.options.onEdit(pos);
      };
      edit.addEventListener('click', open);
      dom.addEventListener('dblclick', open);

      return {
        dom,
        update: (n) => {
          if (n.type !== node.type) return false;
          node = n;
          render(n);
          return true;
        },
        // Let the edit button have its own clicks and keys.
        stopEvent: (e) => e.target === edit || multiClick(e),
        ignoreMutation: () => true,
      };
    };
  },

  addKeyboardShortcuts() {
    return {
      // Enter on a selected figure edits it (keyboard route to "Edit image").
      Enter: ({ editor }) => {
        const sel = editor.state.selection;
        if (sel.node && sel.node.type.name === this.name && this.options.onEdit) {
          this.options.onEdit(sel.from);
          return true;
        }
        return false;
      },
    };
  },

  addCommands() {
    return {
      insertFigure: (attrs) => ({ tr, dispatch }) => {
        if (dispatch) insertTopLevel(tr, this.type.create(attrs));
        return true;
      },
    };
  },
});

// --------------------------------------------------------------------- embed

export const Embed = Node.create({
  name: 'embed',
  group: TOP,
  atom: true,
  draggable: true,
  selectable: true,

  addAttributes() {
    return { url: { default: null, rendered: false } };
  },

  parseHTML() {
    return [
      {
        tag: 'p.embed',
        priority: 100, // before the plain paragraph rule
        getAttrs: (dom) => {
          const a = dom.querySelector('a[href]');
          const url = (a ? a.getAttribute('href') : dom.textContent || '').trim();
          return isSafeEmbedUrl(url) ? { url } : false;
        },
      },
    ];
  },

  renderHTML({ node }) {
    const url = node.attrs.url;
    return ['p', { class: 'embed' }, ['a', { href: url }, url]];
  },

  addNodeView() {
    return ({ node }) => {
      const dom = el('div', 'editor-embed');
      const label = el('span', 'editor-embed-label', 'Embed: ');
      const url = el('span', 'editor-embed-url');
      dom.append(label, url);
      const render = (n) => {
        url.textContent = n.attrs.url || '';
      };
      render(node);
      return {
        dom,
        update: (n) => {
          if (n.type !== node.type) return false;
          node = n;
          render(n);
          return true;
        },
        stopEvent: multiClick,
        ignoreMutation: () => true,
      };
    };
  },

  addCommands() {
    return {
      insertEmbed: (url) => ({ tr, dispatch }) => {
        if (!isSafeEmbedUrl(url)) return false;
        if (dispatch) insertTopLevel(tr, this.type.create({ url: url.trim() }));
        return true;
      },
    };
  },
});

// ------------------------------------------------------------------- paywall

function paywallPositions(doc) {
  const out = [];
  doc.forEach((n, pos) => {
    if (n.type.name === 'paywall') out.push(pos);
  });
  return out;
}

export const Paywall = Node.create({
  name: 'paywall',
  group: TOP,
  atom: true,
  draggable: true,
  selectable: true,

  parseHTML() {
    return [{ tag: 'hr[data-paywall]' }];
  },

  renderHTML() {
    return ['hr', { 'data-paywall': '' }];
  },

  addNodeView() {
    return () => {
      const dom = el('div', 'editor-paywall', PAYWALL_LABEL);
      return { dom, stopEvent: multiClick, ignoreMutation: () => true };
    };
  },

  addCommands() {
    return {
      // The plugin below removes the old divider once the new one is in.
      insertPaywall: () => ({ tr, dispatch }) => {
        if (dispatch) insertTopLevel(tr, this.type.create());
        return true;
      },
    };
  },

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('singlePaywall'),
        // At most one divider: when a change (insert, paste, drop) leaves two
        // or more, keep the new one and drop those that were there before.
        appendTransaction(trs, oldState, newState) {
          if (!trs.some((t) => t.docChanged)) return null;
          const now = paywallPositions(newState.doc);
          if (now.length < 2) return null;
          const old = new Set(
            paywallPositions(oldState.doc).map((p) => trs.reduce((q, t) => t.mapping.map(q), p)),
          );
          let drop = now.filter((p) => old.has(p));
          if (drop.length === now.length) drop = now.slice(0, -1);
          const tr = newState.tr;
          drop.reverse().forEach((p) => tr.delete(p, p + 1));
          return tr;
        },
      }),
    ];
  },
});
