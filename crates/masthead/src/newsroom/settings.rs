//! Publication settings (administrators and owners): each setting with
//! its value, validated as `masthead settings set` validates it; values
//! locked by the operator's configuration are shown as locked. Mail
//! (SMTP) and Stripe credentials (administrators with the Integrations
//! right): set here when the operator's configuration does not fix them,
//! write-only (the page says whether each is set, never what it is), and
//! applied at once (`crate::integrations`).

use super::{page, StaffUser};
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;
use std::collections::HashMap;

fn label(key: &str) -> &'static str {
    match key {
        "name" => "Publication name",
        "description" => "Description",
        "language" => "Language (e.g. en, en-GB)",
        "timezone" => "Time zone (IANA, e.g. America/Vancouver)",
        "logo" => "Logo (a media library image, e.g. /media/….png)",
        "accent_colour" => "Accent colour (e.g. #1a5fb4; empty: the theme's)",
        "meter_anonymous_limit" => "Free metered articles, anonymous readers",
        "meter_member_limit" => "Free metered articles, signed-in members",
        "meter_window_days" => "Meter window (days)",
        "preview_blocks" => "Preview length (blocks)",
        "access_news" => "Default access: news",
        "access_analysis" => "Default access: analysis",
        "access_memo" => "Default access: memos",
        "access_report" => "Default access: reports",
        "access_event" => "Default access: events",
        _ => "Setting",
    }
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    errors: &HashMap<String, String>,
    values: Option<&HashMap<String, String>>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let live = state.live();
    let integrations: Vec<minijinja::Value> = crate::integrations::KEYS
        .iter()
        .map(|(key, label)| {
            minijinja::context! {
                key => key,
                label => label,
                locked => live.locked.contains(key),
                set => live.set.contains(key),
                error => errors.get(*key),
            }
        })
        .collect();
    let s = state.settings().get();
    let rows: Vec<minijinja::Value> = masthead_core::settings::KEYS
        .iter()
        .map(|key| minijinja::context! {
            key => key,
            label => label(key),
            value => values.and_then(|v| v.get(*key).cloned()).or_else(|| s.publication.get(key)).unwrap_or_default(),
            locked => s.locked.contains(*key),
            error => errors.get(*key),
        })
        .collect();
    // Logo suggestions: the images in the library, by their alt text.
    let library = masthead_store::media::list_media(state.db(), 60)
        .await
        .unwrap_or_default();
    let logos: Vec<minijinja::Value> = library
        .iter()
        .map(|r| {
            minijinja::context! {
                url => format!("/media/{}.{}", r.media.hash, r.media.ext),
                label => if r.alt.is_empty() { r.original_name.clone() } else { r.alt.clone() },
            }
        })
        .collect();
    let ctx = minijinja::context! {
        logos => logos,
        settings => rows,
        integrations => integrations,
        may_integrate => masthead_core::newsroom::allowed(user.role, Action::Integrations),
        notice => notice,
        has_errors => !errors.is_empty(),
    };
    let mut res = page(state, "admin/settings.html", "Settings", user, ctx);
    *res.status_mut() = status;
    res
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::Settings)?;
    let notice =
        crate::http::query_param(&uri, "saved").map(|_| "Saved. The site follows at once.");
    Ok(render(&state, &user, &HashMap::new(), None, notice, StatusCode::OK).await)
}

pub async fn save(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(form): PostForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    user.may(Action::Settings)?;
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let current = state.settings().get();
    let mut errors = HashMap::new();
    let mut changed = Vec::new();
    for key in masthead_core::settings::KEYS {
        let Some(value) = form.get(*key) else {
            continue;
        };
        if current.locked.contains(*key)
            || current.publication.get(key).as_deref() == Some(value.as_str())
        {
            continue;
        }
        match state.settings().check(key, value) {
            Ok(stored) => changed.push((*key, stored)),
            Err(e) => {
                errors.insert(key.to_string(), format!("{e:#}"));
            }
        }
    }
    if !changed.is_empty() {
        let now = state.now();
        state
            .settings()
            .save(state.db(), &changed, user.actor(), now)
            .await
            .map_err(AppError::Internal)?;
        state.refresh_counters().await.map_err(AppError::Internal)?;
    }
    if errors.is_empty() {
        return Ok(see_other("/admin/settings?saved=1"));
    }
    Ok(render(
        &state,
        &user,
        &errors,
        Some(&form),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await)
}

/// `POST /admin/settings/integrations`: sets or removes the SMTP and Stripe
/// credentials that the configuration does not fix. An empty field keeps
/// what is stored; "remove" deletes it. Values are never echoed or logged.
pub async fn save_integrations(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(form): PostForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    user.may(Action::Integrations)?;
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let live = state.live();
    let mut errors = HashMap::new();
    let mut changes: Vec<(&str, Option<String>)> = Vec::new();
    for (key, _) in crate::integrations::KEYS {
        if live.locked.contains(key) {
            continue;
        }
        let value = form.get(key).map(|v| v.trim()).unwrap_or("");
        if form.contains_key(&format!("{key}_remove")) {
            changes.push((key, None));
        } else if !value.is_empty() {
            match crate::integrations::validate(key, value) {
                Ok(()) => changes.push((key, Some(value.to_string()))),
                Err(e) => {
                    errors.insert(key.to_string(), e);
                }
            }
        }
    }
    if !errors.is_empty() {
        // Nothing is stored when any value is wrong (and nothing typed is
        // sent back to the page).
        return Ok(render(
            &state,
            &user,
            &errors,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await);
    }
    if !changes.is_empty() {
        let now = state.now();
        crate::integrations::save(&state, &changes, user.actor(), now).await?;
    }
    Ok(see_other("/admin/settings?saved=1"))
}
