//! Ghost's Admin API at `/ghost/api/admin/` (and the versioned prefixes),
//! with Ghost's token scheme: `Authorization: Ghost <JWT>`, HS256 over the
//! hex-decoded secret of an integration's Admin API key (`kid` its id,
//! audience `/admin/` or the versioned form, at most 5 minutes). It is
//! staff: it reads whole bodies, drafts included; its answers are
//! `no-store`. The integration's role applies (`newsroom::allowed`).
//!
//! Implemented: `site`; `posts` browse, read, add (`?source=html`), edit
//! (`updated_at` required, a stale one is Ghost's 409), delete;
//! `images/upload` into the media library; `tags` browse, read, add,
//! edit (name and description), delete; `pages` browse, read, add, edit
//! (each change a new version; not deleted: consent records name them).

use super::content::{ids_of, pages_json, parse_options, posts_json, term_json, Resource};
use super::{ApiError, ErrorType};
use crate::app::AppState;
use crate::http::{Carries, Route};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use masthead_core::api::{self as rules, jwt};
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_core::members::Role;
use masthead_core::newsroom::{allowed, Action};
use masthead_store::api::{self as store, Browse, By, Integration, Kind};
use masthead_store::content::NewArticle;
use masthead_store::newsroom::{SaveRefused, Saver};
use serde_json::{json, Value};

const VERSIONS: &[&str] = &["v2", "v3", "v4", "canary"];

pub fn routes() -> Vec<Route> {
    let r = |path: &'static str, h| Route::new(path, h, Carries::StaffText).machine();
    let upload = || {
        axum::routing::post(upload_image).layer(axum::extract::DefaultBodyLimit::max(
            crate::newsroom::media::UPLOAD_BODY_LIMIT,
        ))
    };
    let upload_v = || {
        axum::routing::post(upload_image_v).layer(axum::extract::DefaultBodyLimit::max(
            crate::newsroom::media::UPLOAD_BODY_LIMIT,
        ))
    };
    vec![
        Route::new("/ghost/api/admin/images/upload/", upload(), Carries::NoText).machine(),
        Route::new(
            "/ghost/api/{version}/admin/images/upload/",
            upload_v(),
            Carries::NoText,
        )
        .machine(),
        Route::new("/ghost/api/admin/site/", get(site), Carries::NoText).cors(),
        Route::new(
            "/ghost/api/{version}/admin/site/",
            get(site_v),
            Carries::NoText,
        )
        .cors(),
        r("/ghost/api/admin/{resource}/", get(browse).post(add)),
        r(
            "/ghost/api/admin/{resource}/{id}/",
            get(read_id).put(edit).delete(delete),
        ),
        r("/ghost/api/admin/{resource}/slug/{slug}/", get(read_slug)),
        r(
            "/ghost/api/{version}/admin/{resource}/",
            get(browse_v).post(add_v),
        ),
        r(
            "/ghost/api/{version}/admin/{resource}/{id}/",
            get(read_id_v).put(edit_v).delete(delete_v),
        ),
        r(
            "/ghost/api/{version}/admin/{resource}/slug/{slug}/",
            get(read_slug_v),
        ),
    ]
}

/// The caller: an integration in effect, with its role.
struct Caller {
    integration: Integration,
    role: Role,
}

impl Caller {
    fn may(&self, action: Action) -> Result<(), ApiError> {
        if allowed(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorType::NoPermission,
                "You do not have permission to perform this action",
            )
            .context(format!(
                "The integration's role ({}) does not allow it.",
                self.role.as_str()
            )))
        }
    }

    fn name(&self) -> String {
        format!("integration {}", self.integration.name)
    }

    fn email(&self) -> String {
        format!("integration:{}", self.integration.id)
    }
}

/// Ghost's audiences for a path's version prefix.
fn audiences(version: Option<&str>) -> Vec<String> {
    match version {
        None => vec!["/admin/".into()],
        Some(v) => vec![format!("/{v}/admin/")],
    }
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    version: Option<&str>,
) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError::new(ErrorType::Unauthorized, m.to_string());
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(
            ApiError::new(ErrorType::NoPermission, "Authorization failed").context(
                "Unable to determine the authenticated user or integration. Check that cookies are being passed through if using session authentication.",
            ),
        );
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Ghost "))
        .ok_or_else(|| {
            unauthorized("Authorization header format is \"Authorization: Ghost [token]\"")
        })?;
    let parsed = jwt::parse(token.trim()).map_err(|r| unauthorized(r.message()))?;
    let Some(integration) = store::find_by_admin_key(state.db(), &parsed.kid).await? else {
        return Err(unauthorized("Unknown Admin API Key"));
    };
    let secret = state
        .sealer()
        .open(&integration.admin_secret_sealed)
        .and_then(|hex_secret| hex::decode(hex_secret).ok())
        .ok_or_else(|| {
            ApiError::internal("an Admin API secret does not open with this node's sealing key")
        })?;
    let wanted = audiences(version);
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    parsed
        .verify(&secret, state.now(), &wanted)
        .map_err(|r| unauthorized(r.message()))?;
    let role = Role::parse(&integration.role).unwrap_or(Role::Contributor);
    Ok(Caller { integration, role })
}

