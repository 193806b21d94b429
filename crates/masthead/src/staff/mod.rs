//! The staff identity, minimal: a set-password link printed by
//! `masthead staff add`, a password log-in with its own cookie
//! (`masthead_staff`) that the reader site recognises, and the newsroom's
//! front door. The staff web app itself is `crate::newsroom`; staff
//! accounts as use cases (invite, change, the first owner) are `accounts`.

pub mod accounts;

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::forms::{CsrfForm, Field, Form, FormPage};
use crate::http::see_other;
use crate::http::AppResult;
use crate::http::{Carries, ClientIp, Route};
use crate::members::tokens::{self, STAFF_COOKIE};
use crate::members::{failed, limit_address, limit_email, limit_failures, passwords, user_agent};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Form as PostForm;
use masthead_core::members::{Email, STAFF_SESSION};
use masthead_store::members::{self as store, NewSession, NewToken};
use serde::Deserialize;

pub fn routes() -> Vec<Route> {
    use Carries::NoText;
    vec![
        Route::new("/admin/login", get(login_page).post(login), NoText).private(),
        Route::new("/admin/logout", post(logout), NoText).private(),
        Route::new("/admin/login/code", post(login_code), NoText).private(),
        Route::new(
            "/admin/password-reset",
            get(reset_page).post(reset_request),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/set-password/{token}",
            get(set_password_page).post(set_password),
            NoText,
        )
        .private(),
    ]
}

/// Set-password links printed by `masthead staff add` last a week.
pub const SET_PASSWORD_SECS: i64 = 7 * 86_400;

