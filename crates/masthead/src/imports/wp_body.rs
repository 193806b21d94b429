//! A WordPress post body → HTML blocks (not yet sanitized: the caller
//! runs every block through the site's sanitizer). Both editors: the
//! classic editor's text without `<p>` (blank lines make paragraphs,
//! single newlines `<br>`, as WordPress's autop does) and Gutenberg's
//! block comments; `<!--more-->` (or `wp:more`) sets the preview length.
//! Shortcodes: `[caption]` becomes a figure, `[gallery]` its images,
//! `[embed]`, `[video]`, `[audio]` a link on its own line; an unknown one
//! (one with attributes or a closing tag) loses its brackets, keeps its
//! content and is reported. Pure functions, no I/O.

/// A converted body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    /// One HTML string per top-level block, never with a blank line inside.
    pub blocks: Vec<String>,
    /// Blocks before `<!--more-->`, when there is one.
    pub more: Option<u32>,
    /// Shortcodes this converter does not know, by name.
    pub unknown_shortcodes: Vec<String>,
}

use super::html::{escape, parse_attrs};

const MORE: &str = "\u{0}MORE\u{0}";

/// Converts `content`; `attachment` gives an attachment's (url, alt) by
/// its post id (for `[gallery ids=…]`).
pub fn convert(content: &str, attachment: &dyn Fn(&str) -> Option<(String, String)>) -> Converted {
    let mut unknown = Vec::new();
    let text = content.replace("\r\n", "\n").replace(MORE, "");
    let text = shortcodes(&text, attachment, &mut unknown);
    let mut raw = Vec::new();
    if text.contains("<!-- wp:") {
        gutenberg(&text, &mut raw);
    } else {
        autop(&text, &mut raw);
    }
    let mut out = Converted {
        unknown_shortcodes: unknown,
        ..Converted::default()
    };
    for block in raw {
        if block == MORE {
            if out.more.is_none() {
                out.more = Some(u32::try_from(out.blocks.len()).unwrap_or(u32::MAX));
            }
            continue;
        }
        let block = no_blank_lines(block.trim());
        if !block.is_empty() {
            out.blocks.push(block);
        }
    }
    out
}

fn no_blank_lines(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `<!--more-->` markers of classic text as their own pieces.
fn split_more(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<!--more") {
        let end = rest[at..].find("-->").map_or(rest.len(), |e| at + e + 3);
        pieces.push(&rest[..at]);
        pieces.push(MORE);
        rest = &rest[end..];
    }
    pieces.push(rest);
    pieces
}

/// Tags that start a block of their own in classic text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "blockquote",
    "figure",
    "div",
    "table",
    "pre",
    "hr",
    "aside",
    "section",
    "address",
];

