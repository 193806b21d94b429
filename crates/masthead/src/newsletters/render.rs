//! A send's email: rendered once per segment (the full article for
//! recipients entitled to it, the preview for the others), then each
//! recipient's copy is that rendering with their own footer links and
//! headers. Nothing of the article a segment may not read is ever in its
//! rendering: the body comes from `find_body` with the segment's decision.

use crate::access::keys::KeyRing;
use crate::app::AppState;
use crate::config::BaseUrl;
use anyhow::Context;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use masthead_core::access::{decide, Channel, Decision, Reader, ReaderKind};
use masthead_core::newsletters::{list_id, message_id};
use masthead_store::newsletters::{NewsletterRecord, Recipient, Send};
use std::sync::Arc;

const UNSUBSCRIBE: &str = "%%UNSUBSCRIBE_URL%%";
const PREFERENCES: &str = "%%PREFERENCES_URL%%";

/// The two segments' decisions on an article: (entitled, not entitled).
pub fn segment_decisions(
    policy: &masthead_core::access::Policy,
    facts: &masthead_core::access::ArticleFacts,
) -> (Decision, Decision) {
    let member = |entitled| {
        decide(
            facts,
            &Reader {
                kind: ReaderKind::Member,
                entitled,
                unlocked: false,
                counted: &[],
            },
            policy,
            Channel::Other,
        )
        .decision
    };
    (member(true), member(false))
}

/// Whether readers may see the article at all now (published, and its
/// time has come): a send waits for it; a web version of anything else is
/// not found.
pub fn visible(a: &masthead_core::content::Article, now: i64) -> bool {
    a.status == masthead_core::ArticleStatus::Published
        && a.published_at.is_some_and(|p| p.as_second() <= now)
}

/// A send ready to go out: both segments rendered, the headers known.
pub struct Prepared {
    pub send: Send,
    pub newsletter: NewsletterRecord,
    pub envelope_from: Address,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    domain: String,
    base: BaseUrl,
    mailto: Option<String>,
    keys: Arc<KeyRing>,
    /// (html, text) for "full" and for "preview".
    full: (String, String),
    preview: (String, String),
    /// Whether the preview segment differs from the full one.
    pub gated: bool,
    dkim: Option<DkimConfig>,
}

/// The headers a DKIM signature covers: the usual ones and both
/// List-Unsubscribe headers (RFC 8058 §4), so a relay cannot swap the
/// one-click link.
const DKIM_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

