//! Small HTML helpers every importer shares: find and rewrite the images
//! and links of a body (before it goes through the sanitizer), read a
//! tag's attributes. Pure functions, no I/O.

/// Escapes text for an attribute or element content (the templates' own
/// escaping).
pub use crate::templates::escape_html as escape;

/// The attributes of an opening tag (a shortcode's or an HTML element's): `key="v"`, `key='v'`, `key=v`.
pub fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let k0 = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
            i += 1;
        }
        let key = s[k0..i].to_ascii_lowercase();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            let (v0, v1);
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                v0 = i + 1;
                i = v0;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                v1 = i;
                i += 1;
            } else {
                v0 = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                v1 = i;
            }
            out.push((key, s[v0..v1.min(s.len())].to_string()));
        } else if key.is_empty() {
            // Anything else (a stray quote, a non-ASCII letter): skip it whole.
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        } else {
            out.push((key, String::new()));
        }
    }
    out
}

/// Rewrites every `<img …>` tag of `html`: `f` gets its attributes
/// (lower-case names) and returns the new tag, or `None` to remove it.
pub fn map_images(html: &str, mut f: impl FnMut(&[(String, String)]) -> Option<String>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(at) = lower.find("<img") else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        // The tag ends at the first `>` outside quotes.
        let b = rest.as_bytes();
        let (mut i, mut quote) = (at + 4, None::<u8>);
        while i < b.len() {
            match (quote, b[i]) {
                (None, b'"' | b'\'') => quote = Some(b[i]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            i += 1;
        }
        let tag = &rest[at..(i + 1).min(rest.len())];
        let attrs = parse_attrs(
            tag.get(4..)
                .unwrap_or_default()
                .trim_end_matches('>')
                .trim_end_matches('/'),
        );
        if let Some(new) = f(&attrs) {
            out.push_str(&new);
        }
        rest = &rest[(i + 1).min(rest.len())..];
    }
}

/// Whether `url` names an image file (by its extension).
pub fn is_image_file(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// What to do with a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTo {
    Keep,
    /// Point it here instead.
    Href(String),
    /// Remove the link, keep what it wraps.
    Unwrap,
}

/// Rewrites the `<a …>` tags of `html` by their `href`: `f` says what to
/// do with each. Links do not nest, so an unwrapped link's `</a>` is the
/// next one.
pub fn map_links(html: &str, mut f: impl FnMut(&str) -> LinkTo) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut unwrapping = false;
    loop {
        let lower = rest.to_ascii_lowercase();
        let open = lower
            .match_indices("<a")
            .map(|(i, _)| i)
            .find(|&i| lower[i + 2..].starts_with(|c: char| c.is_ascii_whitespace() || c == '>'));
        let close = lower.find("</a>");
        match (open, close) {
            (_, Some(c)) if unwrapping && open.is_none_or(|o| c < o) => {
                out.push_str(&rest[..c]);
                rest = &rest[c + 4..];
                unwrapping = false;
            }
            (Some(o), _) => {
                out.push_str(&rest[..o]);
                let end = rest[o..].find('>').map_or(rest.len(), |e| o + e + 1);
                let tag = &rest[o..end];
                let attrs = parse_attrs(
                    tag.get(2..)
                        .unwrap_or_default()
                        .trim_end_matches('>')
                        .trim_end_matches('/'),
                );
                match f(attr(&attrs, "href")) {
                    LinkTo::Keep => out.push_str(tag),
                    LinkTo::Href(to) => out.push_str(&format!("<a href=\"{}\">", escape(&to))),
                    LinkTo::Unwrap => unwrapping = true,
                }
                rest = &rest[end..];
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// The value of attribute `name` (empty when absent).
pub fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> &'a str {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every `href` of the `<a>` tags of `html`.
pub fn link_targets(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    map_links(html, |href| {
        found.push(href.to_string());
        LinkTo::Keep
    });
    found
}

/// Every `src` of the `<img>` tags of `html`.
pub fn image_sources(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    map_images(html, |attrs| {
        found.push(attr(attrs, "src").to_string());
        None
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_kept_repointed_or_unwrapped() {
        let html = "<p><a href=\"https://old.example/full.jpg\" class=\"x\"><img src=\"s.jpg\"></a> and <a href=\"gone.png\">gone</a> and <a href=\"/story\">a story</a> <abbr>A</abbr></p>";
        let out = map_links(html, |href| match href {
            "https://old.example/full.jpg" => LinkTo::Href("/media/abc.jpg".into()),
            "gone.png" => LinkTo::Unwrap,
            _ => LinkTo::Keep,
        });
        assert_eq!(
            out,
            "<p><a href=\"/media/abc.jpg\"><img src=\"s.jpg\"></a> and gone and <a href=\"/story\">a story</a> <abbr>A</abbr></p>"
        );
        assert!(is_image_file("https://x.example/a/B.JPG?ver=2") && !is_image_file("/2024/05/a/"));
    }

    #[test]
    fn images_are_found_and_rewritten() {
        let html =
            "<p><img src=\"https://old.example/a.jpg\" alt=\"x > y\"> and <IMG SRC='b.png'/></p>";
        assert_eq!(
            image_sources(html),
            vec!["https://old.example/a.jpg", "b.png"]
        );
        let out = map_images(html, |a| {
            assert!(attr(a, "src") != "b.png" || attr(a, "alt").is_empty());
            (attr(a, "src") == "b.png").then(|| "<img src=\"/media/b\">".into())
        });
        assert_eq!(out, "<p> and <img src=\"/media/b\"></p>");
    }
}
