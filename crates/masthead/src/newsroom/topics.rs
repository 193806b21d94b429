//! Topics and authors (editors and up): create them and change their
//! names and descriptions. An author's bio is Markdown, rendered and
//! sanitized on the server.

use super::page;
use super::StaffUser;
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::content::Slug;
use masthead_core::newsroom::Action;

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::TopicsAndAuthors)?;
    let db = state.db();
    let topics = masthead_store::content::list_topics(db).await?;
    let authors = masthead_store::content::list_authors(db).await?;
    let edit_topic = match crate::http::query_param(&uri, "topic") {
        Some(slug) => masthead_store::content::find_topic(db, &slug).await?,
        None => None,
    };
    let edit_author = match crate::http::query_param(&uri, "author") {
        Some(slug) => masthead_store::content::find_author(db, &slug).await?,
        None => None,
    };
    let ctx = minijinja::context! {
        topics => topics.iter().map(|t| minijinja::context! { slug => t.slug, name => t.name, description => t.description }).collect::<Vec<_>>(),
        authors => authors.iter().map(|(slug, name)| minijinja::context! { slug => slug, name => name }).collect::<Vec<_>>(),
        topic => edit_topic.map(|t| minijinja::context! { slug => t.slug, name => t.name, description => t.description }),
        author => edit_author.map(|a| minijinja::context! { slug => a.slug, name => a.name, bio => crate::content::markdown::plain_text(&a.bio_html) }),
        saved => crate::http::query_param(&uri, "saved").is_some(),
    };
    Ok(page(
        &state,
        "admin/topics.html",
        "Topics and authors",
        &user,
        ctx,
    ))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct NamedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: String,
}

fn checked(f: &NamedForm) -> Result<Slug, AppError> {
    let slug =
        Slug::parse(f.slug.trim()).map_err(|e| AppError::BadRequest(format!("short name: {e}")))?;
    if f.name.trim().is_empty() || f.name.len() > 200 {
        return Err(AppError::BadRequest(
            "give a name of at most 200 characters".into(),
        ));
    }
    if f.text.len() > 20_000 {
        return Err(AppError::BadRequest("the text is too long".into()));
    }
    Ok(slug)
}

pub async fn save_topic(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<NamedForm>,
) -> Result<Response, AppError> {
    user.may(Action::TopicsAndAuthors)?;
    user.check_csrf(&f.csrf)?;
    let slug = checked(&f)?;
    let now = state.now();
    let new = masthead_store::content::NewTopic {
        slug: &slug,
        name: f.name.trim(),
        description: f.text.trim(),
    };
    let audit = user.audit("topic.save", "topic", slug.as_str(), f.name.trim());
    masthead_store::content::upsert_topic(state.db(), &new, Some(&audit), now).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other("/admin/topics?saved=1"))
}

pub async fn save_author(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<NamedForm>,
) -> Result<Response, AppError> {
    user.may(Action::TopicsAndAuthors)?;
    user.check_csrf(&f.csrf)?;
    let slug = checked(&f)?;
    let db = state.db();
    let avatar = masthead_store::content::find_author(db, slug.as_str())
        .await?
        .and_then(|a| a.avatar.map(|m| m.id));
    let text = f.text.trim().to_string();
    let bio = crate::content::markdown::off_thread(move || {
        crate::content::markdown::render_blocks(&text).map(|b| b.join("\n"))
    })
    .await
    .map_err(AppError::Internal)?
    .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let now = state.now();
    let new = masthead_store::content::NewAuthor {
        slug: &slug,
        name: f.name.trim(),
        bio_html: &bio,
        avatar_media_id: avatar,
    };
    let audit = user.audit("author.save", "author", slug.as_str(), f.name.trim());
    masthead_store::content::upsert_author(db, &new, Some(&audit), now).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other("/admin/topics?saved=1"))
}
