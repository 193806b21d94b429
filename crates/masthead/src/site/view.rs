//! View models: what templates receive. Dates are formatted here in the
//! publication's time zone; URLs are built here from the base URL.

use crate::app::AppState;
use masthead_core::content::{ArticleSummary, AuthorRef, ContentType, LeadImage, Media};
use serde::Serialize;

#[derive(Serialize)]
pub struct SiteView {
    pub name: String,
    pub description: String,
    pub language: String,
    pub base_url: String,
    pub logo: String,
    pub css_url: String,
    pub sections: Vec<Link>,
    pub year: i16,
}

#[derive(Debug, Serialize, Clone)]
pub struct Link {
    pub url: String,
    pub name: String,
}

pub fn site(state: &AppState) -> SiteView {
    let s = state.settings().get();
    let p = &s.publication;
    SiteView {
        name: p.name.clone(),
        description: p.description.clone(),
        language: p.language.clone(),
        base_url: state.config().base_url.as_str().to_string(),
        logo: p.logo.clone(),
        css_url: match p.accent_colour.strip_prefix('#') {
            Some(accent) => format!("/static/style.css?v={}-{accent}", state.theme().css_version),
            None => format!("/static/style.css?v={}", state.theme().css_version),
        },
        sections: ContentType::ALL
            .iter()
            .map(|t| Link {
                url: format!("/sections/{}", t.as_str()),
                name: t.section_title().to_string(),
            })
            .collect(),
        year: state.clock().timestamp().to_zoned(s.tz.clone()).year(),
    }
}

#[derive(Serialize)]
pub struct ImageView {
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

/// `src` is the variant closest to `want` pixels wide; `srcset` lists all.
pub fn image(media: &Media, alt: &str, caption: &str, credit: &str, want: u32) -> ImageView {
    let pick = media
        .variants
        .iter()
        .find(|v| v.width >= want)
        .or(media.variants.last());
    let (src, width, height) = match pick {
        Some(v) => (
            format!(
                "/media/{}",
                crate::media::variant_name(&media.hash, v.width, &v.ext)
            ),
            v.width,
            v.height,
        ),
        None => (
            format!("/media/{}.{}", media.hash, media.ext),
            media.width,
            media.height,
        ),
    };
    let srcset = media
        .variants
        .iter()
        .map(|v| {
            format!(
                "/media/{} {}w",
                crate::media::variant_name(&media.hash, v.width, &v.ext),
                v.width
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    ImageView {
        src,
        srcset,
        width,
        height,
        alt: alt.to_string(),
        caption: caption.to_string(),
        credit: credit.to_string(),
    }
}

pub fn lead(l: &LeadImage, want: u32) -> ImageView {
    image(&l.media, &l.alt, &l.caption, &l.credit, want)
}

#[derive(Serialize)]
pub struct TimeView {
    pub iso: String,
    pub display: String,
}

pub fn time(state: &AppState, t: jiff::Timestamp) -> TimeView {
    let tz = state.settings().get().tz.clone();
    let z = t.to_zoned(tz);
    TimeView {
        iso: z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        display: z.strftime("%B %-d, %Y at %-I:%M %p %Z").to_string(),
    }
}

pub fn date(state: &AppState, t: jiff::Timestamp) -> TimeView {
    let tz = state.settings().get().tz.clone();
    let z = t.to_zoned(tz);
    TimeView {
        iso: z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        display: z.strftime("%B %-d, %Y").to_string(),
    }
}

#[derive(Serialize)]
pub struct Card {
    pub url: String,
    pub headline: String,
    pub standfirst: String,
    pub kind: String,
    pub kind_url: String,
    pub published: Option<TimeView>,
    pub image: Option<ImageView>,
    pub authors: Vec<Link>,
}

pub fn authors(list: &[AuthorRef]) -> Vec<Link> {
    list.iter()
        .map(|a| Link {
            url: format!("/authors/{}", a.slug),
            name: a.name.clone(),
        })
        .collect()
}

pub fn card(state: &AppState, a: &ArticleSummary) -> Card {
    Card {
        url: format!("/{}", a.slug),
        headline: a.headline.clone(),
        standfirst: a.standfirst.clone(),
        kind: a.content_type.label().to_string(),
        kind_url: format!("/sections/{}", a.content_type.as_str()),
        published: a.published_at.map(|t| date(state, t)),
        image: a.lead_image.as_ref().map(|l| lead(l, 480)),
        authors: authors(&a.authors),
    }
}

/// Serializes JSON for a `<script type="application/ld+json">` block with
/// `<`, `>` and `&` escaped, so no string in it can close the element.
pub fn json_for_script(value: &serde_json::Value) -> String {
    let s = value.to_string();
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Pagination links for list pages.
#[derive(Serialize)]
pub struct Pager {
    pub newer: Option<String>,
    pub older: Option<String>,
    pub page: u32,
}

pub fn pager(path: &str, extra: &str, page: u32, more: bool) -> Pager {
    let url = |p: u32| {
        if p == 1 && extra.is_empty() {
            path.to_string()
        } else if p == 1 {
            format!("{path}?{extra}")
        } else if extra.is_empty() {
            format!("{path}?page={p}")
        } else {
            format!("{path}?{extra}&page={p}")
        }
    };
    Pager {
        newer: (page > 1).then(|| url(page - 1)),
        older: more.then(|| url(page + 1)),
        page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ld_cannot_close_its_script_element() {
        let v = serde_json::json!({ "headline": "</script><script>alert(1)</script> & more" });
        let s = json_for_script(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(back, v, "still the same JSON");
    }

    #[test]
    fn pager_links_keep_the_query() {
        let p = pager("/search", "q=tide", 2, true);
        assert_eq!(p.newer.as_deref(), Some("/search?q=tide"));
        assert_eq!(p.older.as_deref(), Some("/search?q=tide&page=3"));
        assert!(pager("/", "", 1, false).newer.is_none());
    }
}
