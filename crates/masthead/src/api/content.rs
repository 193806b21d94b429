//! Ghost's Content API at `/ghost/api/content/` (and the versioned
//! prefixes older clients use): posts, pages, tags, authors, tiers and
//! settings, browse and read, with Ghost's parameters and shapes.
//!
//! It is anonymous by design: its key ships in front-end code, so every
//! answer is decided as for a reader nobody knows, whoever asks, and
//! spends no meter (`access::reader::anonymous_decision`): a gated post
//! shows `access: false` and only its preview. Answers are kept in the
//! shared render cache after the key is checked, keyed by every parameter
//! that shapes them (never the key).

use super::{json, ApiError, ErrorType};
use crate::access::reader::anonymous_decision;
use crate::app::AppState;
use crate::cache::{Audience, SharedKey};
use crate::http::{AppResult, Carries, ClientIp, Route};
use crate::members::ratelimit::{client_key, Limit};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use masthead_core::api::{self as rules, nql, OrderBy};
use masthead_core::content::Body;
use masthead_core::ContentType;
use masthead_store::api::{self as store, ApiPage, ApiPost, ApiTerm, Browse, By, Ids, Kind};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The versioned prefixes older clients put in the path.
const VERSIONS: &[&str] = &["v2", "v3", "v4", "canary"];
/// The longest query string read.
const MAX_QUERY: usize = 8 * 1024;
/// Uncached answers one client address may ask for in a minute (cached
/// answers cost nothing and are not counted).
const RENDERS_PER_ADDRESS: Limit = Limit {
    max: 600,
    window_secs: 60,
};

pub fn routes() -> Vec<Route> {
    let r = |path: &'static str, h| Route::new(path, h, Carries::AnonymousText).cors();
    vec![
        r("/ghost/api/content/{resource}/", get(browse)),
        r("/ghost/api/content/{resource}/{id}/", get(read_id)),
        r("/ghost/api/content/{resource}/slug/{slug}/", get(read_slug)),
        r("/ghost/api/{version}/content/{resource}/", get(browse_v)),
        r(
            "/ghost/api/{version}/content/{resource}/{id}/",
            get(read_id_v),
        ),
        r(
            "/ghost/api/{version}/content/{resource}/slug/{slug}/",
            get(read_slug_v),
        ),
    ]
}

enum Target {
    Browse,
    Id(String),
    Slug(String),
}

async fn browse(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(resource): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, None, &resource, Target::Browse, q).await
}

async fn read_id(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, None, &resource, Target::Id(id), q).await
}

async fn read_slug(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((resource, slug)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, None, &resource, Target::Slug(slug), q).await
}

async fn browse_v(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((version, resource)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, Some(&version), &resource, Target::Browse, q).await
}

