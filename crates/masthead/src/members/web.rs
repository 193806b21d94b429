//! The account routes. Handlers stay thin: parse the form, apply the rate
//! limit, call the store, answer with a page or a redirect.

use super::passwords;
use super::tokens::{self, SESSION_COOKIE};
use super::{
    check_csrf, failed, limit_address, limit_email, limit_failures, redirect_with_session, sign_in,
    user_agent,
};
use crate::access::funnel::Step;
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::forms::{CsrfForm, Field, Form, FormPage};
use crate::http::query_param;
use crate::http::see_other;
use crate::http::{urlencode, AppError, AppResult, ClientIp};
use crate::http::{Carries, Route};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Form as PostForm;
use masthead_core::access::ArticleFacts;
use masthead_core::members::{recently_authenticated, safe_return_to, Email};
use masthead_core::AccessLevel;
use masthead_store::members::{self as store, NewToken};
use serde::Deserialize;

pub fn routes() -> Vec<Route> {
    use Carries::NoText;
    vec![
        Route::new("/signup", get(signup_page).post(signup), NoText),
        Route::new("/login", get(login_page).post(login), NoText),
        Route::new("/login/link/{token}", get(link_page).post(link_use), NoText).private(),
        Route::new("/logout", post(logout), NoText),
        Route::new("/account", get(account), NoText).private(),
        Route::new(
            "/account/verify/{token}",
            get(verify_page).post(verify_use),
            NoText,
        )
        .private(),
        Route::new("/account/reauth", get(reauth_page).post(reauth), NoText).private(),
        Route::new("/account/password", post(change_password), NoText).private(),
        Route::new("/account/email", post(change_email), NoText).private(),
        Route::new(
            "/account/email/{token}",
            get(email_page).post(email_use),
            NoText,
        )
        .private(),
        Route::new("/account/sessions", post(logout_everywhere), NoText).private(),
        Route::new("/account/export", post(export), NoText).private(),
        Route::new("/account/delete", get(delete_page).post(delete), NoText).private(),
        Route::new(
            "/password/reset",
            get(reset_request_page).post(reset_request),
            NoText,
        ),
        Route::new(
            "/password/reset/{token}",
            get(reset_page).post(reset_use),
            NoText,
        )
        .private(),
    ]
}

pub(crate) const VERIFY_SECS: i64 = 7 * 86_400;

pub(crate) fn link(state: &AppState, path: &str) -> String {
    state.config().base_url.join(path)
}

pub(crate) fn pub_name(state: &AppState) -> String {
    state.settings().get().publication.name.clone()
}

/// Stores a one-time token inside `tx`; returns the raw token for the link.
pub(crate) async fn new_link_token(
    state: &AppState,
    tx: &mut masthead_store::Tx,
    purpose: &str,
    member_id: Option<i64>,
    email: &str,
    return_to: &str,
    lifetime: i64,
) -> Result<String, AppError> {
    let (token, hash) = tokens::new_token();
    let now = state.now();
    store::insert_token(
        tx,
        &NewToken {
            token_hash: &hash,
            purpose,
            member_id,
            staff_id: None,
            email,
            return_to,
            expires_at: now + lifetime,
        },
        now,
    )
    .await?;
    Ok(token)
}

// ---- sign-up ----

#[derive(Debug, Deserialize, Default)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    article: String,
    /// Newsletter checkboxes (`nl_<id>`).
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

fn signup_form(
    return_to: &str,
    article: &str,
    email: &str,
    newsletters: &[masthead_store::newsletters::NewsletterRecord],
    on: &[i64],
) -> Form {
    let form = Form::new("/signup", "Create my free account")
        .field(Field::email(email))
        .field(
            Field::password("Password (optional)", "new-password", false).hint(
                "At least 8 characters. Leave it empty to log in with emailed links instead.",
            ),
        )
        .hidden("return_to", return_to)
        .hidden("article", article);
    // The newsletters offered at sign-up, unchecked unless chosen.
    let offered: Vec<_> = newsletters.iter().filter(|n| n.on_signup).collect();
    crate::newsletters::web::checkboxes(form, &offered, on)
}

