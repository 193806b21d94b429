//! Pages that list articles: home, sections, topics, authors, search; and
//! the static pages (Terms, Privacy, About).

use super::view::{self, Card};
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::cache::Audience;
use crate::http::{html, page_param, query_param, ClientIp};
use crate::http::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use masthead_core::access::ReaderKind;
use masthead_core::content::ContentType;
use masthead_store::content::SearchScope;
use masthead_store::content::{self as store, Listing};

const PER_PAGE: u32 = 20;

fn offset(page: u32) -> u64 {
    u64::from(page - 1) * u64::from(PER_PAGE)
}

pub async fn home(State(state): State<AppState>, uri: Uri) -> AppResult {
    // WordPress's own addresses of an imported post or page.
    if query_param(&uri, "p").is_some() || query_param(&uri, "page_id").is_some() {
        if let Some(res) = super::old_address(&state, &uri).await {
            return Ok(res);
        }
    }
    let page = page_param(&uri)?;
    super::shared::serve(&state, &uri, page, Audience::Everyone, || {
        render_home(&state, page)
    })
    .await
}

async fn render_home(state: &AppState, page: u32) -> AppResult {
    let front = store::list_home(state.db(), state.now(), offset(page), PER_PAGE, 4).await?;
    if page > 1 && front.items.is_empty() {
        return Err(AppError::NotFound);
    }
    let more = front.more;
    let latest = pinned_first(front.pinned, front.items);
    let sections: Vec<minijinja::Value> = front
        .sections
        .iter()
        .map(|(t, items)| {
            minijinja::context! {
                title => t.section_title(),
                url => format!("/sections/{}", t.as_str()),
                items => items.iter().map(|a| view::card(state, a)).collect::<Vec<Card>>(),
            }
        })
        .collect();
    let site = view::site(state);
    let canonical = state.config().base_url.join("/");
    let ctx = minijinja::context! {
        title => site.name.clone(),
        description => site.description.clone(),
        canonical => canonical,
        feed_rss => "/feeds/rss.xml",
        feed_atom => "/feeds/atom.xml",
        site => site,
        latest => latest.iter().map(|a| view::card(state, a)).collect::<Vec<Card>>(),
        sections => sections,
        pager => view::pager("/", "", page, more),
    };
    Ok(html(state.theme().render("home.html", ctx)?))
}

/// The pinned articles (lead first), then the rest without them, as many
/// as the page shows.
fn pinned_first(
    pinned: Vec<masthead_core::content::ArticleSummary>,
    rest: Vec<masthead_core::content::ArticleSummary>,
) -> Vec<masthead_core::content::ArticleSummary> {
    if pinned.is_empty() {
        return rest;
    }
    let n = rest.len().max(pinned.len());
    let ids: Vec<i64> = pinned.iter().map(|a| a.id).collect();
    pinned
        .into_iter()
        .chain(rest.into_iter().filter(|a| !ids.contains(&a.id)))
        .take(n)
        .collect()
}

/// Shared by section, topic and author pages.
struct ListPage<'a> {
    path: String,
    heading: String,
    intro: String,
    intro_html: String,
    listing: Listing,
    feeds: Option<(String, String)>,
    image: Option<view::ImageView>,
    kind: &'a str,
}