fn dkim_config(s: &crate::config::DkimSettings) -> anyhow::Result<DkimConfig> {
    let algorithm = match s.algorithm.as_str() {
        "rsa" => DkimSigningAlgorithm::Rsa,
        "ed25519" => DkimSigningAlgorithm::Ed25519,
        other => {
            anyhow::bail!("[newsletters.dkim] algorithm must be rsa or ed25519, not {other:?}")
        }
    };
    let text = std::fs::read_to_string(&s.private_key_file)
        .with_context(|| format!("reading the DKIM key {}", s.private_key_file.display()))?;
    let key = DkimSigningKey::new(text.trim(), algorithm).map_err(|e| {
        anyhow::anyhow!(
            "the DKIM key {} is not usable: {e:?}",
            s.private_key_file.display()
        )
    })?;
    Ok(DkimConfig::new(
        s.selector.clone(),
        s.domain.clone(),
        key,
        DKIM_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// Inline styles for the tags our Markdown renderer writes, and absolute
/// URLs: mail clients ignore style sheets and have no base URL.
fn emailify(block: &str, base: &BaseUrl) -> String {
    let origin = base.as_str();
    let mut s = block
        .replace("href=\"/", &format!("href=\"{origin}/"))
        .replace("src=\"/", &format!("src=\"{origin}/"));
    // srcset lists relative variants; mail clients take src.
    while let Some(at) = s.find(" srcset=\"") {
        let end = s[at + 9..].find('"').map_or(s.len(), |e| at + 9 + e + 1);
        s.replace_range(at..end, "");
    }
    for (tag, style) in [
        ("<p>", "<p style=\"margin:0 0 16px;\">"),
        ("<h2>", "<h2 style=\"margin:28px 0 10px;font-size:23px;line-height:1.25;\">"),
        ("<h3>", "<h3 style=\"margin:24px 0 8px;font-size:20px;line-height:1.3;\">"),
        ("<blockquote>", "<blockquote style=\"margin:0 0 16px;padding:0 0 0 16px;border-left:3px solid #b9b3a6;\">"),
        ("<ul>", "<ul style=\"margin:0 0 16px;padding-left:24px;\">"),
        ("<ol>", "<ol style=\"margin:0 0 16px;padding-left:24px;\">"),
        ("<figure>", "<figure style=\"margin:0 0 16px;\">"),
        ("<figcaption>", "<figcaption style=\"font-family:Helvetica,Arial,sans-serif;font-size:13px;color:#6b675f;\">"),
        ("<img ", "<img style=\"display:block;max-width:100%;height:auto;border:0;\" "),
    ] {
        s = s.replace(tag, style);
    }
    s
}

/// The text of an HTML block: tags dropped, entities decoded, spaces
/// collapsed; a link keeps its address after its words.
pub fn block_text(html: &str, base: &BaseUrl) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut pending_href: Option<String> = None;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        if let Some(attrs) = tag.strip_prefix("a ") {
            pending_href = attrs
                .split("href=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .map(|h| {
                    if h.starts_with('/') {
                        format!("{}{h}", base.as_str())
                    } else {
                        h.to_string()
                    }
                });
        } else if tag == "/a" {
            if let Some(h) = pending_href.take() {
                out.push_str(&format!(" ({h})"));
            }
        } else if tag == "li" {
            out.push_str("\n- ");
        } else if tag == "br" || tag == "br/" || tag == "/li" {
            out.push(' ');
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// The days before its start a digest covers.
pub fn digest_since(send: &Send, end: i64) -> i64 {
    end - send.digest_days.unwrap_or(7).clamp(1, 90) * 86_400
}

/// The articles of a digest send: the list fixed when its sending started
/// (`content::fix_digest`), or, before that, those published in its
/// `digest_days` until now; newest first, at most `content::DIGEST_MAX`.
pub async fn digest_articles(
    db: &masthead_store::Db,
    send: &Send,
    now: i64,
) -> anyhow::Result<Vec<masthead_core::content::ArticleSummary>> {
    use masthead_store::content::{list_articles, Listing, DIGEST_MAX};
    let listing = match send.digest_fixed_at {
        Some(_) => Listing::Digest(send.id),
        None => Listing::PublishedBetween(digest_since(send, now), now),
    };
    let (items, _) = list_articles(db, listing, now, 0, DIGEST_MAX).await?;
    Ok(items)
}

/// Renders the email of a send for one decision (`None`: a digest).
async fn render_segment(
    state: &AppState,
    send: &Send,
    newsletter: &NewsletterRecord,
    article: Option<(&masthead_core::content::Article, Decision)>,
) -> anyhow::Result<(String, String)> {
    let db = state.db();
    let base = &state.config().base_url;
    let settings = state.settings().get();
    let web_url = base.join(&format!("/newsletters/{}/{}", newsletter.slug, send.id));
    let mut ctx_article = None;
    let mut digest = Vec::new();
    if let Some((a, decision)) = article {
        let body = masthead_store::content::find_body(db, &a.facts(), decision).await?;
        let blocks: Vec<String> = body.blocks.iter().map(|b| emailify(b, base)).collect();
        let text: Vec<String> = body
            .blocks
            .iter()
            .map(|b| block_text(b, base))
            .filter(|t| !t.is_empty())
            .collect();
        let image = a.lead_image.as_ref().map(|l| {
            let v = crate::site::view::image(&l.media, &l.alt, &l.caption, &l.credit, 1200);
            minijinja::context! {
                url => base.join(&v.src),
                alt => v.alt,
                caption => v.caption,
                credit => v.credit,
            }
        });
        let names: Vec<&str> = a.authors.iter().map(|x| x.name.as_str()).collect();
        let byline = if names.is_empty() {
            String::new()
        } else {
            format!("By {}", names.join(" and "))
        };
        ctx_article = Some(minijinja::context! {
            headline => a.headline,
            standfirst => a.standfirst,
            byline => byline,
            url => base.join(&format!("/{}", a.slug)),
            image => image,
            blocks => blocks,
            text => text,
            preview => !body.is_complete(),
        });
    } else {
        for a in digest_articles(db, send, state.now()).await? {
            digest.push(minijinja::context! {
                headline => a.headline,
                standfirst => a.standfirst,
                url => base.join(&format!("/{}", a.slug)),
            });
        }
    }
    let ctx = minijinja::context! {
        lang => settings.publication.language,
        subject => send.subject,
        preheader => article.map(|(a, _)| a.standfirst.clone()).unwrap_or_default(),
        publication => settings.publication.name,
        newsletter => newsletter.name,
        home_url => base.join("/"),
        web_url => web_url,
        article => ctx_article,
        is_digest => article.is_none(),
        digest => digest,
    };
    let html = state.theme().render("email/newsletter.html", &ctx)?;
    let text = state.theme().render("email/newsletter.txt", &ctx)?;
    Ok((html, text))
}

/// Renders both segments of a send and gathers what every copy shares.
pub async fn prepare(state: &AppState, send: &Send) -> anyhow::Result<Prepared> {
    let db = state.db();
    let newsletter = masthead_store::newsletters::find_by_id(db, send.newsletter_id)
        .await?
        .context("the send's newsletter is gone")?;
    let (full, preview, gated) = match send.article_id {
        Some(id) => {
            let a = masthead_store::content::find_article_by_id(db, id)
                .await?
                .context("the send's article is gone")?;
            if !visible(&a, state.now()) {
                anyhow::bail!("the article {} is not published", a.slug);
            }
            let policy = &state.settings().get().publication.policy;
            let (entitled, other) = segment_decisions(policy, &a.facts());
            let full = render_segment(state, send, &newsletter, Some((&a, entitled))).await?;
            let preview = if other == entitled {
                full.clone()
            } else {
                render_segment(state, send, &newsletter, Some((&a, other))).await?
            };
            (full, preview, other != entitled)
        }
        None => {
            let digest = render_segment(state, send, &newsletter, None).await?;
            (digest.clone(), digest, false)
        }
    };
    let envelope_from: Address = newsletter.sender_email.parse().with_context(|| {
        format!(
            "newsletter {}: sender address {:?}",
            newsletter.slug, newsletter.sender_email
        )
    })?;
    let from = Mailbox::new(Some(newsletter.sender_name.clone()), envelope_from.clone());
    let reply_to = newsletter
        .reply_to
        .parse::<Address>()
        .ok()
        .map(|a| Mailbox::new(None, a));
    let domain = crate::mail::mail_host(state.config());
    let dkim = state
        .config()
        .newsletters
        .dkim
        .as_ref()
        .map(dkim_config)
        .transpose()?;
    Ok(Prepared {
        dkim,
        list_id: list_id(&newsletter.name, &newsletter.slug, &domain),
        send: send.clone(),
        newsletter,
        envelope_from,
        from,
        reply_to,
        domain,
        base: state.config().base_url.clone(),
        mailto: state.config().newsletters.unsubscribe_mailto.clone(),
        keys: state.link_keys(),
        full,
        preview,
        gated,
    })
}

fn raw(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl Prepared {
    /// One recipient's copy, formatted for SMTP.
    pub fn message(&self, r: &Recipient) -> anyhow::Result<Vec<u8>> {
        let to: Address = r.email.parse().context("not an email address")?;
        let unsubscribe = self.base.join(&format!(
            "/unsubscribe/{}",
            super::unsubscribe_token(&self.keys, r.member_id, self.newsletter.id)
        ));
        let preferences = self.base.join(&format!(
            "/newsletters/preferences/{}",
            super::preferences_token(&self.keys, r.member_id)
        ));
        let (html, text) = if r.segment == "full" {
            &self.full
        } else {
            &self.preview
        };
        let html = html
            .replace(UNSUBSCRIBE, &escape_attr(&unsubscribe))
            .replace(PREFERENCES, &escape_attr(&preferences));
        let text = text
            .replace(UNSUBSCRIBE, &unsubscribe)
            .replace(PREFERENCES, &preferences);
        let mut list_unsubscribe = format!("<{unsubscribe}>");
        if let Some(m) = &self.mailto {
            list_unsubscribe.push_str(&format!(", <mailto:{m}?subject=unsubscribe>"));
        }
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(&self.send.subject)
            .date_now()
            .message_id(Some(message_id(self.send.id, r.member_id, &self.domain)))
            .raw_header(raw("List-Unsubscribe", list_unsubscribe))
            .raw_header(raw(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ))
            .raw_header(raw("List-Id", self.list_id.clone()));
        if let Some(rt) = &self.reply_to {
            b = b.reply_to(rt.clone());
        }
        let mut message = b
            .multipart(MultiPart::alternative_plain_html(text, html))
            .context("building the message")?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_email_html_and_plain_text() {
        let base = BaseUrl::parse("https://news.example").unwrap();
        let html = "<p>Read <a href=\"/budget\">the budget</a> &amp; <em>more</em>.</p>";
        assert_eq!(
            emailify(html, &base),
            "<p style=\"margin:0 0 16px;\">Read <a href=\"https://news.example/budget\">the budget</a> &amp; <em>more</em>.</p>"
        );
        assert_eq!(
            block_text(html, &base),
            "Read the budget (https://news.example/budget) & more."
        );
        let fig = "<figure><img src=\"/media/a.webp\" srcset=\"/media/a-480.webp 480w\" alt=\"x\"><figcaption>Cap</figcaption></figure>";
        let e = emailify(fig, &base);
        assert!(
            e.contains("src=\"https://news.example/media/a.webp\"") && !e.contains("srcset"),
            "{e}"
        );
        assert_eq!(
            block_text("<ul><li>one</li><li>two</li></ul>", &base),
            "- one\n- two"
        );
    }
}
