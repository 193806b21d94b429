//! Subscribing: `/subscribe` lists the plans; a signed-in member posts one
//! to `/subscribe/checkout`, which creates (once) the member's Stripe
//! customer and the plan's Stripe Price, opens a Checkout Session in
//! subscription mode and redirects to it. Stripe sends the reader back to
//! `/subscribe/success`, which reconciles the subscription at once (the
//! webhook does the same whenever it arrives).

use super::stripe::Stripe;
use crate::access::funnel::Step;
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::forms::{CsrfForm, Form, FormPage};
use crate::http::query_param;
use crate::http::see_other;
use crate::http::{AppError, AppResult};
use crate::http::{Carries, Route};
use crate::members::check_csrf;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::Form as PostForm;
use masthead_core::billing::offer_line;
use masthead_store::offers::Plan;
use serde::Deserialize;

pub fn routes() -> Vec<Route> {
    use Carries::NoText;
    vec![
        Route::new("/subscribe", get(page), NoText),
        Route::new("/subscribe/demo", post(demo), NoText),
        Route::new("/subscribe/checkout", post(checkout), NoText),
        Route::new("/subscribe/success", get(success), NoText),
    ]
}

/// The marker `serve --demo` leaves in a data directory it seeded.
const DEMO_MARKER: &str = "demo-publication";

pub fn mark_demo(data_dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(
        data_dir.join(DEMO_MARKER),
        "This data directory holds the demo publication: without a Stripe key,\n\
         readers may try the subscriber experience with a one-day demo grant.\n",
    )?;
    Ok(())
}

/// Only a demo data directory without a Stripe key hands out demo grants.
pub fn demo_grants_allowed(state: &AppState) -> bool {
    state.stripe().is_none() && state.config().data_dir.join(DEMO_MARKER).exists()
}

/// What a signed-in reader whose address is not proved yet is told, the
/// same for a new address and for one that already had an account.
const PENDING: &str = "First confirm your email address: follow the link in the email we sent you, then come back here to subscribe.";

/// How long a demo grant lasts.
pub const DEMO_GRANT_SECS: i64 = 86_400;

async fn page(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> AppResult {
    let plans = masthead_store::offers::list_active_plans(state.db()).await?;
    let prices: Vec<_> = plans.iter().map(|p| (p.price, p.interval)).collect();
    let mut page = FormPage::new("Subscribe");
    if !prices.is_empty() {
        page = page.lead(&offer_line(&prices));
    }
    if query_param(&uri, "canceled").is_some() {
        page = page.notice("Checkout was canceled; nothing was charged.");
    }
    let Some(_) = state.stripe() else {
        page = page.lead("Online payment is not switched on for this publication yet.");
        if demo_grants_allowed(&state) {
            page = match viewer.csrf().filter(|_| viewer.member().is_some()) {
                None if viewer.pending() => page.lead(PENDING),
                Some(csrf) => page
                    .lead("This is the demo publication: you can try the subscriber experience for a day, free. Nothing is charged; the access is labelled as a demo on your account page.")
                    .form(Form::new("/subscribe/demo", "Try the subscriber experience (demo, one day)").hidden("csrf", &csrf)),
                None => page
                    .lead("This is the demo publication: create a free account, then come back here to try the subscriber experience.")
                    .link("/signup?return_to=%2Fsubscribe", "Create a free account"),
            };
        }
        return Ok(page
            .link("/pages/about", "About this publication")
            .render(&state, StatusCode::OK));
    };
    let wanted = query_param(&uri, "plan");
    let from = article_from(query_param(&uri, "from").as_deref());
    let member = viewer.member();
    if viewer.pending() {
        return Ok(page.lead(PENDING).render(&state, StatusCode::OK));
    }
    if member.is_none() {
        let mut back = match &wanted {
            Some(p) => format!("/subscribe?plan={}", crate::http::urlencode(p)),
            None => "/subscribe".to_string(),
        };
        if let Some(a) = from {
            back.push(if back.contains('?') { '&' } else { '?' });
            back.push_str(&format!("from={a}"));
        }
        let back = crate::http::urlencode(&back);
        return Ok(page
            .lead("Create a free account (or log in), then continue to payment.")
            .link(
                &format!("/signup?return_to={back}"),
                "Create a free account",
            )
            .link(&format!("/login?return_to={back}"), "Log in")
            .render(&state, StatusCode::OK));
    }
    let csrf = viewer.csrf().unwrap_or_default();
    let trial = match member {
        Some(m) => masthead_store::billing::trial_available(state.db(), m.id).await?,
        None => false,
    };
    for p in plans
        .iter()
        .filter(|p| wanted.as_deref().is_none_or(|w| w == p.slug))
    {
        page = page.form(
            Form::new(
                "/subscribe/checkout",
                &format!(
                    "{}: {} a {}{} — continue to payment",
                    p.name,
                    p.price.display(),
                    p.interval.as_str(),
                    match p.trial_days {
                        Some(d) if trial => format!(", first {d} days free"),
                        _ => String::new(),
                    }
                ),
            )
            .hidden("csrf", &csrf)
            .hidden("plan", &p.slug)
            .hidden("from", &from.map(|a| a.to_string()).unwrap_or_default()),
        );
    }
    Ok(page.render(&state, StatusCode::OK))
}

#[derive(Debug, Deserialize, Default)]
pub struct CheckoutForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    plan: String,
    /// The article whose offer box led here (for the funnel).
    #[serde(default)]
    from: String,
}