pub(crate) async fn consent_line(state: &AppState) -> Result<String, AppError> {
    let db = state.db();
    let terms = store::find_page_version(db, "terms").await?;
    let privacy = store::find_page_version(db, "privacy").await?;
    Ok(format!(
        "By signing up you accept our Terms{} and Privacy Policy{}.",
        terms.map(|v| format!(" (version {v})")).unwrap_or_default(),
        privacy
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default(),
    ))
}

async fn signup_page_with(
    state: &AppState,
    status: StatusCode,
    f: &SignupForm,
    error: Option<String>,
) -> AppResult {
    let return_to = safe_return_to(&f.return_to, "/account");
    let newsletters = masthead_store::newsletters::list(state.db()).await?;
    let on = crate::newsletters::web::chosen(&f.rest, &newsletters);
    let mut page = FormPage::new("Create your free account")
        .lead("A free account lets you keep reading and manage your newsletters.")
        .form(signup_form(
            &return_to,
            &f.article,
            &f.email,
            &newsletters,
            &on,
        ))
        .lead(&consent_line(state).await?)
        .link("/pages/terms", "Terms")
        .link("/pages/privacy", "Privacy Policy")
        .link(
            &format!("/login?return_to={}", urlencode(&return_to)),
            "Already have an account? Log in",
        );
    if let Some(e) = error {
        page = page.error(e);
    }
    Ok(page.render(state, status))
}

async fn signup_page(State(state): State<AppState>, uri: Uri) -> AppResult {
    let f = SignupForm {
        return_to: query_param(&uri, "return_to").unwrap_or_default(),
        ..Default::default()
    };
    signup_page_with(&state, StatusCode::OK, &f, None).await
}

/// The article a sign-up unlocks: only one whose free path is offered
/// (metered or registration-walled), never a subscriber-only one.
async fn unlockable(state: &AppState, raw: &str) -> Result<Option<ArticleFacts>, AppError> {
    let Ok(id) = raw.trim().parse::<i64>() else {
        return Ok(None);
    };
    let Some(a) = masthead_store::content::find_article_by_id(state.db(), id).await? else {
        return Ok(None);
    };
    let now = state.now();
    if a.status != masthead_core::ArticleStatus::Published
        || a.published_at.is_none_or(|p| p.as_second() > now)
    {
        return Ok(None);
    }
    let policy = &state.settings().get().publication.policy;
    let level = policy.resolve(a.access_level, a.content_type);
    Ok(matches!(level, AccessLevel::Metered | AccessLevel::Registered).then(|| a.facts()))
}

async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    headers: HeaderMap,
    PostForm(f): PostForm<SignupForm>,
) -> AppResult {
    limit_address(&state, "signup", ip)?;
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return signup_page_with(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &f,
                Some(e.to_string()),
            )
            .await
        }
    };
    let lower = email.lower();
    limit_email(&state, "signup", &lower)?;
    if !f.password.is_empty() {
        if let Err(e) = passwords::check_new(&f.password) {
            return signup_page_with(&state, StatusCode::UNPROCESSABLE_ENTITY, &f, Some(e)).await;
        }
    }
    let return_to = safe_return_to(&f.return_to, "/account");
    // Hash whether or not the address is taken: the same work either way.
    let hash = if f.password.is_empty() {
        None
    } else {
        Some(state.passwords().hash(&f.password).await?)
    };
    let article = unlockable(&state, &f.article).await?;
    let now = state.now();
    let token = super::signup::sign_up(
        &state,
        &super::signup::SignUp {
            email: &email,
            password_hash: hash.as_deref(),
            return_to: &return_to,
            article: article.as_ref().map(|a| a.id),
            meter: &viewer.meter.entries,
            user_agent: &user_agent(&headers),
            choices: &f.rest,
        },
        now,
    )
    .await?;
    if let Some(a) = &article {
        state.funnel().record(a.id, Step::Signup, now);
    }
    Ok(super::redirect_with_session(&state, &return_to, &token))
}

