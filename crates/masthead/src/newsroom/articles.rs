//! The article editor, Markdown first: every field, the body in Markdown
//! with a paywall divider (`<!-- paywall -->`, which splits the body where
//! it stands and sets the preview length), save, publish, schedule, unpublish, and previews
//! as an anonymous reader, a member and a subscriber showing where the
//! paywall cuts. Whatever the client sends is rendered and sanitized on
//! the server. Two people saving the same article: the second is told and
//! keeps their text; nothing is overwritten silently.
//!
//! Who may do what comes from `masthead_core::newsroom`
//! (`may_edit_article`, `may_publish_article`).

use super::{page, when, StaffUser};
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form as PostForm;
use masthead_core::access::{decide, Channel, Decision, Reader, ReaderKind};
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_core::newsroom::{may_edit_article, may_publish_article, Action};
use masthead_store::content::{NewArticle, NewLead};

/// The line that marks where the preview ends.
pub const PAYWALL: &str = "<!-- paywall -->";

/// (preview blocks, all blocks) of a Markdown body with an optional
/// paywall divider: `content::markdown::split_body`.
pub fn body_blocks(
    markdown: &str,
) -> Result<(Option<u32>, Vec<String>), crate::content::markdown::TooDeep> {
    let split = crate::content::markdown::split_body(markdown)?;
    Ok((split.preview, split.blocks))
}

/// The editor's form. Its fields (without csrf, revision and action) are
/// also what a stored revision keeps, as JSON.
#[derive(Debug, serde::Deserialize, serde::Serialize, Default, Clone, PartialEq)]
pub struct ArticleForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default, skip_serializing)]
    revision: String,
    #[serde(default)]
    headline: String,
    #[serde(default)]
    standfirst: String,
    #[serde(default)]
    dateline: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    access_level: String,
    #[serde(default)]
    topics: String,
    #[serde(default)]
    authors: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    publish_at: String,
    #[serde(default)]
    lead_media: String,
    #[serde(default)]
    lead_alt: String,
    #[serde(default)]
    lead_caption: String,
    #[serde(default)]
    lead_credit: String,
    #[serde(default, skip_serializing)]
    action: String,
}

struct Editing {
    id: Option<i64>,
    status: ArticleStatus,
    own: bool,
    /// A line to show above the form (restored a revision, autosave offer).
    notice: Option<String>,
    /// A freshly made draft-preview link to show.
    share: Option<String>,
    /// Offer this person's autosave made on the revision being edited.
    offer_autosave: bool,
}

impl Editing {
    fn new(id: Option<i64>, status: ArticleStatus, own: bool) -> Editing {
        Editing {
            id,
            status,
            own,
            notice: None,
            share: None,
            offer_autosave: false,
        }
    }
}

/// The body as the rich-text editor starts from it: the sanitized blocks,
/// with the paywall divider where the preview ends. `None` for a body the
/// renderer refuses (too deeply nested): the Markdown editor shows it.
pub fn editor_html(markdown: &str) -> Option<String> {
    let (preview, blocks) = body_blocks(markdown).ok()?;
    let mut html = String::new();
    for (i, b) in blocks.iter().enumerate() {
        if preview == Some(u32::try_from(i).unwrap_or(u32::MAX)) {
            html.push_str("<hr data-paywall=\"\">");
        }
        html.push_str(b);
    }
    if preview.is_some_and(|p| p as usize >= blocks.len()) {
        html.push_str("<hr data-paywall=\"\">");
    }
    Some(html)
}