/// An article id as carried in `from`: a positive number, else nothing.
fn article_from(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| s.parse::<i64>().ok()).filter(|a| *a > 0)
}

async fn ensure_customer(
    state: &AppState,
    stripe: &Stripe,
    member_id: i64,
    email: &str,
) -> anyhow::Result<String> {
    if let Some(c) = masthead_store::billing::find_customer(state.db(), member_id).await? {
        return Ok(c);
    }
    let v = stripe
        .post(
            "/v1/customers",
            &[
                ("email", email.to_string()),
                ("metadata[member_id]", member_id.to_string()),
            ],
            &format!("customer-{member_id}"),
        )
        .await?;
    let id = v["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("Stripe created a customer without an id"))?;
    let now = state.now();
    masthead_store::billing::insert_customer(state.db(), member_id, id, now).await?;
    // Two checkouts at once both asked Stripe (with the same idempotency
    // key, so the same customer); the stored one wins.
    Ok(
        masthead_store::billing::find_customer(state.db(), member_id)
            .await?
            .unwrap_or_else(|| id.to_string()),
    )
}

/// The plan's Stripe Price, created through the API the first time (by
/// `masthead plans add` or the first checkout) and stored with the plan.
pub async fn ensure_price(state: &AppState, stripe: &Stripe, p: &Plan) -> anyhow::Result<String> {
    if let Some(id) = masthead_store::offers::find_plan_price_id(state.db(), p.id).await? {
        return Ok(id);
    }
    let amount = p.price.stripe_unit_amount()?;
    let v = stripe
        .post(
            "/v1/prices",
            &[
                ("currency", p.price.currency().code().to_lowercase()),
                ("unit_amount", amount.to_string()),
                ("recurring[interval]", p.interval.as_str().to_string()),
                ("product_data[name]", p.name.clone()),
                ("metadata[plan]", p.slug.clone()),
            ],
            &format!("price-{}-{}", p.id, p.slug),
        )
        .await?;
    let id = v["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("Stripe created a price without an id"))?;
    masthead_store::offers::set_plan_price_id(state.db(), p.id, id).await?;
    Ok(masthead_store::offers::find_plan_price_id(state.db(), p.id)
        .await?
        .unwrap_or_else(|| id.to_string()))
}

async fn checkout(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CheckoutForm>,
) -> AppResult {
    let Some(stripe) = state.stripe() else {
        return Ok(see_other("/subscribe"));
    };
    if viewer.session.is_none() {
        return Ok(see_other("/login?return_to=%2Fsubscribe"));
    }
    check_csrf(&viewer, &f.csrf)?;
    let Some(member) = viewer.member().cloned() else {
        // A session without an account (a sign-up with a taken address):
        // log in first.
        return Ok(see_other("/login?return_to=%2Fsubscribe"));
    };
    let plans = masthead_store::offers::list_active_plans(state.db()).await?;
    let Some(plan) = plans.into_iter().find(|p| p.slug == f.plan) else {
        return Ok(FormPage::new("That plan is not available")
            .lead("Choose one of the current plans.")
            .link("/subscribe", "See the plans")
            .render(&state, StatusCode::UNPROCESSABLE_ENTITY));
    };
    if masthead_store::billing::has_live_subscription(state.db(), member.id).await? {
        return Ok(see_other("/account?done=already-subscribed"));
    }
    let stripe_failed =
        |e: anyhow::Error| AppError::Internal(e.context("starting Stripe Checkout"));
    let customer = ensure_customer(&state, &stripe, member.id, &member.email)
        .await
        .map_err(stripe_failed)?;
    let price = ensure_price(&state, &stripe, &plan)
        .await
        .map_err(stripe_failed)?;
    let base = &state.config().base_url;
    let from = article_from(Some(&f.from));
    let mut params = vec![
        ("mode", "subscription".to_string()),
        ("customer", customer),
        ("line_items[0][price]", price),
        ("line_items[0][quantity]", "1".to_string()),
        ("client_reference_id", member.id.to_string()),
        ("metadata[member_id]", member.id.to_string()),
        (
            "subscription_data[metadata][member_id]",
            member.id.to_string(),
        ),
        (
            "success_url",
            base.join("/subscribe/success?session_id={CHECKOUT_SESSION_ID}"),
        ),
        ("cancel_url", base.join("/subscribe?canceled=1")),
    ];
    if let Some(a) = from {
        params.push(("metadata[article_id]", a.to_string()));
        params.push(("subscription_data[metadata][article_id]", a.to_string()));
    }
    // One trial per member: Stripe holds the first charge until it ends.
    if let Some(days) = plan.trial_days.filter(|d| *d > 0) {
        if masthead_store::billing::trial_available(state.db(), member.id).await? {
            params.push(("subscription_data[trial_period_days]", days.to_string()));
        }
    }
    // One checkout per member, plan and minute: a double click reuses it.
    let minute = state.now() / 60;
    let session = stripe
        .post(
            "/v1/checkout/sessions",
            &params,
            &format!("checkout-{}-{}-{minute}", member.id, plan.id),
        )
        .await
        .map_err(stripe_failed)?;
    if let Some(id) = session["id"].as_str() {
        let now = state.now();
        let article = from.unwrap_or(0);
        state
            .funnel()
            .record_once(id.to_string(), article, Step::CheckoutStarted, now);
    }
    let url = session["url"]
        .as_str()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a Checkout Session without a url")))?;
    Ok(see_other(url))
}

async fn success(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> AppResult {
    let Some(stripe) = state.stripe() else {
        return Ok(see_other("/subscribe"));
    };
    let Some(member) = viewer.member() else {
        return Ok(see_other("/login?return_to=%2Faccount"));
    };
    let id = query_param(&uri, "session_id").unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(AppError::BadRequest(
            "this address is missing its checkout session".into(),
        ));
    }
    let session = stripe
        .get(&format!("/v1/checkout/sessions/{id}"))
        .await
        .map_err(|e| AppError::Internal(e.context("reading the Checkout Session")))?;
    if session["client_reference_id"].as_str() != Some(&member.id.to_string()) {
        return Err(AppError::Forbidden(
            "this checkout belongs to another account".into(),
        ));
    }
    let now = state.now();
    if let Some(sub) = session["subscription"].as_str() {
        super::reconcile(&state, &stripe, sub, None, now)
            .await
            .map_err(|e| AppError::Internal(e.context("recording the subscription")))?;
    }
    // Back to the article whose offer box led here, now open in full.
    let from = article_from(session["metadata"]["article_id"].as_str());
    if let Some(a) = from {
        if let Some(article) = masthead_store::content::find_article_by_id(state.db(), a).await? {
            let visible = article.status == masthead_core::ArticleStatus::Published
                && article.published_at.is_some_and(|p| p.as_second() <= now);
            if visible {
                return Ok(see_other(&format!("/{}", article.slug)));
            }
        }
    }
    Ok(see_other("/account?done=subscribed"))
}

/// A one-day `demo` grant, only in a demo data directory without Stripe.
async fn demo(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    if !demo_grants_allowed(&state) {
        return Err(AppError::NotFound);
    }
    if viewer.session.is_none() {
        return Ok(see_other("/login?return_to=%2Fsubscribe"));
    }
    check_csrf(&viewer, &f.csrf)?;
    let Some(member) = viewer.member() else {
        return Ok(see_other("/login?return_to=%2Fsubscribe"));
    };
    let now = state.now();
    masthead_store::members::insert_grant(
        state.db(),
        member.id,
        "demo",
        now,
        Some(now + DEMO_GRANT_SECS),
        "demo publication: try the subscriber experience",
        now,
    )
    .await?;
    Ok(see_other("/account?done=subscribed"))
}