// ---- log-in ----

#[derive(Debug, Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    action: String,
}

fn login_page_for(return_to: &str, email: &str) -> FormPage {
    FormPage::new("Log in")
        .form(
            Form::new("/login", "Log in")
                .field(Field::email(email))
                .field(Field::password("Password", "current-password", false))
                .hidden("return_to", return_to),
        )
        .form(
            Form::new("/login", "Email me a log-in link")
                .field(Field::email(email).hint(
                    "No password? We will email you a link that logs you in (valid 15 minutes).",
                ))
                .hidden("return_to", return_to)
                .hidden("action", "link")
                .secondary(),
        )
        .link(
            &format!("/signup?return_to={}", urlencode(return_to)),
            "New here? Create a free account",
        )
        .link("/password/reset", "Forgot your password?")
}

async fn login_page(State(state): State<AppState>, uri: Uri) -> AppResult {
    let return_to = safe_return_to(
        &query_param(&uri, "return_to").unwrap_or_default(),
        "/account",
    );
    Ok(login_page_for(&return_to, "").render(&state, StatusCode::OK))
}

fn check_inbox(state: &AppState, what: &str) -> Response {
    FormPage::new("Check your email")
        .lead(&format!(
            "If an account uses that address, we have sent it {what}. \
             The message can take a minute to arrive; look in your spam folder too."
        ))
        .link("/", "Back to the front page")
        .render(state, StatusCode::OK)
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    headers: HeaderMap,
    PostForm(f): PostForm<LoginForm>,
) -> AppResult {
    limit_address(&state, "login", ip)?;
    let return_to = safe_return_to(&f.return_to, "/account");
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(login_page_for(&return_to, &f.email)
                .error(e.to_string())
                .render(&state, StatusCode::UNPROCESSABLE_ENTITY))
        }
    };
    let lower = email.lower();
    let by_link = f.action == "link" || f.password.is_empty();
    // Separate budgets: someone guessing a password cannot also stop the
    // owner from asking for a log-in link (and the reverse).
    if by_link {
        limit_email(&state, "login-link", &lower)?;
    } else {
        limit_failures(&state, "login", &lower)?;
    }
    let db = state.db();
    let found = store::find_member_by_email(db, &lower).await?;
    if by_link {
        let holder = found.as_ref().map(|(m, _)| m);
        super::account::request_login_link(&state, &email, holder, &return_to).await?;
        return Ok(check_inbox(&state, "a log-in link"));
    }
    let stored = found.as_ref().and_then(|(_, h)| h.as_deref());
    let matches = state.passwords().verify(&f.password, stored).await;
    // A password chosen at sign-up is a credential only once the address
    // is proved: before that, whoever typed the address may not own it.
    let Some((member, _)) = found.filter(|(m, _)| matches && m.verified) else {
        failed(&state, "login", &lower);
        return Ok(login_page_for(&return_to, email.as_str())
            .error("That email address and password do not match. Try again, or log in with an emailed link. If you signed up recently, first follow the link we emailed you.")
            .render(&state, StatusCode::UNAUTHORIZED));
    };
    sign_in(&state, &viewer, &headers, member.id, &return_to).await
}

// ---- emailed links: a page with one button, consumed by the POST ----

pub(crate) fn one_button(
    state: &AppState,
    title: &str,
    text: &str,
    action: &str,
    button: &str,
) -> Response {
    FormPage::new(title)
        .lead(text)
        .form(Form::new(action, button))
        .render(state, StatusCode::OK)
}

pub(crate) fn link_expired(state: &AppState) -> Response {
    FormPage::new("This link has expired")
        .lead("Links in our emails work once and for a limited time. Ask for a new one below.")
        .link("/login", "Log in")
        .link("/password/reset", "Reset your password")
        .render(state, StatusCode::GONE)
}

pub(crate) async fn live(state: &AppState, token: &str, purpose: &str) -> Result<bool, AppError> {
    Ok(tokens::well_formed(token)
        && store::token_is_live(state.db(), &tokens::hash_token(token), purpose, state.now())
            .await?)
}