fn no_store(status: StatusCode, v: &Value) -> Response {
    let mut res = (status, v.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn finish(r: Result<Response, ApiError>) -> Response {
    match r {
        Ok(res) => res,
        Err(e) => {
            let mut res = e.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    }
}

fn check_version(version: Option<&str>) -> Result<(), ApiError> {
    match version {
        Some(v) if !VERSIONS.contains(&v) => {
            Err(ApiError::new(ErrorType::NotFound, "Resource not found"))
        }
        _ => Ok(()),
    }
}

// ----------------------------------------------------------------- site

async fn site(State(state): State<AppState>) -> Response {
    site_json(&state)
}

async fn site_v(State(state): State<AppState>, Path(version): Path<String>) -> Response {
    finish(check_version(Some(&version)).map(|()| site_json(&state)))
}

fn site_json(state: &AppState) -> Response {
    let settings = state.settings().get();
    let p = &settings.publication;
    let base = &state.config().base_url;
    no_store(
        StatusCode::OK,
        &json!({"site": {
            "title": p.name,
            "description": p.description,
            "logo": if p.logo.is_empty() { Value::Null } else if p.logo.starts_with('/') { json!(base.join(&p.logo)) } else { json!(p.logo) },
            "icon": base.join("/favicon.svg"),
            "accent_color": if p.accent_colour.is_empty() { Value::Null } else { json!(p.accent_colour) },
            "locale": p.language,
            "url": format!("{}/", base.as_str()),
            "version": "6.0",
        }}),
    )
}

// --------------------------------------------------------------- routes

enum Target {
    Browse,
    Id(String),
    Slug(String),
}

async fn browse(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(read(&state, &headers, None, &resource, Target::Browse, q).await)
}

async fn read_id(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(read(&state, &headers, None, &resource, Target::Id(id), q).await)
}

async fn read_slug(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource, slug)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(read(&state, &headers, None, &resource, Target::Slug(slug), q).await)
}

async fn browse_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(
        read(
            &state,
            &headers,
            Some(&version),
            &resource,
            Target::Browse,
            q,
        )
        .await,
    )
}

async fn read_id_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(
        read(
            &state,
            &headers,
            Some(&version),
            &resource,
            Target::Id(id),
            q,
        )
        .await,
    )
}

async fn read_slug_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource, slug)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    finish(
        read(
            &state,
            &headers,
            Some(&version),
            &resource,
            Target::Slug(slug),
            q,
        )
        .await,
    )
}

async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            None,
            &resource,
            None,
            q,
            Write::Add(&body),
        )
        .await,
    )
}

async fn add_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            Some(&version),
            &resource,
            None,
            q,
            Write::Add(&body),
        )
        .await,
    )
}

async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            None,
            &resource,
            Some(&id),
            q,
            Write::Edit(&body),
        )
        .await,
    )
}

async fn edit_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            Some(&version),
            &resource,
            Some(&id),
            q,
            Write::Edit(&body),
        )
        .await,
    )
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            None,
            &resource,
            Some(&id),
            None,
            Write::Delete,
        )
        .await,
    )
}

async fn delete_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, resource, id)): Path<(String, String, String)>,
) -> Response {
    finish(
        write(
            &state,
            &headers,
            Some(&version),
            &resource,
            Some(&id),
            None,
            Write::Delete,
        )
        .await,
    )
}

/// The resources the Admin API answers here.
fn resource_of(resource: &str) -> Result<Resource, ApiError> {
    match Resource::parse(resource) {
        Some(r @ (Resource::Posts | Resource::Pages | Resource::Tags)) => Ok(r),
        _ => Err(
            ApiError::new(ErrorType::NotFound, "Resource not found").context(format!(
                "The Admin API here answers posts, pages, tags, images and site; not {resource:?} yet."
            )),
        ),
    }
}

fn query_params(q: Option<String>) -> Result<Vec<(String, String)>, ApiError> {
    let q = q.unwrap_or_default();
    if q.len() > 8 * 1024 {
        return Err(ApiError::new(
            ErrorType::BadRequest,
            "the query string is too long",
        ));
    }
    serde_urlencoded::from_str(&q).map_err(|_| {
        ApiError::new(
            ErrorType::BadRequest,
            "the query string could not be decoded",
        )
    })
}

async fn object_id(state: &AppState, id: &str) -> Result<i64, ApiError> {
    let found = if rules::is_object_id(id) {
        store::find_by_ghost_id(state.db(), Kind::Post, id).await?
    } else {
        None
    };
    found.ok_or_else(|| ApiError::not_found("post"))
}

async fn read(
    state: &AppState,
    headers: &HeaderMap,
    version: Option<&str>,
    resource: &str,
    target: Target,
    q: Option<String>,
) -> Result<Response, ApiError> {
    check_version(version)?;
    let caller = authenticate(state, headers, version).await?;
    let resource = resource_of(resource)?;
    caller.may(Action::WriteOwnDraft)?;
    let params = query_params(q)?;
    if resource == Resource::Tags {
        return read_tags(state, &params, target).await;
    }
    if resource == Resource::Pages {
        return read_pages(state, &params, target).await;
    }
    let opts = parse_options(Resource::Posts, &params)?;
    let now = state.now();
    let db = state.db();
    let policy = state.settings().get().publication.policy.clone();
    let compiled = match &opts.filter {
        Some(f) => Some(compile_admin_filter(f, &policy, now).map_err(|m| {
            ApiError::new(ErrorType::BadRequest, "Error parsing filter")
                .context(m)
                .property("filter")
        })?),
        None => None,
    };
    let (posts, total, reading) = match target {
        Target::Browse => {
            let order = store::compile_order(Kind::Post, &opts.order);
            let b = Browse {
                all_statuses: true,
                filter: compiled.as_ref(),
                order: &order,
                limit: opts.limit,
                page: opts.page,
                now,
            };
            let (posts, total) = store::browse_posts(db, &b).await?;
            (posts, total, false)
        }
        Target::Id(id) => {
            let object = object_id(state, &id).await?;
            let p = store::read_post(db, By::Id(object), now, true).await?;
            (p.into_iter().collect(), 1, true)
        }
        Target::Slug(slug) => {
            let p = store::read_post(db, By::Slug(&slug), now, true).await?;
            (p.into_iter().collect(), 1, true)
        }
    };
    let items = posts_json(state, &posts, &opts, now, true).await?;
    if reading {
        if items.is_empty() {
            return Err(ApiError::not_found("post"));
        }
        return Ok(no_store(StatusCode::OK, &json!({ "posts": items })));
    }
    let pagination = rules::pagination(opts.page, opts.limit, total);
    Ok(no_store(
        StatusCode::OK,
        &json!({ "posts": items, "meta": { "pagination": pagination } }),
    ))
}

