//! A Ghost post's rendered `html` → HTML blocks. Ghost's editors (mobiledoc
//! before 5, lexical since) both export the rendered HTML, which is what
//! readers saw: it is cut at the paywall card (`<!--members-only-->`),
//! embedded players become embed links (the reader CSP allows no frames),
//! each part goes through the site's sanitizer (Ghost bodies may carry
//! `<script>` from HTML cards), and the sanitized HTML is split into its
//! top-level blocks. Pure functions, no I/O.

use super::html::{escape, parse_attrs};
use crate::content::markdown;

/// Ghost's paywall card in the rendered HTML.
pub const MEMBERS_ONLY: &str = "<!--members-only-->";

/// A converted body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Sanitized top-level blocks, never with a blank line inside.
    pub blocks: Vec<String>,
    /// Blocks before the paywall card, when there is one.
    pub preview: Option<u32>,
}

/// Puts the old site's address where Ghost wrote `__GHOST_URL__` (an empty
/// `site` leaves paths relative to the old site).
pub fn resolve_url(s: &str, site: &str) -> String {
    s.replace("__GHOST_URL__", site.trim_end_matches('/'))
}

/// Converts a rendered body (with `__GHOST_URL__` already resolved). The
/// blocks are not yet pointed at copied images: they keep the old site's
/// image addresses for `imports::images` to copy.
pub fn convert(html: &str) -> Converted {
    let (open, gated) = match html.find(MEMBERS_ONLY) {
        Some(at) => (&html[..at], Some(&html[at + MEMBERS_ONLY.len()..])),
        None => (html, None),
    };
    let mut blocks = split_blocks(&markdown::sanitize(&frames_to_links(open)));
    let preview = gated.map(|_| u32::try_from(blocks.len()).unwrap_or(u32::MAX));
    if let Some(rest) = gated {
        blocks.extend(split_blocks(&markdown::sanitize(&frames_to_links(rest))));
    }
    Converted { blocks, preview }
}

/// `<iframe src="…">…</iframe>` (YouTube, Vimeo, Spotify cards) → an
/// embed link on its own line.
fn frames_to_links(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(at) = lower.find("<iframe") else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let open_end = tag_end(rest, at);
        let attrs = parse_attrs(
            rest[at + "<iframe".len()..open_end]
                .trim_end_matches('>')
                .trim_end_matches('/'),
        );
        let src = super::html::attr(&attrs, "src");
        if src.starts_with("https://") || src.starts_with("http://") {
            let e = escape(src);
            out.push_str(&format!("<p class=\"embed\"><a href=\"{e}\">{e}</a></p>"));
        }
        let after = &lower[open_end..];
        rest = match after.find("</iframe>") {
            Some(c) => &rest[open_end + c + "</iframe>".len()..],
            None => &rest[open_end..],
        };
    }
}