/// Uses an emailed token inside `tx`.
pub(crate) async fn consume_in(
    state: &AppState,
    tx: &mut masthead_store::Tx,
    token: &str,
    purpose: &str,
) -> Result<Option<store::UsedToken>, AppError> {
    if !tokens::well_formed(token) {
        return Ok(None);
    }
    Ok(store::consume_token(tx, &tokens::hash_token(token), purpose, state.now()).await?)
}

async fn link_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !live(&state, &token, "login").await? {
        return Ok(link_expired(&state));
    }
    Ok(one_button(
        &state,
        "Log in",
        &format!("Continue to log in to {}.", pub_name(&state)),
        &format!("/login/link/{token}"),
        "Log me in",
    ))
}

async fn link_use(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> AppResult {
    follow(
        &state,
        &viewer,
        &headers,
        &token,
        "login",
        store::Proof::Link,
    )
    .await
}

/// Follows an emailed member link (`account::follow_member_link`) and
/// answers with the new session, or the expired-link page.
async fn follow(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    token: &str,
    purpose: &str,
    proof: store::Proof,
) -> AppResult {
    let ua = user_agent(headers);
    match super::account::follow_member_link(state, viewer, &ua, token, purpose, proof).await? {
        Some(done) => Ok(redirect_with_session(state, &done.to, &done.token)),
        None => Ok(link_expired(state)),
    }
}

async fn verify_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !live(&state, &token, "verify").await? {
        return Ok(link_expired(&state));
    }
    Ok(one_button(
        &state,
        "Confirm your email",
        "Confirm this address to open your account.",
        &format!("/account/verify/{token}"),
        "Confirm my email",
    ))
}

async fn verify_use(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> AppResult {
    // A new session id either way: the pending one ended or is rotated.
    follow(
        &state,
        &viewer,
        &headers,
        &token,
        "verify",
        store::Proof::SignupLink,
    )
    .await
}

// ---- log-out ----

fn clear_session(state: &AppState, mut res: Response) -> Response {
    let c = tokens::clear_cookie(SESSION_COOKIE, state.config().base_url.is_https());
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    let Some((s, _)) = &viewer.session else {
        return Ok(see_other("/"));
    };
    check_csrf(&viewer, &f.csrf)?;
    store::delete_session(state.db(), s.id).await?;
    Ok(clear_session(&state, see_other("/")))
}

async fn logout_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    let Some((s, _)) = &viewer.session else {
        return Ok(see_other("/login"));
    };
    check_csrf(&viewer, &f.csrf)?;
    let member = s.member.as_ref().map(|m| m.id);
    super::account::log_out_everywhere(&state, member, s.id).await?;
    Ok(clear_session(&state, see_other("/login")))
}

// ---- the account page ----

fn date(state: &AppState, t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| crate::site::view::time(state, ts).display)
        .unwrap_or_default()
}

