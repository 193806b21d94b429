//! WordPress eXtended RSS (WXR 1.1 and 1.2, WordPress 4 to 6), read as a
//! stream: no DOM of the file is ever built, so a 2 GB export keeps memory
//! bounded. A DOCTYPE is refused (so no entity is ever defined, expanded
//! or fetched), as is an entity XML does not predefine; characters XML
//! forbids, which real exports contain, are dropped and counted. The
//! namespaces are matched by the prefixes WordPress writes (`wp:`,
//! `content:`, `excerpt:`, `dc:`), which cover both the `http://` and the
//! `https://wordpress.org/export/1.2/` forms.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::BufRead;
use std::rc::Rc;

use quick_xml::events::Event;
use quick_xml::Reader;

/// The most bytes one XML event may take (a post's content, say).
pub const MAX_EVENT_BYTES: u64 = 32 * 1024 * 1024;
/// The deepest element nesting a WXR file may have.
const MAX_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WxrError {
    #[error("the file declares a DOCTYPE; WordPress exports have none, and entities are never expanded, so it is refused")]
    Doctype,
    #[error("the file ends inside <{0}>: it looks truncated; export it again")]
    Truncated(String),
    #[error("this is not a WordPress export (no <rss><channel> with WordPress data)")]
    NotWxr,
    #[error("at byte {at}: {message}")]
    Xml { at: u64, message: String },
    #[error("at byte {at}: one element is larger than {} MB", MAX_EVENT_BYTES / (1024 * 1024))]
    TooLarge { at: u64 },
    #[error("at byte {at}: elements are nested more than {MAX_DEPTH} deep")]
    TooDeep { at: u64 },
    #[error("cannot read the file: {0}")]
    Io(String),
}

/// The site the export came from, and what its items refer to.
#[derive(Debug, Default, Clone)]
pub struct Channel {
    pub title: String,
    pub link: String,
    pub base_site_url: String,
    pub base_blog_url: String,
    pub authors: Vec<Author>,
    pub terms: Vec<Term>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Author {
    pub login: String,
    pub display_name: String,
}

/// A category, tag or other taxonomy term.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Term {
    /// `category`, `post_tag`, or another taxonomy (`author` for
    /// Co-Authors Plus).
    pub taxonomy: String,
    pub slug: String,
    pub name: String,
    /// The parent's slug (categories).
    pub parent: String,
}

/// One `<item>`: a post, page, attachment or anything else.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Item {
    pub post_id: String,
    pub post_type: String,
    pub title: String,
    pub link: String,
    pub creator: String,
    pub content: String,
    pub excerpt: String,
    pub post_name: String,
    pub status: String,
    pub post_date: String,
    pub post_date_gmt: String,
    pub post_password: String,
    pub sticky: bool,
    pub parent: String,
    pub attachment_url: String,
    /// (domain, nicename, name) of each `<category>`.
    pub categories: Vec<(String, String, String)>,
    /// (key, value) of each `<wp:postmeta>`.
    pub meta: Vec<(String, String)>,
}

impl Item {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What one read of the file found besides its items.
#[derive(Debug, Default)]
pub struct Scan {
    pub channel: Channel,
    pub items: usize,
    /// Characters XML forbids, dropped.
    pub dropped_characters: usize,
}

/// Counts the bytes a reader hands out since the last reset, and fails
/// once one event has taken more than its share.
struct Capped<R> {
    inner: R,
    taken: Rc<Cell<u64>>,
    total: Rc<Cell<u64>>,
}

impl<R: BufRead> std::io::Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.taken.get() > MAX_EVENT_BYTES {
            return Err(std::io::Error::other("event too large"));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.taken.set(self.taken.get() + amt as u64);
        self.total.set(self.total.get() + amt as u64);
        self.inner.consume(amt);
    }
}

/// Keeps the characters XML allows; counts the others.
fn push_clean(out: &mut String, text: &str, dropped: &mut usize) {
    for c in text.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        if allowed {
            out.push(c);
        } else {
            *dropped += 1;
        }
    }
}

