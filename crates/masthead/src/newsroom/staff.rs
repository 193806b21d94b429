//! Staff accounts (editors manage the roles below theirs; administrators
//! those below administrator; owners everyone): invitations by a
//! single-use emailed link, role changes, turning an account off, and a
//! new set-password link for someone who forgot theirs.

use super::{page, StaffUser};
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use crate::staff::accounts;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::members::{Email, Role};
use masthead_core::newsroom::{may_manage, Action};
use masthead_store::newsroom as store;

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

pub async fn list(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::ManageStaffBelow)?;
    render(&state, &user, None, StatusCode::OK).await
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
    user: StaffUser,
    PostForm(f): PostForm<InviteForm>,
) -> Result<Response, AppError> {
    user.may(Action::ManageStaffBelow)?;
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
    let invitation = accounts::Invitation {
        email: &email,
        name: &f.name,
        role,
    };
    let sent = accounts::Delivery::Email {
        sent_by: &user.name,
    };
    if accounts::invite(&state, &invitation, user.actor(), sent, state.now())
        .await?
        .is_none()
    {
        return render(
            &state,
            &user,
            Some(format!("{email} is already on the staff.")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
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
    user: StaffUser,
    Path((id, what)): Path<(i64, String)>,
    PostForm(f): PostForm<ChangeForm>,
) -> Result<Response, AppError> {
    user.may(Action::ManageStaffBelow)?;
    user.check_csrf(&f.csrf)?;
    let t = target(&state, &user, id).await?;
    let change = match what.as_str() {
        "role" => {
            let Some(role) = Role::parse(&f.role).filter(|r| may_manage(user.role, *r)) else {
                return Err(AppError::Forbidden("you may not give that role".into()));
            };
            accounts::Change::Role(role)
        }
        "disable" => accounts::Change::Disable,
        "enable" => accounts::Change::Enable,
        "reset" => accounts::Change::Reset,
        _ => return Err(AppError::NotFound),
    };
    let target = accounts::Target {
        id,
        email: &t.email,
        role: &t.role,
    };
    let sent = accounts::Delivery::Email {
        sent_by: &user.name,
    };
    accounts::change(&state, &target, change, user.actor(), sent, state.now()).await?;
    Ok(see_other("/admin/staff"))
}
