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

/// Nesting allowed in a body (lists, quotes, HTML elements, together).
/// Parsing and sanitizing cost grows with the square of nesting; real
/// writing rarely passes ten levels.
pub const MAX_NESTING: usize = 100;

/// A body nested deeper than `MAX_NESTING`: refused, never rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The text is nested {0} levels deep (lists, quotes or HTML elements inside one another); at most 100 levels are allowed.")]
pub struct TooDeep(pub usize);

/// HTML elements that have no closing tag, or whose closing tag the parser
/// supplies when the next one starts: they never deepen the tree.
const FLAT_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead",
    "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp",
];

/// An upper estimate of how deeply `text` nests, in one linear pass: the
/// depth of open HTML elements plus, on the deepest line, the Markdown
/// containers (quote markers, list markers, four-space indents) it opens.
pub fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest_html) = (0usize, 0usize);
    let mut i = 0;
    while let Some(at) = text[i..].find('<').map(|k| k + i) {
        let closing = bytes.get(at + 1) == Some(&b'/');
        let start = at + 1 + usize::from(closing);
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
            end += 1;
        }
        i = end.max(at + 1);
        if end == start || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let name = text[start..end].to_ascii_lowercase();
        if FLAT_ELEMENTS.contains(&name.as_str()) {
            continue;
        }
        let tag_end = text[end..].find('>').map(|k| k + end);
        let self_closing = tag_end.is_some_and(|e| e > 0 && bytes[e - 1] == b'/');
        if closing {
            depth = depth.saturating_sub(1);
        } else if !self_closing {
            depth += 1;
            deepest_html = deepest_html.max(depth);
        }
    }
    let deepest_line = text
        .lines()
        .map(|line| {
            let (mut n, mut spaces) = (0usize, 0usize);
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    ' ' => spaces += 1,
                    '\t' => spaces += 4,
                    '>' => n += 1,
                    '-' | '*' | '+' if chars.peek().is_some_and(|c| *c == ' ') => n += 1,
                    '0'..='9' => {
                        while chars.peek().is_some_and(char::is_ascii_digit) {
                            chars.next();
                        }
                        if chars.peek().is_some_and(|c| *c == '.' || *c == ')') {
                            chars.next();
                            n += 1;
                        } else {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            n + spaces / 4
        })
        .max()
        .unwrap_or(0);
    deepest_html + deepest_line
}

/// Renders Markdown to sanitized HTML blocks, one per top-level element;
/// refuses a body nested deeper than `MAX_NESTING`.
pub fn render_blocks(markdown: &str) -> Result<Vec<String>, TooDeep> {
    let depth = nesting_depth(markdown);
    if depth > MAX_NESTING {
        return Err(TooDeep(depth));
    }
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
    Ok(blocks)
}

/// Runs CPU-heavy work (rendering, sanitizing) on the blocking pool, at
/// most one job per core at a time, so no body can stall page serving.
pub async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    });
    let _permit = permits.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// A body split into blocks, with the preview length its paywall divider
/// sets (`None` without a divider).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitBody {
    pub preview: Option<u32>,
    pub blocks: Vec<String>,
}

/// Where the first paywall divider (`<!-- paywall -->`, in any case and
/// spacing) starts and ends in `text`.
fn find_divider(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("<!--").map(|i| i + from) {
        let mut i = at + 4;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let word = b"paywall";
        if bytes.len() >= i + word.len() && bytes[i..i + word.len()].eq_ignore_ascii_case(word) {
            let mut j = i + word.len();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes[j..].starts_with(b"-->") {
                return Some((at, j + 3));
            }
        }
        from = at + 4;
    }
    None
}