fn starts_block(line: &str) -> bool {
    let l = line.trim_start();
    let Some(rest) = l.strip_prefix('<') else {
        return false;
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    BLOCK_TAGS.contains(&name.as_str())
}

/// WordPress's autop: paragraphs at blank lines, `<br>` at single
/// newlines, block-level HTML left as it is.
fn autop(text: &str, out: &mut Vec<String>) {
    for piece in split_more(text) {
        if piece == MORE {
            out.push(MORE.into());
            continue;
        }
        // A line that opens or closes a block element stands apart.
        let mut spaced = String::with_capacity(piece.len());
        let mut depth = 0i32;
        for line in piece.lines() {
            let t = line.trim();
            if starts_block(t) && depth == 0 {
                spaced.push('\n');
            }
            spaced.push_str(line);
            spaced.push('\n');
            if t.starts_with("<pre") {
                depth += 1;
            }
            if t.ends_with("</pre>") {
                depth -= 1;
            }
            if depth == 0 && (t.ends_with('>') && starts_block(t)) {
                spaced.push('\n');
            }
        }
        let mut chunk = String::new();
        let flush = |chunk: &mut String, out: &mut Vec<String>| {
            let c = chunk.trim();
            if !c.is_empty() {
                if starts_block(c) {
                    out.push(c.to_string());
                } else {
                    out.push(format!(
                        "<p>{}</p>",
                        c.lines().collect::<Vec<_>>().join("<br>\n")
                    ));
                }
            }
            chunk.clear();
        };
        for line in spaced.lines() {
            if line.trim().is_empty() {
                flush(&mut chunk, out);
            } else {
                chunk.push_str(line);
                chunk.push('\n');
            }
        }
        flush(&mut chunk, out);
    }
}

/// Gutenberg: each top-level block comment pair is one block; text
/// between them is classic text.
fn gutenberg(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    loop {
        let Some(at) = rest.find("<!-- wp:") else {
            autop(rest, out);
            return;
        };
        autop(&rest[..at], out);
        let after = &rest[at + "<!-- wp:".len()..];
        let Some(close) = after.find("-->") else {
            autop(&rest[at..], out);
            return;
        };
        let opener = &after[..close];
        let name: String = opener
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        let attrs = opener[name.len()..].trim().trim_end_matches('/').trim();
        let body_start = close + 3;
        if opener.trim_end().ends_with('/') {
            block(&name, attrs, "", out);
            rest = &after[body_start..];
            continue;
        }
        // The matching closer, counting nested blocks of the same name.
        let (open_tag, close_tag) = (format!("<!-- wp:{name} "), format!("<!-- /wp:{name} -->"));
        let open_bare = format!("<!-- wp:{name} -->");
        let mut depth = 1;
        let mut i = body_start;
        let inner_end;
        loop {
            let next_close = after[i..].find(&close_tag).map(|k| k + i);
            let next_open = [after[i..].find(&open_tag), after[i..].find(&open_bare)]
                .into_iter()
                .flatten()
                .min()
                .map(|k| k + i);
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    i = o + 4;
                }
                (_, Some(c)) => {
                    depth -= 1;
                    if depth == 0 {
                        inner_end = c;
                        break;
                    }
                    i = c + close_tag.len();
                }
                (_, None) => {
                    inner_end = after.len();
                    break;
                }
            }
        }
        block(&name, attrs, &after[body_start..inner_end], out);
        rest = after.get(inner_end + close_tag.len()..).unwrap_or_default();
    }
}

/// The value of `"key":"…"` in a block's JSON attributes.
fn json_attr(attrs: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(attrs).ok()?;
    v.get(key)?.as_str().map(String::from)
}

fn embed(url: &str) -> String {
    let url = url.trim();
    let e = escape(url);
    format!("<p class=\"embed\"><a href=\"{e}\">{e}</a></p>")
}

fn block(name: &str, attrs: &str, inner: &str, out: &mut Vec<String>) {
    match name {
        "more" | "nextpage" => out.push(MORE.into()),
        "separator" => out.push("<hr>".into()),
        n if n == "embed" || n.starts_with("core-embed/") => {
            let url = json_attr(attrs, "url")
                .unwrap_or_else(|| crate::content::markdown::plain_text(inner));
            if !url.trim().is_empty() {
                out.push(embed(&url));
            }
        }
        "pullquote" => {
            let text = crate::content::markdown::plain_text(inner);
            if !text.trim().is_empty() {
                out.push(format!(
                    "<aside class=\"pullquote\"><p>{}</p></aside>",
                    escape(text.trim())
                ));
            }
        }
        "freeform" | "html" | "shortcode" => autop(inner, out),
        _ => {
            // Nested blocks (columns, groups) keep their inner HTML as one
            // block; a `<!--more-->` inside one still cuts there.
            for p in split_more(inner) {
                if p == MORE {
                    out.push(MORE.into());
                } else if !p.trim().is_empty() {
                    out.push(p.trim().to_string());
                }
            }
        }
    }
}

const KNOWN: &[&str] = &[
    "caption",
    "wp_caption",
    "gallery",
    "embed",
    "video",
    "audio",
    "playlist",
];