async fn render_list(state: &AppState, page: u32, p: ListPage<'_>) -> AppResult {
    // A section's front: its pinned lead and featured articles first.
    let front_page = match (page, p.listing) {
        (1, Listing::ContentType(t)) => Some(format!("section:{}", t.as_str())),
        _ => None,
    };
    let front = store::list_front(
        state.db(),
        p.listing,
        front_page.as_deref(),
        state.now(),
        offset(page),
        PER_PAGE,
    )
    .await?;
    if page > 1 && front.items.is_empty() {
        return Err(AppError::NotFound);
    }
    let more = front.more;
    let items = match p.listing {
        Listing::ContentType(t) => pinned_first(
            front
                .pinned
                .into_iter()
                .filter(|a| a.content_type == t)
                .collect(),
            front.items,
        ),
        _ => front.items,
    };
    let canonical = state.config().base_url.join(&if page > 1 {
        format!("{}?page={page}", p.path)
    } else {
        p.path.clone()
    });
    let ctx = minijinja::context! {
        site => view::site(state),
        title => p.heading,
        heading => p.heading,
        description => if p.intro.is_empty() { None } else { Some(p.intro.clone()) },
        intro => p.intro,
        intro_html => minijinja::Value::from_safe_string(p.intro_html),
        canonical => canonical,
        feed_rss => p.feeds.as_ref().map(|f| f.0.clone()),
        feed_atom => p.feeds.as_ref().map(|f| f.1.clone()),
        image => p.image,
        kind => p.kind,
        items => items.iter().map(|a| view::card(state, a)).collect::<Vec<Card>>(),
        pager => view::pager(&p.path, "", page, more),
    };
    Ok(html(state.theme().render("list.html", ctx)?))
}

pub async fn section(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    uri: Uri,
) -> AppResult {
    let t = ContentType::parse(&kind).map_err(|_| AppError::NotFound)?;
    let page = page_param(&uri)?;
    super::shared::serve(&state, &uri, page, Audience::Everyone, || {
        render_list(
            &state,
            page,
            ListPage {
                path: format!("/sections/{}", t.as_str()),
                heading: t.section_title().to_string(),
                intro: String::new(),
                intro_html: String::new(),
                listing: Listing::ContentType(t),
                feeds: None,
                image: None,
                kind: "section",
            },
        )
    })
    .await
}

pub async fn topic(State(state): State<AppState>, Path(slug): Path<String>, uri: Uri) -> AppResult {
    let page = page_param(&uri)?;
    super::shared::serve(&state, &uri, page, Audience::Everyone, || async {
        let t = store::find_topic(state.db(), &slug)
            .await?
            .ok_or(AppError::NotFound)?;
        render_list(
            &state,
            page,
            ListPage {
                path: format!("/topics/{}", t.slug),
                heading: t.name.clone(),
                intro: t.description.clone(),
                intro_html: String::new(),
                listing: Listing::Topic(t.id),
                feeds: Some((
                    format!("/topics/{}/rss.xml", t.slug),
                    format!("/topics/{}/atom.xml", t.slug),
                )),
                image: None,
                kind: "topic",
            },
        )
        .await
    })
    .await
}