async fn tag_id(state: &AppState, id: &str) -> Result<i64, ApiError> {
    let found = if rules::is_object_id(id) {
        store::find_by_ghost_id(state.db(), Kind::Tag, id).await?
    } else {
        None
    };
    found.ok_or_else(|| ApiError::not_found("tag"))
}

async fn read_tags(
    state: &AppState,
    params: &[(String, String)],
    target: Target,
) -> Result<Response, ApiError> {
    let opts = parse_options(Resource::Tags, params)?;
    let now = state.now();
    let db = state.db();
    let policy = state.settings().get().publication.policy.clone();
    let compiled = match &opts.filter {
        Some(f) => Some(
            store::compile_filter(Kind::Tag, f, &policy, now, 4).map_err(|m| {
                ApiError::new(ErrorType::BadRequest, "Error parsing filter")
                    .context(m)
                    .property("filter")
            })?,
        ),
        None => None,
    };
    let (terms, total, reading) = match target {
        Target::Browse => {
            let order = store::compile_order(Kind::Tag, &opts.order);
            let b = Browse {
                all_statuses: true,
                filter: compiled.as_ref(),
                order: &order,
                limit: opts.limit,
                page: opts.page,
                now,
            };
            let (t, n) = store::browse_terms(db, Kind::Tag, &b).await?;
            (t, n, false)
        }
        Target::Id(id) => {
            let object = tag_id(state, &id).await?;
            let t = store::read_term(db, Kind::Tag, By::Id(object), now).await?;
            (t.into_iter().collect::<Vec<_>>(), 1, true)
        }
        Target::Slug(slug) => {
            let t = store::read_term(db, Kind::Tag, By::Slug(&slug), now).await?;
            (t.into_iter().collect::<Vec<_>>(), 1, true)
        }
    };
    let ids = ids_of(state, Kind::Tag, terms.iter().map(|t| t.id).collect()).await?;
    let with_count = opts.include.iter().any(|i| i == "count.posts");
    let items: Vec<Value> = terms
        .iter()
        .map(|t| term_json(state, Kind::Tag, t, &ids, with_count))
        .collect();
    if reading {
        if items.is_empty() {
            return Err(ApiError::not_found("tag"));
        }
        return Ok(no_store(StatusCode::OK, &json!({ "tags": items })));
    }
    let pagination = rules::pagination(opts.page, opts.limit, total);
    Ok(no_store(
        StatusCode::OK,
        &json!({ "tags": items, "meta": { "pagination": pagination } }),
    ))
}

/// The first object of `{"tags": [ … ]}`.
fn tag_of(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorType::BadRequest, format!("the body is not JSON: {e}")))?;
    match v.get("tags").and_then(|p| p.get(0)) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(validation(
            "No tags found in the request: send {\"tags\": [{…}]}.",
        )),
    }
}

async fn tag_answer(state: &AppState, id: i64, status: StatusCode) -> Result<Response, ApiError> {
    let now = state.now();
    let t = store::read_term(state.db(), Kind::Tag, By::Id(id), now)
        .await?
        .ok_or_else(|| ApiError::not_found("tag"))?;
    let ids = ids_of(state, Kind::Tag, vec![id]).await?;
    Ok(no_store(
        status,
        &json!({ "tags": [term_json(state, Kind::Tag, &t, &ids, false)] }),
    ))
}

async fn write_tags(
    state: &AppState,
    caller: &Caller,
    id: Option<&str>,
    what: Write<'_>,
) -> Result<Response, ApiError> {
    caller.may(Action::TopicsAndAuthors)?;
    let db = state.db();
    let now = state.now();
    let who = caller.email();
    let body = match what {
        Write::Delete => {
            let object = tag_id(state, id.unwrap_or("")).await?;
            let audit = masthead_store::newsroom::Audit {
                staff_id: None,
                staff_email: &who,
                action: "topic.delete",
                object_type: "topic",
                object_id: "",
                detail: "by the Admin API",
            };
            if !masthead_store::content::delete_topic(db, object, &audit, now).await? {
                return Err(ApiError::not_found("tag"));
            }
            state.refresh_counters().await.map_err(ApiError::internal)?;
            let mut res = StatusCode::NO_CONTENT.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(res);
        }
        Write::Add(body) | Write::Edit(body) => body,
    };
    let t = tag_of(body)?;
    let editing = match (&what, id) {
        (Write::Edit(_), Some(id)) => {
            let object = tag_id(state, id).await?;
            store::read_term(db, Kind::Tag, By::Id(object), now).await?
        }
        _ => None,
    };
    let name = match (text(&t, "name"), &editing) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().chars().take(120).collect::<String>(),
        (None, Some(e)) => e.name.clone(),
        _ => return Err(validation("Value in [tags.name] cannot be blank.").property("name")),
    };
    if name.starts_with('#') {
        return Err(validation(
            "internal tags (a name starting with #) are not kept here: topics are public",
        )
        .property("name"));
    }
    let slug = match (text(&t, "slug").map(str::trim), &editing) {
        (Some(s), Some(e)) if !s.is_empty() && s != e.slug => {
            return Err(validation(
                "a tag's slug cannot change here (its page's address would break)",
            )
            .property("slug"))
        }
        (_, Some(e)) => Slug::parse(&e.slug).map_err(|e| ApiError::internal(e.to_string()))?,
        (Some(s), None) if !s.is_empty() => Slug::from_title(s)
            .ok_or_else(|| validation(format!("{s:?} is not a usable slug")).property("slug"))?,
        (_, None) => Slug::from_title(&name)
            .ok_or_else(|| validation(format!("{name:?} makes no slug")).property("name"))?,
    };
    if editing.is_none()
        && masthead_store::content::find_topic_id(db, slug.as_str())
            .await?
            .is_some()
    {
        return Err(
            validation(format!("a tag with the slug {:?} exists", slug.as_str())).property("slug"),
        );
    }
    let description = match (text(&t, "description"), &editing) {
        (Some(d), _) => d.trim().chars().take(500).collect::<String>(),
        (None, Some(e)) => e.description.clone(),
        (None, None) => String::new(),
    };
    let action = if editing.is_some() {
        "topic.save"
    } else {
        "topic.add"
    };
    let audit = masthead_store::newsroom::Audit {
        staff_id: None,
        staff_email: &who,
        action,
        object_type: "topic",
        object_id: slug.as_str(),
        detail: "by the Admin API",
    };
    let id = masthead_store::content::upsert_topic(
        db,
        &masthead_store::content::NewTopic {
            slug: &slug,
            name: &name,
            description: &description,
        },
        Some(&audit),
        now,
    )
    .await?;
    state.refresh_counters().await.map_err(ApiError::internal)?;
    let status = if editing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    tag_answer(state, id, status).await
}