/// Reads a WXR file once, calling `on_item` for every item in order; stops
/// early (and returns what it had) when `on_item` returns false.
pub fn scan(input: impl BufRead, mut on_item: impl FnMut(Item) -> bool) -> Result<Scan, WxrError> {
    let taken = Rc::new(Cell::new(0));
    let total = Rc::new(Cell::new(0));
    let mut reader = Reader::from_reader(Capped {
        inner: input,
        taken: taken.clone(),
        total: total.clone(),
    });
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut out = Scan::default();
    let mut item: Option<Item> = None;
    let mut author = Author::default();
    let mut term = Term::default();
    let mut meta = (String::new(), String::new());
    let mut category: Option<(String, String)> = None;
    let mut saw_channel = false;
    loop {
        taken.set(0);
        buf.clear();
        let at = total.get();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(quick_xml::Error::Io(e)) if e.to_string().contains("event too large") => {
                return Err(WxrError::TooLarge { at })
            }
            Err(quick_xml::Error::Io(e)) => return Err(WxrError::Io(e.to_string())),
            Err(e) if e.to_string().contains("end of input") => {
                return Err(WxrError::Truncated(
                    path.last().cloned().unwrap_or_else(|| "rss".into()),
                ))
            }
            Err(e) => {
                return Err(WxrError::Xml {
                    at: reader.error_position(),
                    message: e.to_string(),
                })
            }
        };
        match event {
            Event::DocType(_) => return Err(WxrError::Doctype),
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                if path.len() >= MAX_DEPTH {
                    return Err(WxrError::TooDeep { at });
                }
                match (path.last().map(String::as_str), name.as_str()) {
                    (Some("channel"), "item") => item = Some(Item::default()),
                    (Some("rss"), "channel") => saw_channel = true,
                    (Some("channel"), "wp:author") => author = Author::default(),
                    (Some("channel"), "wp:category" | "wp:tag" | "wp:term") => {
                        term = Term {
                            taxonomy: match name.as_str() {
                                "wp:category" => "category".into(),
                                "wp:tag" => "post_tag".into(),
                                _ => String::new(),
                            },
                            ..Term::default()
                        }
                    }
                    (Some("item"), "category") => {
                        let attr = |key: &str| {
                            e.try_get_attribute(key)
                                .ok()
                                .flatten()
                                .and_then(|a| {
                                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                        .ok()
                                        .map(|v| v.into_owned())
                                })
                                .unwrap_or_default()
                        };
                        category = Some((attr("domain"), attr("nicename")));
                    }
                    (Some("item"), "wp:postmeta") => meta = (String::new(), String::new()),
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(_) => {}
            Event::Text(t) => {
                push_clean(&mut text, &t.xml10_content(), &mut out.dropped_characters)
            }
            Event::CData(t) => {
                push_clean(&mut text, &t.xml10_content(), &mut out.dropped_characters)
            }
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    push_clean(
                        &mut text,
                        c.encode_utf8(&mut [0; 4]),
                        &mut out.dropped_characters,
                    );
                } else {
                    let name = r.into_inner();
                    let c = match name.as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => {
                            return Err(WxrError::Xml {
                                at,
                                message: format!(
                                    "unknown entity &{other}; (XML predefines only five)"
                                ),
                            })
                        }
                    };
                    text.push_str(c);
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(WxrError::NotWxr);
                };
                let value = std::mem::take(&mut text);
                let parent = path.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("channel"), "item") => {
                        if let Some(done) = item.take() {
                            out.items += 1;
                            if !on_item(done) {
                                return Ok(out);
                            }
                        }
                    }
                    (Some("item"), field) => {
                        if let Some(it) = item.as_mut() {
                            let value = value.clone();
                            match field {
                                "title" => it.title = value,
                                "link" => it.link = value.trim().into(),
                                "dc:creator" => it.creator = value.trim().into(),
                                "content:encoded" => it.content = value,
                                "excerpt:encoded" => it.excerpt = value,
                                "wp:post_id" => it.post_id = value.trim().into(),
                                "wp:post_type" => it.post_type = value.trim().into(),
                                "wp:post_name" => it.post_name = value.trim().into(),
                                "wp:status" => it.status = value.trim().into(),
                                "wp:post_date" => it.post_date = value.trim().into(),
                                "wp:post_date_gmt" => it.post_date_gmt = value.trim().into(),
                                "wp:post_password" => it.post_password = value,
                                "wp:is_sticky" => it.sticky = value.trim() == "1",
                                "wp:post_parent" => it.parent = value.trim().into(),
                                "wp:attachment_url" => it.attachment_url = value.trim().into(),
                                "category" => {
                                    if let Some((domain, nicename)) = category.take() {
                                        it.categories.push((domain, nicename, value));
                                    }
                                }
                                "wp:postmeta" => it.meta.push(std::mem::take(&mut meta)),
                                _ => {}
                            }
                        }
                    }
                    (Some("wp:postmeta"), "wp:meta_key") => meta.0 = value.trim().into(),
                    (Some("wp:postmeta"), "wp:meta_value") => meta.1 = value,
                    (Some("channel"), "title") => out.channel.title = value.trim().into(),
                    (Some("channel"), "link") => out.channel.link = value.trim().into(),
                    (Some("channel"), "wp:base_site_url") => {
                        out.channel.base_site_url = value.trim().into()
                    }
                    (Some("channel"), "wp:base_blog_url") => {
                        out.channel.base_blog_url = value.trim().into()
                    }
                    (Some("channel"), "wp:author") => {
                        out.channel.authors.push(std::mem::take(&mut author))
                    }
                    (Some("channel"), "wp:category" | "wp:tag" | "wp:term") => {
                        out.channel.terms.push(std::mem::take(&mut term))
                    }
                    (Some("wp:author"), "wp:author_login") => author.login = value.trim().into(),
                    (Some("wp:author"), "wp:author_display_name") => {
                        author.display_name = value.trim().into()
                    }
                    (Some("wp:category"), "wp:category_nicename")
                    | (Some("wp:tag"), "wp:tag_slug")
                    | (Some("wp:term"), "wp:term_slug") => term.slug = value.trim().into(),
                    (Some("wp:category"), "wp:cat_name")
                    | (Some("wp:tag"), "wp:tag_name")
                    | (Some("wp:term"), "wp:term_name") => term.name = value.trim().into(),
                    (Some("wp:category"), "wp:category_parent")
                    | (Some("wp:term"), "wp:term_parent") => term.parent = value.trim().into(),
                    (Some("wp:term"), "wp:term_taxonomy") => term.taxonomy = value.trim().into(),
                    _ => {}
                }
            }
            Event::Eof => {
                if let Some(open) = path.last() {
                    return Err(WxrError::Truncated(open.clone()));
                }
                if !saw_channel {
                    return Err(WxrError::NotWxr);
                }
                return Ok(out);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
}

