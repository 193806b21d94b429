// Tiny DOM builder: h('button', {type: 'button', onclick: fn}, 'Text').
// Event handlers are attached with addEventListener (the admin CSP forbids
// inline handlers); `text` sets textContent; true/false toggle boolean
// attributes; null/undefined are skipped.
export function h(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children.flat().filter((c) => c != null && c !== false));
  return e;
}

let counter = 0;
// Unique ids for label/field pairs in dialogs.
export const uid = (prefix) => `${prefix}-${++counter}`;