async fn read_id_v(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((version, resource, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, Some(&version), &resource, Target::Id(id), q).await
}

async fn read_slug_v(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((version, resource, slug)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(&state, ip, Some(&version), &resource, Target::Slug(slug), q).await
}

/// The resources the Content API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resource {
    Posts,
    Pages,
    Tags,
    Authors,
    Tiers,
    Settings,
}

impl Resource {
    pub(super) fn parse(s: &str) -> Option<Resource> {
        Some(match s {
            "posts" => Resource::Posts,
            "pages" => Resource::Pages,
            "tags" => Resource::Tags,
            "authors" => Resource::Authors,
            "tiers" => Resource::Tiers,
            "settings" => Resource::Settings,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Resource::Posts => "posts",
            Resource::Pages => "pages",
            Resource::Tags => "tags",
            Resource::Authors => "authors",
            Resource::Tiers => "tiers",
            Resource::Settings => "settings",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Resource::Posts => "post",
            Resource::Pages => "page",
            Resource::Tags => "tag",
            Resource::Authors => "author",
            Resource::Tiers => "tier",
            Resource::Settings => "settings",
        }
    }

    pub(super) fn kind(self) -> Option<Kind> {
        match self {
            Resource::Posts => Some(Kind::Post),
            Resource::Pages => Some(Kind::Page),
            Resource::Tags => Some(Kind::Tag),
            Resource::Authors => Some(Kind::Author),
            _ => None,
        }
    }
}

/// The parameters that shape an answer, checked.
#[derive(Debug, Default)]
pub(super) struct Options {
    pub(super) filter: Option<nql::Expr>,
    pub(super) filter_text: String,
    pub(super) fields: Vec<String>,
    pub(super) include: Vec<String>,
    pub(super) formats: Vec<String>,
    pub(super) limit: u32,
    pub(super) page: u32,
    pub(super) order: Vec<OrderBy>,
    order_text: String,
}

impl Options {
    fn include(&self, what: &str) -> bool {
        self.include.iter().any(|i| i == what)
    }

    fn html(&self) -> bool {
        self.formats.is_empty() || self.formats.iter().any(|f| f == "html")
    }

    fn plaintext(&self) -> bool {
        self.formats.iter().any(|f| f == "plaintext")
    }

    /// Everything that shapes the answer, in one order.
    fn cache_text(&self) -> String {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v.join(",")
        };
        format!(
            "filter={}&fields={}&include={}&formats={}&limit={}&page={}&order={}",
            self.filter_text,
            sorted(&self.fields),
            sorted(&self.include),
            sorted(&self.formats),
            self.limit,
            self.page,
            self.order_text
        )
    }
}

pub(super) fn parse_options(
    resource: Resource,
    params: &[(String, String)],
) -> Result<Options, ApiError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let validation = |property: &str, message: String| {
        ApiError::new(ErrorType::Validation, message).property(property.to_string())
    };
    let limit = rules::limit(get("limit")).map_err(|m| validation("limit", m))?;
    let page = rules::page(get("page")).map_err(|m| validation("page", m))?;
    let kind = resource.kind();
    let order = match kind {
        Some(kind) => rules::order(get("order"), store::order_fields(kind))
            .map_err(|m| ApiError::new(ErrorType::BadRequest, m).property("order"))?,
        None => Vec::new(),
    };
    let filter_text = get("filter").unwrap_or("").trim().to_string();
    let filter = if filter_text.is_empty() || kind.is_none() {
        None
    } else {
        Some(nql::parse(&filter_text).map_err(|e| {
            ApiError::new(ErrorType::BadRequest, "Error parsing filter")
                .context(e.0)
                .property("filter")
        })?)
    };
    Ok(Options {
        filter,
        filter_text,
        fields: rules::list(get("fields")),
        include: rules::list(get("include")),
        formats: rules::list(get("formats")),
        limit,
        page,
        order_text: order
            .iter()
            .map(|o| format!("{} {}", o.field, if o.desc { "desc" } else { "asc" }))
            .collect::<Vec<_>>()
            .join(","),
        order,
    })
}

