//! Front pages (editors and up): pin a lead story and order the featured
//! slots of the home page and of each section. The reader site shows the
//! pinned articles first, in this order, then the latest.

use super::page;
use super::StaffUser;
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::content::ContentType;
use masthead_core::newsroom::Action;
use masthead_store::content::Listing;
use std::collections::HashMap;

/// Slots per front page: the lead and five featured.
pub const SLOTS: usize = 6;

fn pages() -> Vec<(String, String, Listing)> {
    let mut out = vec![("home".to_string(), "Home page".to_string(), Listing::All)];
    for t in ContentType::ALL {
        out.push((
            format!("section:{}", t.as_str()),
            format!("Section: {}", t.section_title()),
            Listing::ContentType(*t),
        ));
    }
    out
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::FrontPages)?;
    let chosen = crate::http::query_param(&uri, "page").unwrap_or_else(|| "home".into());
    let all = pages();
    let Some((key, title, listing)) = all.iter().find(|(k, _, _)| *k == chosen).cloned() else {
        return Err(AppError::NotFound);
    };
    let db = state.db();
    let now = state.now();
    let (candidates, _) = masthead_store::content::list_articles(db, listing, now, 0, 60).await?;
    let slots = masthead_store::content::find_front_slots(db, &key).await?;
    let at = |i: usize| {
        slots
            .iter()
            .find(|(p, _)| *p == i as i64)
            .map(|(_, id)| *id)
    };
    let ctx = minijinja::context! {
        key => key,
        heading => title,
        pages => all.iter().map(|(k, t, _)| minijinja::context! { key => k, title => t, current => *k == chosen }).collect::<Vec<_>>(),
        slots => (0..SLOTS).map(|i| minijinja::context! {
            index => i,
            label => if i == 0 { "Lead story".to_string() } else { format!("Featured {i}") },
            options => candidates.iter().map(|a| minijinja::context! { id => a.id, headline => a.headline, selected => at(i) == Some(a.id) }).collect::<Vec<_>>(),
        }).collect::<Vec<_>>(),
        saved => crate::http::query_param(&uri, "saved").is_some(),
    };
    Ok(page(&state, "admin/front.html", "Front pages", &user, ctx))
}

pub async fn save(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    user.may(Action::FrontPages)?;
    user.check_csrf(f.get("csrf").map(String::as_str).unwrap_or(""))?;
    let key = f.get("page").cloned().unwrap_or_default();
    if !pages().iter().any(|(k, _, _)| *k == key) {
        return Err(AppError::BadRequest("no such front page".into()));
    }
    let db = state.db();
    let mut ids: Vec<i64> = Vec::new();
    for i in 0..SLOTS {
        let Some(id) = f
            .get(&format!("slot{i}"))
            .and_then(|v| v.parse::<i64>().ok())
        else {
            continue;
        };
        if ids.contains(&id) {
            continue;
        }
        // Only articles that exist; visibility is checked when shown.
        if masthead_store::content::find_article_by_id(db, id)
            .await?
            .is_none()
        {
            return Err(AppError::BadRequest(format!("there is no article {id}")));
        }
        ids.push(id);
    }
    let now = state.now();
    let detail = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let audit = user.audit("front.save", "front", &key, &detail);
    masthead_store::content::set_front_slots(db, &key, &ids, &audit, now).await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other(&format!(
        "/admin/front?page={}&saved=1",
        crate::http::urlencode(&key)
    )))
}
