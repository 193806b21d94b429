//! The article editor, Markdown first: every field, the body in Markdown
//! with a paywall divider (`<!-- paywall -->` on a line of its own sets
//! the preview length), save, publish, schedule, unpublish, and previews
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
use crate::content::markdown::{plain_text, render_blocks};
use crate::http::AppError;
use crate::members::see_other;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::access::{decide, Channel, Decision, Reader, ReaderKind};
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_core::newsroom::{may_edit_article, may_publish_article, Action};
use masthead_store::content::{NewArticle, NewLead};

/// The line that marks where the preview ends.
pub const PAYWALL: &str = "<!-- paywall -->";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// (preview blocks, all blocks) of a Markdown body with an optional
/// paywall divider line.
pub fn body_blocks(markdown: &str) -> (Option<u32>, Vec<String>) {
    let mut before = String::new();
    let mut whole = String::new();
    let mut divided = false;
    for line in markdown.lines() {
        if line.trim() == PAYWALL && !divided {
            divided = true;
            continue;
        }
        if !divided {
            before.push_str(line);
            before.push('\n');
        }
        whole.push_str(line);
        whole.push('\n');
    }
    let preview = divided.then(|| u32::try_from(render_blocks(&before).len()).unwrap_or(u32::MAX));
    (preview, render_blocks(&whole))
}

#[derive(Debug, serde::Deserialize, Default, Clone)]
pub struct ArticleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
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
    action: String,
}

