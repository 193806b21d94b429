//! The reader's side of newsletters: the public `/newsletters` page with
//! its email-only sign-up (double opt-in), one-click unsubscribe (RFC
//! 8058), the emailed preferences page, the account page's choices, each
//! send's web version, and the bounce webhook.

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::forms::{Field, Form, FormPage};
use crate::http::see_other;
use crate::http::{AppError, AppResult, ClientIp};
use crate::http::{Carries, Route};
use crate::members::web::{consent_line, link_expired, live, one_button};
use crate::members::{check_csrf, limit_address, limit_email};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Form as PostForm;
use masthead_core::members::Email;
use masthead_store::newsletters::{self as store, NewsletterRecord};
use std::collections::HashMap;

pub const UNSUBSCRIBE_PREFIX: &str = "/unsubscribe/";
pub const BOUNCES_PATH: &str = "/webhooks/bounces";

pub fn routes() -> Vec<Route> {
    use Carries::{NoText, Text};
    vec![
        Route::new("/newsletters", get(index), NoText),
        Route::new("/newsletters/signup", post(signup), NoText),
        Route::new(
            "/newsletters/confirm/{token}",
            get(confirm_page).post(confirm),
            NoText,
        )
        .private(),
        Route::new(
            "/newsletters/preferences/{token}",
            get(preferences_page).post(preferences_save),
            NoText,
        )
        .private(),
        Route::new("/newsletters/{slug}/{send}", get(web_version), Text),
        Route::new(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
            NoText,
        )
        .cross_site()
        .private(),
        Route::new("/account/newsletters", post(account_save), NoText).private(),
        Route::new(BOUNCES_PATH, post(bounces), NoText).machine(),
    ]
}

/// The newsletters a form chose: fields `nl_<id>` that are on.
pub fn chosen(form: &HashMap<String, String>, all: &[NewsletterRecord]) -> Vec<i64> {
    all.iter()
        .filter(|n| form.get(&format!("nl_{}", n.id)).is_some_and(|v| v == "on"))
        .map(|n| n.id)
        .collect()
}

/// A checkbox per newsletter, checked for those in `on`.
pub fn checkboxes(mut form: Form, all: &[&NewsletterRecord], on: &[i64]) -> Form {
    for n in all {
        form = form.field(
            Field::checkbox(&format!("nl_{}", n.id), &n.name, on.contains(&n.id))
                .hint(&describe(n)),
        );
    }
    form
}

fn describe(n: &NewsletterRecord) -> String {
    if n.audience == "subscribers" {
        format!("{} (for subscribers)", n.description)
    } else {
        n.description.clone()
    }
}

async fn index(State(state): State<AppState>, viewer: Viewer) -> AppResult {
    let db = state.db();
    let all = store::list(db).await?;
    let mut items = Vec::new();
    for n in &all {
        let sends = store::list_recent_sends(db, n.id, 3).await?;
        items.push(minijinja::context! {
            name => n.name,
            description => describe(n),
            sends => sends.iter().map(|s| minijinja::context! {
                subject => s.subject,
                url => format!("/newsletters/{}/{}", n.slug, s.id),
            }).collect::<Vec<_>>(),
        });
    }
    let refs: Vec<&NewsletterRecord> = all.iter().collect();
    let mine = match viewer.member() {
        Some(m) => store::member_newsletters(db, m.id).await?,
        None => Vec::new(),
    };
    let form = if viewer.member().is_some() {
        None
    } else {
        Some(checkboxes(
            Form::new("/newsletters/signup", "Sign up").field(Field::email("")),
            &refs,
            &[],
        ))
    };
    let ctx = minijinja::context! {
        site => crate::site::view::site(&state),
        title => "Newsletters",
        newsletters => items,
        form => form,
        consent => consent_line(&state).await?,
        signed_in => viewer.member().is_some(),
        subscribed => mine.len(),
    };
    let html = state.theme().render("newsletters.html", ctx)?;
    Ok(crate::http::html(html))
}

async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PostForm(form): PostForm<HashMap<String, String>>,
) -> AppResult {
    limit_address(&state, "newsletter-signup", ip)?;
    let all = store::list(state.db()).await?;
    let raw = form.get("email").cloned().unwrap_or_default();
    let error = |msg: String| {
        FormPage::new("Sign up for newsletters")
            .error(msg)
            .link("/newsletters", "Back to the newsletters")
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY)
    };
    let email = match Email::parse(&raw) {
        Ok(e) => e,
        Err(e) => return Ok(error(e.to_string())),
    };
    let ids = chosen(&form, &all);
    if ids.is_empty() {
        return Ok(error("Choose at least one newsletter.".into()));
    }
    let lower = email.lower();
    limit_email(&state, "newsletter-signup", &lower)?;
    let names: Vec<&str> = all
        .iter()
        .filter(|n| ids.contains(&n.id))
        .map(|n| n.name.as_str())
        .collect();
    super::subscriptions::request_confirmation(&state, &email, &ids, &names).await?;
    Ok(FormPage::new("Check your email")
        .lead("We have sent you an email. Follow its link to confirm, and your newsletters will start.")
        .render(&state, StatusCode::OK))
}

