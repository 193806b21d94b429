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
        // What the rich-text editor writes: responsive figures with a
        // credit, pull quotes and embeds (a link on its own line).
        b.add_tag_attributes("img", ["srcset", "sizes"]);
        b.add_allowed_classes("aside", ["pullquote"]);
        b.add_allowed_classes("p", ["embed"]);
        b.add_allowed_classes("span", ["credit"]);
        b.attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "srcset" && !srcset_is_safe(value) {
                return None;
            }
            Some(value.into())
        });
        b
    })
}

/// A `srcset` whose every candidate is a same-site path or an http(s) URL.
fn srcset_is_safe(value: &str) -> bool {
    value.split(',').all(|candidate| {
        let url = candidate.split_whitespace().next().unwrap_or("");
        (url.starts_with('/') && !url.starts_with("//"))
            || url.starts_with("https://")
            || url.starts_with("http://")
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
    fn what_the_rich_text_editor_writes_survives_and_nothing_else() {
        let body = "<figure><img src=\"/media/ab-960.jpg\" srcset=\"/media/ab-480.jpg 480w, /media/ab-960.jpg 960w\" sizes=\"100vw\" alt=\"Ferry\"><figcaption>Dawn. <span class=\"credit\">A/B</span></figcaption></figure>\n\n\
                    <aside class=\"pullquote\"><p>Quote</p></aside>\n\n<p class=\"embed\"><a href=\"https://video.example/1\">https://video.example/1</a></p>\n\n\
                    <aside class=\"sidebar\" onclick=\"x()\"><p>No</p></aside>\n\n<p><img src=\"/a.jpg\" srcset=\"javascript:alert(1) 1x\" alt=\"x\"></p>";
        let blocks = render_blocks(body);
        assert_eq!(blocks.len(), 5, "{blocks:?}");
        assert!(
            blocks[0].contains("srcset=\"/media/ab-480.jpg 480w, /media/ab-960.jpg 960w\"")
                && blocks[0].contains("<span class=\"credit\">A/B</span>"),
            "{}",
            blocks[0]
        );
        assert_eq!(blocks[1], "<aside class=\"pullquote\"><p>Quote</p></aside>");
        assert!(
            blocks[2].starts_with("<p class=\"embed\"><a href=\"https://video.example/1\""),
            "{}",
            blocks[2]
        );
        assert!(
            !blocks[3].contains("sidebar") && !blocks[3].contains("onclick"),
            "unknown classes and handlers dropped: {}",
            blocks[3]
        );
        assert!(
            !blocks[4].contains("srcset") && !blocks[4].contains("javascript"),
            "{}",
            blocks[4]
        );
    }

    #[test]
    fn plain_text_strips_tags_and_entities() {
        assert_eq!(
            plain_text("<p>Fish &amp; <em>chips</em></p><p>x</p>"),
            "Fish & chips x"
        );
    }
}
