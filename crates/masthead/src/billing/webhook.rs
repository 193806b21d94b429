//! `POST /webhooks/stripe`. Each event is a notice: the signature is
//! checked on the raw body, the subscription it concerns is fetched from
//! Stripe, and that snapshot is stored (never over a newer one) with the
//! grant it gives, in the same transaction that marks the event processed.
//! A failure answers 500 so Stripe retries; a replay answers 200 and
//! changes nothing; other event types answer 200 and are ignored.

use super::signature;
use crate::app::AppState;
use crate::http::{Carries, Route};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

pub const PATH: &str = "/webhooks/stripe";
/// Stripe's events are small; anything bigger is refused unread.
pub const MAX_BODY: usize = 256 * 1024;

pub fn routes() -> Vec<Route> {
    vec![Route::new(
        PATH,
        post(receive).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)),
        Carries::NoText,
    )
    .machine()]
}

const HANDLED: &[&str] = &[
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.paid",
    "invoice.payment_failed",
];

/// The subscription an event is about, wherever this event type keeps it.
fn subscription_of(kind: &str, object: &Value) -> Option<String> {
    let s = match kind {
        k if k.starts_with("customer.subscription.") => object["id"].as_str(),
        "checkout.session.completed" => object["subscription"].as_str(),
        // Invoices: `subscription` before API 2025-03-31, the parent's
        // subscription details since.
        _ => object["subscription"]
            .as_str()
            .or_else(|| object["parent"]["subscription_details"]["subscription"].as_str()),
    }?;
    Some(s.to_string())
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let live = state.live();
    let secrets: Vec<&str> = live
        .stripe_config
        .webhook_secrets
        .iter()
        .map(|s| s.expose())
        .collect();
    let Some(stripe) = state.stripe() else {
        return answer(StatusCode::NOT_FOUND, "Stripe is not configured\n");
    };
    if secrets.is_empty() {
        tracing::error!("a Stripe webhook arrived but no webhook secret is configured");
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no webhook secret configured\n",
        );
    }
    let now = state.now();
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(header, &body, &secrets, now, signature::TOLERANCE_SECS) {
        tracing::warn!(error = %e, "refused a Stripe webhook");
        return answer(StatusCode::BAD_REQUEST, "bad signature\n");
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "the body is not JSON\n");
    };
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return answer(StatusCode::BAD_REQUEST, "an event needs an id and a type\n");
    };
    if !HANDLED.contains(&kind) {
        return answer(StatusCode::OK, "ignored\n");
    }
    let Some(sub_id) = subscription_of(kind, &event["data"]["object"]) else {
        // A one-off payment or an invoice without a subscription.
        return answer(StatusCode::OK, "no subscription\n");
    };
    let notice = super::Notice {
        id,
        kind,
        payload: std::str::from_utf8(&body).unwrap_or_default(),
    };
    match super::reconcile(&state, &stripe, &sub_id, Some(notice), now).await {
        Ok(true) => answer(StatusCode::OK, "processed\n"),
        Ok(false) => answer(StatusCode::OK, "already processed\n"),
        Err(e) => {
            tracing::error!(event = id, kind, error = %format!("{e:#}"), "Stripe webhook failed; Stripe will retry");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "failed; retry\n")
        }
    }
}