async fn page_id(state: &AppState, id: &str) -> Result<i64, ApiError> {
    let found = if rules::is_object_id(id) {
        store::find_by_ghost_id(state.db(), Kind::Page, id).await?
    } else {
        None
    };
    found.ok_or_else(|| ApiError::not_found("page"))
}

async fn read_pages(
    state: &AppState,
    params: &[(String, String)],
    target: Target,
) -> Result<Response, ApiError> {
    let opts = parse_options(Resource::Pages, params)?;
    let now = state.now();
    let db = state.db();
    let policy = state.settings().get().publication.policy.clone();
    let compiled = match &opts.filter {
        Some(f) => Some(
            store::compile_filter(Kind::Page, f, &policy, now, 4).map_err(|m| {
                ApiError::new(ErrorType::BadRequest, "Error parsing filter")
                    .context(m)
                    .property("filter")
            })?,
        ),
        None => None,
    };
    let (pages, total, reading) = match target {
        Target::Browse => {
            let order = store::compile_order(Kind::Page, &opts.order);
            let b = Browse {
                all_statuses: true,
                filter: compiled.as_ref(),
                order: &order,
                limit: opts.limit,
                page: opts.page,
                now,
            };
            let (p, n) = store::browse_pages(db, &b).await?;
            (p, n, false)
        }
        Target::Id(id) => {
            let object = page_id(state, &id).await?;
            let p = store::read_page(db, By::Id(object)).await?;
            (p.into_iter().collect::<Vec<_>>(), 1, true)
        }
        Target::Slug(slug) => {
            let p = store::read_page(db, By::Slug(&slug)).await?;
            (p.into_iter().collect::<Vec<_>>(), 1, true)
        }
    };
    let items = pages_json(state, &pages, &opts).await?;
    if reading {
        if items.is_empty() {
            return Err(ApiError::not_found("page"));
        }
        return Ok(no_store(StatusCode::OK, &json!({ "pages": items })));
    }
    let pagination = rules::pagination(opts.page, opts.limit, total);
    Ok(no_store(
        StatusCode::OK,
        &json!({ "pages": items, "meta": { "pagination": pagination } }),
    ))
}

/// Pages: add and edit (a new version each time, as the newsroom's page
/// editor makes; the Terms and Privacy versions readers consented to stay
/// on record). Pages are not deleted here: readers' consent records name
/// them.
async fn write_pages(
    state: &AppState,
    caller: &Caller,
    id: Option<&str>,
    source_html: bool,
    what: Write<'_>,
) -> Result<Response, ApiError> {
    caller.may(Action::Settings)?;
    let db = state.db();
    let now = state.now();
    let body = match what {
        Write::Delete => {
            return Err(validation(
                "pages are not deleted here: readers' consent records name the Terms and Privacy versions they accepted",
            ))
        }
        Write::Add(body) | Write::Edit(body) => body,
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorType::BadRequest, format!("the body is not JSON: {e}")))?;
    let Some(Value::Object(p)) = v.get("pages").and_then(|p| p.get(0)).cloned() else {
        return Err(validation(
            "No pages found in the request: send {\"pages\": [{…}]}.",
        ));
    };
    let current = match (&what, id) {
        (Write::Edit(_), Some(id)) => {
            let object = page_id(state, id).await?;
            let Some(c) = store::read_page(db, By::Id(object)).await? else {
                return Err(ApiError::not_found("page"));
            };
            let Some(given) = text(&p, "updated_at") else {
                return Err(
                    validation("updated_at is required to edit a page").property("updated_at")
                );
            };
            let Some((secs, ms)) = rules::parse_ms(given) else {
                return Err(validation(format!("updated_at is not a date: {given:?}"))
                    .property("updated_at"));
            };
            if secs != c.updated_at || ms != c.version.rem_euclid(1000) {
                return Err(ApiError::new(
                    ErrorType::UpdateCollision,
                    "Saving failed! Someone else is editing this page.",
                ));
            }
            Some(c)
        }
        _ => None,
    };
    let title = match (text(&p, "title"), &current) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().chars().take(300).collect::<String>(),
        (None, Some(c)) => c.title.clone(),
        _ => return Err(validation("Value in [pages.title] cannot be blank.").property("title")),
    };
    let slug = match (text(&p, "slug").map(str::trim), &current) {
        (Some(s), Some(c)) if !s.is_empty() && s != c.slug => {
            return Err(validation("a page's slug cannot change here").property("slug"))
        }
        (_, Some(c)) => Slug::parse(&c.slug).map_err(|e| ApiError::internal(e.to_string()))?,
        (Some(s), None) if !s.is_empty() => Slug::from_title(s)
            .ok_or_else(|| validation(format!("{s:?} is not a usable slug")).property("slug"))?,
        (_, None) => Slug::from_title(&title)
            .ok_or_else(|| validation(format!("{title:?} makes no slug")).property("title"))?,
    };
    if current.is_none()
        && store::read_page(db, By::Slug(slug.as_str()))
            .await?
            .is_some()
    {
        return Err(
            validation(format!("a page with the slug {:?} exists", slug.as_str())).property("slug"),
        );
    }
    let html = match (text(&p, "html"), source_html, &current) {
        (Some(h), true, _) => {
            if h.len() > 2 * 1024 * 1024 {
                return Err(validation("the html is larger than 2 MB").property("html"));
            }
            crate::content::markdown::sanitize(h)
        }
        (Some(_), false, _) => {
            return Err(
                validation("Masthead reads a page's html: send it with ?source=html")
                    .property("html"),
            )
        }
        (None, _, Some(c)) => c.body_html.clone(),
        (None, _, None) => {
            return Err(validation("a page needs its html (with ?source=html)").property("html"))
        }
    };
    let who = caller.email();
    let actor = masthead_store::newsroom::Actor {
        staff_id: None,
        email: &who,
    };
    let (id, _, _) = masthead_store::content::upsert_page(
        db,
        &masthead_store::content::NewPage {
            slug: &slug,
            title: &title,
            body_html: &html,
            body_markdown: None,
            source_hash: None,
        },
        Some(actor),
        now,
    )
    .await?;
    state.refresh_counters().await.map_err(ApiError::internal)?;
    let page = store::read_page(db, By::Id(id))
        .await?
        .ok_or_else(|| ApiError::not_found("page"))?;
    let opts = parse_options(Resource::Pages, &[])?;
    let items = pages_json(state, &[page], &opts).await?;
    let status = if current.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(no_store(status, &json!({ "pages": items })))
}