async fn answer(
    state: &AppState,
    ip: ClientIp,
    version: Option<&str>,
    resource: &str,
    target: Target,
    query: Option<String>,
) -> Response {
    match try_answer(state, ip, version, resource, target, query).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn try_answer(
    state: &AppState,
    ip: ClientIp,
    version: Option<&str>,
    resource: &str,
    target: Target,
    query: Option<String>,
) -> Result<Response, ApiError> {
    let unknown = || {
        ApiError::new(ErrorType::NotFound, "Resource not found")
            .context(format!("No Content API resource at {resource:?}."))
    };
    if version.is_some_and(|v| !VERSIONS.contains(&v)) {
        return Err(unknown());
    }
    let resource = Resource::parse(resource).ok_or_else(unknown)?;
    if matches!(resource, Resource::Tiers | Resource::Settings) && !matches!(target, Target::Browse)
    {
        return Err(unknown());
    }
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY {
        return Err(ApiError::new(
            ErrorType::BadRequest,
            format!("the query string is longer than {MAX_QUERY} bytes"),
        ));
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&query).map_err(|_| {
        ApiError::new(
            ErrorType::BadRequest,
            "the query string could not be decoded",
        )
    })?;
    // The key first: nothing is looked up, cached or counted for a request
    // without a valid one.
    match params.iter().find(|(k, _)| k == "key").map(|(_, v)| v.as_str()) {
        None | Some("") => {
            return Err(ApiError::new(ErrorType::NoPermission, "Authorization failed").context(
                "Unable to determine the authenticated member or integration. Check the supplied Content API Key.",
            ))
        }
        Some(key) if !state.content_key_valid(key) => {
            return Err(ApiError::new(ErrorType::Unauthorized, "Unknown Content API Key"))
        }
        Some(_) => {}
    }
    let opts = parse_options(resource, &params)?;
    // A filter that does not compile is the client's error, found before
    // any cache lookup.
    let now = state.now();
    let policy = state.settings().get().publication.policy.clone();
    let compiled = match (&opts.filter, resource.kind()) {
        (Some(f), Some(kind)) => Some(store::compile_filter(kind, f, &policy, now, 4).map_err(
            |m| {
                ApiError::new(ErrorType::BadRequest, "Error parsing filter")
                    .context(m)
                    .property("filter")
            },
        )?),
        _ => None,
    };
    let target_text = match &target {
        Target::Browse => String::new(),
        Target::Id(id) => format!("id/{id}"),
        Target::Slug(s) => format!("slug/{s}"),
    };
    let key = SharedKey {
        path: format!(
            "/ghost/api/content/{}/{target_text}?{}",
            resource.name(),
            opts.cache_text()
        ),
        page: 0,
        audience: Audience::Anonymous,
        settings_version: state.settings().get().version,
    };
    let served: AppResult = crate::site::shared::serve_key(state, key, || async {
        let limiter_key = format!("api-content:{}", client_key(ip.0));
        if let Err(wait) = state
            .limiter()
            .check(&limiter_key, RENDERS_PER_ADDRESS, now)
        {
            let mut res =
                ApiError::new(ErrorType::TooManyRequests, "Too many requests; slow down.")
                    .into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
        Ok(
            match render(state, resource, &target, &opts, compiled.as_ref(), now).await {
                Ok(v) => json(&v),
                Err(e) => e.into_response(),
            },
        )
    })
    .await;
    served.map_err(|e| ApiError::internal(format!("{e:#}")))
}

async fn render(
    state: &AppState,
    resource: Resource,
    target: &Target,
    opts: &Options,
    compiled: Option<&store::Compiled>,
    now: i64,
) -> Result<Value, ApiError> {
    let db = state.db();
    let kind = resource.kind();
    // A read names one object; a browse pages through a query.
    let by = match (target, kind) {
        (Target::Browse, _) | (_, None) => None,
        (Target::Slug(s), Some(_)) => Some(By::Slug(s.as_str())),
        (Target::Id(id), Some(kind)) => {
            let object = if rules::is_object_id(id) {
                store::find_by_ghost_id(db, kind, id).await?
            } else {
                None
            };
            match object {
                Some(o) => Some(By::Id(o)),
                None => return Err(ApiError::not_found(resource.singular())),
            }
        }
    };
    let order = kind
        .map(|k| store::compile_order(k, &opts.order))
        .unwrap_or_default();
    let b = Browse {
        all_statuses: false,
        filter: compiled,
        order: &order,
        limit: opts.limit,
        page: opts.page,
        now,
    };
    let reading = by.is_some();
    let (items, total): (Vec<Value>, u64) = match resource {
        Resource::Posts => {
            let (posts, total) = match by {
                Some(by) => {
                    let p = store::read_post(db, by, now, false).await?;
                    let n = u64::from(p.is_some());
                    (p.into_iter().collect(), n)
                }
                None => store::browse_posts(db, &b).await?,
            };
            (posts_json(state, &posts, opts, now, false).await?, total)
        }
        Resource::Pages => {
            let (pages, total) = match by {
                Some(by) => {
                    let p = store::read_page(db, by).await?;
                    let n = u64::from(p.is_some());
                    (p.into_iter().collect(), n)
                }
                None => store::browse_pages(db, &b).await?,
            };
            (pages_json(state, &pages, opts).await?, total)
        }
        Resource::Tags | Resource::Authors => {
            let kind = if resource == Resource::Tags {
                Kind::Tag
            } else {
                Kind::Author
            };
            let (terms, total) = match by {
                Some(by) => {
                    let t = store::read_term(db, kind, by, now).await?;
                    let n = u64::from(t.is_some());
                    (t.into_iter().collect(), n)
                }
                None => store::browse_terms(db, kind, &b).await?,
            };
            let ids = ids_of(state, kind, terms.iter().map(|t| t.id).collect()).await?;
            let items = terms
                .iter()
                .map(|t| term_json(state, kind, t, &ids, opts.include("count.posts")))
                .map(|v| only_fields(v, &opts.fields))
                .collect();
            (items, total)
        }
        Resource::Tiers => {
            let tiers = tiers_json(state, opts).await?;
            let n = tiers.len() as u64;
            (tiers, n)
        }
        Resource::Settings => {
            return Ok(json!({ "settings": settings_json(state), "meta": {} }));
        }
    };
    if reading {
        if items.is_empty() {
            return Err(ApiError::not_found(resource.singular()));
        }
        return Ok(json!({ resource.name(): items }));
    }
    let pagination = rules::pagination(opts.page, opts.limit, total);
    Ok(json!({ resource.name(): items, "meta": { "pagination": pagination } }))
}

/// Ids for objects, made once where missing.
pub(super) async fn ids_of(
    state: &AppState,
    kind: Kind,
    objects: Vec<i64>,
) -> Result<HashMap<i64, Ids>, ApiError> {
    if objects.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(store::ensure_ids(state.db(), kind, &objects, &mut super::keys::fresh_ids).await?)
}

fn id_of(ids: &HashMap<i64, Ids>, object: i64) -> (Value, Value) {
    match ids.get(&object) {
        Some(i) => (json!(i.id), json!(i.uuid)),
        None => (Value::Null, Value::Null),
    }
}

/// Keeps only the asked-for fields (all when none are asked for).
fn only_fields(v: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return v;
    }
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}

fn media_url(state: &AppState, m: &masthead_core::content::Media) -> String {
    state
        .config()
        .base_url
        .join(&format!("/media/{}.{}", m.hash, m.ext))
}

fn opt_text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        json!(s)
    }
}

