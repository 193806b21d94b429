//! A staff member's own account: optional two-factor log-in (TOTP, as
//! authenticator apps speak it) with single-use recovery codes. Turning it
//! on needs the password and a code from the app (so the app really has
//! the secret); replacing it (a new phone) or turning it off needs the
//! password and the current code or a recovery code, so a stolen session
//! alone can neither lock the owner out nor take the second factor over.

use super::{page, StaffUser};
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;
use masthead_core::totp;
use masthead_store::members as store;
use rand::Rng;

/// Recovery codes made at once.
const RECOVERY_CODES: usize = 10;

async fn render(
    state: &AppState,
    user: &StaffUser,
    setup: Option<&str>,
    codes: Vec<String>,
    error: Option<&str>,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let db = state.db();
    let enabled = store::find_staff_totp(db, user.id).await?.is_some();
    let left = if enabled {
        store::recovery_codes_left(db, user.id).await?
    } else {
        0
    };
    let issuer = state.settings().get().publication.name.clone();
    let ctx = minijinja::context! {
        enabled => enabled,
        left => left,
        setup => setup.map(|secret| minijinja::context! {
            secret => secret,
            grouped => secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" "),
            uri => totp::otpauth_uri(&issuer, &user.email, secret),
        }),
        codes => codes,
        error => error,
        notice => notice,
    };
    let mut res = page(state, "admin/account.html", "Your account", user, ctx);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let notice = (crate::http::query_param(&uri, "done").as_deref() == Some("off"))
        .then_some("Two-step verification is off.");
    render(
        &state,
        &user,
        None,
        Vec::new(),
        None,
        notice,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct TwoFactorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
    /// The current code (or a recovery code) when replacing.
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

/// Whether `password` is the staff member's own.
async fn password_ok(state: &AppState, user: &StaffUser, password: &str) -> Result<bool, AppError> {
    let stored = store::find_staff_password_hash(state.db(), user.id).await?;
    Ok(!password.is_empty() && state.passwords().verify(password, stored.as_deref()).await)
}

/// Spends `code`: a TOTP code not used before, or an unused recovery code.
async fn current_code_ok(
    state: &AppState,
    user: &StaffUser,
    secret: &str,
    last: i64,
    code: &str,
    now: i64,
) -> Result<bool, AppError> {
    let db = state.db();
    let key = totp::base32_decode(secret).unwrap_or_default();
    Ok(match totp::verify(&key, code, now, last) {
        Some(step) => store::accept_totp_step(db, user.id, step).await?,
        None => {
            let h = crate::staff::recovery_code_hash(code);
            !h.is_empty() && store::use_recovery_code(db, user.id, &h, now).await?
        }
    })
}

fn recovery_code() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..10)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// `POST /admin/account/2fa`: `step` is `start` (a new secret to scan),
/// `confirm` (a code proves the app has it: on, recovery codes shown
/// once) or `off`.
pub async fn two_factor(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<TwoFactorForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let db = state.db();
    let now = state.now();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match f.step.as_str() {
        "start" => {
            let key: [u8; 20] = rand::thread_rng().gen();
            let secret = totp::base32_encode(&key);
            render(
                &state,
                &user,
                Some(&secret),
                Vec::new(),
                None,
                None,
                StatusCode::OK,
            )
            .await
        }
        "confirm" => {
            let secret = f.secret.trim().to_ascii_uppercase();
            let key = totp::base32_decode(&secret).filter(|k| k.len() == 20);
            let Some(key) = key else {
                return Err(AppError::BadRequest(
                    "start again: the set-up was malformed".into(),
                ));
            };
            // The password first, then the new code, and only then is the
            // current code (perhaps a recovery code) spent.
            let step = totp::verify(&key, &f.code, now, 0);
            let error = if !password_ok(&state, &user, &f.password).await? {
                Some("That is not your password.")
            } else if step.is_none() {
                Some("That code does not match. Check the time on your phone and type the code the app shows now.")
            } else if !match store::find_staff_totp(db, user.id).await? {
                Some((current, last)) => {
                    current_code_ok(&state, &user, &current, last, &f.current, now).await?
                }
                None => true,
            } {
                Some("To replace two-step verification, type a code from your current app (or a recovery code) that was not used before.")
            } else {
                None
            };
            let (Some(step), None) = (step, error) else {
                return render(
                    &state,
                    &user,
                    Some(&secret),
                    Vec::new(),
                    error,
                    None,
                    unprocessable,
                )
                .await;
            };
            let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
            let hashes: Vec<String> = codes
                .iter()
                .map(|c| crate::staff::recovery_code_hash(c))
                .collect();
            let on = Some((secret.as_str(), step, hashes.as_slice()));
            crate::staff::accounts::set_two_step(&state, user.actor(), user.id, on, now).await?;
            let notice = "Two-step verification is on. Keep these recovery codes somewhere safe: each works once if you lose your phone, and they are shown only now.";
            render(
                &state,
                &user,
                None,
                codes,
                None,
                Some(notice),
                StatusCode::OK,
            )
            .await
        }
        "off" => {
            let Some((secret, last)) = store::find_staff_totp(db, user.id).await? else {
                return Ok(see_other("/admin/account"));
            };
            let error = if !password_ok(&state, &user, &f.password).await? {
                Some("That is not your password.")
            } else if !current_code_ok(&state, &user, &secret, last, &f.code, now).await? {
                Some("That code is not right, or was already used.")
            } else {
                None
            };
            if let Some(e) = error {
                return render(
                    &state,
                    &user,
                    None,
                    Vec::new(),
                    Some(e),
                    None,
                    unprocessable,
                )
                .await;
            }
            crate::staff::accounts::set_two_step(&state, user.actor(), user.id, None, now).await?;
            Ok(see_other("/admin/account?done=off"))
        }
        _ => Err(AppError::BadRequest("unknown step".into())),
    }
}
