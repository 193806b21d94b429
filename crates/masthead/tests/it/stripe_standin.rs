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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const KEY: &str = "sk_test_standin";
pub const WEBHOOK_SECRET: &str = "whsec_standin";

/// Form fields as received, in order.
pub type Form = Vec<(String, String)>;

/// A POST the stand-in received: (what was created, the form fields).
pub type Post = (String, Vec<(String, String)>);

#[derive(Default)]
pub struct Inner {
    pub subscriptions: Mutex<HashMap<String, Value>>,
    pub customers: Mutex<HashMap<String, Value>>,
    pub prices: Mutex<HashMap<String, Value>>,
    pub sessions: Mutex<HashMap<String, Value>>,
    /// Idempotency-Key → (the request's parameters, the response first
    /// given for it).
    pub idempotent: Mutex<HashMap<String, (Form, Value)>>,
    /// Every POST seen: (path, form fields).
    pub posts: Mutex<Vec<Post>>,
    /// Answer every request with a 500, as Stripe does in an incident.
    pub failing: AtomicBool,
    /// Answer every request only after 3 seconds (a client timing out).
    pub stalling: AtomicBool,
    /// The `Stripe-Version` of every request seen.
    pub versions: Mutex<Vec<String>>,
    /// What each open Checkout Session will create when paid.
    pub pending: Mutex<HashMap<String, Pending>>,
    /// Where to deliver signed webhook events, when set.
    pub webhook_url: Mutex<Option<String>>,
    /// Answer this many of the next list requests with 429, as Stripe
    /// does past its rate limit.
    pub throttle: AtomicUsize,
    /// List requests seen (429s included), with their query.
    pub lists: Mutex<Vec<String>>,
}

/// The subscription a Checkout Session creates once paid.
#[derive(Debug, Clone)]
pub struct Pending {
    pub price: String,
    pub trial_days: Option<i64>,
    pub metadata: Value,
}

const DAY: i64 = 86_400;

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

/// Waits out a stall, when the tests asked for one.
async fn stall(s: &Inner) {
    if s.stalling.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
}

async fn subscription(
    State((s, _)): State<(Arc<Inner>, String)>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    stall(&s).await;
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

/// GET /v1/subscriptions: the account's subscriptions in Stripe's list
/// shape, by id, `limit` (at most 100) at a time after `starting_after`;
/// `status` other than `all` filters (Stripe's default leaves out
/// canceled ones).
async fn list_subscriptions(
    State((s, _)): State<(Arc<Inner>, String)>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if let Some(r) = authorized(&s, &headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    s.lists.lock().unwrap().push(query.clone());
    if s.throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(
                json!({"error": {"type": "invalid_request_error", "code": "rate_limit",
                "message": "Request rate limit exceeded."}}),
            ),
        )
            .into_response();
    }
    let params: HashMap<String, String> = url_pairs(&query);
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let status = params.get("status").map_or("", String::as_str);
    let mut all: Vec<Value> = s.subscriptions.lock().unwrap().values().cloned().collect();
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let after = params.get("starting_after");
    let listed: Vec<Value> = all
        .into_iter()
        .filter(|v| match status {
            "all" => true,
            "" => v["status"] != "canceled",
            st => v["status"] == st,
        })
        .filter(|v| after.is_none_or(|a| v["id"].as_str().unwrap_or("") > a.as_str()))
        .collect();
    let has_more = listed.len() > limit;
    let data: Vec<Value> = listed.into_iter().take(limit).collect();
    Json(json!({"object": "list", "url": "/v1/subscriptions", "has_more": has_more, "data": data}))
        .into_response()
}

