//! Pages (Terms, Privacy, About …), for administrators and owners: each
//! save of a changed text is a new numbered version, kept for good
//! (consent records name the version a reader accepted).

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
    user.may(Action::Settings)?;
    let db = state.db();
    let pages = masthead_store::content::list_pages(db).await?;
    let editing = match crate::http::query_param(&uri, "edit") {
        Some(slug) => match masthead_store::content::find_page(db, &slug).await? {
            Some(p) => {
                let md = masthead_store::content::find_page_markdown(db, &slug).await?;
                Some(minijinja::context! {
                    slug => p.slug, title => p.title, version => p.version,
                    body => md.unwrap_or_else(|| crate::content::markdown::plain_text(&p.body_html)),
                })
            }
            None => None,
        },
        None => None,
    };
    let ctx = minijinja::context! {
        pages => pages.iter().map(|(slug, title, v)| minijinja::context! { slug => slug, title => title, version => v }).collect::<Vec<_>>(),
        edit => editing,
        saved => crate::http::query_param(&uri, "saved"),
    };
    Ok(page(&state, "admin/pages.html", "Pages", &user, ctx))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct PageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub async fn save(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<PageForm>,
) -> Result<Response, AppError> {
    user.may(Action::Settings)?;
    user.check_csrf(&f.csrf)?;
    let slug =
        Slug::parse(f.slug.trim()).map_err(|e| AppError::BadRequest(format!("short name: {e}")))?;
    if f.title.trim().is_empty() || f.body.len() > 500_000 {
        return Err(AppError::BadRequest(
            "a page needs a title and at most 500 kB of text".into(),
        ));
    }
    let body = f.body.clone();
    let html = crate::content::markdown::off_thread(move || {
        crate::content::markdown::render_blocks(&body).map(|b| b.join("\n"))
    })
    .await
    .map_err(AppError::Internal)?
    .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let now = state.now();
    // The same title and text again is not a new version.
    let hash = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(f.title.trim().as_bytes());
        h.update([0]);
        h.update(f.body.as_bytes());
        format!("newsroom:{}", hex::encode(h.finalize()))
    };
    let new = masthead_store::content::NewPage {
        slug: &slug,
        title: f.title.trim(),
        body_html: &html,
        body_markdown: Some(&f.body),
        source_hash: Some(&hash),
    };
    let (_, version, _) =
        masthead_store::content::upsert_page(state.db(), &new, Some(user.actor()), now).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!("/admin/pages?saved={version}")))
}
