//! A STAND-IN for Stripe's HTTP API (Stripe cannot be reached from here).
//! It speaks the real wire format for the endpoints billing uses at the
//! pinned version: bearer-key authentication, `Stripe-Version`,
//! subscription objects with Stripe's field names (the period end on the
//! items since 2025-03-31), errors in Stripe's `{"error": {...}}` shape.
//! Tests put objects in it and can make it fail.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const KEY: &str = "sk_test_standin";
pub const WEBHOOK_SECRET: &str = "whsec_standin";

#[derive(Default)]
pub struct Inner {
    pub subscriptions: Mutex<HashMap<String, Value>>,
    /// Answer every request with a 500, as Stripe does in an incident.
    pub failing: AtomicBool,
    /// The `Stripe-Version` of every request seen.
    pub versions: Mutex<Vec<String>>,
}

pub struct StripeStandIn {
    pub base: String,
    pub state: Arc<Inner>,
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

async fn subscription(
    State(s): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {KEY}") {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    let version = headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    s.versions.lock().unwrap().push(version);
    if s.failing.load(Ordering::SeqCst) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred",
        );
    }
    match s.subscriptions.lock().unwrap().get(&id) {
        Some(v) => Json(v.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such subscription: '{id}'"),
        ),
    }
}

impl StripeStandIn {
    pub async fn start() -> StripeStandIn {
        let state = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/subscriptions/{id}", get(subscription))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        StripeStandIn { base, state }
    }

    /// Stores a subscription object in Stripe's shape.
    pub fn put_subscription(
        &self,
        id: &str,
        member: i64,
        status: &str,
        period_end: i64,
        cancel: bool,
    ) {
        let v = json!({
            "id": id,
            "object": "subscription",
            "customer": format!("cus_{member}"),
            "status": status,
            "cancel_at_period_end": cancel,
            "metadata": {"member_id": member.to_string()},
            "items": {"object": "list", "data": [
                {"id": format!("si_{id}"), "object": "subscription_item", "current_period_end": period_end}
            ]}
        });
        self.state
            .subscriptions
            .lock()
            .unwrap()
            .insert(id.to_string(), v);
    }
}

/// A webhook event in Stripe's envelope.
pub fn event(id: &str, kind: &str, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": masthead::billing::stripe::STRIPE_VERSION,
        "created": jiff::Timestamp::now().as_second(),
        "type": kind,
        "data": {"object": object}
    })
    .to_string()
}
