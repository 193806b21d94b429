//! Markdown → sanitized HTML, split into top-level blocks.
//!
//! A body is stored as its blocks so that a preview is a range query. Each
//! block is sanitized on its own, which keeps every stored block
//! well-formed: a preview can never end inside an open tag.

use pulldown_cmark::{Event, Options, Parser};
use std::sync::OnceLock;

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_tags(["figure", "figcaption", "aside"]);
        b.link_rel(Some("noopener noreferrer"));
        b.url_schemes(["http", "https", "mailto"].into_iter().collect());
        b
    })
}

/// Sanitizes untrusted HTML: scripts, event handlers, `javascript:` URLs
/// and unknown tags are removed.
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// Renders Markdown to sanitized HTML blocks, one per top-level element.
pub fn render_blocks(markdown: &str) -> Vec<String> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_SMART_PUNCTUATION);
    let mut blocks = Vec::new();
    let mut current: Vec<Event> = Vec::new();
    let mut depth = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        let closes_block = depth == 0;
        current.push(event);
        if closes_block {
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, current.drain(..));
            let clean = sanitize(html.trim());
            if !clean.trim().is_empty() {
                blocks.push(clean.trim().to_string());
            }
        }
    }
    blocks
}

/// Plain text of sanitized HTML, for the search index and descriptions.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_top_level_element_is_one_block() {
        let blocks = render_blocks(
            "First *para*.\n\n## A heading\n\n- one\n- two\n\n> quoted\n> text\n\n---\n\nLast.",
        );
        assert_eq!(
            blocks,
            vec![
                "<p>First <em>para</em>.</p>",
                "<h2>A heading</h2>",
                "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
                "<blockquote>\n<p>quoted\ntext</p>\n</blockquote>",
                "<hr>",
                "<p>Last.</p>",
            ]
        );
    }

    #[test]
    fn script_and_handlers_are_removed() {
        let blocks = render_blocks(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> [x](javascript:alert(1))",
        );
        let all = blocks.join("");
        assert!(!all.contains("script"), "{all}");
        assert!(!all.contains("onerror"), "{all}");
        assert!(!all.contains("javascript:"), "{all}");
    }

    #[test]
    fn plain_text_strips_tags_and_entities() {
        assert_eq!(
            plain_text("<p>Fish &amp; <em>chips</em></p><p>x</p>"),
            "Fish & chips x"
        );
    }
}
