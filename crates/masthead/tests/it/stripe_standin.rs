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

/// A POST the stand-in received: (what was created, the form fields).
pub type Post = (String, Vec<(String, String)>);

#[derive(Default)]
pub struct Inner {
    pub subscriptions: Mutex<HashMap<String, Value>>,
    pub customers: Mutex<HashMap<String, Value>>,
    pub prices: Mutex<HashMap<String, Value>>,
    pub sessions: Mutex<HashMap<String, Value>>,
    /// Idempotency-Key → the response first given for it.
    pub idempotent: Mutex<HashMap<String, Value>>,
    /// Every POST seen: (path, form fields).
    pub posts: Mutex<Vec<Post>>,
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
    State((s, _)): State<(Arc<Inner>, String)>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = authorized(&s, &headers) {
        return r;
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

fn authorized(s: &Inner, headers: &HeaderMap) -> Option<Response> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {KEY}") {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        ));
    }
    let version = headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    s.versions.lock().unwrap().push(version);
    if s.failing.load(Ordering::SeqCst) {
        return Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred",
        ));
    }
    None
}

/// POST /v1/{kind}: form-encoded in, the object out; an Idempotency-Key
/// seen before returns the first response.
type Shared = State<(Arc<Inner>, String)>;

async fn customers(st: Shared, h: HeaderMap, b: String) -> Response {
    create(st, "customers", h, b).await
}
async fn prices(st: Shared, h: HeaderMap, b: String) -> Response {
    create(st, "prices", h, b).await
}
async fn sessions(st: Shared, h: HeaderMap, b: String) -> Response {
    create(st, "checkout/sessions", h, b).await
}
async fn portal(st: Shared, h: HeaderMap, b: String) -> Response {
    create(st, "billing_portal/sessions", h, b).await
}

/// POST /v1/subscriptions/{id}: updates `cancel_at_period_end`.
async fn update_subscription(
    State((s, _)): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    if let Some(r) = authorized(&s, &headers) {
        return r;
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    s.posts
        .lock()
        .unwrap()
        .push((format!("subscriptions/{id}"), form.clone()));
    let mut subs = s.subscriptions.lock().unwrap();
    let Some(sub) = subs.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such subscription: '{id}'"),
        );
    };
    if let Some((_, v)) = form.iter().find(|(k, _)| k == "cancel_at_period_end") {
        sub["cancel_at_period_end"] = json!(v == "true");
    }
    Json(sub.clone()).into_response()
}

/// DELETE /v1/subscriptions/{id}: cancels at once.
async fn cancel_subscription(
    State((s, _)): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = authorized(&s, &headers) {
        return r;
    }
    s.posts
        .lock()
        .unwrap()
        .push((format!("delete subscriptions/{id}"), vec![]));
    let mut subs = s.subscriptions.lock().unwrap();
    let Some(sub) = subs.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such subscription: '{id}'"),
        );
    };
    sub["status"] = json!("canceled");
    Json(sub.clone()).into_response()
}

async fn create(
    State((s, base)): Shared,
    kind: &str,
    headers: HeaderMap,
    body: String,
) -> Response {
    let kind = kind.to_string();
    if let Some(r) = authorized(&s, &headers) {
        return r;
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    s.posts.lock().unwrap().push((kind.clone(), form.clone()));
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    if let Some(k) = &key {
        if let Some(v) = s.idempotent.lock().unwrap().get(k) {
            return Json(v.clone()).into_response();
        }
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let n = s.posts.lock().unwrap().len();
    let v = match kind.as_str() {
        "customers" => {
            let id = format!("cus_standin{n}");
            let v = json!({"id": id, "object": "customer", "email": field("email"),
                "metadata": {"member_id": field("metadata[member_id]")}});
            s.customers.lock().unwrap().insert(id, v.clone());
            v
        }
        "prices" => {
            let id = format!("price_standin{n}");
            let v = json!({"id": id, "object": "price", "currency": field("currency"),
                "unit_amount": field("unit_amount").and_then(|a| a.parse::<i64>().ok()),
                "recurring": {"interval": field("recurring[interval]")}});
            s.prices.lock().unwrap().insert(id, v.clone());
            v
        }
        "billing_portal/sessions" => {
            json!({"id": format!("bps_standin{n}"), "object": "billing_portal.session",
                "customer": field("customer"), "return_url": field("return_url"),
                "url": format!("{base}/portal/bps_standin{n}")})
        }
        "checkout/sessions" => {
            if field("mode").as_deref() != Some("subscription")
                || field("line_items[0][price]").is_none()
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Missing required param: line_items.",
                );
            }
            let id = format!("cs_test_standin{n}");
            let v = json!({"id": id, "object": "checkout.session", "mode": "subscription",
                "status": "open", "customer": field("customer"),
                "client_reference_id": field("client_reference_id"),
                "metadata": {"member_id": field("metadata[member_id]")},
                "line_items_price": field("line_items[0][price]"),
                "success_url": field("success_url"), "cancel_url": field("cancel_url"),
                "subscription": null, "url": format!("{base}/pay/{id}")});
            s.sessions.lock().unwrap().insert(id, v.clone());
            v
        }
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "Unrecognized request URL",
            )
        }
    };
    if let Some(k) = key {
        s.idempotent.lock().unwrap().insert(k, v.clone());
    }
    Json(v).into_response()
}

async fn checkout_session(
    State((s, _)): State<(Arc<Inner>, String)>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = authorized(&s, &headers) {
        return r;
    }
    match s.sessions.lock().unwrap().get(&id) {
        Some(v) => Json(v.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such checkout.session: '{id}'"),
        ),
    }
}

/// The app under test, talking to `standin` as its Stripe.
pub async fn spawn_app(
    backend: crate::harness::Backend,
    standin: &StripeStandIn,
    secrets: &[&str],
) -> crate::harness::TestApp {
    let base = standin.base.clone();
    let secrets: Vec<masthead::config::Secret> = secrets
        .iter()
        .map(|s| masthead::config::Secret::new(*s))
        .collect();
    crate::harness::TestApp::spawn_with(backend, crate::harness::Fixture::Demo, move |c| {
        c.stripe.secret_key = Some(masthead::config::Secret::new(KEY));
        c.stripe.webhook_secrets = secrets;
        c.stripe.api_base = base;
    })
    .await
}

impl StripeStandIn {
    pub async fn start() -> StripeStandIn {
        let state = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let posts = Router::new()
            .route("/v1/customers", axum::routing::post(customers))
            .route("/v1/prices", axum::routing::post(prices))
            .route("/v1/checkout/sessions", axum::routing::post(sessions))
            .route("/v1/checkout/sessions/{id}", get(checkout_session))
            .route("/v1/billing_portal/sessions", axum::routing::post(portal))
            .route(
                "/v1/subscriptions/{id}",
                get(subscription)
                    .post(update_subscription)
                    .delete(cancel_subscription),
            )
            .with_state((state.clone(), base.clone()));
        let app = posts;
        tokio::spawn(async move { axum::serve(listener, app).await });
        StripeStandIn { base, state }
    }

    /// What the reader does on Stripe's payment page: completes the
    /// session, which creates an active subscription for its member.
    pub fn complete_checkout(&self, session_id: &str, period_end: i64) -> String {
        let mut sessions = self.state.sessions.lock().unwrap();
        let session = sessions.get_mut(session_id).expect("no such session");
        let member: i64 = session["client_reference_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let sub = format!("sub_for_{session_id}");
        session["status"] = json!("complete");
        session["subscription"] = json!(sub);
        drop(sessions);
        self.put_subscription(&sub, member, "active", period_end, false);
        sub
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