pub async fn author(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
) -> AppResult {
    let page = page_param(&uri)?;
    super::shared::serve(&state, &uri, page, Audience::Everyone, || async {
        let a = store::find_author(state.db(), &slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let image = a
            .avatar
            .as_ref()
            .map(|m| view::image(m, &format!("Portrait of {}", a.name), "", "", 480));
        render_list(
            &state,
            page,
            ListPage {
                path: format!("/authors/{}", a.slug),
                heading: a.name.clone(),
                intro: crate::content::markdown::plain_text(&a.bio_html),
                intro_html: a.bio_html.clone(),
                listing: Listing::Author(a.id),
                feeds: None,
                image,
                kind: "author",
            },
        )
        .await
    })
    .await
}

pub async fn topics_index(State(state): State<AppState>, uri: Uri) -> AppResult {
    super::shared::serve(&state, &uri, 1, Audience::Everyone, || async {
        let topics = store::list_topics(state.db()).await?;
        let items: Vec<minijinja::Value> = topics
            .iter()
            .map(|t| {
                minijinja::context! {
                    url => format!("/topics/{}", t.slug),
                    name => t.name,
                    description => t.description,
                }
            })
            .collect();
        index_page(&state, "Topics", "/topics", items)
    })
    .await
}

pub async fn authors_index(State(state): State<AppState>, uri: Uri) -> AppResult {
    super::shared::serve(&state, &uri, 1, Audience::Everyone, || async {
    let authors = store::list_authors(state.db()).await?;
    let items: Vec<minijinja::Value> = authors
        .iter()
        .map(|(slug, name)| {
            minijinja::context! { url => format!("/authors/{slug}"), name => name, description => "" }
        })
        .collect();
    index_page(&state, "Authors", "/authors", items)
    })
    .await
}

fn index_page(
    state: &AppState,
    heading: &str,
    path: &str,
    items: Vec<minijinja::Value>,
) -> AppResult {
    let ctx = minijinja::context! {
        site => view::site(state),
        title => heading,
        heading => heading,
        canonical => state.config().base_url.join(path),
        items => items,
    };
    Ok(html(state.theme().render("topics.html", ctx)?))
}

/// The longest search query accepted.
const MAX_QUERY: usize = 200;

/// `/search?q=`: a query matches only text its reader may see (headline,
/// standfirst and previews for everyone; registration-wall text for
/// signed-in readers; everything for the entitled and staff), and each
/// address may search `searches_per_minute` times a minute (60).
pub async fn search(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> AppResult {
    let q = query_param(&uri, "q").unwrap_or_default();
    let q = q.trim();
    if q.chars().count() > MAX_QUERY {
        return Err(AppError::BadRequest(format!(
            "the search query is too long; use at most {MAX_QUERY} characters"
        )));
    }
    let page = page_param(&uri)?;
    let (hits, more) = if q.is_empty() {
        (Vec::new(), false)
    } else {
        let per_minute = state.config().searches_per_minute;
        if per_minute > 0 {
            let limit = crate::members::ratelimit::Limit {
                max: per_minute,
                window_secs: 60,
            };
            crate::members::limit_address_to(&state, "search", ip, limit)?;
        }
        let viewer = if headers.contains_key(axum::http::header::COOKIE) {
            Viewer::from_headers(&state, &headers).await?
        } else {
            Viewer::default()
        };
        let scope = match viewer.kind() {
            ReaderKind::Staff => SearchScope::Everything,
            _ if viewer.entitled() => SearchScope::Everything,
            ReaderKind::Member => SearchScope::Member,
            ReaderKind::Anonymous => SearchScope::Anonymous,
        };
        let fingerprint = state
            .settings()
            .get()
            .publication
            .policy
            .search_fingerprint();
        store::search_articles(
            state.db(),
            q,
            scope,
            &fingerprint,
            state.now(),
            offset(page),
            PER_PAGE,
        )
        .await?
    };
    let results: Vec<minijinja::Value> = hits
        .iter()
        .map(|h| {
            minijinja::context! {
                url => format!("/{}", h.slug),
                headline => h.headline,
                standfirst => h.standfirst,
                kind => h.content_type.label(),
                published => h.published_at.map(|t| view::date(&state, t)),
            }
        })
        .collect();
    let extra = serde_urlencoded::to_string([("q", q)]).unwrap_or_default();
    let ctx = minijinja::context! {
        site => view::site(&state),
        title => if q.is_empty() { "Search".to_string() } else { format!("Search: {q}") },
        canonical => state.config().base_url.join("/search"),
        noindex => true,
        query => q,
        searched => !q.is_empty(),
        results => results,
        pager => view::pager("/search", &extra, page, more),
    };
    Ok(html(state.theme().render("search.html", ctx)?))
}

pub async fn page(State(state): State<AppState>, Path(slug): Path<String>, uri: Uri) -> AppResult {
    super::shared::serve(&state, &uri, 1, Audience::Everyone, || async {
        let p = store::find_page(state.db(), &slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let ctx = minijinja::context! {
            site => view::site(&state),
            title => p.title,
            canonical => state.config().base_url.join(&format!("/pages/{}", p.slug)),
            page => minijinja::context! {
                title => p.title,
                version => p.version,
                updated => view::date(&state, p.updated_at),
                body_html => minijinja::Value::from_safe_string(p.body_html.clone()),
            },
        };
        Ok(html(state.theme().render("page.html", ctx)?))
    })
    .await
}