struct Editing {
    id: Option<i64>,
    status: ArticleStatus,
    own: bool,
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
    let live = editing.status != ArticleStatus::Draft;
    let ctx = minijinja::context! {
        id => editing.id,
        form => minijinja::context! {
            revision => f.revision, headline => f.headline, standfirst => f.standfirst, dateline => f.dateline,
            slug => f.slug, content_type => f.content_type, access_level => f.access_level, topics => f.topics,
            authors => f.authors, body => f.body, publish_at => f.publish_at,
        },
        status => editing.status.as_str(),
        content_types => ContentType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        access_levels => ["default", "free", "metered", "registered", "subscribers"],
        topic_slugs => topics.iter().map(|t| minijinja::context! { slug => t.slug, name => t.name }).collect::<Vec<_>>(),
        author_slugs => authors.iter().map(|(slug, name)| minijinja::context! { slug => slug, name => name }).collect::<Vec<_>>(),
        can_publish => may_publish_article(user.role, editing.own),
        live => live,
        paywall => PAYWALL,
        error => error,
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

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
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
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
    let f = ArticleForm {
        content_type: "news".into(),
        access_level: "default".into(),
        ..ArticleForm::default()
    };
    render(
        &state,
        &user,
        &f,
        &Editing {
            id: None,
            status: ArticleStatus::Draft,
            own: true,
        },
        None,
        StatusCode::OK,
    )
    .await
}

fn split_slugs(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// The article a form describes (or what is wrong with it).
async fn build(
    state: &AppState,
    f: &ArticleForm,
    status: ArticleStatus,
    published_at: Option<i64>,
    lead: Option<NewLead>,
) -> Result<NewArticle, String> {
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
    let (preview_blocks, blocks) = body_blocks(&f.body);
    let body_text = plain_text(&blocks.join("\n"));
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
        updated_at: Some(now()),
        body_markdown: Some(f.body.clone()),
        blocks,
        body_text,
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
    viewer: Viewer,
    headers: HeaderMap,
    PostForm(f): PostForm<ArticleForm>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
    user.check_csrf(&f.csrf)?;
    let editing = Editing {
        id: None,
        status: ArticleStatus::Draft,
        own: true,
    };
    let a = match build(&state, &f, ArticleStatus::Draft, None, None).await {
        Ok(a) => a,
        Err(e) => {
            return render(
                &state,
                &user,
                &f,
                &editing,
                Some(e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let db = state.db();
    if masthead_store::content::find_article_any(db, a.slug.as_str())
        .await?
        .is_some()
    {
        return render(
            &state,
            &user,
            &f,
            &editing,
            Some(format!("The slug “{}” is taken.", a.slug.as_str())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now = now();
    let id = match masthead_store::content::upsert_article(db, &a, now).await? {
        masthead_store::content::Upserted::Created(id)
        | masthead_store::content::Upserted::Updated(id)
        | masthead_store::content::Upserted::Unchanged(id) => id,
    };
    masthead_store::newsroom::set_article_owner(db, id, user.id).await?;
    let mut tx = db.begin().await?;
    masthead_store::newsroom::audit(
        &mut tx,
        &user.audit("article.create", "article", a.slug.as_str(), ""),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    // Publishing happens on the edit page (the draft exists first).
    Ok(see_other(&format!("/admin/articles/{id}")))
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

fn form_of(
    a: &masthead_core::content::Article,
    markdown: Option<String>,
    state: &AppState,
) -> ArticleForm {
    let tz = state.settings().get().tz.clone();
    ArticleForm {
        revision: a.revision.to_string(),
        headline: a.headline.clone(),
        standfirst: a.standfirst.clone(),
        dateline: a.dateline.clone(),
        slug: a.slug.clone(),
        content_type: a.content_type.as_str().into(),
        access_level: a.access_level.as_str().into(),
        topics: a
            .topics
            .iter()
            .map(|t| t.slug.clone())
            .collect::<Vec<_>>()
            .join(", "),
        authors: a
            .authors
            .iter()
            .map(|t| t.slug.clone())
            .collect::<Vec<_>>()
            .join(", "),
        body: markdown.unwrap_or_default(),
        publish_at: a
            .published_at
            .map(|p| p.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default(),
        ..ArticleForm::default()
    }
}

pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
    let (a, owner) = load(&state, id).await?;
    let own = owner == Some(user.id);
    if !may_edit_article(user.role, own, a.status != ArticleStatus::Draft) {
        return Err(AppError::Forbidden(
            "your role does not allow editing this article".into(),
        ));
    }
    let markdown = masthead_store::content::find_article_markdown(state.db(), id).await?;
    let f = form_of(&a, markdown, &state);
    render(
        &state,
        &user,
        &f,
        &Editing {
            id: Some(id),
            status: a.status,
            own,
        },
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ArticleForm>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
    user.check_csrf(&f.csrf)?;
    let (a, owner) = load(&state, id).await?;
    let own = owner == Some(user.id);
    let editing = Editing {
        id: Some(id),
        status: a.status,
        own,
    };
    if !may_edit_article(user.role, own, a.status != ArticleStatus::Draft) {
        return Err(AppError::Forbidden(
            "your role does not allow editing this article".into(),
        ));
    }
    let publishing = matches!(f.action.as_str(), "publish" | "schedule" | "unpublish");
    if publishing && !may_publish_article(user.role, own) {
        return Err(AppError::Forbidden(
            "your role does not allow publishing; save it and ask an editor".into(),
        ));
    }
    // Someone saved since this form was opened: say so, keep their text.
    if f.revision.trim() != a.revision.to_string() {
        let msg = format!(
            "Someone else saved this article since you opened it (now revision {}). Your version is below, not saved: copy what you need, reload the page, and save again.",
            a.revision
        );
        return render(&state, &user, &f, &editing, Some(msg), StatusCode::CONFLICT).await;
    }
    let now = now();
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
                return render(
                    &state,
                    &user,
                    &f,
                    &editing,
                    Some("Give a publication time in the future, like 2026-12-01T08:00.".into()),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        },
        "unpublish" => (ArticleStatus::Draft, None),
        _ => (a.status, a.published_at.map(|p| p.as_second())),
    };
    let lead = a.lead_image.as_ref().map(|l| NewLead {
        media_id: l.media.id,
        alt: l.alt.clone(),
        caption: l.caption.clone(),
        credit: l.credit.clone(),
    });
    let new = match build(&state, &f, status, published_at, lead).await {
        Ok(n) => n,
        Err(e) => {
            return render(
                &state,
                &user,
                &f,
                &editing,
                Some(e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let db = state.db();
    if new.slug.as_str() != a.slug {
        if masthead_store::content::find_article_any(db, new.slug.as_str())
            .await?
            .is_some()
        {
            return render(
                &state,
                &user,
                &f,
                &editing,
                Some(format!("The slug “{}” is taken.", new.slug.as_str())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        masthead_store::content::update_article_slug(db, id, &new.slug, now).await?;
    }
    masthead_store::content::upsert_article(db, &new, now).await?;
    let action = match f.action.as_str() {
        "publish" => "article.publish",
        "schedule" => "article.schedule",
        "unpublish" => "article.unpublish",
        _ => "article.save",
    };
    let mut tx = db.begin().await?;
    masthead_store::newsroom::audit(
        &mut tx,
        &user.audit(action, "article", new.slug.as_str(), status.as_str()),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!("/admin/articles/{id}?saved=1")))
}

/// The article as a reader would get it, with the place the paywall cuts.
pub async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    uri: Uri,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
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
    let who = crate::site::query_param(&uri, "as").unwrap_or_else(|| "anonymous".into());
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
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CorrectionForm>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::WriteOwnDraft);
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
    let now = now();
    masthead_store::content::add_correction(state.db(), id, &body, now).await?;
    let mut tx = state.db().begin().await?;
    masthead_store::newsroom::audit(
        &mut tx,
        &user.audit("article.correct", "article", &a.slug, &body),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!("/admin/articles/{id}?corrected=1")))
}