/// The Admin API may also filter by status (it sees drafts).
fn compile_admin_filter(
    f: &masthead_core::api::nql::Expr,
    policy: &masthead_core::access::Policy,
    now: i64,
) -> Result<store::Compiled, String> {
    // `status:x` is peeled off into its own clause, the rest compiles as
    // for the Content API.
    use masthead_core::api::nql::{Expr, Op};
    fn status_sql(t: &masthead_core::api::nql::Test) -> Result<String, String> {
        let mut list = Vec::new();
        for v in &t.values {
            let s = ArticleStatus::parse(&v.text).map_err(|e| e.to_string())?;
            list.push(format!("'{}'", s.as_str()));
        }
        let inner = format!("a.status IN ({})", list.join(", "));
        Ok(match t.op {
            Op::Eq | Op::In => inner,
            Op::Ne | Op::NotIn => format!("NOT ({inner})"),
            _ => return Err("status can only be compared for equality".into()),
        })
    }
    match f {
        Expr::Test(t) if t.field == "status" => Ok(store::Compiled {
            sql: status_sql(t)?,
            binds: Vec::new(),
        }),
        Expr::And(items)
            if items
                .iter()
                .any(|i| matches!(i, Expr::Test(t) if t.field == "status")) =>
        {
            let mut statuses = Vec::new();
            let mut rest = Vec::new();
            for i in items {
                match i {
                    Expr::Test(t) if t.field == "status" => statuses.push(status_sql(t)?),
                    other => rest.push(other.clone()),
                }
            }
            let mut c = if rest.is_empty() {
                store::Compiled::default()
            } else {
                let e = if rest.len() == 1 {
                    rest.remove(0)
                } else {
                    Expr::And(rest)
                };
                store::compile_filter(Kind::Post, &e, policy, now, 4)?
            };
            statuses.push(std::mem::take(&mut c.sql));
            c.sql = statuses
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" AND ");
            Ok(c)
        }
        other => store::compile_filter(Kind::Post, other, policy, now, 4),
    }
}

// --------------------------------------------------------------- images

async fn upload_image(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    finish(upload(&state, &headers, None, req).await)
}

async fn upload_image_v(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(version): Path<String>,
    req: axum::extract::Request,
) -> Response {
    finish(upload(&state, &headers, Some(&version), req).await)
}

/// `images/upload`: one image (`file`) into the media library, through
/// the same checks and processing as the newsroom's uploads; answers
/// `{"images": [{"url", "ref"}]}`.
async fn upload(
    state: &AppState,
    headers: &HeaderMap,
    version: Option<&str>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    use crate::media::{MediaError, MAX_UPLOAD_BYTES};
    use axum::extract::FromRequest;
    check_version(version)?;
    let caller = authenticate(state, headers, version).await?;
    caller.may(Action::WriteOwnDraft)?;
    let too_large = || {
        ApiError::new(
            ErrorType::TooLarge,
            format!(
                "The image is larger than {} MB.",
                MAX_UPLOAD_BYTES / 1024 / 1024
            ),
        )
    };
    let mut multipart = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorType::BadRequest,
                "Send the image as multipart/form-data.",
            )
        })?;
    let (mut file, mut reference) = (None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(ApiError::new(
                    ErrorType::BadRequest,
                    format!("the form was malformed: {e}"),
                ))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name: String = field
            .file_name()
            .unwrap_or("image")
            .chars()
            .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
            .take(200)
            .collect();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(ApiError::new(
                    ErrorType::BadRequest,
                    format!("the form was malformed: {e}"),
                ))
            }
        };
        match name.as_str() {
            "file" => {
                if bytes.len() > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
                file = Some((file_name, bytes.to_vec()));
            }
            "ref" => {
                reference = Some(
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(500)
                        .collect::<String>(),
                )
            }
            _ => {}
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(validation("Please select an image.").property("file"));
    };
    let email = caller.email();
    let described = masthead_store::media::Described {
        words: ("", "", ""),
        by: masthead_store::newsroom::Actor {
            staff_id: None,
            email: &email,
        },
        name: &name,
    };
    let db = state.db();
    let stored = crate::content::import::store_image(
        db,
        state.media(),
        state.processor(),
        bytes,
        &name,
        Some(&described),
    )
    .await;
    let (_, hash) = match stored {
        Ok(s) => s,
        Err(e) => {
            return Err(match e.downcast_ref::<MediaError>() {
                Some(MediaError::TooLarge) => too_large(),
                Some(
                    m @ (MediaError::Svg
                    | MediaError::Heic
                    | MediaError::Unsupported
                    | MediaError::Decode(_)),
                ) => {
                    ApiError::new(ErrorType::UnsupportedMediaType, format!("{m}")).property("file")
                }
                Some(m @ MediaError::Limits) => validation(format!("{m}")).property("file"),
                _ => ApiError::internal(format!("{e:#}")),
            })
        }
    };
    let media = masthead_store::media::find_media_by_hash(db, &hash)
        .await?
        .ok_or_else(|| ApiError::internal("an uploaded image has no row"))?;
    let url = state
        .config()
        .base_url
        .join(&format!("/media/{}.{}", media.hash, media.ext));
    Ok(no_store(
        StatusCode::CREATED,
        &json!({"images": [{"url": url, "ref": reference}]}),
    ))
}