/// `a=1&b=two` → pairs (percent-decoded).
fn url_pairs(query: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .collect()
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
    stall(&s).await;
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
        if let Some((first, v)) = s.idempotent.lock().unwrap().get(k) {
            // Stripe: a key replays its first answer, and only for the
            // same parameters.
            if *first != form {
                return error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
            }
            return Json(v.clone()).into_response();
        }
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    // `metadata[key]=value` fields under a prefix, as Stripe's object.
    let metadata = |prefix: &str| -> Value {
        form.iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix(prefix)?.strip_suffix(']')?;
                Some((key.to_string(), json!(v)))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let n = s.posts.lock().unwrap().len();
    let v = match kind.as_str() {
        "customers" => {
            let id = format!("cus_standin{n}");
            let v = json!({"id": id, "object": "customer", "email": field("email"),
                "metadata": metadata("metadata[")});
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
                "metadata": metadata("metadata["),
                "success_url": field("success_url"), "cancel_url": field("cancel_url"),
                "subscription": null, "url": format!("{base}/pay/{id}")});
            // What the subscription will be once paid.
            s.pending.lock().unwrap().insert(
                id.clone(),
                Pending {
                    price: field("line_items[0][price]").unwrap_or_default(),
                    trial_days: field("subscription_data[trial_period_days]")
                        .and_then(|d| d.parse().ok()),
                    metadata: metadata("subscription_data[metadata]["),
                },
            );
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
        s.idempotent.lock().unwrap().insert(k, (form, v.clone()));
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

/// Pays an open session: the subscription it creates, in Stripe's shape.
fn complete(s: &Inner, session_id: &str) -> Option<String> {
    let pending = s.pending.lock().unwrap().remove(session_id)?;
    let mut sessions = s.sessions.lock().unwrap();
    let session = sessions.get_mut(session_id)?;
    let sub = format!("sub_for_{session_id}");
    session["status"] = json!("complete");
    session["subscription"] = json!(sub);
    let customer = session["customer"].as_str().unwrap_or_default().to_string();
    drop(sessions);
    let now = jiff::Timestamp::now().as_second();
    let price = s
        .prices
        .lock()
        .unwrap()
        .get(&pending.price)
        .cloned()
        .unwrap_or(json!({"id": pending.price}));
    let (status, end) = match pending.trial_days {
        Some(d) => ("trialing", now + d * DAY),
        None if price["recurring"]["interval"] == "year" => ("active", now + 365 * DAY),
        None => ("active", now + 31 * DAY),
    };
    let v = json!({
        "id": sub,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": false,
        "trial_end": pending.trial_days.map(|_| end),
        "metadata": pending.metadata,
        "items": {"object": "list", "data": [
            {"id": format!("si_{sub}"), "object": "subscription_item",
             "current_period_start": now, "current_period_end": end, "price": price}
        ]}
    });
    s.subscriptions.lock().unwrap().insert(sub.clone(), v);
    Some(sub)
}

/// GET /pay/{id}: the stand-in's hosted payment page.
async fn pay_page(State((s, _)): Shared, Path(id): Path<String>) -> Response {
    let Some(p) = s.pending.lock().unwrap().get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            "This checkout is over or does not exist.",
        )
            .into_response();
    };
    let price = s
        .prices
        .lock()
        .unwrap()
        .get(&p.price)
        .cloned()
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe stand-in checkout</title></head>\
         <body><main><h1>Stripe stand-in: pay</h1><p>{} {} a {}{}</p>\
         <form method=\"post\" action=\"/pay/{id}\"><button type=\"submit\">Pay and subscribe</button></form>\
         </main></body></html>",
        price["unit_amount"], price["currency"].as_str().unwrap_or(""),
        price["recurring"]["interval"].as_str().unwrap_or(""),
        p.trial_days.map(|d| format!(", {d} days free")).unwrap_or_default(),
    );
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

/// POST /pay/{id}: the reader paid. Creates the subscription, sends the
/// signed `checkout.session.completed` event when a webhook endpoint is
/// set, and sends the reader back to the session's success URL.
async fn pay(State((s, _)): Shared, Path(id): Path<String>) -> Response {
    let Some(sub) = complete(&s, &id) else {
        return (
            StatusCode::NOT_FOUND,
            "This checkout is over or does not exist.",
        )
            .into_response();
    };
    let session = s
        .sessions
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let hook = s.webhook_url.lock().unwrap().clone();
    if let Some(url) = hook {
        let body = event(
            &format!("evt_{sub}"),
            "checkout.session.completed",
            session.clone(),
        );
        let now = jiff::Timestamp::now().as_second();
        let signature = masthead::billing::signature::sign(body.as_bytes(), WEBHOOK_SECRET, now);
        tokio::spawn(async move {
            let _ = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("stripe-signature", signature)
                .body(body)
                .send()
                .await;
        });
    }
    let to = session["success_url"]
        .as_str()
        .unwrap_or("/")
        .replace("{CHECKOUT_SESSION_ID}", &id);
    (StatusCode::SEE_OTHER, [("location", to)]).into_response()
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
            .route("/v1/subscriptions", get(list_subscriptions))
            .route(
                "/v1/subscriptions/{id}",
                get(subscription)
                    .post(update_subscription)
                    .delete(cancel_subscription),
            )
            .route("/pay/{id}", get(pay_page).post(pay))
            .with_state((state.clone(), base.clone()));
        let app = posts;
        tokio::spawn(async move { axum::serve(listener, app).await });
        StripeStandIn { base, state }
    }

    /// What the reader does on Stripe's payment page: pays, which
    /// completes the session and creates its subscription (trialing when
    /// the session asked for a trial). Returns the subscription id.
    pub fn complete_checkout(&self, session_id: &str) -> String {
        complete(&self.state, session_id).expect("no such open session")
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

impl StripeStandIn {
    /// Stores a subscription made on another platform: no member id in
    /// its metadata, only its customer, with the Price it bills.
    pub fn put_foreign_subscription(
        &self,
        id: &str,
        customer: &str,
        status: &str,
        period_end: i64,
        price: Value,
    ) {
        let v = json!({
            "id": id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": false,
            "metadata": {},
            "items": {"object": "list", "data": [
                {"id": format!("si_{id}"), "object": "subscription_item",
                 "current_period_end": period_end, "price": price}
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