/// Replaces shortcodes (see the module docs).
fn shortcodes(
    text: &str,
    attachment: &dyn Fn(&str) -> Option<(String, String)>,
    unknown: &mut Vec<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('[') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // `[[name]]` is how WordPress writes a literal shortcode.
        if let Some(lit) = tail.strip_prefix("[[") {
            if let Some(end) = lit.find("]]") {
                out.push('[');
                out.push_str(&lit[..end]);
                out.push(']');
                rest = &lit[end + 2..];
                continue;
            }
        }
        let name: String = tail[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let after_name = &tail[1 + name.len()..];
        let well_formed = !name.is_empty()
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && (after_name.starts_with(']')
                || after_name.starts_with(' ')
                || after_name.starts_with("/]"));
        let Some(close) = after_name.find(']').filter(|_| well_formed) else {
            out.push('[');
            rest = &tail[1..];
            continue;
        };
        let attr_text = after_name[..close].trim_end_matches('/');
        let attrs = parse_attrs(attr_text);
        let after_open = &after_name[close + 1..];
        let closer = format!("[/{name}]");
        let self_closing = after_name[..close].ends_with('/');
        let (inner, next) = match after_open.find(&closer).filter(|_| !self_closing) {
            Some(end) => (Some(&after_open[..end]), &after_open[end + closer.len()..]),
            None => (None, after_open),
        };
        let known = KNOWN.contains(&name.as_str());
        if !known && inner.is_none() && !attr_text.contains('=') {
            // Not a shortcode: "[sic]", "[1]" …
            out.push('[');
            rest = &tail[1..];
            continue;
        }
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let inner_text = inner.unwrap_or("");
        match name.as_str() {
            "caption" | "wp_caption" => {
                let (media, caption) = split_caption(inner_text);
                let caption = get("caption").unwrap_or(caption);
                out.push_str(&format!(
                    "\n\n<figure>{}<figcaption>{}</figcaption></figure>\n\n",
                    media.trim(),
                    caption.trim()
                ));
            }
            "gallery" => {
                let ids = get("ids").unwrap_or_default();
                out.push_str("\n\n<div>");
                for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if let Some((url, alt)) = attachment(id) {
                        out.push_str(&format!(
                            "<figure><img src=\"{}\" alt=\"{}\"></figure>",
                            escape(&url),
                            escape(&alt)
                        ));
                    }
                }
                out.push_str("</div>\n\n");
            }
            "embed" => {
                let url = if inner_text.trim().is_empty() {
                    get("src").unwrap_or_default()
                } else {
                    inner_text.trim().to_string()
                };
                out.push_str(&format!("\n\n{}\n\n", embed(&url)));
            }
            "video" | "audio" | "playlist" => {
                let url = [
                    "src", "mp4", "m4v", "webm", "ogv", "mp3", "ogg", "wav", "m4a",
                ]
                .iter()
                .find_map(|k| get(k))
                .unwrap_or_else(|| inner_text.trim().to_string());
                if !url.is_empty() {
                    out.push_str(&format!("\n\n{}\n\n", embed(&url)));
                }
            }
            _ => {
                if !unknown.contains(&name) {
                    unknown.push(name.clone());
                }
                out.push_str(inner_text);
            }
        }
        rest = next;
    }
    out.push_str(rest);
    out
}