/// JSON to place inside `<script type="application/json">`: no `<`, `>`
/// or `&` can end the element or start markup there.
fn script_json(v: &serde_json::Value) -> minijinja::Value {
    let text = v
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    minijinja::Value::from_safe_string(text)
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    f: &ArticleForm,
    editing: &Editing,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let db = state.db();
    let topics = masthead_store::content::list_topics(db).await?;
    let authors = masthead_store::content::list_authors(db).await?;
    let library = masthead_store::media::list_media(db, 120).await?;
    let revisions = match editing.id {
        Some(id) => masthead_store::newsroom::list_revisions(db, id, 30).await?,
        None => Vec::new(),
    };
    let autosaved = revisions
        .iter()
        .filter(|_| editing.offer_autosave)
        .find(|r| r.kind == "autosave" && r.staff_id == Some(user.id))
        // Made on the article as it is now (a save since makes it stale).
        .filter(|r| r.article_revision.to_string() == f.revision.trim());
    let notice = editing.notice.clone().or_else(|| {
        autosaved.map(|r| format!(
            "You have changes autosaved at {} that were never saved. Open “Restore” for that autosave in the list of versions below to get them back.",
            when(state, r.created_at)
        ))
    });
    let live = editing.status != ArticleStatus::Draft;
    // The rich editor starts from the rendered body, rendered off the async
    // workers; a body the renderer refuses opens in the Markdown editor.
    let body = f.body.clone();
    let start_html = crate::content::markdown::off_thread(move || editor_html(&body))
        .await
        .map_err(AppError::Internal)?;
    let rich = super::assets::editor_built() && start_html.is_some();
    // Sending it as a newsletter, from here, once it is published.
    let may_send = editing.status == ArticleStatus::Published
        && masthead_core::newsroom::allowed(user.role, Action::SendNewsletters);
    let newsletters = if may_send {
        masthead_store::newsletters::list(db).await?
    } else {
        Vec::new()
    };
    let editor_data = rich.then(|| {
        script_json(&serde_json::json!({
            "html": start_html.as_deref().unwrap_or_default(),
            "library": "/admin/media",
            "media": library.iter().map(|r| {
                let v = crate::site::view::image(&r.media, &r.alt, &r.caption, &r.credit, 960);
                serde_json::json!({
                    "id": r.media.id, "src": v.src, "srcset": v.srcset, "width": v.width,
                    "height": v.height, "alt": r.alt, "caption": r.caption, "credit": r.credit,
                })
            }).collect::<Vec<_>>(),
        }))
    });
    let ctx = minijinja::context! {
        id => editing.id,
        form => minijinja::context! {
            revision => f.revision, headline => f.headline, standfirst => f.standfirst, dateline => f.dateline,
            slug => f.slug, content_type => f.content_type, access_level => f.access_level, topics => f.topics,
            authors => f.authors, body => f.body, publish_at => f.publish_at, lead_media => f.lead_media,
            lead_alt => f.lead_alt, lead_caption => f.lead_caption, lead_credit => f.lead_credit,
        },
        status => editing.status.as_str(),
        content_types => ContentType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        access_levels => ["default", "free", "metered", "registered", "subscribers"],
        topic_slugs => topics.iter().map(|t| minijinja::context! { slug => t.slug, name => t.name }).collect::<Vec<_>>(),
        author_slugs => authors.iter().map(|(slug, name)| minijinja::context! { slug => slug, name => name }).collect::<Vec<_>>(),
        library => library.iter().map(|r| minijinja::context! { id => r.media.id.to_string(), label => if r.alt.is_empty() { r.original_name.clone() } else { r.alt.clone() } }).collect::<Vec<_>>(),
        revisions => revisions.iter().map(|r| minijinja::context! {
            id => r.id, kind => r.kind, who => r.staff_name, when => when(state, r.created_at), number => r.article_revision,
        }).collect::<Vec<_>>(),
        can_publish => may_publish_article(user.role, editing.own),
        live => live,
        paywall => PAYWALL,
        error => error,
        notice => notice,
        share => editing.share,
        rich => rich,
        editor_data => editor_data,
        newsletters => newsletters.iter().map(|n| minijinja::context! { id => n.id, name => n.name }).collect::<Vec<_>>(),
        assets => super::assets::version(),
    };
    let title = if editing.id.is_some() {
        "Edit article"
    } else {
        "New article"
    };
    let mut res = page(state, "admin/article.html", title, user, ctx);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn list(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let all = masthead_core::newsroom::allowed(user.role, Action::EditAnyArticle);
    let rows =
        masthead_store::newsroom::list_articles(state.db(), (!all).then_some(user.id), 200).await?;
    let ctx = minijinja::context! {
        articles => rows.iter().map(|a| minijinja::context! {
            id => a.id, headline => a.headline, status => a.status, access => a.access_level,
            updated => when(&state, a.updated_at), slug => a.slug,
        }).collect::<Vec<_>>(),
        mine_only => !all,
    };
    Ok(page(&state, "admin/articles.html", "Articles", &user, ctx))
}

pub async fn new_page(
    State(state): State<AppState>,
    user: StaffUser,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let f = ArticleForm {
        content_type: "news".into(),
        access_level: "default".into(),
        ..ArticleForm::default()
    };
    let editing = Editing::new(None, ArticleStatus::Draft, true);
    render(&state, &user, &f, &editing, None, StatusCode::OK).await
}

fn split_slugs(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// The lead image a form asks for: a library image, with the words typed
/// in the form or else those stored with the image.
async fn lead_of(state: &AppState, f: &ArticleForm) -> Result<Option<NewLead>, String> {
    let id = match f.lead_media.trim() {
        "" | "none" => return Ok(None),
        s => s
            .parse::<i64>()
            .map_err(|_| "Choose the lead image from the library.")?,
    };
    let row = masthead_store::media::find_media_row(state.db(), id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("That lead image is no longer in the library.")?;
    let pick = |typed: &str, stored: &str, max: usize| -> String {
        let t = typed.trim();
        if t.is_empty() { stored } else { t }
            .chars()
            .take(max)
            .collect()
    };
    let alt = pick(&f.lead_alt, &row.alt, 500);
    if alt.is_empty() {
        return Err(
            "The lead image needs alt text (what it shows, for readers who cannot see it).".into(),
        );
    }
    Ok(Some(NewLead {
        media_id: id,
        alt,
        caption: pick(&f.lead_caption, &row.caption, 1000),
        credit: pick(&f.lead_credit, &row.credit, 300),
    }))
}

/// The article a form describes (or what is wrong with it).
async fn build(
    state: &AppState,
    f: &ArticleForm,
    status: ArticleStatus,
    published_at: Option<i64>,
) -> Result<NewArticle, String> {
    let lead = lead_of(state, f).await?;
    let db = state.db();
    let headline = f.headline.trim();
    if headline.is_empty() {
        return Err("The headline is empty.".into());
    }
    let slug = match f.slug.trim() {
        "" => Slug::from_title(headline)
            .ok_or("Give the article a slug (letters, digits and hyphens).")?,
        s => Slug::parse_article(s).map_err(|e| format!("Slug: {e}"))?,
    };
    let content_type = ContentType::parse(&f.content_type).map_err(|e| e.to_string())?;
    let access_level = AccessLevel::parse(&f.access_level).map_err(|e| e.to_string())?;
    let mut topic_ids = Vec::new();
    for t in split_slugs(&f.topics) {
        match masthead_store::content::find_topic_id(db, &t).await {
            Ok(Some(id)) => topic_ids.push(id),
            Ok(None) => return Err(format!("There is no topic “{t}”.")),
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut author_ids = Vec::new();
    for a in split_slugs(&f.authors) {
        match masthead_store::content::find_author_id(db, &a).await {
            Ok(Some(id)) => author_ids.push(id),
            Ok(None) => return Err(format!("There is no author “{a}”.")),
            Err(e) => return Err(e.to_string()),
        }
    }
    if f.body.len() > 1_000_000 {
        return Err("The body is too long (1 MB at most).".into());
    }
    // Off the async workers: no body can stall page serving.
    let body = f.body.clone();
    let (preview_blocks, blocks) = crate::content::markdown::off_thread(move || body_blocks(&body))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let policy = state.settings().get().publication.policy.clone();
    let search = crate::content::search::search_text(
        &blocks,
        access_level,
        content_type,
        preview_blocks,
        &policy,
    );
    Ok(NewArticle {
        slug,
        headline: headline.chars().take(300).collect(),
        standfirst: f.standfirst.trim().chars().take(1000).collect(),
        dateline: f.dateline.trim().chars().take(100).collect(),
        content_type,
        access_level,
        preview_blocks,
        status,
        published_at,
        updated_at: Some(state.now()),
        body_markdown: Some(f.body.clone()),
        blocks,
        search,
        lead,
        author_ids,
        topic_ids,
        previous_slugs: Vec::new(),
        source_hash: None,
    })
}

/// When a schedule form asks for: `2026-12-01T08:00` in the publication's
/// time zone.
fn publish_time(state: &AppState, text: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    let tz = state.settings().get().tz.clone();
    civil.to_zoned(tz).ok().map(|z| z.timestamp().as_second())
}

pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<ArticleForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let editing = Editing::new(None, ArticleStatus::Draft, true);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let a = match build(&state, &f, ArticleStatus::Draft, None).await {
        Ok(a) => a,
        Err(e) => return render(&state, &user, &f, &editing, Some(e), unprocessable).await,
    };
    let snapshot = serde_json::to_string(&f).map_err(|e| AppError::Internal(e.into()))?;
    let who = saver(&user, &snapshot);
    let id =
        match masthead_store::newsroom::create_article(state.db(), &a, &who, state.now()).await? {
            Ok(id) => id,
            Err(refused) => {
                let (e, status) = refusal(&refused, a.slug.as_str());
                return render(&state, &user, &f, &editing, Some(e), status).await;
            }
        };
    state.refresh_counters().await.map_err(AppError::Internal)?;
    // Publishing happens on the edit page (the draft exists first).
    Ok(see_other(&format!("/admin/articles/{id}?saved=1")))
}

/// Who saves, for the store's use cases.
fn saver<'a>(user: &'a StaffUser, snapshot: &'a str) -> masthead_store::newsroom::Saver<'a> {
    masthead_store::newsroom::Saver {
        staff_id: Some(user.id),
        staff_name: &user.name,
        staff_email: &user.email,
        snapshot,
    }
}

/// The message and status of a refused create or save (the form is kept).
fn refusal(r: &masthead_store::newsroom::SaveRefused, slug: &str) -> (String, StatusCode) {
    use masthead_store::newsroom::SaveRefused;
    match r {
        SaveRefused::SlugTaken => (
            format!("The slug “{slug}” is taken by another article; choose another."),
            StatusCode::CONFLICT,
        ),
        SaveRefused::Stale(now) => (
            format!("Someone else saved this article since you opened it (now revision {now}). Your version is below, not saved: copy what you need, reload the page, and save again."),
            StatusCode::CONFLICT,
        ),
        SaveRefused::NotFound => ("This article no longer exists.".into(), StatusCode::NOT_FOUND),
    }
}

/// Stores a version of the editor's fields after the article's revision.
async fn keep_revision(
    state: &AppState,
    user: &StaffUser,
    id: i64,
    kind: &str,
    f: &ArticleForm,
    now: i64,
) -> Result<i64, AppError> {
    let db = state.db();
    let number = masthead_store::newsroom::article_revision(db, id)
        .await?
        .unwrap_or(0);
    let snapshot = serde_json::to_string(f).map_err(|e| AppError::Internal(e.into()))?;
    Ok(masthead_store::newsroom::insert_revision(
        db,
        id,
        kind,
        number,
        (user.id, &user.name),
        &snapshot,
        now,
    )
    .await?)
}

async fn load(
    state: &AppState,
    id: i64,
) -> Result<(masthead_core::content::Article, Option<i64>), AppError> {
    let a = masthead_store::content::find_article_by_id(state.db(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = masthead_store::newsroom::find_article_owner(state.db(), id).await?;
    Ok((a, owner))
}

/// The article, its owner and whether `user` may edit it (else 403).
async fn load_editable(
    state: &AppState,
    user: &StaffUser,
    id: i64,
) -> Result<(masthead_core::content::Article, bool), AppError> {
    let (a, owner) = load(state, id).await?;
    let own = owner == Some(user.id);
    if !may_edit_article(user.role, own, a.status != ArticleStatus::Draft) {
        return Err(AppError::Forbidden(
            "your role does not allow editing this article".into(),
        ));
    }
    Ok((a, own))
}

fn form_of(
    a: &masthead_core::content::Article,
    markdown: Option<String>,
    state: &AppState,
) -> ArticleForm {
    let tz = state.settings().get().tz.clone();
    let slugs = |v: Vec<&str>| v.join(", ");
    let lead = a.lead_image.as_ref();
    ArticleForm {
        revision: a.revision.to_string(),
        headline: a.headline.clone(),
        standfirst: a.standfirst.clone(),
        dateline: a.dateline.clone(),
        slug: a.slug.clone(),
        content_type: a.content_type.as_str().into(),
        access_level: a.access_level.as_str().into(),
        topics: slugs(a.topics.iter().map(|t| t.slug.as_str()).collect()),
        authors: slugs(a.authors.iter().map(|t| t.slug.as_str()).collect()),
        body: markdown.unwrap_or_default(),
        publish_at: a
            .published_at
            .map(|p| p.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default(),
        lead_media: lead.map(|l| l.media.id.to_string()).unwrap_or_default(),
        lead_alt: lead.map(|l| l.alt.clone()).unwrap_or_default(),
        lead_caption: lead.map(|l| l.caption.clone()).unwrap_or_default(),
        lead_credit: lead.map(|l| l.credit.clone()).unwrap_or_default(),
        ..ArticleForm::default()
    }
}

/// A stored version as the editor's form. Versions kept outside the editor
/// (imports, the CLI, the history before issue 13) carry the publication
/// time in seconds instead of the editor's local `publish_at`.
fn stored_form(
    state: &AppState,
    r: &masthead_store::newsroom::RevisionRow,
) -> Result<ArticleForm, AppError> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        #[serde(default)]
        published_at: Option<i64>,
    }
    let bad = |e: serde_json::Error| AppError::Internal(anyhow::anyhow!("version {}: {e}", r.id));
    let mut f: ArticleForm = serde_json::from_str(&r.snapshot).map_err(bad)?;
    if f.publish_at.is_empty() {
        let stamp: Stamp = serde_json::from_str(&r.snapshot).map_err(bad)?;
        if let Some(t) = stamp
            .published_at
            .and_then(|t| jiff::Timestamp::from_second(t).ok())
        {
            let tz = state.settings().get().tz.clone();
            f.publish_at = t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string();
        }
    }
    Ok(f)
}

/// `GET /admin/articles/{id}`: the editor. `?restore=N` loads stored
/// version N into the form (saved only when the user saves); `?share=…`
/// shows a draft-preview link just made.
pub async fn edit(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let (a, own) = load_editable(&state, &user, id).await?;
    let db = state.db();
    let markdown = masthead_store::content::find_article_markdown(db, id).await?;
    let mut f = form_of(&a, markdown, &state);
    let mut editing = Editing::new(Some(id), a.status, own);
    let query = |k| crate::http::query_param(&uri, k);
    if let Some(rev) = query("restore").and_then(|r| r.parse::<i64>().ok()) {
        let r = masthead_store::newsroom::find_revision(db, id, rev)
            .await?
            .ok_or(AppError::NotFound)?;
        let stored = stored_form(&state, &r)?;
        f = ArticleForm {
            revision: f.revision,
            ..stored
        };
        editing.notice = Some(format!(
            "This is the version {} by {} at {}. It is not saved yet: press Save to make it the article again.",
            if r.kind == "autosave" { "autosaved" } else { "saved" },
            r.staff_name,
            when(&state, r.created_at)
        ));
    } else {
        editing.offer_autosave = true;
    }
    if query("tested").is_some() {
        editing.notice = Some(format!("A test was sent to {}.", user.email));
    }
    if let Some(t) = query("share").filter(|t| read_preview_token(&state, t).is_some()) {
        editing.share = Some(state.config().base_url.join(&format!("/preview/{t}")));
    }
    render(&state, &user, &f, &editing, None, StatusCode::OK).await
}

pub async fn save(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ArticleForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let (a, own) = load_editable(&state, &user, id).await?;
    let editing = Editing::new(Some(id), a.status, own);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let publishing = matches!(f.action.as_str(), "publish" | "schedule" | "unpublish");
    if publishing && !may_publish_article(user.role, own) {
        return Err(AppError::Forbidden(
            "your role does not allow publishing; save it and ask an editor".into(),
        ));
    }
    // Someone saved since this form was opened: say so, keep their text.
    // (`save_article` checks again inside its transaction.)
    if f.revision.trim() != a.revision.to_string() {
        let stale = masthead_store::newsroom::SaveRefused::Stale(a.revision);
        let (msg, status) = refusal(&stale, &a.slug);
        return render(&state, &user, &f, &editing, Some(msg), status).await;
    }
    let now = state.now();
    let (status, published_at) = match f.action.as_str() {
        "publish" => (
            ArticleStatus::Published,
            Some(
                a.published_at
                    .map(|p| p.as_second())
                    .filter(|p| *p <= now)
                    .unwrap_or(now),
            ),
        ),
        "schedule" => match publish_time(&state, &f.publish_at) {
            Some(t) if t > now => (ArticleStatus::Scheduled, Some(t)),
            _ => {
                let e = "Give a publication time in the future, like 2026-12-01T08:00.";
                return render(&state, &user, &f, &editing, Some(e.into()), unprocessable).await;
            }
        },
        "unpublish" => (ArticleStatus::Draft, None),
        _ => (a.status, a.published_at.map(|p| p.as_second())),
    };
    let new = match build(&state, &f, status, published_at).await {
        Ok(n) => n,
        Err(e) => return render(&state, &user, &f, &editing, Some(e), unprocessable).await,
    };
    let action = match f.action.as_str() {
        "publish" => "article.publish",
        "schedule" => "article.schedule",
        "unpublish" => "article.unpublish",
        _ => "article.save",
    };
    let snapshot = serde_json::to_string(&f).map_err(|e| AppError::Internal(e.into()))?;
    let who = saver(&user, &snapshot);
    let saved =
        masthead_store::newsroom::save_article(state.db(), id, a.revision, &new, &who, action, now)
            .await?;
    if let Err(refused) = saved {
        let (e, status) = refusal(&refused, new.slug.as_str());
        return render(&state, &user, &f, &editing, Some(e), status).await;
    }
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!("/admin/articles/{id}?saved=1")))
}

/// A JSON answer for the editor's script.
fn json(status: StatusCode, v: serde_json::Value) -> Response {
    let mut res = (status, axum::Json(v)).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

/// `POST /admin/articles/{id}/autosave` (the editor's script, every few
/// seconds while there are changes): keeps the work as this person's
/// autosave of the article, without touching the article itself. Without
/// a session it answers 401 and the script keeps the text in the browser.
pub async fn autosave(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ArticleForm>,
) -> Result<Response, AppError> {
    let user = match StaffUser::require(&viewer, &headers, Action::WriteOwnDraft) {
        Ok(u) => u,
        Err(super::Denied::LogIn) => {
            return Ok(json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "Your session has expired; log in again."}),
            ))
        }
        Err(super::Denied::Forbidden(why)) => {
            return Ok(json(
                StatusCode::FORBIDDEN,
                serde_json::json!({"error": why}),
            ))
        }
    };
    if user.check_csrf(&f.csrf).is_err() {
        return Ok(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "This page has expired; reload it (your text is kept in this browser)."}),
        ));
    }
    // Answers stay JSON for the script, whatever goes wrong.
    let a = match load_editable(&state, &user, id).await {
        Ok((a, _)) => a,
        Err(AppError::NotFound) => {
            return Ok(json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "This article no longer exists."}),
            ))
        }
        Err(AppError::Forbidden(why)) => {
            return Ok(json(
                StatusCode::FORBIDDEN,
                serde_json::json!({"error": why}),
            ))
        }
        Err(e) => return Err(e),
    };
    if f.revision.trim() != a.revision.to_string() {
        return Ok(json(
            StatusCode::CONFLICT,
            serde_json::json!({"error": "Someone else saved this article since you opened it.", "revision": a.revision}),
        ));
    }
    if f.body.len() > 1_000_000 {
        return Ok(json(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({"error": "The body is too long (1 MB at most)."}),
        ));
    }
    let now = state.now();
    keep_revision(&state, &user, id, "autosave", &f, now).await?;
    let at = jiff::Timestamp::from_second(now)
        .map(|t| {
            t.to_zoned(state.settings().get().tz.clone())
                .strftime("%H:%M")
                .to_string()
        })
        .unwrap_or_default();
    Ok(json(StatusCode::OK, serde_json::json!({"saved_at": at})))
}