/// Stores a new single-use token for a staff member; returns it.
async fn staff_token(
    state: &AppState,
    staff_id: i64,
    email: &str,
    purpose: &str,
    lifetime_secs: i64,
) -> anyhow::Result<String> {
    let mut tx = state.db().begin().await?;
    let token = staff_token_in(
        &mut tx,
        staff_id,
        email,
        purpose,
        lifetime_secs,
        state.now(),
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(token)
}

/// `staff_token` inside the caller's transaction.
pub(crate) async fn staff_token_in(
    tx: &mut masthead_store::Tx,
    staff_id: i64,
    email: &str,
    purpose: &str,
    lifetime_secs: i64,
    now: i64,
) -> masthead_store::Result<String> {
    let (token, hash) = tokens::new_token();
    store::insert_token(
        tx,
        &NewToken {
            token_hash: &hash,
            purpose,
            member_id: None,
            staff_id: Some(staff_id),
            email,
            return_to: "/admin",
            expires_at: now + lifetime_secs,
        },
        now,
    )
    .await?;
    Ok(token)
}

/// Stores a set-password token for a staff member inside the caller's
/// transaction; returns the link.
pub(crate) async fn set_password_link_in(
    state: &AppState,
    tx: &mut masthead_store::Tx,
    staff_id: i64,
    email: &str,
    now: i64,
) -> masthead_store::Result<String> {
    let token = staff_token_in(
        tx,
        staff_id,
        email,
        "staff_password",
        SET_PASSWORD_SECS,
        now,
    )
    .await?;
    Ok(state
        .config()
        .base_url
        .join(&format!("/admin/set-password/{token}")))
}

pub(crate) fn staff_csrf(headers: &HeaderMap) -> String {
    tokens::read_cookie(headers, STAFF_COOKIE)
        .map(tokens::csrf_token)
        .unwrap_or_default()
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn login_form(email: &str) -> FormPage {
    FormPage::new("Newsroom log-in")
        .form(
            Form::new("/admin/login", "Log in")
                .field(Field::email(email))
                .field(Field::password("Password", "current-password", true)),
        )
        .link("/admin/password-reset", "Forgot your password?")
}

async fn reset_page(State(state): State<AppState>) -> AppResult {
    Ok(FormPage::new("Reset your newsroom password")
        .lead("We will email a link to choose a new password, if the address belongs to the newsroom.")
        .form(Form::new("/admin/password-reset", "Email me a link").field(Field::email("")))
        .render(&state, StatusCode::OK))
}

#[derive(Debug, Deserialize, Default)]
pub struct ResetForm {
    #[serde(default)]
    email: String,
}

/// Emails a set-password link to an active staff member; the answer is
/// the same whether or not the address is on the staff.
pub const STAFF_RESET_JOB: &str = "staff_reset";

/// The staff reset job: mails a set-password link when `email` (matching
/// form) belongs to a live staff member; nothing otherwise.
pub async fn send_reset(state: &AppState, email_lower: &str) -> anyhow::Result<()> {
    let Some((staff, _)) = store::find_staff_by_email(state.db(), email_lower).await? else {
        return Ok(());
    };
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let link = set_password_link_in(state, &mut tx, staff.id, &staff.email, now).await?;
    let name = state.settings().get().publication.name.clone();
    let ctx = minijinja::context! { name, link };
    let mail = crate::mail::account_email(state, "staff_reset", &staff.email, ctx)?;
    store::queue_email(&mut tx, &mail, now).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// Queues the staff reset job for an address (on the staff or not).
async fn queue_reset(state: &AppState, email_lower: &str) -> masthead_store::Result<()> {
    let now = state.now();
    let mut tx = state.db().begin().await?;
    masthead_store::jobs::insert_job(
        &mut tx,
        &masthead_store::jobs::NewJob {
            kind: STAFF_RESET_JOB,
            payload: &serde_json::json!({ "email": email_lower }).to_string(),
            unique_key: None,
            run_at: now,
            max_attempts: 8,
        },
        now,
    )
    .await?;
    masthead_store::commit(tx).await
}

async fn reset_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PostForm(f): PostForm<ResetForm>,
) -> AppResult {
    limit_address(&state, "staff-reset", ip)?;
    if let Ok(email) = Email::parse(&f.email) {
        let lower = email.lower();
        limit_email(&state, "staff-reset", &lower)?;
        // The same work whether or not the address is on the staff: one
        // queued job, which looks the address up and mails the link.
        queue_reset(&state, &lower).await?;
    }
    Ok(FormPage::new("Check your email")
        .lead("If that address belongs to the newsroom, a link to choose a new password is on its way.")
        .link("/admin/login", "Back to the log-in")
        .render(&state, StatusCode::OK))
}

async fn login_page(State(state): State<AppState>) -> AppResult {
    Ok(login_form("").render(&state, StatusCode::OK))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PostForm(f): PostForm<LoginForm>,
) -> AppResult {
    limit_address(&state, "staff-login", ip)?;
    let lower = Email::parse(&f.email)
        .map(|e| e.lower())
        .unwrap_or_default();
    limit_failures(&state, "staff-login", &lower)?;
    let found = if lower.is_empty() {
        None
    } else {
        store::find_staff_by_email(state.db(), &lower).await?
    };
    let stored = found.as_ref().and_then(|(_, h)| h.as_deref());
    let ok = state.passwords().verify(&f.password, stored).await;
    let Some((staff, _)) = found.filter(|_| ok) else {
        failed(&state, "staff-login", &lower);
        return Ok(login_form(&f.email)
            .error("That email address and password do not match.")
            .render(&state, StatusCode::UNAUTHORIZED));
    };
    if store::find_staff_totp(state.db(), staff.id)
        .await?
        .is_some()
    {
        // Two-factor: the password was right; a short-lived single-use
        // token carries that to the code form.
        let token =
            staff_token(&state, staff.id, &staff.email, "staff_2fa", CODE_STEP_SECS).await?;
        return Ok(code_form(&token).render(&state, StatusCode::OK));
    }
    start_session(&state, &headers, staff.id).await
}

/// How long the code form of a two-factor log-in stays usable.
const CODE_STEP_SECS: i64 = 300;

fn code_form(token: &str) -> FormPage {
    FormPage::new("Two-step verification")
        .lead("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
        .form(
            Form::new("/admin/login/code", "Log in")
                .hidden("token", token)
                .field(Field::text("code", "Code", "one-time-code")),
        )
        .link("/admin/login", "Start again")
}

#[derive(Debug, Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    code: String,
}

/// The second step of a two-factor log-in: a TOTP code not used before
/// (the step is stored atomically, so a code works once) or an unused
/// recovery code. Rate-limited per address and per staff member.
async fn login_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PostForm(f): PostForm<CodeForm>,
) -> AppResult {
    limit_address(&state, "staff-code", ip)?;
    let gone = || {
        FormPage::new("Log in again")
            .lead("That log-in took too long or was already used. Enter your email address and password again.")
            .link("/admin/login", "Log in")
            .render(&state, StatusCode::GONE)
    };
    if !tokens::well_formed(&f.token) {
        return Ok(gone());
    }
    let hash = tokens::hash_token(&f.token);
    let now = state.now();
    let Some(staff_id) = store::live_token_staff(state.db(), &hash, "staff_2fa", now).await? else {
        return Ok(gone());
    };
    let who = staff_id.to_string();
    limit_failures(&state, "staff-code", &who)?;
    let Some((secret, last_step)) = store::find_staff_totp(state.db(), staff_id).await? else {
        return Ok(gone());
    };
    let key = masthead_core::totp::base32_decode(&secret).unwrap_or_default();
    let step = masthead_core::totp::verify(&key, &f.code, now, last_step);
    let ua = user_agent(&headers);
    let second = SecondStep {
        token_hash: &hash,
        staff_id,
        totp_step: step,
        recovery_hash: recovery_code_hash(&f.code),
    };
    match finish_two_step(&state, &second, &ua, now).await? {
        TwoStep::In(token) => Ok(signed_in(&state, staff_id, &token)),
        TwoStep::Gone => Ok(gone()),
        TwoStep::WrongCode => {
            failed(&state, "staff-code", &who);
            Ok(code_form(&f.token)
                .error(
                    "That code is not right, or was already used. Codes change every 30 seconds.",
                )
                .render(&state, StatusCode::UNAUTHORIZED))
        }
    }
}

/// The second step of a two-factor log-in, checked by the handler: the
/// log-in token, and the code as a TOTP step that verified or a recovery
/// code's hash.
struct SecondStep<'a> {
    token_hash: &'a str,
    staff_id: i64,
    totp_step: Option<i64>,
    recovery_hash: String,
}