/// A caption shortcode's content: the image (maybe inside a link), then
/// the caption text.
fn split_caption(inner: &str) -> (String, String) {
    let lower = inner.to_ascii_lowercase();
    let end = if lower.trim_start().starts_with("<a") {
        lower.find("</a>").map(|i| i + 4)
    } else {
        lower
            .find("<img")
            .and_then(|i| inner[i..].find('>').map(|j| i + j + 1))
    };
    match end {
        Some(e) => (inner[..e].to_string(), inner[e..].to_string()),
        None => (String::new(), inner.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::html::{map_images, map_links, LinkTo};
    use super::*;

    fn plain(content: &str) -> Converted {
        convert(content, &|id| {
            (id == "7").then(|| {
                (
                    "https://old.example/wp-content/uploads/a.jpg".into(),
                    "Gull".into(),
                )
            })
        })
    }

    #[test]
    fn classic_text_gets_paragraphs_and_line_breaks() {
        let c =
            plain("First line\nsame paragraph\n\nSecond paragraph\n<h2>A heading</h2>\nAfter it");
        assert_eq!(
            c.blocks,
            vec![
                "<p>First line<br>\nsame paragraph</p>",
                "<p>Second paragraph</p>",
                "<h2>A heading</h2>",
                "<p>After it</p>",
            ]
        );
        assert_eq!(c.more, None);
    }

    #[test]
    fn more_sets_the_preview_in_both_editors() {
        let c = plain("One\n\nTwo\n<!--more-->\nThree");
        assert_eq!(c.more, Some(2));
        assert_eq!(c.blocks.len(), 3);
        let g = plain("<!-- wp:paragraph --><p>One</p><!-- /wp:paragraph -->\n<!-- wp:more --><!--more--><!-- /wp:more -->\n<!-- wp:paragraph --><p>Two</p><!-- /wp:paragraph -->");
        assert_eq!(g.blocks, vec!["<p>One</p>", "<p>Two</p>"]);
        assert_eq!(g.more, Some(1));
    }

    #[test]
    fn gutenberg_blocks_become_blocks() {
        let g = plain(concat!(
            "<!-- wp:heading --><h2>Tides</h2><!-- /wp:heading -->\n",
            "<!-- wp:separator /-->\n",
            "<!-- wp:embed {\"url\":\"https://video.example/v/1\",\"type\":\"video\"} -->\n<figure><div>https://video.example/v/1</div></figure>\n<!-- /wp:embed -->\n",
            "<!-- wp:pullquote --><figure class=\"wp-block-pullquote\"><blockquote><p>Hold the line</p></blockquote></figure><!-- /wp:pullquote -->\n",
            "<!-- wp:list --><ul><li>a</li>\n\n<li>b</li></ul><!-- /wp:list -->",
        ));
        assert_eq!(
            g.blocks,
            vec![
                "<h2>Tides</h2>",
                "<hr>",
                "<p class=\"embed\"><a href=\"https://video.example/v/1\">https://video.example/v/1</a></p>",
                "<aside class=\"pullquote\"><p>Hold the line</p></aside>",
                "<ul><li>a</li>\n<li>b</li></ul>",
            ]
        );
    }

    #[test]
    fn shortcodes_become_figures_galleries_and_embeds() {
        let c = plain("[caption id=\"attachment_9\" width=\"300\"]<img src=\"https://old.example/x.jpg\" alt=\"Boat\"> The 6:10 ferry[/caption]\n\n[gallery ids=\"7,8\"]\n\n[embed]https://video.example/v/2[/embed]\n\nSee [sic] and [1].\n\n[footnote note=\"x\"]kept text[/footnote] and [[caption]]");
        assert_eq!(
            c.blocks[0],
            "<figure><img src=\"https://old.example/x.jpg\" alt=\"Boat\"><figcaption>The 6:10 ferry</figcaption></figure>"
        );
        assert_eq!(
            c.blocks[1],
            "<div><figure><img src=\"https://old.example/wp-content/uploads/a.jpg\" alt=\"Gull\"></figure></div>"
        );
        assert!(c.blocks[2].contains("href=\"https://video.example/v/2\""));
        assert_eq!(c.blocks[3], "<p>See [sic] and [1].</p>");
        assert_eq!(c.blocks[4], "<p>kept text and [caption]</p>");
        assert_eq!(c.unknown_shortcodes, vec!["footnote"]);
    }

    /// A short fuzz run: bodies made of the converter's own tokens in any
    /// order never panic it, and what comes out keeps its promises (no
    /// blank line inside a block, the cut within the blocks).
    #[test]
    fn any_mix_of_blocks_shortcodes_and_markers_converts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let tokens = [
            "<!-- wp:paragraph -->",
            "<!-- /wp:paragraph -->",
            "<!-- wp:embed {\"url\":\"https://v.example/1\"} -->",
            "<!-- /wp:embed -->",
            "<!-- wp:more /-->",
            "<!--more-->",
            "<!-- wp:",
            "-->",
            "[caption]",
            "[/caption]",
            "[gallery ids=\"7,x\"]",
            "[embed]",
            "[/embed]",
            "[video src=\"a.mp4\"]",
            "[[",
            "]]",
            "[",
            "]",
            "[x y=1]",
            "[/x]",
            "<img src=\"a.png\">",
            "<img",
            "<a href=\"b.png\">",
            "<a",
            "</a>",
            "<abbr>",
            "<p>",
            "</p>",
            "<pre>",
            "</pre>",
            "\n",
            "\n\n",
            "text",
            "é",
            "\u{0}",
        ];
        for _ in 0..3000 {
            let n = rng.gen_range(0..30);
            let body: String = (0..n)
                .map(|_| tokens[rng.gen_range(0..tokens.len())])
                .collect();
            let c = plain(&body);
            for b in &c.blocks {
                assert!(
                    !b.contains("\n\n") && !b.trim().is_empty(),
                    "{body:?} → {b:?}"
                );
            }
            assert!(
                c.more.is_none_or(|m| m as usize <= c.blocks.len()),
                "{body:?}"
            );
            let _ = map_images(&body, |_| Some("<img>".into()));
            let _ = map_links(&body, |h| {
                if h.len() % 2 == 0 {
                    LinkTo::Unwrap
                } else {
                    LinkTo::Href("/x".into())
                }
            });
        }
    }
}
