// Turns the editor document into the textarea value the server stores.
//
// The server reads the body as Markdown, where a raw HTML block ends at the
// first blank line. So every top-level node becomes one HTML block on a
// single line, blocks are joined by a blank line, and the paywall divider is
// the marker line `<!-- paywall -->`.

import { DOMSerializer } from '@tiptap/pm/model';

export const PAYWALL_MARKER = '<!-- paywall -->';

// Attributes the server keeps, per element; everything else is dropped so
// the output is exactly what the sanitizer expects.
const KEEP = {
  a: ['href'],
  img: ['src', 'srcset', 'alt', 'sizes'],
  aside: ['class'],
  p: ['class'],
  span: ['class'],
  hr: ['data-paywall'],
};

function cleanAttributes(root) {
  for (const e of root.querySelectorAll('*')) {
    const keep = KEEP[e.localName] || [];
    for (const { name } of Array.from(e.attributes)) {
      if (!keep.includes(name)) e.removeAttribute(name);
    }
  }
}

const isEmptyParagraph = (n) => n.type.name === 'paragraph' && n.content.size === 0;

export function createSerializer(schema) {
  const dom = DOMSerializer.fromSchema(schema);
  // Nodes are immutable: unchanged blocks keep their HTML between keystrokes.
  const cache = new WeakMap();

  function block(node) {
    if (node.type.name === 'paywall') return PAYWALL_MARKER;
    let html = cache.get(node);
    if (html === undefined) {
      const wrap = document.createElement('div');
      wrap.appendChild(dom.serializeNode(node));
      cleanAttributes(wrap);
      // A block must never contain a blank line (it would end the HTML block).
      html = wrap.innerHTML.replace(/\s*[\r\n]+\s*/g, ' ');
      cache.set(node, html);
    }
    return html;
  }

  return function serialize(doc) {
    const nodes = [];
    doc.forEach((n) => nodes.push(n));
    while (nodes.length && isEmptyParagraph(nodes[nodes.length - 1])) nodes.pop();
    return nodes.map(block).join('\n\n');
  };
}