enum TwoStep {
    /// Signed in: the new session's token.
    In(String),
    WrongCode,
    Gone,
}

/// The two-step log-in use case, one transaction: the code spent (a TOTP
/// step once, or a recovery code once), the log-in token used, the session
/// opened. A wrong code writes nothing.
async fn finish_two_step(
    state: &AppState,
    s: &SecondStep<'_>,
    user_agent: &str,
    now: i64,
) -> Result<TwoStep, crate::http::AppError> {
    let mut tx = state.db().begin().await?;
    let accepted = match s.totp_step {
        Some(step) => store::accept_totp_step_in(&mut tx, s.staff_id, step).await?,
        None => {
            !s.recovery_hash.is_empty()
                && store::use_recovery_code_in(&mut tx, s.staff_id, &s.recovery_hash, now).await?
        }
    };
    if !accepted {
        return Ok(TwoStep::WrongCode);
    }
    if store::consume_token(&mut tx, s.token_hash, "staff_2fa", now)
        .await?
        .is_none()
    {
        return Ok(TwoStep::Gone);
    }
    let token = open_session_in(&mut tx, user_agent, s.staff_id, now).await?;
    masthead_store::commit(tx).await?;
    Ok(TwoStep::In(token))
}

/// The stored form of a recovery code as typed (case, spaces and hyphens
/// ignored); empty for something that cannot be one.
pub fn recovery_code_hash(typed: &str) -> String {
    let clean: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if clean.len() != 10 {
        return String::new();
    }
    tokens::hash_token(&clean)
}

/// A new staff session and its cookie, then the newsroom.
async fn start_session(state: &AppState, headers: &HeaderMap, staff_id: i64) -> AppResult {
    let mut tx = state.db().begin().await?;
    let token = open_session_in(&mut tx, &user_agent(headers), staff_id, state.now()).await?;
    masthead_store::commit(tx).await?;
    Ok(signed_in(state, staff_id, &token))
}

/// Opens a staff session inside `tx`; its token.
async fn open_session_in(
    tx: &mut masthead_store::Tx,
    user_agent: &str,
    staff_id: i64,
    now: i64,
) -> masthead_store::Result<String> {
    let (token, hash) = tokens::new_token();
    store::insert_session(
        tx,
        &NewSession {
            token_hash: &hash,
            kind: "staff",
            member_id: None,
            staff_id: Some(staff_id),
            user_agent,
        },
        now + STAFF_SESSION.absolute,
        now,
    )
    .await?;
    Ok(token)
}

/// The answer to a log-in: the session cookie, then the newsroom.
fn signed_in(state: &AppState, staff_id: i64, token: &str) -> Response {
    tracing::info!(staff = staff_id, "staff logged in");
    let mut res = see_other("/admin");
    set_staff_cookie(state, &mut res, token, STAFF_SESSION.absolute);
    res
}

fn set_staff_cookie(state: &AppState, res: &mut Response, token: &str, max_age: i64) {
    let c = tokens::set_cookie(
        STAFF_COOKIE,
        token,
        max_age,
        state.config().base_url.is_https(),
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    if let Some(s) = &viewer.staff {
        let expected = staff_csrf(&headers);
        if expected.is_empty() || expected != f.csrf {
            return Err(crate::http::AppError::Forbidden(
                "this form has expired; go back, reload the page and try again".into(),
            ));
        }
        store::delete_session(state.db(), s.id).await?;
    }
    let mut res = see_other("/admin/login");
    set_staff_cookie(&state, &mut res, "", 0);
    Ok(res)
}

fn password_form(token: &str) -> FormPage {
    FormPage::new("Choose your newsroom password").form(
        Form::new(&format!("/admin/set-password/{token}"), "Save my password").field(
            Field::password("New password", "new-password", true).hint("At least 8 characters."),
        ),
    )
}

fn expired(state: &AppState) -> Response {
    FormPage::new("This link has expired")
        .lead("Ask an administrator for a new set-password link (masthead staff add).")
        .render(state, StatusCode::GONE)
}

async fn set_password_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !tokens::well_formed(&token)
        || !store::token_is_live(
            state.db(),
            &tokens::hash_token(&token),
            "staff_password",
            state.now(),
        )
        .await?
    {
        return Ok(expired(&state));
    }
    Ok(password_form(&token).render(&state, StatusCode::OK))
}

#[derive(Debug, Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PostForm(f): PostForm<PasswordForm>,
) -> AppResult {
    if let Err(e) = passwords::check_new(&f.password) {
        return Ok(password_form(&token)
            .error(e)
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    }
    if !tokens::well_formed(&token) {
        return Ok(expired(&state));
    }
    let hash = state.passwords().hash(&f.password).await?;
    let now = state.now();
    let token_hash = tokens::hash_token(&token);
    if accounts::set_password_with_link(&state, &token_hash, &hash, now)
        .await?
        .is_none()
    {
        return Ok(expired(&state));
    }
    Ok(see_other("/admin/login"))
}