/// `GET /admin/articles/{id}/revisions/{rev}`: what changed between a
/// stored version and the article as it is now.
pub async fn compare(
    State(state): State<AppState>,
    user: StaffUser,
    Path((id, rev)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    use masthead_core::revisions::{line_diff, Line};
    user.may(Action::WriteOwnDraft)?;
    let (a, _) = load_editable(&state, &user, id).await?;
    let db = state.db();
    let r = masthead_store::newsroom::find_revision(db, id, rev)
        .await?
        .ok_or(AppError::NotFound)?;
    let then = stored_form(&state, &r)?;
    let markdown = masthead_store::content::find_article_markdown(db, id).await?;
    let current = ArticleForm {
        revision: String::new(),
        ..form_of(&a, markdown, &state)
    };
    let fields = [
        ("Headline", &then.headline, &current.headline),
        ("Standfirst", &then.standfirst, &current.standfirst),
        ("Dateline", &then.dateline, &current.dateline),
        ("Slug", &then.slug, &current.slug),
        ("Content type", &then.content_type, &current.content_type),
        ("Access level", &then.access_level, &current.access_level),
        ("Topics", &then.topics, &current.topics),
        ("Authors", &then.authors, &current.authors),
        ("Lead image", &then.lead_media, &current.lead_media),
        ("Lead image alt text", &then.lead_alt, &current.lead_alt),
        (
            "Lead image caption",
            &then.lead_caption,
            &current.lead_caption,
        ),
        ("Lead image credit", &then.lead_credit, &current.lead_credit),
    ];
    let changed_fields: Vec<minijinja::Value> = fields
        .iter()
        .filter(|(_, t, c)| t.trim() != c.trim())
        .map(|(name, t, c)| minijinja::context! { name => name, then => t, now => c })
        .collect();
    let lines: Vec<minijinja::Value> = line_diff(&then.body, &current.body)
        .into_iter()
        .map(|l| match l {
            Line::Same(t) => minijinja::context! { op => "same", text => t },
            Line::Added(t) => minijinja::context! { op => "added", text => t },
            Line::Removed(t) => minijinja::context! { op => "removed", text => t },
        })
        .collect();
    let ctx = minijinja::context! {
        id => id,
        rev => r.id,
        headline => a.headline,
        kind => r.kind,
        who => r.staff_name,
        when => when(&state, r.created_at),
        fields => changed_fields,
        lines => lines,
        body_changed => then.body != current.body,
    };
    Ok(page(
        &state,
        "admin/revision.html",
        &format!("Changes since a version of {}", a.headline),
        &user,
        ctx,
    ))
}

/// How long a shared draft preview link can be asked to last.
const SHARE_DAYS: [i64; 3] = [1, 3, 7];

/// A draft-preview token: the article and when the link stops working,
/// signed with the `links` keys.
pub fn preview_token(state: &AppState, article_id: i64, expires_at: i64) -> String {
    state.link_keys().sign_ids('d', &[article_id, expires_at])
}

/// The article of a genuine, unexpired draft-preview token.
pub fn read_preview_token(state: &AppState, token: &str) -> Option<(i64, i64)> {
    let ids = state.link_keys().verify_ids('d', token, 2)?;
    (ids[1] > state.now()).then_some((ids[0], ids[1]))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct ShareForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
}

/// `POST /admin/articles/{id}/share`: makes a link that shows the article
/// as a subscriber would read it, to anyone who has it, until it expires.
pub async fn share(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ShareForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let (a, _) = load_editable(&state, &user, id).await?;
    let days = f
        .days
        .parse::<i64>()
        .ok()
        .filter(|d| SHARE_DAYS.contains(d))
        .ok_or_else(|| AppError::BadRequest("choose how long the link should work".into()))?;
    let now = state.now();
    let expires = now + days * 86_400;
    let token = preview_token(&state, id, expires);
    let detail = format!("{days} days");
    let audit = user.audit("article.share", "article", &a.slug, &detail);
    masthead_store::newsroom::record(state.db(), &audit, now).await?;
    Ok(see_other(&format!("/admin/articles/{id}?share={token}")))
}

/// `GET /preview/{token}`: a shared draft preview. Whoever holds an
/// unexpired link reads the article in full, as it is now; anything else
/// is a 404 that says nothing about the article.
pub async fn shared_preview(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (id, expires) = read_preview_token(&state, &token).ok_or(AppError::NotFound)?;
    let (a, _) = load(&state, id).await?;
    let body = masthead_store::content::find_body(state.db(), &a.facts(), Decision::Full).await?;
    let ctx = minijinja::context! {
        site => crate::site::view::site(&state),
        title => format!("Preview: {}", a.headline),
        noindex => true,
        headline => a.headline,
        standfirst => a.standfirst,
        dateline => a.dateline,
        status => a.status.as_str(),
        expires => when(&state, expires),
        lead => a.lead_image.as_ref().map(|l| crate::site::view::lead(l, 960)),
        blocks => body.blocks.iter().map(|b| minijinja::Value::from_safe_string(b.clone())).collect::<Vec<_>>(),
    };
    let html = state.theme().render("preview.html", ctx)?;
    let mut res = (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        "x-robots-tag",
        axum::http::HeaderValue::from_static("noindex"),
    );
    Ok(res)
}

/// The article as a reader would get it, with the place the paywall cuts.
pub async fn preview(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let (a, owner) = load(&state, id).await?;
    if !may_edit_article(
        user.role,
        owner == Some(user.id),
        a.status != ArticleStatus::Draft,
    ) {
        return Err(AppError::Forbidden(
            "your role does not allow seeing this article".into(),
        ));
    }
    let who = crate::http::query_param(&uri, "as").unwrap_or_else(|| "anonymous".into());
    let (kind, entitled, label) = match who.as_str() {
        "member" => (
            ReaderKind::Member,
            false,
            "a signed-in member past the meter",
        ),
        "subscriber" => (ReaderKind::Member, true, "a subscriber"),
        _ => (
            ReaderKind::Anonymous,
            false,
            "an anonymous reader past the meter",
        ),
    };
    let policy = &state.settings().get().publication.policy;
    // "Past the meter": the decision readers get once their free articles
    // are spent (the one every channel but the article page uses).
    let decision = decide(
        &a.facts(),
        &Reader {
            kind,
            entitled,
            unlocked: false,
            counted: &[],
        },
        policy,
        Channel::Other,
    )
    .decision;
    let body = masthead_store::content::find_body(state.db(), &a.facts(), decision).await?;
    let ctx = minijinja::context! {
        id => id,
        headline => a.headline,
        standfirst => a.standfirst,
        label => label,
        who => who,
        blocks => body.blocks.iter().map(|b| minijinja::Value::from_safe_string(b.clone())).collect::<Vec<_>>(),
        cut => (decision != Decision::Full && !body.is_complete()).then(|| format!("{} of {} blocks", body.blocks.len(), body.total)),
    };
    Ok(page(
        &state,
        "admin/preview.html",
        &format!("Preview: {}", a.headline),
        &user,
        ctx,
    ))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

/// Adds a dated correction note (those who may publish the article).
pub async fn correct(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CorrectionForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let (a, owner) = load(&state, id).await?;
    if !may_publish_article(user.role, owner == Some(user.id)) {
        return Err(AppError::Forbidden(
            "your role does not allow corrections; ask an editor".into(),
        ));
    }
    let body: String = f
        .body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(1000)
        .collect();
    if body.is_empty() {
        return Err(AppError::BadRequest("write what was corrected".into()));
    }
    let now = state.now();
    let audit = user.audit("article.correct", "article", &a.slug, &body);
    masthead_store::content::add_correction(state.db(), id, &body, &audit, now).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!("/admin/articles/{id}?corrected=1")))
}
