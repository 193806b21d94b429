//! First run: while no owner exists, `masthead serve` prints a one-time
//! link to `/admin/setup/{token}` where the first owner chooses their
//! name, address and password. Once an owner exists the page is gone.

use crate::app::AppState;
use crate::http::forms::{Field, Form, FormPage};
use crate::http::see_other;
use crate::http::AppError;
use crate::members::{passwords, tokens};
use crate::staff::accounts::SetupRefused;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::members::{Email, Role};
use masthead_store::members::NewToken;

const SETUP_SECS: i64 = 86_400;

async fn has_owner(state: &AppState) -> Result<bool, AppError> {
    Ok(masthead_store::newsroom::list_staff(state.db())
        .await?
        .iter()
        .any(|s| s.active && s.role == Role::Owner.as_str()))
}

/// A one-time set-up link when the publication has no owner yet (valid a
/// day); `None` once it has one.
pub async fn setup_link(state: &AppState) -> anyhow::Result<Option<String>> {
    if has_owner(state).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        return Ok(None);
    }
    let (token, hash) = tokens::new_token();
    let now = state.now();
    let mut tx = state.db().begin().await?;
    masthead_store::members::insert_token(
        &mut tx,
        &NewToken {
            token_hash: &hash,
            purpose: "setup",
            member_id: None,
            staff_id: None,
            email: "",
            return_to: "/admin",
            expires_at: now + SETUP_SECS,
        },
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(Some(
        state
            .config()
            .base_url
            .join(&format!("/admin/setup/{token}")),
    ))
}

fn form(token: &str, email: &str, name: &str) -> FormPage {
    let mut name_field = Field::email(email);
    name_field.name = "name".into();
    name_field.label = "Your name".into();
    name_field.kind = "text";
    name_field.autocomplete = "name";
    name_field.value = name.to_string();
    FormPage::new("Set up your newsroom")
        .lead("Create the first owner account. This page works once.")
        .form(
            Form::new(&format!("/admin/setup/{token}"), "Create the owner account")
                .field(name_field)
                .field(Field::email(email))
                .field(
                    Field::password("Password", "new-password", true)
                        .hint("At least 8 characters."),
                ),
        )
}

fn gone(state: &AppState) -> Response {
    FormPage::new("Set-up is done")
        .lead("This publication has an owner already, or this link has expired. Log in, or ask the owner to invite you.")
        .link("/admin/login", "Newsroom log-in")
        .render(state, StatusCode::GONE)
}

pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let live = tokens::well_formed(&token)
        && masthead_store::members::token_is_live(
            state.db(),
            &tokens::hash_token(&token),
            "setup",
            state.now(),
        )
        .await?;
    if !live || has_owner(&state).await? {
        return Ok(gone(&state));
    }
    Ok(form(&token, "", "").render(&state, StatusCode::OK))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PostForm(f): PostForm<SetupForm>,
) -> Result<Response, AppError> {
    if has_owner(&state).await? || !tokens::well_formed(&token) {
        return Ok(gone(&state));
    }
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(form(&token, &f.email, &f.name)
                .error(e.to_string())
                .render(&state, StatusCode::UNPROCESSABLE_ENTITY))
        }
    };
    if let Err(e) = passwords::check_new(&f.password) {
        return Ok(form(&token, &f.email, &f.name)
            .error(e)
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let hash = state.passwords().hash(&f.password).await?;
    let now = state.now();
    let made = crate::staff::accounts::set_up_owner(
        &state,
        &tokens::hash_token(&token),
        &email,
        &f.name,
        &hash,
        now,
    )
    .await?;
    match made {
        Ok(_) => {}
        Err(SetupRefused::Gone) => return Ok(gone(&state)),
        Err(SetupRefused::Taken) => {
            return Ok(form(&token, &f.email, &f.name)
                .error(format!("{email} is on the staff already; log in instead."))
                .render(&state, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
    Ok(see_other("/admin/login"))
}