/// Every attachment of the file by post id, from a first pass (WordPress
/// writes attachments after the posts that use them).
#[derive(Debug, Default, Clone)]
pub struct Attachment {
    pub url: String,
    pub alt: String,
    pub caption: String,
    pub title: String,
}

pub fn attachments_and_channel(
    input: impl BufRead,
) -> Result<(Scan, HashMap<String, Attachment>), WxrError> {
    let mut found = HashMap::new();
    let scan = scan(input, |item| {
        if item.post_type == "attachment" && !item.attachment_url.is_empty() {
            let alt = item
                .meta("_wp_attachment_image_alt")
                .unwrap_or("")
                .to_string();
            found.insert(
                item.post_id.clone(),
                Attachment {
                    url: item.attachment_url,
                    alt,
                    caption: item.excerpt,
                    title: item.title,
                },
            );
        }
        true
    })?;
    Ok((scan, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Old Gazette</title><link>https://old.example</link>
<wp:base_site_url>https://old.example</wp:base_site_url>
<wp:author><wp:author_login><![CDATA[ines]]></wp:author_login><wp:author_display_name><![CDATA[Ines Varga]]></wp:author_display_name></wp:author>
<wp:category><wp:category_nicename>harbour</wp:category_nicename><wp:category_parent></wp:category_parent><wp:cat_name><![CDATA[Harbour]]></wp:cat_name></wp:category>
"#;

    fn items(xml: &str) -> Result<(Scan, Vec<Item>), WxrError> {
        let mut all = Vec::new();
        let scan = scan(xml.as_bytes(), |i| {
            all.push(i);
            true
        })?;
        Ok((scan, all))
    }

    #[test]
    fn an_item_its_categories_and_meta_are_read() {
        let xml = format!(
            "{HEAD}<item><title>Low &amp; high &#8211; tide</title><link>https://old.example/2024/05/17/tide/</link>\
             <dc:creator><![CDATA[ines]]></dc:creator><content:encoded><![CDATA[<p>One</p>]]></content:encoded>\
             <wp:post_id>12</wp:post_id><wp:post_type><![CDATA[post]]></wp:post_type><wp:is_sticky>1</wp:is_sticky>\
             <category domain=\"category\" nicename=\"harbour\"><![CDATA[Harbour]]></category>\
             <wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value><![CDATA[40]]></wp:meta_value></wp:postmeta>\
             </item></channel></rss>"
        );
        let (scan, items) = items(&xml).unwrap();
        assert_eq!(scan.channel.base_site_url, "https://old.example");
        assert_eq!(scan.channel.authors[0].display_name, "Ines Varga");
        assert_eq!(scan.channel.terms[0].taxonomy, "category");
        let it = &items[0];
        assert_eq!(it.title, "Low & high \u{2013} tide");
        assert_eq!(it.content, "<p>One</p>");
        assert!(it.sticky);
        assert_eq!(it.meta("_thumbnail_id"), Some("40"));
        assert_eq!(
            it.categories,
            vec![("category".into(), "harbour".into(), "Harbour".into())]
        );
    }

    #[test]
    fn a_doctype_an_unknown_entity_and_a_truncated_file_are_refused() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><rss><channel><title>&lol2;</title></channel></rss>";
        assert_eq!(items(bomb).unwrap_err(), WxrError::Doctype);
        let external = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><rss><channel><title>&xxe;</title></channel></rss>";
        assert_eq!(items(external).unwrap_err(), WxrError::Doctype);
        let undefined = format!("{HEAD}<item><title>&xxe;</title></item></channel></rss>");
        assert!(matches!(
            items(&undefined).unwrap_err(),
            WxrError::Xml { .. }
        ));
        let cut = format!("{HEAD}<item><title>Half");
        assert_eq!(
            items(&cut).unwrap_err(),
            WxrError::Truncated("title".into())
        );
        assert_eq!(items("<html><body/></html>").unwrap_err(), WxrError::NotWxr);
    }

    #[test]
    fn forbidden_characters_are_dropped_and_counted() {
        let xml = format!("{HEAD}<item><title>Bell\u{7}ringer\u{b}</title></item></channel></rss>");
        let (scan, items) = items(&xml).unwrap();
        assert_eq!(items[0].title, "Bellringer");
        assert_eq!(scan.dropped_characters, 2);
    }

    #[test]
    fn invalid_utf8_is_a_clear_error() {
        let mut xml = format!("{HEAD}<item><title>").into_bytes();
        xml.extend_from_slice(&[0xff, 0xfe]);
        xml.extend_from_slice(b"</title></item></channel></rss>");
        assert!(scan(&xml[..], |_| true).is_err());
    }

    /// A short fuzz run (a fixed seed, so a failure repeats): mutated
    /// exports never panic the reader, whatever they break.
    #[test]
    fn mutated_exports_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let base = format!(
            "{HEAD}<item><title>T</title><content:encoded><![CDATA[<p>x</p>]]></content:encoded>\
             <wp:postmeta><wp:meta_key>k</wp:meta_key><wp:meta_value>v</wp:meta_value></wp:postmeta>\
             <category domain=\"category\" nicename=\"a\">A</category></item></channel></rss>"
        )
        .into_bytes();
        let pieces: [&[u8]; 9] = [
            b"<",
            b">",
            b"&",
            b"]]>",
            b"<![CDATA[",
            b"</item>",
            b"<item>",
            b"&#0;",
            b"\xff",
        ];
        for _ in 0..3000 {
            let mut doc = base.clone();
            for _ in 0..rng.gen_range(1..6) {
                let at = rng.gen_range(0..doc.len());
                match rng.gen_range(0..4) {
                    0 => doc.truncate(at),
                    1 => doc[at] = rng.gen(),
                    2 => {
                        let p = pieces[rng.gen_range(0..pieces.len())];
                        doc.splice(at..at, p.iter().copied());
                    }
                    _ => {
                        let end = (at + rng.gen_range(0..20)).min(doc.len());
                        doc.drain(at..end);
                    }
                }
                if doc.is_empty() {
                    break;
                }
            }
            let _ = scan(&doc[..], |_| true);
        }
    }

    #[test]
    fn one_huge_element_is_refused_without_reading_the_rest() {
        let mut xml = format!("{HEAD}<item><content:encoded>");
        xml.push_str(&"x".repeat((MAX_EVENT_BYTES + 1024 * 1024) as usize));
        xml.push_str("</content:encoded></item></channel></rss>");
        // Read as a file is: in buffer-sized pieces.
        let file = std::io::BufReader::with_capacity(64 * 1024, xml.as_bytes());
        assert!(matches!(
            scan(file, |_| true).unwrap_err(),
            WxrError::TooLarge { .. } | WxrError::Io(_)
        ));
    }
}