async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !live(&state, &token, "newsletters").await? {
        return Ok(link_expired(&state));
    }
    Ok(one_button(
        &state,
        "Confirm your newsletters",
        "Confirm this address to start receiving the newsletters you chose.",
        &format!("/newsletters/confirm/{token}"),
        "Confirm",
    ))
}

async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> AppResult {
    if super::subscriptions::confirm(&state, &viewer, &token)
        .await?
        .is_none()
    {
        return Ok(link_expired(&state));
    }
    Ok(FormPage::new("You are subscribed")
        .lead("Your newsletters will arrive with their next issue. Every email has a link to unsubscribe.")
        .link("/login", "Log in to manage your account")
        .render(&state, StatusCode::OK))
}

/// The one-click unsubscribe: GET shows a button (a link scanner must not
/// unsubscribe anyone); a POST of any form, with no cookie, session or
/// CSRF token, unsubscribes and answers 200 (RFC 8058).
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    let Some((member, newsletter)) = super::read_unsubscribe_token(&state.link_keys(), &token)
    else {
        return Err(AppError::NotFound);
    };
    let Some(n) = store::find_by_id(state.db(), newsletter).await? else {
        return Err(AppError::NotFound);
    };
    let on = store::member_newsletters(state.db(), member).await?;
    let page = FormPage::new(&format!("Unsubscribe from {}", n.name));
    Ok(if on.contains(&newsletter) {
        page.lead(&format!("You will no longer receive {}.", n.name))
            .form(Form::new(
                &format!("{UNSUBSCRIBE_PREFIX}{token}"),
                "Unsubscribe",
            ))
    } else {
        page.notice(format!("You are not subscribed to {}.", n.name))
    }
    .link(
        &format!(
            "/newsletters/preferences/{}",
            super::preferences_token(&state.link_keys(), member)
        ),
        "Manage all your newsletters",
    )
    .render(&state, StatusCode::OK))
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    _body: Bytes,
) -> AppResult {
    let Some((member, newsletter)) = super::read_unsubscribe_token(&state.link_keys(), &token)
    else {
        return Err(AppError::NotFound);
    };
    let Some(n) = store::find_by_id(state.db(), newsletter).await? else {
        return Err(AppError::NotFound);
    };
    super::subscriptions::unsubscribe(&state, member, newsletter).await?;
    Ok(FormPage::new("You are unsubscribed")
        .lead(&format!("You will no longer receive {}.", n.name))
        .link(
            &format!(
                "/newsletters/preferences/{}",
                super::preferences_token(&state.link_keys(), member)
            ),
            "Manage all your newsletters",
        )
        .render(&state, StatusCode::OK))
}

async fn preferences_form(state: &AppState, token: &str, member: i64) -> Result<Form, AppError> {
    let all = store::list(state.db()).await?;
    let refs: Vec<&NewsletterRecord> = all.iter().collect();
    let on = store::member_newsletters(state.db(), member).await?;
    Ok(checkboxes(
        Form::new(
            &format!("/newsletters/preferences/{token}"),
            "Save my newsletters",
        )
        .hidden("save", "1"),
        &refs,
        &on,
    ))
}

async fn preferences_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    let Some(member) = super::read_preferences_token(&state.link_keys(), &token) else {
        return Err(AppError::NotFound);
    };
    if masthead_store::members::find_member(state.db(), member)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    Ok(FormPage::new("Your newsletters")
        .lead("Choose the newsletters you want to receive.")
        .form(preferences_form(&state, &token, member).await?)
        .render(&state, StatusCode::OK))
}

async fn preferences_save(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PostForm(form): PostForm<HashMap<String, String>>,
) -> AppResult {
    let Some(member) = super::read_preferences_token(&state.link_keys(), &token) else {
        return Err(AppError::NotFound);
    };
    if masthead_store::members::find_member(state.db(), member)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let all = store::list(state.db()).await?;
    store::set_member_newsletters(
        state.db(),
        member,
        &chosen(&form, &all),
        "preferences",
        state.now(),
    )
    .await?;
    Ok(FormPage::new("Your newsletters")
        .notice("Saved.")
        .form(preferences_form(&state, &token, member).await?)
        .render(&state, StatusCode::OK))
}