async fn account(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> AppResult {
    let Some((session, _)) = &viewer.session else {
        return Ok(see_other("/login?return_to=%2Faccount"));
    };
    let csrf = viewer.csrf().unwrap_or_default();
    let member = match &session.member {
        Some(m) if m.verified => m,
        // Unverified, or a sign-up with an address that has an account:
        // the same page, with no account data, until the emailed link.
        _ => {
            return Ok(FormPage::new("Check your email")
                .lead("We have sent you an email. Follow its link to open your account.")
                .lead("Didn't get it? You can also log in with an emailed link.")
                .link("/login", "Log in")
                .form(
                    Form::new("/logout", "Log out")
                        .hidden("csrf", &csrf)
                        .secondary(),
                )
                .render(&state, StatusCode::OK))
        }
    };
    let db = state.db();
    let sessions = store::list_member_sessions(db, member.id).await?;
    let newsletters = masthead_store::newsletters::list(db).await?;
    let mine = masthead_store::newsletters::member_newsletters(db, member.id).await?;
    let grants = store::list_grants(db, member.id).await?;
    let now = state.now();
    let subscription = masthead_store::billing::find_member_subscription(db, member.id)
        .await?
        .map(|sub| {
            use masthead_core::billing::subscription::Status;
            let s = sub.snapshot;
            let live = matches!(
                s.status,
                Status::Active | Status::Trialing | Status::PastDue
            );
            minijinja::context! {
                status => s.status.as_str().replace('_', " "),
                live => live,
                past_due => s.status == Status::PastDue,
                cancel_at_period_end => s.cancel_at_period_end,
                period_end => date(&state, s.current_period_end),
                trialing => s.status == Status::Trialing,
                plan => sub.plan.map(|p| format!("{}: {} a {}", p.name, p.price.display(), p.interval.as_str())),
            }
        });
    let notice = match query_param(&uri, "done").as_deref() {
        Some("password") => Some("Your password was changed. Other sessions were logged out."),
        Some("email") => Some("Your email address was changed."),
        Some("claimed") => Some("Your address is confirmed. The password chosen at sign-up was not kept, because the link was opened away from the browser that signed up: choose a password below if you want one."),
        Some("subscribed") => Some("Thank you for subscribing."),
        Some("already-subscribed") => Some("You already have a subscription."),
        Some("canceled") => Some("Your subscription will end at the end of the period."),
        Some("resumed") => Some("Your subscription will renew."),
        Some("newsletters") => Some("Your newsletters are saved."),
        _ => None,
    };
    let ctx = minijinja::context! {
        site => crate::site::view::site(&state),
        title => "Your account",
        noindex => true,
        notice => notice,
        csrf => csrf,
        email => member.email,
        has_password => member.has_password,
        member_since => date(&state, member.created_at),
        sessions => sessions.iter().map(|s| minijinja::context! {
            current => s.id == session.id,
            user_agent => if s.user_agent.is_empty() { "Unknown browser".to_string() } else { s.user_agent.clone() },
            last_seen => date(&state, s.last_seen_at),
            created => date(&state, s.created_at),
        }).collect::<Vec<_>>(),
        grants => grants.iter().map(|g| minijinja::context! {
            source => match g.source.as_str() {
                "comp" => "Complimentary subscription",
                "stripe" => "Subscription",
                "demo" => "Demo subscription",
                _ => "Access",
            },
            active => g.valid_from <= now && g.valid_until.is_none_or(|u| u > now),
            until => g.valid_until.map(|u| date(&state, u)),
        }).collect::<Vec<_>>(),
        recent => recently_authenticated(session.authenticated_at, now),
        subscription => subscription,
        stripe => state.stripe().is_some(),
        newsletters => newsletters.iter().map(|n| minijinja::context! {
            id => n.id,
            name => n.name,
            description => if n.audience == "subscribers" { format!("{} (for subscribers)", n.description) } else { n.description.clone() },
            on => mine.contains(&n.id),
        }).collect::<Vec<_>>(),
    };
    let html = state.theme().render("account.html", ctx)?;
    let mut res = crate::http::html(html);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// For sensitive changes: the verified member, or the response to send
/// instead (log in, or prove it is you again).
fn sensitive<'a>(
    state: &AppState,
    viewer: &'a Viewer,
    csrf: &str,
) -> Result<Result<&'a masthead_store::members::Member, Response>, AppError> {
    let Some((s, _)) = &viewer.session else {
        return Ok(Err(see_other("/login?return_to=%2Faccount")));
    };
    check_csrf(viewer, csrf)?;
    let Some(m) = s.member.as_ref().filter(|m| m.verified) else {
        return Ok(Err(see_other("/account")));
    };
    if !recently_authenticated(s.authenticated_at, state.now()) {
        return Ok(Err(see_other("/account/reauth")));
    }
    Ok(Ok(m))
}

async fn reauth_page(State(state): State<AppState>, m: super::Member) -> AppResult {
    Ok(reauth_form(&state, &m.viewer, &m.member).render(&state, StatusCode::OK))
}

