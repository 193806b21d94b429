//! API integrations, for administrators: make one (its Content API key
//! and its Admin API key, the latter shown this once), rotate either key,
//! revoke it. The same use cases as `masthead integrations`, audited.

use super::{page, when, StaffUser};
use crate::api::keys;
use crate::app::AppState;
use crate::http::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;

#[derive(Debug, serde::Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
}

/// What a change just made shows once.
#[derive(Default)]
struct Shown {
    name: String,
    content_key: Option<String>,
    admin_key: Option<String>,
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    shown: Shown,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let list = masthead_store::api::list_integrations(state.db()).await?;
    let ctx = minijinja::context! {
        integrations => list.iter().map(|i| minijinja::context! {
            id => i.id, name => i.name, role => i.role,
            content_key => i.content_key, admin_key_id => i.admin_key_id,
            created => when(state, i.created_at),
            revoked => i.revoked_at.map(|t| when(state, t)),
        }).collect::<Vec<_>>(),
        api_url => state.config().base_url.as_str(),
        shown_name => shown.name,
        shown_content_key => shown.content_key,
        shown_admin_key => shown.admin_key,
        notice => shown.notice,
        error => error,
    };
    let mut res = page(
        state,
        "admin/integrations.html",
        "API integrations",
        user,
        ctx,
    );
    *res.status_mut() = status;
    // It may show a secret: no cache keeps it, not even the browser's.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

pub async fn list(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::Integrations)?;
    render(&state, &user, Shown::default(), None, StatusCode::OK).await
}

pub async fn add(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<AddForm>,
) -> Result<Response, AppError> {
    user.may(Action::Integrations)?;
    user.check_csrf(&f.csrf)?;
    let role = if f.role.trim().is_empty() {
        "editor"
    } else {
        f.role.trim()
    };
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return render(
            &state,
            &user,
            Shown::default(),
            Some("Give the integration a name of up to 120 characters.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if let Err(e) = keys::parse_role(role) {
        return render(
            &state,
            &user,
            Shown::default(),
            Some(e.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let made = keys::add(&state, user.actor(), name, role)
        .await
        .map_err(AppError::Internal)?;
    // The keys are on this page only: it is never cached and never
    // reached by a redirect that could be replayed from history.
    render(
        &state,
        &user,
        Shown {
            name: name.to_string(),
            content_key: Some(made.content_key),
            admin_key: Some(made.admin_key),
            notice: None,
        },
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn change(
    State(state): State<AppState>,
    user: StaffUser,
    Path((id, what)): Path<(i64, String)>,
    PostForm(f): PostForm<ChangeForm>,
) -> Result<Response, AppError> {
    user.may(Action::Integrations)?;
    user.check_csrf(&f.csrf)?;
    let Some(found) = masthead_store::api::find_integration(state.db(), id).await? else {
        return Err(AppError::NotFound);
    };
    if found.revoked_at.is_some() {
        return Err(AppError::Conflict(format!(
            "{} was revoked: make a new integration instead.",
            found.name
        )));
    }
    let mut shown = Shown {
        name: found.name.clone(),
        ..Shown::default()
    };
    let result = match what.as_str() {
        "rotate-content" => keys::rotate(&state, user.actor(), id, keys::Which::Content)
            .await
            .map(|k| shown.content_key = Some(k)),
        "rotate-admin" => keys::rotate(&state, user.actor(), id, keys::Which::Admin)
            .await
            .map(|k| shown.admin_key = Some(k)),
        "revoke" => keys::revoke(&state, user.actor(), id).await.map(|()| {
            shown.notice = Some(format!(
                "{} is revoked: its keys no longer work.",
                found.name
            ));
        }),
        _ => return Err(AppError::NotFound),
    };
    result.map_err(AppError::Internal)?;
    render(&state, &user, shown, None, StatusCode::OK).await
}