// --------------------------------------------------------------- writes

enum Write<'a> {
    Add(&'a [u8]),
    Edit(&'a [u8]),
    Delete,
}

fn validation(m: impl Into<String>) -> ApiError {
    ApiError::new(ErrorType::Validation, m)
}

/// The first object of `{"posts": [ … ]}`.
fn post_of(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorType::BadRequest, format!("the body is not JSON: {e}")))?;
    match v.get("posts").and_then(|p| p.get(0)) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(validation(
            "No posts found in the request: send {\"posts\": [{…}]}.",
        )),
    }
}

fn text<'a>(p: &'a serde_json::Map<String, Value>, k: &str) -> Option<&'a str> {
    p.get(k).and_then(|v| v.as_str())
}

fn time_of(p: &serde_json::Map<String, Value>, k: &str) -> Result<Option<i64>, ApiError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => masthead_core::api::nql::Value {
            text: s.clone(),
            quoted: true,
        }
        .as_time(0)
        .map(Some)
        .ok_or_else(|| validation(format!("{k} is not a date: {s:?}")).property(k.to_string())),
        Some(_) => Err(validation(format!("{k} must be a date string")).property(k.to_string())),
    }
}

async fn write(
    state: &AppState,
    headers: &HeaderMap,
    version: Option<&str>,
    resource: &str,
    id: Option<&str>,
    q: Option<String>,
    what: Write<'_>,
) -> Result<Response, ApiError> {
    check_version(version)?;
    let caller = authenticate(state, headers, version).await?;
    let resource = resource_of(resource)?;
    let params = query_params(q)?;
    if resource == Resource::Tags {
        return write_tags(state, &caller, id, what).await;
    }
    let source_html = params.iter().any(|(k, v)| k == "source" && v == "html");
    if resource == Resource::Pages {
        return write_pages(state, &caller, id, source_html, what).await;
    }
    let now = state.now();
    let snapshot = "{}";
    let name = caller.name();
    let email = caller.email();
    let saver = Saver {
        staff_id: None,
        staff_name: &name,
        staff_email: &email,
        snapshot,
    };
    let db = state.db();
    match what {
        Write::Delete => {
            caller.may(Action::EditAnyArticle)?;
            let object = object_id(state, id.unwrap_or("")).await?;
            if !masthead_store::newsroom::delete_article(db, object, &saver, now).await? {
                return Err(ApiError::not_found("post"));
            }
            state.refresh_counters().await.map_err(ApiError::internal)?;
            let mut res = StatusCode::NO_CONTENT.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Write::Add(body) => {
            caller.may(Action::WriteOwnDraft)?;
            let p = post_of(body)?;
            let new = build(state, &caller, &p, None, source_html, now).await?;
            let mut new = new;
            // Ghost makes a taken slug unique rather than refusing it.
            let mut made = None;
            let base = new.slug.as_str().to_string();
            for n in 1..=50 {
                match masthead_store::newsroom::create_article(db, &new, &saver, now).await? {
                    Ok(id) => {
                        made = Some(id);
                        break;
                    }
                    Err(SaveRefused::SlugTaken) => {
                        new.slug = Slug::parse(&format!("{base}-{}", n + 1))
                            .map_err(|e| validation(e.to_string()))?;
                    }
                    Err(other) => return Err(ApiError::internal(format!("{other:?}"))),
                }
            }
            let id =
                made.ok_or_else(|| validation("no free slug near this one").property("slug"))?;
            state.refresh_counters().await.map_err(ApiError::internal)?;
            answer_one(state, id, StatusCode::CREATED, now).await
        }
        Write::Edit(body) => {
            let object = object_id(state, id.unwrap_or("")).await?;
            caller.may(Action::EditAnyArticle)?;
            let p = post_of(body)?;
            let Some(current) = masthead_store::content::find_article_by_id(db, object).await?
            else {
                return Err(ApiError::not_found("post"));
            };
            // Ghost's collision check: the client says which version it
            // edited; a save since then wins and this one changes nothing.
            let Some(given) = text(&p, "updated_at") else {
                return Err(
                    validation("updated_at is required to edit a post").property("updated_at")
                );
            };
            let Some((secs, ms)) = rules::parse_ms(given) else {
                return Err(validation(format!("updated_at is not a date: {given:?}"))
                    .property("updated_at"));
            };
            if secs != current.updated_at.as_second() || ms != current.revision.rem_euclid(1000) {
                return Err(ApiError::new(
                    ErrorType::UpdateCollision,
                    "Saving failed! Someone else is editing this post.",
                ));
            }
            let new = build(state, &caller, &p, Some(&current), source_html, now).await?;
            match masthead_store::newsroom::save_article(
                db,
                object,
                current.revision,
                &new,
                &saver,
                "article.save",
                now,
            )
            .await?
            {
                Ok(()) => {}
                Err(SaveRefused::Stale(_)) => {
                    return Err(ApiError::new(
                        ErrorType::UpdateCollision,
                        "Saving failed! Someone else is editing this post.",
                    ))
                }
                Err(SaveRefused::SlugTaken) => {
                    return Err(validation("the slug is taken by another post").property("slug"))
                }
                Err(SaveRefused::NotFound) => return Err(ApiError::not_found("post")),
            }
            state.refresh_counters().await.map_err(ApiError::internal)?;
            answer_one(state, object, StatusCode::OK, now).await
        }
    }
}

async fn answer_one(
    state: &AppState,
    id: i64,
    status: StatusCode,
    now: i64,
) -> Result<Response, ApiError> {
    let post = store::read_post(state.db(), By::Id(id), now, true)
        .await?
        .ok_or_else(|| ApiError::not_found("post"))?;
    let opts = parse_options(
        Resource::Posts,
        &[("include".into(), "tags,authors".into())],
    )?;
    let items = posts_json(state, &[post], &opts, now, true).await?;
    Ok(no_store(status, &json!({ "posts": items })))
}

/// The article a post object describes: every field it gives, and for an
/// edit what `current` has for the rest.
async fn build(
    state: &AppState,
    caller: &Caller,
    p: &serde_json::Map<String, Value>,
    current: Option<&masthead_core::content::Article>,
    source_html: bool,
    now: i64,
) -> Result<NewArticle, ApiError> {
    let db = state.db();
    let title = match (text(p, "title"), current) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().chars().take(300).collect::<String>(),
        (None, Some(c)) => c.headline.clone(),
        _ => return Err(validation("Value in [posts.title] cannot be blank.").property("title")),
    };
    let slug = match (text(p, "slug"), current) {
        (Some(s), _) if !s.trim().is_empty() => Slug::from_title(s)
            .ok_or_else(|| validation(format!("{s:?} is not a usable slug")).property("slug"))?,
        (_, Some(c)) => Slug::parse(&c.slug).map_err(|e| ApiError::internal(e.to_string()))?,
        _ => Slug::from_title(&title)
            .or_else(|| Slug::from_title("untitled"))
            .ok_or_else(|| ApiError::internal("no slug for an untitled post"))?,
    };
    // The body: html with ?source=html (through the sanitizer); the
    // editors' own formats are not read.
    let has_other_format = p.get("lexical").is_some_and(|v| !v.is_null())
        || p.get("mobiledoc").is_some_and(|v| !v.is_null());
    let (blocks, preview, markdown) = match (text(p, "html"), source_html) {
        (Some(html), true) => {
            if html.len() > 2 * 1024 * 1024 {
                return Err(validation("the html is larger than 2 MB").property("html"));
            }
            let c = crate::imports::ghost_body::convert(html);
            let preview = c.preview;
            let mut source = c.blocks.clone();
            if let Some(at) = preview {
                source.insert(at as usize, "<!-- paywall -->".into());
            }
            (c.blocks, preview, Some(source.join("\n\n")))
        }
        (Some(_), false) | (None, _) if has_other_format || text(p, "html").is_some() => {
            return Err(validation(
                "Masthead reads a post's html: send it with ?source=html (lexical and mobiledoc are not read)",
            )
            .property("html"))
        }
        _ => match current {
            Some(c) => {
                let body = masthead_store::content::find_body(db, &c.facts(), masthead_core::Decision::Full).await?;
                let markdown = masthead_store::content::find_article_markdown(db, c.id).await?;
                (body.blocks, c.preview_blocks, markdown)
            }
            None => (Vec::new(), None, None),
        },
    };
    let status = match (text(p, "status"), current) {
        (Some(s), _) => {
            ArticleStatus::parse(s).map_err(|e| validation(e.to_string()).property("status"))?
        }
        (None, Some(c)) => c.status,
        (None, None) => ArticleStatus::Draft,
    };
    if status != ArticleStatus::Draft && current.is_none_or(|c| c.status == ArticleStatus::Draft) {
        caller.may(Action::PublishOwn)?;
    }
    let mut published_at = match time_of(p, "published_at")? {
        Some(t) => Some(t),
        None => current.and_then(|c| c.published_at.map(|t| t.as_second())),
    };
    match status {
        ArticleStatus::Published => {
            published_at = Some(published_at.unwrap_or(now).min(now));
        }
        ArticleStatus::Scheduled => {
            if published_at.is_none_or(|t| t <= now) {
                return Err(
                    validation("a scheduled post needs a published_at in the future")
                        .property("published_at"),
                );
            }
        }
        ArticleStatus::Draft => {}
    }
    if status != ArticleStatus::Draft && blocks.is_empty() {
        return Err(validation("a post needs a body to be published").property("html"));
    }
    let access_level = match (text(p, "visibility"), current) {
        (Some("public"), _) => AccessLevel::Free,
        (Some("members"), _) => AccessLevel::Registered,
        (Some("paid" | "tiers"), _) => AccessLevel::Subscribers,
        (Some(other), _) => {
            return Err(validation(format!(
                "visibility is public, members or paid, not {other:?}"
            ))
            .property("visibility"))
        }
        (None, Some(c)) => c.access_level,
        (None, None) => AccessLevel::Default,
    };
    let content_type = match (text(p, "masthead_content_type"), current) {
        (Some(t), _) => ContentType::parse(t)
            .map_err(|e| validation(e.to_string()).property("masthead_content_type"))?,
        (None, Some(c)) => c.content_type,
        (None, None) => ContentType::News,
    };
    let standfirst = match (text(p, "custom_excerpt"), current) {
        (Some(s), _) => s.trim().chars().take(1000).collect(),
        (None, Some(c)) => c.standfirst.clone(),
        (None, None) => String::new(),
    };
    let dateline = match (text(p, "masthead_dateline"), current) {
        (Some(s), _) => s.trim().chars().take(100).collect(),
        (None, Some(c)) => c.dateline.clone(),
        (None, None) => String::new(),
    };
    let topic_ids = match p.get("tags") {
        Some(Value::Array(tags)) => topic_ids(state, caller, tags, now).await?,
        Some(_) => return Err(validation("tags must be a list").property("tags")),
        None => current
            .map(|c| c.topics.iter().map(|t| t.id).collect())
            .unwrap_or_default(),
    };
    let author_ids = match p.get("authors") {
        Some(Value::Array(list)) => author_ids(state, list).await?,
        Some(_) => return Err(validation("authors must be a list").property("authors")),
        None => current
            .map(|c| c.authors.iter().map(|a| a.id).collect())
            .unwrap_or_default(),
    };
    let lead = match p.get("feature_image") {
        Some(Value::String(url)) => lead_of(state, url, p).await?,
        Some(Value::Null) => None,
        Some(_) => return Err(validation("feature_image must be a URL").property("feature_image")),
        None => current.and_then(|c| {
            c.lead_image
                .as_ref()
                .map(|l| masthead_store::content::NewLead {
                    media_id: l.media.id,
                    alt: l.alt.clone(),
                    caption: l.caption.clone(),
                    credit: l.credit.clone(),
                })
        }),
    };
    let preview = preview.map(|n| n.min(u32::try_from(blocks.len()).unwrap_or(u32::MAX)));
    let policy = state.settings().get().publication.policy.clone();
    let search =
        crate::content::search::search_text(&blocks, access_level, content_type, preview, &policy);
    let previous_slugs = match current {
        Some(c) if c.slug != slug.as_str() && c.status == ArticleStatus::Published => {
            Slug::parse(&c.slug).map(|s| vec![s]).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Ok(NewArticle {
        slug,
        headline: title,
        standfirst,
        dateline,
        content_type,
        access_level,
        preview_blocks: preview,
        status,
        published_at,
        // An edit of a published post is an update readers see; a
        // draft keeps following its publication time.
        updated_at: match current {
            Some(c)
                if c.status == ArticleStatus::Published && status == ArticleStatus::Published =>
            {
                Some(now.max(c.updated_at.as_second()))
            }
            _ => None,
        },
        body_markdown: markdown,
        blocks,
        search,
        lead,
        author_ids,
        topic_ids,
        previous_slugs,
        source_hash: None,
    })
}

/// Topics for a post's tags (`"name"`, `{"name"}`, `{"slug"}`, `{"id"}`);
/// a missing one is made (as Ghost does). A `#` tag is internal: it sets
/// the content type when it names one (`#analysis`) and is otherwise
/// ignored.
async fn topic_ids(
    state: &AppState,
    caller: &Caller,
    tags: &[Value],
    now: i64,
) -> Result<Vec<i64>, ApiError> {
    let db = state.db();
    let mut ids = Vec::new();
    for t in tags.iter().take(50) {
        let (name, slug, gid) = match t {
            Value::String(s) => (Some(s.as_str()), None, None),
            Value::Object(m) => (text(m, "name"), text(m, "slug"), text(m, "id")),
            _ => return Err(validation("a tag is a name or an object").property("tags")),
        };
        if name.is_some_and(|n| n.starts_with('#')) {
            continue;
        }
        let found = match (gid, slug, name) {
            (Some(g), _, _) => store::find_by_ghost_id(db, Kind::Tag, g).await?,
            (None, Some(s), _) => masthead_store::content::find_topic_id(db, s).await?,
            (None, None, Some(n)) => match Slug::from_title(n) {
                Some(s) => masthead_store::content::find_topic_id(db, s.as_str()).await?,
                None => None,
            },
            _ => None,
        };
        let id = match found {
            Some(id) => id,
            None => {
                let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
                    return Err(validation("an unknown tag needs a name").property("tags"));
                };
                caller.may(Action::TopicsAndAuthors)?;
                let slug = match slug {
                    Some(s) => {
                        Slug::parse(s).map_err(|e| validation(e.to_string()).property("tags"))?
                    }
                    None => Slug::from_title(name).ok_or_else(|| {
                        validation(format!("{name:?} makes no slug")).property("tags")
                    })?,
                };
                let who = caller.email();
                let audit = masthead_store::newsroom::Audit {
                    staff_id: None,
                    staff_email: &who,
                    action: "topic.save",
                    object_type: "topic",
                    object_id: slug.as_str(),
                    detail: "made by the Admin API",
                };
                masthead_store::content::upsert_topic(
                    db,
                    &masthead_store::content::NewTopic {
                        slug: &slug,
                        name: &name.chars().take(120).collect::<String>(),
                        description: "",
                    },
                    Some(&audit),
                    now,
                )
                .await?
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Authors by `{"id"}` or `{"slug"}` (Masthead's authors have no email).
async fn author_ids(state: &AppState, list: &[Value]) -> Result<Vec<i64>, ApiError> {
    let db = state.db();
    let mut ids = Vec::new();
    for a in list.iter().take(20) {
        let found = match a {
            Value::Object(m) => match (text(m, "id"), text(m, "slug")) {
                (Some(g), _) => store::find_by_ghost_id(db, Kind::Author, g).await?,
                (None, Some(s)) => masthead_store::content::find_author_id(db, s).await?,
                _ => None,
            },
            Value::String(s) => masthead_store::content::find_author_id(db, s).await?,
            _ => None,
        };
        let id =
            found.ok_or_else(|| validation(format!("no such author: {a}")).property("authors"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A lead image from a `feature_image` URL in this site's media library.
async fn lead_of(
    state: &AppState,
    url: &str,
    p: &serde_json::Map<String, Value>,
) -> Result<Option<masthead_store::content::NewLead>, ApiError> {
    let base = state.config().base_url.as_str();
    let path = url.strip_prefix(base).unwrap_or(url);
    let Some(name) = path.strip_prefix("/media/") else {
        return Err(validation(
            "feature_image must be an image in this site's media library (upload it first)",
        )
        .property("feature_image"));
    };
    let hash = name.split(['.', '-']).next().unwrap_or("");
    let media = masthead_store::media::find_media_by_hash(state.db(), hash)
        .await?
        .ok_or_else(|| {
            validation("feature_image is not in the media library").property("feature_image")
        })?;
    Ok(Some(masthead_store::content::NewLead {
        media_id: media.id,
        alt: text(p, "feature_image_alt")
            .unwrap_or("")
            .chars()
            .take(500)
            .collect(),
        caption: text(p, "feature_image_caption")
            .map(crate::content::markdown::plain_text)
            .unwrap_or_default()
            .trim()
            .chars()
            .take(500)
            .collect(),
        credit: String::new(),
    }))
}