/// Post objects. `staff` (the Admin API) reads every body whole and adds
/// the status; otherwise every body goes through the anonymous decision.
pub(super) async fn posts_json(
    state: &AppState,
    posts: &[ApiPost],
    opts: &Options,
    now: i64,
    staff: bool,
) -> Result<Vec<Value>, ApiError> {
    let db = state.db();
    let ids = ids_of(
        state,
        Kind::Post,
        posts.iter().map(|p| p.summary.id).collect(),
    )
    .await?;
    // Every body through the one gate, as an anonymous reader.
    let asked: Vec<_> = posts
        .iter()
        .map(|p| {
            let facts = p.summary.facts();
            let decision = if staff {
                masthead_core::Decision::Full
            } else {
                anonymous_decision(state, &facts)
            };
            (facts, decision)
        })
        .collect();
    let bodies = masthead_store::content::find_bodies(db, &asked).await?;
    let want_tags = opts.include("tags");
    let want_authors = opts.include("authors");
    let tag_ids = if want_tags {
        let wanted: Vec<i64> = posts
            .iter()
            .flat_map(|p| p.topics.iter().map(|t| t.id))
            .collect();
        ids_of(state, Kind::Tag, wanted).await?
    } else {
        HashMap::new()
    };
    let (authors, author_ids) = if want_authors {
        let mut wanted: Vec<i64> = posts
            .iter()
            .flat_map(|p| p.summary.authors.iter().map(|a| a.id))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let terms = store::terms_by_ids(db, Kind::Author, &wanted, now).await?;
        let ids = ids_of(state, Kind::Author, wanted).await?;
        let by_id: HashMap<i64, ApiTerm> = terms.into_iter().map(|t| (t.id, t)).collect();
        (by_id, ids)
    } else {
        (HashMap::new(), HashMap::new())
    };
    let tag_terms: HashMap<i64, ApiTerm> = if want_tags {
        let mut wanted: Vec<i64> = posts
            .iter()
            .flat_map(|p| p.topics.iter().map(|t| t.id))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        store::terms_by_ids(db, Kind::Tag, &wanted, now)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect()
    } else {
        HashMap::new()
    };
    let policy = state.settings().get().publication.policy.clone();
    let mut out = Vec::with_capacity(posts.len());
    for (p, body) in posts.iter().zip(bodies) {
        let s = &p.summary;
        let resolved = policy.resolve(s.access_level, s.content_type);
        let (id, uuid) = id_of(&ids, s.id);
        let mut v = article_common(
            state,
            Common {
                id,
                uuid,
                title: &s.headline,
                slug: &s.slug,
                url_path: format!("/{}", s.slug),
                created_at: p.created_at,
                updated_at: s.updated_at.as_second(),
                updated_ms: p.revision,
                published_at: s.published_at.map(|t| t.as_second()),
                custom_excerpt: &s.standfirst,
                featured: p.featured,
                visibility: rules::visibility(resolved),
                body: &body,
                meta_title: &p.seo_title,
                meta_description: &p.seo_description,
            },
            opts,
        );
        let map = v.as_object_mut();
        if let Some(map) = map {
            match &s.lead_image {
                Some(l) => {
                    map.insert("feature_image".into(), json!(media_url(state, &l.media)));
                    map.insert("feature_image_alt".into(), opt_text(&l.alt));
                    map.insert(
                        "feature_image_caption".into(),
                        opt_text(&crate::templates::escape_html(&l.caption)),
                    );
                    map.insert("masthead_photo_credit".into(), opt_text(&l.credit));
                }
                None => {
                    map.insert("masthead_photo_credit".into(), Value::Null);
                }
            }
            if staff {
                map.insert("status".into(), json!(p.status.as_str()));
                map.insert("lexical".into(), Value::Null);
                map.insert("mobiledoc".into(), Value::Null);
            }
            map.insert("masthead_standfirst".into(), json!(s.standfirst));
            map.insert("masthead_dateline".into(), json!(p.dateline));
            map.insert(
                "masthead_content_type".into(),
                json!(s.content_type.as_str()),
            );
            map.insert("masthead_access_level".into(), json!(resolved.as_str()));
            if want_tags {
                let tags: Vec<Value> = p
                    .topics
                    .iter()
                    .filter_map(|t| tag_terms.get(&t.id))
                    .map(|t| term_json(state, Kind::Tag, t, &tag_ids, false))
                    .collect();
                map.insert(
                    "primary_tag".into(),
                    tags.first().cloned().unwrap_or(Value::Null),
                );
                map.insert("tags".into(), Value::Array(tags));
            }
            if want_authors {
                let list: Vec<Value> = s
                    .authors
                    .iter()
                    .filter_map(|a| authors.get(&a.id))
                    .map(|a| term_json(state, Kind::Author, a, &author_ids, false))
                    .collect();
                map.insert(
                    "primary_author".into(),
                    list.first().cloned().unwrap_or(Value::Null),
                );
                map.insert("authors".into(), Value::Array(list));
            }
        }
        out.push(only_fields(v, &opts.fields));
    }
    Ok(out)
}