async fn account_save(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(form): PostForm<HashMap<String, String>>,
) -> AppResult {
    if viewer.session.is_none() {
        return Ok(see_other("/login?return_to=%2Faccount"));
    }
    check_csrf(&viewer, form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let Some(member) = viewer.member() else {
        return Ok(see_other("/login?return_to=%2Faccount"));
    };
    let all = store::list(state.db()).await?;
    store::set_member_newsletters(
        state.db(),
        member.id,
        &chosen(&form, &all),
        "account",
        state.now(),
    )
    .await?;
    Ok(see_other("/account?done=newsletters"))
}

/// A send's web version, for whoever opens it, through the same access
/// decision as the site: never the full text to a reader not entitled.
async fn web_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, send)): Path<(String, String)>,
) -> AppResult {
    let Ok(send_id) = send.parse::<i64>() else {
        return Err(AppError::NotFound);
    };
    let db = state.db();
    let (Some(n), Some(send)) = (
        store::find_by_slug(db, &slug).await?,
        store::find_send(db, send_id).await?,
    ) else {
        return Err(AppError::NotFound);
    };
    if send.newsletter_id != n.id || !matches!(send.status.as_str(), "sending" | "sent") {
        return Err(AppError::NotFound);
    }
    let base = &state.config().base_url;
    let mut article_ctx = None;
    if let Some(id) = send.article_id {
        let Some(a) = masthead_store::content::find_article_by_id(db, id).await? else {
            return Err(AppError::NotFound);
        };
        if !super::render::visible(&a, state.now()) {
            return Err(AppError::NotFound);
        }
        let decision = crate::access::reader::decision(&state, &viewer, &a.facts());
        let body = masthead_store::content::find_body(db, &a.facts(), decision).await?;
        article_ctx = Some(minijinja::context! {
            headline => a.headline,
            standfirst => a.standfirst,
            url => format!("/{}", a.slug),
            blocks => body.blocks,
            preview => !body.is_complete(),
        });
    }
    let digest = if send.article_id.is_none() {
        super::render::digest_articles(db, &send, state.now())
            .await
            .map_err(AppError::Internal)?
            .iter()
            .map(|a| {
                minijinja::context! {
                    headline => a.headline,
                    standfirst => a.standfirst,
                    url => format!("/{}", a.slug),
                }
            })
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    let ctx = minijinja::context! {
        site => crate::site::view::site(&state),
        title => send.subject,
        canonical => base.join(&format!("/newsletters/{}/{}", n.slug, send.id)),
        newsletter => n.name,
        sent => send.started_at.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| crate::site::view::time(&state, t).display),
        article => article_ctx,
        digest => digest,
        is_digest => send.article_id.is_none(),
    };
    let html = state.theme().render("newsletter_send.html", ctx)?;
    Ok(crate::http::html(html))
}

/// `POST /webhooks/bounces`: complaints and late bounces reported by the
/// mail provider, as JSON `{"email": "…", "type": "bounce"|"complaint",
/// "detail": "…"}` with `Authorization: Bearer <bounce_token>`. The
/// address is never mailed again.
async fn bounces(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = |status: StatusCode, text: &'static str| {
        (
            status,
            [("content-type", "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    };
    let Some(expected) = state.config().newsletters.bounce_token.as_ref() else {
        return answer(StatusCode::NOT_FOUND, "bounce reports are not configured\n");
    };
    let sent = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let equal = sent.len() == expected.expose().len()
        && sent
            .bytes()
            .zip(expected.expose().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !equal {
        tracing::warn!("refused a bounce report with a wrong token");
        return answer(StatusCode::UNAUTHORIZED, "wrong token\n");
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "the body is not JSON\n");
    };
    let (Some(email), Some(kind)) = (v["email"].as_str(), v["type"].as_str()) else {
        return answer(StatusCode::BAD_REQUEST, "email and type are required\n");
    };
    let Ok(email) = Email::parse(email) else {
        return answer(StatusCode::BAD_REQUEST, "email is not an address\n");
    };
    if !matches!(kind, "bounce" | "complaint") {
        return answer(
            StatusCode::BAD_REQUEST,
            "type must be bounce or complaint\n",
        );
    }
    let detail: String = v["detail"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(500)
        .collect();
    match store::suppress(state.db(), &email.lower(), kind, &detail, None, state.now()).await {
        Ok(_) => answer(StatusCode::OK, "suppressed\n"),
        Err(e) => {
            tracing::error!(error = %e, "recording a bounce failed");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "failed; retry\n")
        }
    }
}
