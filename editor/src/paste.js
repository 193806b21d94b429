// Cleans HTML pasted from Word, Google Docs and web pages before ProseMirror
// parses it, so that only the schema's own structure survives: no styles,
// classes, Office markup, comments, or images the server cannot fetch.

import { isSafeImageSrc } from './urls.js';

// Elements removed with their content.
const DROP = new Set([
  'style', 'meta', 'link', 'script', 'noscript', 'template', 'title', 'head', 'xml',
  'iframe', 'object', 'embed', 'svg', 'canvas', 'video', 'audio',
  'form', 'input', 'button', 'select', 'textarea', 'o:p',
]);

// Attributes kept per element (classes only where the schema parses them).
const KEEP = {
  a: ['href', 'title'],
  img: ['src', 'srcset', 'alt', 'title'],
  ol: ['start'],
  hr: ['data-paywall'],
};
const KEEP_CLASS = { aside: 'pullquote', p: 'embed', span: 'credit' };

function unwrap(e) {
  e.replaceWith(...Array.from(e.childNodes));
}

function rename(e, tag) {
  const n = e.ownerDocument.createElement(tag);
  n.append(...Array.from(e.childNodes));
  e.replaceWith(n);
  return n;
}

// Wrap an element's children in a new element (span styles → strong/em).
function wrapChildren(e, tag) {
  const w = e.ownerDocument.createElement(tag);
  w.append(...Array.from(e.childNodes));
  e.append(w);
}

const isBold = (w) => w === 'bold' || w === 'bolder' || Number(w) >= 600;
const isNormalWeight = (w) => w === 'normal' || w === '400' || w === 'lighter';

export function cleanPastedHtml(html) {
  // Office conditional comments, and Word's "downlevel-revealed" blocks such
  // as <![if !supportLists]>·<![endif]> whose content is list bullets.
  html = html
    .replace(/<!--\[if[\s\S]*?<!\[endif\]\s*-->/gi, '')
    .replace(/<!\[if[\s\S]*?<!\[endif\]>/gi, '');

  // DOMParser documents are inert: no scripts run, no images load.
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const body = doc.body;

  // Comments (<!--StartFragment--> and the like).
  const walker = doc.createTreeWalker(body, NodeFilter.SHOW_COMMENT);
  const comments = [];
  while (walker.nextNode()) comments.push(walker.currentNode);
  comments.forEach((c) => c.remove());

  for (let e of Array.from(body.querySelectorAll('*'))) {
    if (!e.isConnected) continue;
    const tag = e.localName;

    if (DROP.has(tag) || /^(v|w|m|o):/.test(tag)) {
      e.remove();
      continue;
    }
    // Other namespaced Office tags (smart tags like <st1:place>) hold text.
    if (tag.includes(':')) {
      unwrap(e);
      continue;
    }
    if (tag === 'img' && !isSafeImageSrc(e.getAttribute('src'))) {
      e.remove();
      continue;
    }

    const style = e.style;
    const weight = style ? style.fontWeight : '';
    // Google Docs wraps the whole paste in a non-bold <b>: keep its content only.
    if (tag === 'b' && (/^docs-internal-guid/.test(e.id) || isNormalWeight(weight))) {
      unwrap(e);
      continue;
    }
    // Google Docs marks bold/italic with styles on spans.
    if (tag === 'span' && style) {
      if (isBold(weight)) wrapChildren(e, 'strong');
      if (style.fontStyle === 'italic') wrapChildren(e, 'em');
    }

    // Headings: only h2 and h3 exist (the headline is the h1).
    const cls = e.getAttribute('class') || '';
    const word = /^Mso(Heading(\d)|Title|Subtitle)\b/i.exec(cls);
    if (tag === 'p' && word) {
      const level = word[2] ? Number(word[2]) : word[1].toLowerCase() === 'title' ? 1 : 3;
      e = rename(e, level <= 2 ? 'h2' : 'h3');
    } else if (tag === 'h1') {
      e = rename(e, 'h2');
    } else if (/^h[4-6]$/.test(tag)) {
      e = rename(e, 'h3');
    }

    // Strip every attribute the schema does not read (style, class="Mso…",
    // id, lang, align, …).
    const name = e.localName;
    const keep = KEEP[name] || [];
    for (const { name: attr, value } of Array.from(e.attributes)) {
      if (keep.includes(attr)) continue;
      if (attr === 'class' && KEEP_CLASS[name] && value.split(/\s+/).includes(KEEP_CLASS[name])) {
        e.setAttribute('class', KEEP_CLASS[name]);
        continue;
      }
      e.removeAttribute(attr);
    }
  }

  // Empty paragraphs (Word spacing, <o:p>&nbsp;</o:p>) and stray top-level
  // line breaks between blocks (Google Docs).
  for (const p of Array.from(body.querySelectorAll('p'))) {
    if (!p.textContent.replace(/[\s\u00a0]/g, '') && !p.querySelector('img')) p.remove();
  }
  for (const br of Array.from(body.children)) {
    if (br.localName === 'br') br.remove();
  }
  return body.innerHTML;
}