pub(super) async fn pages_json(
    state: &AppState,
    pages: &[ApiPage],
    opts: &Options,
) -> Result<Vec<Value>, ApiError> {
    let ids = ids_of(state, Kind::Page, pages.iter().map(|p| p.id).collect()).await?;
    Ok(pages
        .iter()
        .map(|p| {
            let (id, uuid) = id_of(&ids, p.id);
            let body = Body {
                blocks: vec![p.body_html.clone()],
                total: 1,
            };
            let mut v = article_common(
                state,
                Common {
                    id,
                    uuid,
                    title: &p.title,
                    slug: &p.slug,
                    url_path: format!("/pages/{}", p.slug),
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                    updated_ms: p.version,
                    published_at: Some(p.created_at),
                    custom_excerpt: "",
                    featured: false,
                    visibility: "public",
                    body: &body,
                    meta_title: "",
                    meta_description: "",
                },
                opts,
            );
            if let Some(map) = v.as_object_mut() {
                if opts.include("tags") {
                    map.insert("tags".into(), json!([]));
                    map.insert("primary_tag".into(), Value::Null);
                }
                if opts.include("authors") {
                    map.insert("authors".into(), json!([]));
                    map.insert("primary_author".into(), Value::Null);
                }
            }
            only_fields(v, &opts.fields)
        })
        .collect())
}

