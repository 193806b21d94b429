//! Staff accounts (editors manage the roles below theirs; administrators
//! those below administrator; owners everyone): invitations by a
//! single-use emailed link, role changes, turning an account off, and a
//! new set-password link for someone who forgot theirs.

use super::{page, StaffUser};
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::AppError;
use crate::members::see_other;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::members::{Email, Role};
use masthead_core::newsroom::{may_manage, Action};
use masthead_store::members::OutgoingEmail;
use masthead_store::newsroom as store;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let staff = store::list_staff(state.db()).await?;
    let assignable: Vec<&str> = Role::ALL
        .iter()
        .filter(|r| may_manage(user.role, **r))
        .map(|r| r.as_str())
        .collect();
    let ctx = minijinja::context! {
        staff => staff.iter().map(|s| {
            let manageable = s.id != user.id && Role::parse(&s.role).is_some_and(|r| may_manage(user.role, r));
            minijinja::context! { id => s.id, name => s.name, email => s.email, role => s.role, active => s.active, invited => !s.has_password, manageable => manageable }
        }).collect::<Vec<_>>(),
        roles => assignable,
        error => error,
    };
    let mut res = page(state, "admin/staff.html", "Staff", user, ctx);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::ManageStaffBelow);
    render(&state, &user, None, StatusCode::OK).await
}

async fn email_link(
    state: &AppState,
    to: &str,
    id: i64,
    invited_by: &str,
    first: bool,
) -> Result<(), AppError> {
    let link = crate::staff::set_password_link(state, id, to)
        .await
        .map_err(AppError::Internal)?;
    let name = state.settings().get().publication.name.clone();
    let (subject, text) = if first {
        (
            format!("You are invited to the {name} newsroom"),
            format!("{invited_by} invited you to the newsroom of {name}.\n\nChoose your password with this link (it works once, for 7 days):\n\n{link}\n"),
        )
    } else {
        (
            format!("Set a new newsroom password for {name}"),
            format!("{invited_by} sent you a link to set a new newsroom password for {name} (it works once, for 7 days):\n\n{link}\n\nIf you did not ask for it, tell them.\n"),
        )
    };
    let mut tx = state.db().begin().await?;
    masthead_store::members::queue_email(
        &mut tx,
        &OutgoingEmail {
            to: to.to_string(),
            subject,
            text,
        },
        now(),
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    PostForm(f): PostForm<InviteForm>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::ManageStaffBelow);
    user.check_csrf(&f.csrf)?;
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return render(
                &state,
                &user,
                Some(e.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let Some(role) = Role::parse(&f.role).filter(|r| may_manage(user.role, *r)) else {
        return Err(AppError::Forbidden("you may not give that role".into()));
    };
    let name = match f.name.trim() {
        "" => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string(),
        n => n.chars().take(100).collect(),
    };
    let now = now();
    let id = match masthead_store::members::insert_staff(
        state.db(),
        email.as_str(),
        &email.lower(),
        &name,
        role.as_str(),
        now,
    )
    .await?
    {
        Some(id) => id,
        None => {
            return render(
                &state,
                &user,
                Some(format!("{email} is already on the staff.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    email_link(&state, email.as_str(), id, &user.name, true).await?;
    let mut tx = state.db().begin().await?;
    store::audit(
        &mut tx,
        &user.audit("staff.invite", "staff", email.as_str(), role.as_str()),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(see_other("/admin/staff"))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// The target, if `user` may manage them (never themselves).
async fn target(state: &AppState, user: &StaffUser, id: i64) -> Result<store::StaffRow, AppError> {
    let t = store::find_staff(state.db(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = Role::parse(&t.role).ok_or_else(|| AppError::Forbidden("unknown role".into()))?;
    if t.id == user.id || !may_manage(user.role, role) {
        return Err(AppError::Forbidden(
            "you may not change this account".into(),
        ));
    }
    Ok(t)
}

pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, what)): Path<(i64, String)>,
    PostForm(f): PostForm<ChangeForm>,
) -> Result<Response, AppError> {
    let user = staff!(viewer, headers, Action::ManageStaffBelow);
    user.check_csrf(&f.csrf)?;
    let t = target(&state, &user, id).await?;
    let now = now();
    let detail;
    let mut tx = state.db().begin().await?;
    let action = match what.as_str() {
        "role" => {
            let Some(role) = Role::parse(&f.role).filter(|r| may_manage(user.role, *r)) else {
                return Err(AppError::Forbidden("you may not give that role".into()));
            };
            store::set_staff_role(&mut tx, id, role.as_str(), now).await?;
            detail = format!("{} → {}", t.role, role.as_str());
            "staff.role"
        }
        "disable" => {
            store::set_staff_active(&mut tx, id, false, now).await?;
            detail = String::new();
            "staff.disable"
        }
        "enable" => {
            store::set_staff_active(&mut tx, id, true, now).await?;
            detail = String::new();
            "staff.enable"
        }
        "reset" => {
            detail = "set-password link emailed".into();
            "staff.reset"
        }
        _ => return Err(AppError::NotFound),
    };
    store::audit(
        &mut tx,
        &user.audit(action, "staff", &t.email, &detail),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    if what == "reset" {
        email_link(&state, &t.email, id, &user.name, false).await?;
    }
    state.sessions().clear();
    Ok(see_other("/admin/staff"))
}