fn reauth_form(
    _state: &AppState,
    viewer: &Viewer,
    m: &masthead_store::members::Member,
) -> FormPage {
    let csrf = viewer.csrf().unwrap_or_default();
    let mut page = FormPage::new("Confirm it's you")
        .lead("For your security, confirm it's you before changing or exporting your account.");
    if m.has_password {
        page = page.form(
            Form::new("/account/reauth", "Confirm")
                .field(Field::password("Password", "current-password", true))
                .hidden("csrf", &csrf),
        );
    }
    page.form(
        Form::new("/login", "Email me a link instead")
            .hidden("email", &m.email)
            .hidden("action", "link")
            .hidden("return_to", "/account")
            .secondary(),
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn reauth(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PostForm(f): PostForm<PasswordForm>,
) -> AppResult {
    let Some((s, _)) = &viewer.session else {
        return Ok(see_other("/login?return_to=%2Faccount"));
    };
    check_csrf(&viewer, &f.csrf)?;
    let Some(m) = viewer.member() else {
        return Ok(see_other("/account"));
    };
    limit_address(&state, "reauth", ip)?;
    let who = m.email.to_ascii_lowercase();
    limit_failures(&state, "login", &who)?;
    let stored = store::find_member(state.db(), m.id)
        .await?
        .and_then(|(_, h)| h);
    if !state
        .passwords()
        .verify(&f.password, stored.as_deref())
        .await
    {
        failed(&state, "login", &who);
        return Ok(reauth_form(&state, &viewer, m)
            .error("That password is not right.")
            .render(&state, StatusCode::UNAUTHORIZED));
    }
    store::mark_authenticated(state.db(), s.id, state.now()).await?;
    Ok(see_other("/account"))
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<PasswordForm>,
) -> AppResult {
    let m = match sensitive(&state, &viewer, &f.csrf)? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    if let Err(e) = passwords::check_new(&f.password) {
        return Ok(FormPage::new("Choose another password")
            .error(e)
            .link("/account", "Back to your account")
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let hash = state.passwords().hash(&f.password).await?;
    let keep = viewer.session.as_ref().map(|(s, _)| s.id);
    super::account::change_password(&state, m.id, keep, &hash).await?;
    Ok(see_other("/account?done=password"))
}

#[derive(Debug, Deserialize, Default)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn change_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PostForm(f): PostForm<EmailForm>,
) -> AppResult {
    let m = match sensitive(&state, &viewer, &f.csrf)? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(FormPage::new("Change your email")
                .error(e.to_string())
                .link("/account", "Back to your account")
                .render(&state, StatusCode::UNPROCESSABLE_ENTITY))
        }
    };
    limit_address(&state, "email", ip)?;
    limit_email(&state, "email", &email.lower())?;
    super::account::request_email_change(&state, m, &email).await?;
    Ok(check_inbox(
        &state,
        "a confirmation link (to the new address)",
    ))
}

async fn email_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !live(&state, &token, "email_change").await? {
        return Ok(link_expired(&state));
    }
    Ok(one_button(
        &state,
        "Confirm your new email",
        "Confirm the new address for your account.",
        &format!("/account/email/{token}"),
        "Confirm the new address",
    ))
}

async fn email_use(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    use super::email_change::{confirm, Confirmed};
    match confirm(&state, &token, state.now()).await? {
        Confirmed::Changed => Ok(see_other("/account?done=email")),
        Confirmed::Taken => Ok(FormPage::new("That address is taken")
            .lead("Another account already uses that email address, so nothing was changed.")
            .link("/account", "Back to your account")
            .render(&state, StatusCode::CONFLICT)),
        Confirmed::Expired => Ok(link_expired(&state)),
    }
}