/// What posts and pages share.
struct Common<'a> {
    id: Value,
    uuid: Value,
    title: &'a str,
    slug: &'a str,
    url_path: String,
    created_at: i64,
    updated_at: i64,
    /// The milliseconds of `updated_at` (a post's revision).
    updated_ms: i64,
    published_at: Option<i64>,
    custom_excerpt: &'a str,
    featured: bool,
    visibility: &'static str,
    /// What the gate let through.
    body: &'a Body,
    meta_title: &'a str,
    meta_description: &'a str,
}

/// Site-relative links and images made absolute, as Ghost writes them: a
/// front end on another origin shows the html as it is. (The html is the
/// sanitizer's output: attributes are double-quoted.)
fn absolute_urls(html: &str, base: &str) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(at) = rest.find("=\"/") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let attr_start = head.rfind(|c: char| c.is_whitespace()).map_or(0, |i| i + 1);
        let attr = &head[attr_start..];
        if matches!(attr, "href" | "src" | "srcset") && !tail[2..].starts_with("//") {
            out.push_str("=\"");
            out.push_str(base);
            rest = &tail[2..];
            if attr == "srcset" {
                // Each candidate after the first: ", /media/…".
                let end = rest.find('"').unwrap_or(rest.len());
                out.push_str(&rest[..end].replace(", /", &format!(", {base}/")));
                rest = &rest[end..];
            }
        } else {
            out.push_str("=\"/");
            rest = &tail[3..];
        }
    }
    out.push_str(rest);
    out
}

fn article_common(state: &AppState, c: Common<'_>, opts: &Options) -> Value {
    let html = absolute_urls(&c.body.blocks.join("\n"), state.config().base_url.as_str());
    let plain = crate::content::markdown::plain_text(&html);
    let words = plain.split_whitespace().count();
    let images = html.matches("<img").count();
    // A gated post's reading time is estimated from its preview, scaled
    // by the blocks it has (its text is never read here).
    let shown = c.body.blocks.len().max(1);
    let total = (c.body.total as usize).max(shown);
    let reading_time = rules::reading_time(words * total / shown, images * total / shown);
    let excerpt: String = if c.custom_excerpt.is_empty() {
        plain.chars().take(500).collect()
    } else {
        c.custom_excerpt.to_string()
    };
    let mut map = Map::new();
    let mut put = |k: &str, v: Value| {
        map.insert(k.to_string(), v);
    };
    put("id", c.id.clone());
    put("uuid", c.uuid);
    put("title", json!(c.title));
    put("slug", json!(c.slug));
    if opts.html() {
        put("html", json!(html));
    }
    if opts.plaintext() {
        put("plaintext", json!(plain));
    }
    put("comment_id", c.id);
    put("feature_image", Value::Null);
    put("feature_image_alt", Value::Null);
    put("feature_image_caption", Value::Null);
    put("featured", json!(c.featured));
    put("visibility", json!(c.visibility));
    put("created_at", json!(rules::ghost_time(c.created_at)));
    put(
        "updated_at",
        json!(rules::ghost_time_ms(c.updated_at, c.updated_ms)),
    );
    put(
        "published_at",
        c.published_at
            .map_or(Value::Null, |t| json!(rules::ghost_time(t))),
    );
    put("custom_excerpt", opt_text(c.custom_excerpt));
    for k in [
        "codeinjection_head",
        "codeinjection_foot",
        "custom_template",
        "canonical_url",
        "og_image",
        "og_title",
        "og_description",
        "twitter_image",
        "twitter_title",
        "twitter_description",
        "email_subject",
        "frontmatter",
    ] {
        put(k, Value::Null);
    }
    put(
        "url",
        json!(state.config().base_url.join(&format!("{}/", c.url_path))),
    );
    put("excerpt", json!(excerpt));
    put("reading_time", json!(reading_time));
    put("access", json!(c.body.is_complete()));
    put("comments", json!(false));
    put("meta_title", opt_text(c.meta_title));
    put("meta_description", opt_text(c.meta_description));
    Value::Object(map)
}

