// URL checks shared by links, embeds, images and paste cleaning.
// The server sanitizer is the real gate; these keep the editor from
// producing content that would be stripped on save.

// Link targets: http, https and mailto only.
export function isSafeHref(url) {
  return typeof url === 'string' && /^(https?:\/\/[^\s]+|mailto:[^\s]+)$/i.test(url.trim());
}

// Embeds: an absolute http(s) URL.
export function isSafeEmbedUrl(url) {
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/i.test(url.trim())) return false;
  try {
    return Boolean(new URL(url.trim()).hostname);
  } catch {
    return false;
  }
}

// Image sources: http(s) or a path on this site. Anything with another
// scheme (file:, data:, blob:, cid: from Word/Docs pastes) is refused.
export function isSafeImageSrc(src) {
  if (typeof src !== 'string') return false;
  const s = src.trim();
  if (!s) return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s);
  return scheme ? /^https?$/i.test(scheme[1]) : true;
}