async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    let m = match sensitive(&state, &viewer, &f.csrf)? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    let data = store::export_member(state.db(), m.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let body = serde_json::to_string_pretty(&data).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-account.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

async fn delete_page(State(state): State<AppState>, m: super::Member) -> AppResult {
    let csrf = m.viewer.csrf().unwrap_or_default();
    Ok(FormPage::new("Delete your account")
        .lead("This deletes your account, your sessions, your subscription records and your reading history here. It cannot be undone.")
        .lead("A subscription you have is cancelled at once, with no further charges.")
        .form(
            Form::new("/account/delete", "Delete my account")
                .field(Field {
                    name: "confirm".into(),
                    label: "Type DELETE to confirm".into(),
                    kind: "text",
                    autocomplete: "off",
                    value: String::new(),
                    required: true,
                    hint: None,
                    checked: false,
                })
                .hidden("csrf", &csrf),
        )
        .link("/account", "Keep my account")
        .render(&state, StatusCode::OK))
}

#[derive(Debug, Deserialize, Default)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<DeleteForm>,
) -> AppResult {
    let m = match sensitive(&state, &viewer, &f.csrf)? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    if f.confirm.trim() != "DELETE" {
        return Ok(FormPage::new("Delete your account")
            .error("Type DELETE (in capitals) to confirm.")
            .link("/account/delete", "Try again")
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    }
    // A live subscription is cancelled at Stripe first; if Stripe cannot
    // be reached, nothing is deleted and the reader can try again.
    let canceled = crate::billing::account::cancel_before_deletion(&state, m.id)
        .await
        .map_err(|e| {
            AppError::Internal(e.context("cancelling the subscription before deletion"))
        })?;
    store::delete_member(state.db(), m.id, None, state.now()).await?;
    tracing::info!(member = m.id, "member deleted their account");
    Ok(clear_session(
        &state,
        {
            let mut page = FormPage::new("Your account was deleted")
                .lead("Everything personal we held about you has been deleted.");
            if canceled {
                page = page.lead(
                    "Your subscription was cancelled with it; you will not be charged again.",
                );
            }
            page
        }
        .link("/", "Back to the front page")
        .render(&state, StatusCode::OK),
    ))
}

// ---- password reset ----

#[derive(Debug, Deserialize, Default)]
pub struct ResetRequest {
    #[serde(default)]
    email: String,
}

fn reset_request_form(email: &str) -> FormPage {
    FormPage::new("Reset your password")
        .lead("We will email you a link to choose a new password.")
        .form(Form::new("/password/reset", "Email me a reset link").field(Field::email(email)))
        .link("/login", "Back to log in")
}

async fn reset_request_page(State(state): State<AppState>) -> AppResult {
    Ok(reset_request_form("").render(&state, StatusCode::OK))
}

async fn reset_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PostForm(f): PostForm<ResetRequest>,
) -> AppResult {
    limit_address(&state, "reset", ip)?;
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(reset_request_form(&f.email)
                .error(e.to_string())
                .render(&state, StatusCode::UNPROCESSABLE_ENTITY))
        }
    };
    let lower = email.lower();
    limit_email(&state, "reset", &lower)?;
    let found = store::find_member_by_email(state.db(), &lower).await?;
    super::account::request_reset(&state, &email, found.as_ref().map(|(m, _)| m)).await?;
    Ok(check_inbox(&state, "a password reset link"))
}

fn new_password_form(action: &str) -> FormPage {
    FormPage::new("Choose a new password").form(Form::new(action, "Save my new password").field(
        Field::password("New password", "new-password", true).hint("At least 8 characters."),
    ))
}

async fn reset_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult {
    if !live(&state, &token, "reset").await? {
        return Ok(link_expired(&state));
    }
    Ok(new_password_form(&format!("/password/reset/{token}")).render(&state, StatusCode::OK))
}

async fn reset_use(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    PostForm(f): PostForm<PasswordForm>,
) -> AppResult {
    // Check the password first so a typo does not burn the link.
    if let Err(e) = passwords::check_new(&f.password) {
        return Ok(new_password_form(&format!("/password/reset/{token}"))
            .error(e)
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let hash = state.passwords().hash(&f.password).await?;
    let ua = user_agent(&headers);
    match super::account::reset_password(&state, &viewer, &ua, &token, &hash).await? {
        Some(session) => Ok(redirect_with_session(&state, "/account", &session)),
        None => Ok(link_expired(&state)),
    }
}