/// The index just past the tag starting at `at` (its first `>` outside
/// quotes), or the end.
fn tag_end(s: &str, at: usize) -> usize {
    let b = s.as_bytes();
    let (mut i, mut quote) = (at + 1, None::<u8>);
    while i < b.len() {
        match (quote, b[i]) {
            (None, b'"' | b'\'') => quote = Some(b[i]),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => return i + 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

const VOID: &[&str] = &[
    "area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr",
];

const BLOCK: &[&str] = &[
    "address",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

/// A tag's name, lower case, and whether it closes.
fn tag_name(tag: &str) -> (bool, String) {
    let rest = tag.strip_prefix('<').unwrap_or(tag);
    let (closing, rest) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let name = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    (closing, name)
}

/// Splits sanitized (so well-formed) HTML into its top-level blocks: each
/// block-level element is one; runs of text and inline elements between
/// them become a paragraph.
pub fn split_blocks(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inline = String::new();
    let mut block = String::new();
    // Depth inside the current block element, or inside an inline element
    // at the top level.
    let (mut depth, mut inline_depth) = (0usize, 0usize);
    let flush_inline = |inline: &mut String, out: &mut Vec<String>| {
        if !inline.trim().is_empty() {
            out.push(format!("<p>{}</p>", inline.trim()));
        }
        inline.clear();
    };
    let mut i = 0;
    while i < html.len() {
        if html.as_bytes()[i] != b'<' {
            let next = html[i..].find('<').map_or(html.len(), |n| i + n);
            let text = &html[i..next];
            if depth > 0 {
                block.push_str(text);
            } else {
                inline.push_str(text);
            }
            i = next;
            continue;
        }
        let end = tag_end(html, i);
        let tag = &html[i..end];
        i = end;
        let (closing, name) = tag_name(tag);
        let void = VOID.contains(&name.as_str()) || tag.ends_with("/>");
        if depth > 0 {
            block.push_str(tag);
            if closing {
                depth -= 1;
                if depth == 0 {
                    out.push(std::mem::take(&mut block));
                }
            } else if !void {
                depth += 1;
            }
            continue;
        }
        if inline_depth == 0 && !closing && BLOCK.contains(&name.as_str()) {
            flush_inline(&mut inline, &mut out);
            if void {
                out.push(tag.to_string());
            } else {
                block.push_str(tag);
                depth = 1;
            }
            continue;
        }
        inline.push_str(tag);
        if closing {
            inline_depth = inline_depth.saturating_sub(1);
        } else if !void {
            inline_depth += 1;
        }
    }
    if !block.is_empty() {
        out.push(block);
    }
    flush_inline(&mut inline, &mut out);
    out.into_iter()
        .map(|b| {
            b.lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|b| !b.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paywall_card_sets_the_preview() {
        let html = "<p>One</p><h2>Two</h2><!--members-only--><p>Three</p><figure><img src=\"/a.jpg\" alt=\"x\"><figcaption>Cap</figcaption></figure>";
        let c = convert(html);
        assert_eq!(c.preview, Some(2));
        assert_eq!(c.blocks.len(), 4);
        assert_eq!(c.blocks[0], "<p>One</p>");
        assert!(c.blocks[3].starts_with("<figure><img"), "{:?}", c.blocks);
        assert_eq!(convert("<p>Open</p>").preview, None);
    }

    #[test]
    fn scripts_go_and_players_become_links() {
        let html = "<p onclick=\"x()\">Hi</p><script>steal()</script>\
            <figure class=\"kg-card kg-embed-card\"><iframe width=\"200\" src=\"https://www.youtube.com/embed/abc\" allowfullscreen></iframe></figure>\
            <iframe src=\"javascript:alert(1)\"></iframe>";
        let c = convert(html);
        let all = c.blocks.join("\n");
        assert!(!all.contains("script") && !all.contains("steal") && !all.contains("onclick"));
        assert!(
            all.contains("href=\"https://www.youtube.com/embed/abc\""),
            "{all}"
        );
        assert!(!all.contains("javascript"));
    }

    #[test]
    fn loose_text_and_inline_elements_become_paragraphs() {
        let b = split_blocks(
            "Hello <em>there</em><p>Para</p> tail <a href=\"/x\"><span>in</span></a><hr>",
        );
        assert_eq!(
            b,
            vec![
                "<p>Hello <em>there</em></p>",
                "<p>Para</p>",
                "<p>tail <a href=\"/x\"><span>in</span></a></p>",
                "<hr>"
            ]
        );
        // Nested blocks stay one block; attributes with '>' do not confuse it.
        let b = split_blocks("<div><div title=\"a>b\"><p>x</p></div></div><ul><li>1</li></ul>");
        assert_eq!(b.len(), 2, "{b:?}");
    }

    #[test]
    fn ghost_urls_resolve() {
        assert_eq!(
            resolve_url(
                "<img src=\"__GHOST_URL__/content/images/a.jpg\">",
                "https://old.example/"
            ),
            "<img src=\"https://old.example/content/images/a.jpg\">"
        );
    }

    #[test]
    fn any_html_converts_without_panicking() {
        // A fixed-seed fuzz: fragments of real Ghost markup, cut anywhere.
        let parts = [
            "<p>",
            "</p>",
            "<!--members-only-->",
            "<iframe src=\"https://x\">",
            "</iframe>",
            "<figure>",
            "<img src=\"/a.jpg\">",
            "\"",
            ">",
            "<",
            "text",
            "<div>",
            "</div>",
            "<!--kg-card-begin: html-->",
            "é",
            "<script>",
            "</script>",
            "<a href='",
            "\n\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut body = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                body.push_str(parts[(seed % parts.len() as u64) as usize]);
            }
            let c = convert(&body);
            for b in &c.blocks {
                assert!(!b.contains("<script") && !b.contains("\n\n"), "{b:?}");
            }
            assert!(c.preview.is_none_or(|p| p as usize <= c.blocks.len()));
        }
    }
}