/// Renders a Markdown body into blocks, split exactly where its first
/// paywall divider stands, whatever surrounds it: the text before the
/// divider and the text after are rendered separately, so a paragraph,
/// list, quote, code or HTML block that runs across the divider becomes
/// two blocks and nothing written after the divider can fall into the
/// preview. Further dividers are ordinary comments (removed).
pub fn split_body(markdown: &str) -> Result<SplitBody, TooDeep> {
    Ok(match find_divider(markdown) {
        None => SplitBody {
            preview: None,
            blocks: render_blocks(markdown)?,
        },
        Some((start, end)) => {
            let mut blocks = render_blocks(&markdown[..start])?;
            let preview = u32::try_from(blocks.len()).unwrap_or(u32::MAX);
            blocks.extend(render_blocks(&markdown[end..])?);
            SplitBody {
                preview: Some(preview),
                blocks,
            }
        }
    })
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

    fn render_blocks(markdown: &str) -> Vec<String> {
        super::render_blocks(markdown).unwrap_or_else(|e| panic!("{e}"))
    }

    fn split_body(markdown: &str) -> SplitBody {
        super::split_body(markdown).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn deep_nesting_is_refused_before_any_parsing() {
        let n = 80_000;
        for body in [
            format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n)),
            format!("{}x", "<b>".repeat(n)),
            format!("{}x", "> ".repeat(n)),
            format!("{}x", "- ".repeat(n)),
            format!("{}x", "1. ".repeat(n)),
            (0..200)
                .map(|i| format!("{}- item\n", "    ".repeat(i)))
                .collect(),
            format!(
                "{}<!-- paywall -->\n\n{}",
                "Intro.\n\n",
                "<section>".repeat(500)
            ),
        ] {
            assert!(
                matches!(super::split_body(&body), Err(TooDeep(d)) if d > MAX_NESTING),
                "{:.40}",
                body
            );
        }
        // Real writing passes: unclosed paragraphs and list items, void
        // elements, ordinary nesting.
        let ok = format!(
            "{}\n\n{}\n\n> > quoted twice\n\n- a\n  - b\n    - c\n\n<div><div><p>x<br><img src=\"/a.jpg\"></div></div>",
            "<p>para ".repeat(300),
            "<li>item ".repeat(300)
        );
        assert!(nesting_depth(&ok) < 10, "{}", nesting_depth(&ok));
        assert!(super::render_blocks(&ok).is_ok());
        let at_limit = format!(
            "{}x{}",
            "<div>".repeat(MAX_NESTING),
            "</div>".repeat(MAX_NESTING)
        );
        assert!(super::render_blocks(&at_limit).is_ok());
    }

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
    fn the_divider_splits_a_block_it_stands_in() {
        for body in [
            "Intro one.\n\nIntro two.\n\nIntro three.\n<!-- paywall -->\nSECRET continues here.\n\nMore.",
            "- point one\n<!-- paywall -->\n- SECRET point two",
            "<p>Intro</p>\n<p>More intro\n<!-- paywall -->\nSECRET</p>",
            "> quoted\n> <!-- paywall -->\n> SECRET",
            "Intro <!--PayWall--> SECRET inline",
            "Intro\r\n<!-- paywall -->\r\nSECRET",
        ] {
            let split = split_body(body);
            let p = split.preview.unwrap_or_else(|| panic!("divider found in {body:?}"));
            let before = split.blocks[..p as usize].join("");
            assert!(!before.contains("SECRET"), "{body:?}: {:?}", split.blocks);
            assert!(split.blocks.join("").contains("SECRET"), "nothing lost: {body:?}");
        }
        assert_eq!(split_body("No divider here.").preview, None);
        assert_eq!(
            split_body("<!-- paywall -->\n\nAll after.").preview,
            Some(0)
        );
    }

    /// A generated body: blocks of every kind, each word marked as written
    /// before (`zpub`) or after (`zsec`) the divider, which may be absent,
    /// first, last, between blocks or inside one, with or without blank
    /// lines, with LF or CRLF line ends.
    fn generate(rng: &mut rand::rngs::StdRng) -> (String, bool) {
        use rand::Rng;
        let n = rng.gen_range(1..=30);
        let divider =
            ["<!-- paywall -->", "<!--paywall-->", "<!-- PAYWALL  -->"][rng.gen_range(0..3)];
        // Where it goes: None, or (block index, inside the block?).
        let place: Option<(usize, bool)> = match rng.gen_range(0..4) {
            0 => None,
            1 => Some((0, false)),
            2 => Some((n, false)),
            _ => Some((rng.gen_range(0..n), rng.gen_bool(0.5))),
        };
        let mut after = false;
        let mut word_no = 0;
        let mut word = |after: bool| {
            word_no += 1;
            format!("{}{word_no}", if after { "zsec" } else { "zpub" })
        };
        let mut out = String::new();
        for i in 0..=n {
            let blank = if rng.gen_bool(0.5) { "\n\n" } else { "\n" };
            if place == Some((i, false)) {
                out.push_str(divider);
                out.push_str(blank);
                after = true;
            }
            if i == n {
                break;
            }
            let inside = place == Some((i, true));
            // Lines of the block; the divider may go between two of them.
            let kind = rng.gen_range(0..7);
            let lines: Vec<String> = (0..rng.gen_range(2..5)).map(|_| String::new()).collect();
            let split_at = rng.gen_range(1..lines.len());
            let mut block = Vec::new();
            for (j, _) in lines.iter().enumerate() {
                if inside && j == split_at {
                    let line = match kind {
                        3 => format!("> {divider}"),
                        _ if rng.gen_bool(0.2) => {
                            format!("{} {divider} {}", word(after), word(true))
                        }
                        _ => divider.to_string(),
                    };
                    block.push(line);
                    after = true;
                }
                let w = format!("{} {}", word(after), word(after));
                block.push(match kind {
                    0 => w,
                    1 => format!("- {w}"),
                    2 => format!("{}. {w}", j + 1),
                    3 => format!("> {w}"),
                    4 => format!("<p>{w}</p>"),
                    5 if j == 0 => format!("## {w}"),
                    _ => w,
                });
            }
            let text = match kind {
                4 if rng.gen_bool(0.5) => format!("<div>\n{}\n</div>", block.join("\n")),
                6 => format!("```\n{}\n```", block.join("\n")),
                _ => block.join("\n"),
            };
            out.push_str(&text);
            out.push_str(if i + 1 < n { blank } else { "\n" });
            if !after && inside {
                after = true;
            }
        }
        let crlf = rng.gen_bool(0.3);
        if crlf {
            out = out.replace('\n', "\r\n");
        }
        (out, place.is_some())
    }

    /// The property behind the paywall: for any body, whatever the policy,
    /// the blocks a reader who is not entitled receives hold no word
    /// written after the divider, and never the whole body.
    #[test]
    fn no_word_after_the_divider_and_never_the_whole_body_reaches_a_preview() {
        use masthead_core::access::Policy;
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        for case in 0..3000 {
            let (body, divided) = generate(&mut rng);
            let split = split_body(&body);
            assert_eq!(split.preview.is_some(), divided, "case {case}: {body:?}");
            let all = split.blocks.join("\n");
            for k in [0, 1, 3, 5, 40] {
                let policy = Policy {
                    preview_blocks: k,
                    ..Policy::default()
                };
                let total = u32::try_from(split.blocks.len()).unwrap_or(u32::MAX);
                let shown = policy.preview_len(split.preview, total) as usize;
                let visible = split.blocks[..shown].join("\n");
                assert!(
                    !visible.contains("zsec"),
                    "case {case}, K={k}: text after the divider in the preview\nbody: {body:?}\nblocks: {:?}",
                    split.blocks
                );
                assert!(
                    total == 0 || shown < total as usize,
                    "case {case}: the whole body"
                );
            }
            // Nothing written is lost by the split.
            let words = body
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.starts_with("zsec") || w.starts_with("zpub"));
            for w in words {
                assert!(
                    all.contains(w),
                    "case {case}: {w} lost\nbody: {body:?}\nblocks: {:?}",
                    split.blocks
                );
            }
        }
    }

    #[test]
    fn plain_text_strips_tags_and_entities() {
        assert_eq!(
            plain_text("<p>Fish &amp; <em>chips</em></p><p>x</p>"),
            "Fish & chips x"
        );
    }
}