pub(super) fn term_json(
    state: &AppState,
    kind: Kind,
    t: &ApiTerm,
    ids: &HashMap<i64, Ids>,
    with_count: bool,
) -> Value {
    let (id, _) = id_of(ids, t.id);
    let base = &state.config().base_url;
    let mut v = match kind {
        Kind::Author => json!({
            "id": id,
            "name": t.name,
            "slug": t.slug,
            "profile_image": t.avatar.as_ref().map(|m| media_url(state, m)),
            "cover_image": null,
            "bio": opt_text(crate::content::markdown::plain_text(&t.description).trim()),
            "website": null,
            "location": null,
            "facebook": null,
            "twitter": null,
            "meta_title": null,
            "meta_description": null,
            "url": base.join(&format!("/authors/{}/", t.slug)),
        }),
        _ => json!({
            "id": id,
            "name": t.name,
            "slug": t.slug,
            "description": opt_text(&t.description),
            "feature_image": null,
            "visibility": "public",
            "og_image": null,
            "og_title": null,
            "og_description": null,
            "twitter_image": null,
            "twitter_title": null,
            "twitter_description": null,
            "meta_title": null,
            "meta_description": null,
            "codeinjection_head": null,
            "codeinjection_foot": null,
            "canonical_url": null,
            "accent_color": null,
            "url": base.join(&format!("/topics/{}/", t.slug)),
        }),
    };
    if with_count {
        if let Some(map) = v.as_object_mut() {
            map.insert("count".into(), json!({ "posts": t.posts }));
        }
    }
    v
}

/// Ghost's tiers: the free tier, and one paid tier made of the active
/// monthly and annual plans in the currency of the first active plan.
async fn tiers_json(state: &AppState, opts: &Options) -> Result<Vec<Value>, ApiError> {
    use masthead_core::billing::Interval;
    let plans = masthead_store::offers::list_active_plans(state.db()).await?;
    let ids =
        store::ensure_ids(state.db(), Kind::Tier, &[0, 1], &mut super::keys::fresh_ids).await?;
    let settings = state.settings().get();
    let name = &settings.publication.name;
    let (free_id, _) = id_of(&ids, 0);
    let (paid_id, _) = id_of(&ids, 1);
    let mut tiers = vec![json!({
        "id": free_id,
        "name": "Free",
        "description": format!("A free account with {name}"),
        "slug": "free",
        "active": true,
        "type": "free",
        "welcome_page_url": null,
        "created_at": rules::ghost_time(0),
        "updated_at": rules::ghost_time(0),
        "visibility": "public",
        "trial_days": 0,
    })];
    if let Some(first) = plans.first() {
        let currency = first.price.currency();
        let price = |interval: Interval| {
            plans
                .iter()
                .find(|p| p.interval == interval && p.price.currency() == currency)
        };
        let (monthly, yearly) = (price(Interval::Month), price(Interval::Year));
        let mut paid = json!({
            "id": paid_id,
            "name": format!("{name} subscription"),
            "description": "Unlimited access to everything we publish, and every newsletter",
            "slug": "subscription",
            "active": true,
            "type": "paid",
            "welcome_page_url": null,
            "created_at": rules::ghost_time(0),
            "updated_at": rules::ghost_time(0),
            "visibility": "public",
            "trial_days": monthly.or(yearly).and_then(|p| p.trial_days).unwrap_or(0),
            "currency": currency.code(),
        });
        if let Some(map) = paid.as_object_mut() {
            if opts.include("monthly_price") {
                map.insert(
                    "monthly_price".into(),
                    json!(monthly.map(|p| p.price.minor())),
                );
            }
            if opts.include("yearly_price") {
                map.insert(
                    "yearly_price".into(),
                    json!(yearly.map(|p| p.price.minor())),
                );
            }
            if opts.include("benefits") {
                let mut benefits: Vec<String> = Vec::new();
                for p in plans.iter().filter(|p| p.price.currency() == currency) {
                    for b in &p.includes {
                        if !benefits.contains(b) {
                            benefits.push(b.clone());
                        }
                    }
                }
                map.insert("benefits".into(), json!(benefits));
            }
        }
        tiers.push(paid);
    }
    if opts.include("benefits") {
        if let Some(map) = tiers[0].as_object_mut() {
            map.entry("benefits").or_insert(json!([]));
        }
    }
    Ok(tiers
        .into_iter()
        .map(|t| only_fields(t, &opts.fields))
        .collect())
}

