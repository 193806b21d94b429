// Modal dialogs (native <dialog> with showModal: focus is trapped, Escape
// closes, the page behind is inert). Each dialog is built when opened,
// appended to <body> (never inside the article form, so its own form and
// Enter key cannot submit the article) and removed when closed. They resolve
// to the entered value, or null when cancelled.

import { h, uid } from './dom.js';

function field(label, input, hint) {
  const hintEl = hint ? h('p', { class: 'editor-hint', id: uid('hint') }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'editor-field' }, h('label', { for: input.id }, label), input, hintEl);
}

// Opens a dialog around `content`; `onSubmit(finish, fail)` validates.
function modal({ title, content, submitText, onSubmit, focus }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg-title');
    const err = h('p', { class: 'editor-error', id: uid('dlg-err'), role: 'alert', hidden: true });
    let result = null;
    const dialog = h('dialog', { class: 'editor-dialog', 'aria-labelledby': titleId });
    const fail = (message, input) => {
      err.textContent = message;
      err.hidden = false;
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-errormessage', err.id);
        input.focus();
      }
    };
    const finish = (value) => {
      result = value;
      dialog.close();
    };
    const form = h(
      'form',
      {
        method: 'dialog',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          err.hidden = true;
          onSubmit(finish, fail);
        },
      },
      h('h2', { id: titleId }, title),
      content,
      err,
      h(
        'div',
        { class: 'editor-dialog-actions' },
        h('button', { type: 'submit' }, submitText),
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      ),
    );
    dialog.append(form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    if (focus) focus.focus();
  });
}

// One-field URL dialog for links and embeds. `check(value)` returns an error
// message, or '' when the value is acceptable.
export function askUrl({ title, label, hint, value = '', submitText, check }) {
  const input = h('input', {
    type: 'text',
    id: uid('url'),
    inputmode: 'url',
    autocomplete: 'off',
    spellcheck: 'false',
    value,
  });
  return modal({
    title,
    submitText,
    focus: input,
    content: field(label, input, hint),
    onSubmit: (finish, fail) => {
      const v = input.value.trim();
      const problem = check(v);
      if (problem) fail(problem, input);
      else finish(v);
    },
  });
}

// Image picker (insert) or image details (edit, when `current` is given).
// Resolves to figure attributes {src, srcset, alt, caption, credit, mediaId}.
export function imageDialog({ media, library, current }) {
  let chosen = current ? { src: current.src, srcset: current.srcset, mediaId: current.mediaId } : null;
  const input = (id) => h('input', { type: 'text', id: uid(id), autocomplete: 'off' });
  const alt = input('img-alt');
  alt.required = true;
  const caption = input('img-caption');
  const credit = input('img-credit');
  const preview = h('img', { class: 'editor-image-preview', alt: '' });

  const fill = (a) => {
    alt.value = a.alt || '';
    caption.value = a.caption || '';
    credit.value = a.credit || '';
    preview.src = a.src || '';
  };

  const fields = h(
    'div',
    { class: 'editor-image-fields', hidden: !current },
    preview,
    field('Alt text', alt, 'Required. Describe the image for readers who cannot see it.'),
    field('Caption', caption),
    field('Credit', credit),
  );

  const parts = [];
  if (!current) {
    const buttons = [];
    const choose = (m, button) => {
      buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      chosen = { src: m.src, srcset: m.srcset || null, mediaId: m.id ?? null };
      // Stored alt/caption/credit are offered again each time it is reused.
      fill(m);
      fields.hidden = false;
      alt.removeAttribute('aria-invalid');
      alt.focus();
    };
    const items = media.map((m) => {
      const button = h(
        'button',
        { type: 'button', class: 'editor-media-item', 'aria-pressed': 'false' },
        h('img', {
          src: m.src,
          srcset: m.srcset || null,
          sizes: m.srcset ? '8rem' : null,
          width: m.width || null,
          height: m.height || null,
          alt: m.alt || m.caption || `Image ${m.id}`,
          loading: 'lazy',
        }),
      );
      button.addEventListener('click', () => choose(m, button));
      buttons.push(button);
      return h('li', {}, button);
    });
    parts.push(
      items.length
        ? h('ul', { class: 'editor-media-list', 'aria-label': 'Images in the media library' }, items)
        : h('p', {}, 'The media library has no images yet.'),
    );
    if (library) {
      parts.push(
        h('p', {}, h('a', { href: library, target: '_blank', rel: 'noopener' }, 'Upload in the media library')),
      );
    }
  } else {
    fill(current);
  }
  parts.push(fields);

  return modal({
    title: current ? 'Edit image' : 'Insert image',
    submitText: current ? 'Update image' : 'Insert',
    focus: current ? alt : null,
    content: parts,
    onSubmit: (finish, fail) => {
      if (!chosen) return fail('Choose an image from the library first.');
      const a = alt.value.trim();
      if (!a) {
        return fail('Alt text is required: describe the image for readers who cannot see it.', alt);
      }
      alt.removeAttribute('aria-invalid');
      finish({ ...chosen, alt: a, caption: caption.value.trim(), credit: credit.value.trim() });
    },
  });
}