fn settings_json(state: &AppState) -> Value {
    let settings = state.settings().get();
    let p = &settings.publication;
    let base = &state.config().base_url;
    let absolute = |s: &str| {
        if s.is_empty() {
            Value::Null
        } else if s.starts_with('/') {
            json!(base.join(s))
        } else {
            json!(s)
        }
    };
    let navigation: Vec<Value> = std::iter::once(json!({"label": "Home", "url": "/"}))
        .chain(ContentType::ALL.iter().map(
            |t| json!({"label": t.section_title(), "url": format!("/sections/{}", t.as_str())}),
        ))
        .collect();
    json!({
        "title": p.name,
        "description": p.description,
        "logo": absolute(&p.logo),
        "icon": json!(base.join("/favicon.svg")),
        "accent_color": opt_text(&p.accent_colour),
        "cover_image": null,
        "facebook": null,
        "twitter": null,
        "lang": p.language,
        "locale": p.language,
        "timezone": p.timezone,
        "codeinjection_head": null,
        "codeinjection_foot": null,
        "navigation": navigation,
        "secondary_navigation": [],
        "meta_title": null,
        "meta_description": null,
        "og_image": null,
        "og_title": null,
        "og_description": null,
        "twitter_image": null,
        "twitter_title": null,
        "twitter_description": null,
        "members_support_address": "noreply",
        "url": format!("{}/", base.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn options_are_checked_and_keyed_without_the_key() {
        let a = parse_options(
            Resource::Posts,
            &params("key=a&limit=5&include=tags,authors"),
        )
        .unwrap();
        let b = parse_options(
            Resource::Posts,
            &params("include=authors,tags&limit=5&key=b&utm=x"),
        )
        .unwrap();
        assert_eq!(a.cache_text(), b.cache_text());
        let c = parse_options(Resource::Posts, &params("limit=6")).unwrap();
        assert_ne!(a.cache_text(), c.cache_text());
        assert!(parse_options(Resource::Posts, &params("limit=x")).is_err());
        assert!(parse_options(Resource::Posts, &params("order=html+desc")).is_err());
        let e = parse_options(Resource::Posts, &params("filter=tag:(")).unwrap_err();
        assert_eq!(e.kind, ErrorType::BadRequest);
        assert_eq!(
            parse_options(Resource::Posts, &params("limit=all"))
                .unwrap()
                .limit,
            100
        );
    }

    #[test]
    fn site_links_and_images_become_absolute() {
        let base = "https://news.example";
        assert_eq!(
            absolute_urls(
                r#"<p><a href="/story" rel="x">s</a> <a href="https://elsewhere.example/">e</a> <a href="//cdn.example/x">c</a> <img src="/media/a.jpg" srcset="/media/a-400.jpg 400w, /media/a-800.jpg 800w" alt="/not-a-url"></p>"#,
                base
            ),
            r#"<p><a href="https://news.example/story" rel="x">s</a> <a href="https://elsewhere.example/">e</a> <a href="//cdn.example/x">c</a> <img src="https://news.example/media/a.jpg" srcset="https://news.example/media/a-400.jpg 400w, https://news.example/media/a-800.jpg 800w" alt="/not-a-url"></p>"#
        );
        assert_eq!(absolute_urls("no links", base), "no links");
        assert_eq!(absolute_urls("x=\"/", base), "x=\"/");
    }

    #[test]
    fn fields_keep_only_what_was_asked() {
        let v = json!({"id": 1, "title": "t", "html": "<p>x</p>"});
        assert_eq!(only_fields(v.clone(), &[]), v);
        assert_eq!(
            only_fields(v, &["title".to_string(), "nope".to_string()]),
            json!({"title": "t"})
        );
    }
}
