//! Subscription snapshots turn into grants, whatever order they arrive in.

use crate::both;
use crate::harness::{member_session, Browser, Fixture, TestApp};
use masthead_core::billing::subscription::{Status, DEFAULT_GRACE_SECS};
use masthead_store::billing::{self, FetchedSubscription};

const DAY: i64 = 86_400;
const GATED: &str = "/bus-redesign-winners-and-losers";

fn fetched(
    member: i64,
    status: Status,
    end: i64,
    cancel: bool,
    at: i64,
) -> FetchedSubscription<'static> {
    FetchedSubscription {
        id: "sub_1",
        customer_id: "cus_1",
        member_id: Some(member),
        plan_id: None,
        status,
        current_period_end: end,
        cancel_at_period_end: cancel,
        fetched_at_ms: at * 1000,
        raw: "{\"object\":\"subscription\"}",
    }
}

async fn apply(app: &TestApp, s: &FetchedSubscription<'_>, now: i64) -> bool {
    let db = app.state.db();
    let mut tx = db.begin().await.unwrap();
    let applied = billing::record_subscription(db, &mut tx, s, DEFAULT_GRACE_SECS, now)
        .await
        .unwrap()
        .applied;
    masthead_store::commit(tx).await.unwrap();
    applied
}

/// The app under test, talking to `standin` as its Stripe.
async fn spawn_app(
    backend: crate::harness::Backend,
    standin: &crate::stripe_standin::StripeStandIn,
    secrets: &[&str],
) -> crate::harness::TestApp {
    spawn_app_with(
        backend,
        standin,
        secrets,
        masthead::config::STRIPE_TIMEOUT_SECS,
    )
    .await
}

async fn spawn_app_with(
    backend: crate::harness::Backend,
    standin: &crate::stripe_standin::StripeStandIn,
    secrets: &[&str],
    timeout_secs: u64,
) -> crate::harness::TestApp {
    let secrets: Vec<masthead::config::Secret> = secrets
        .iter()
        .map(|s| masthead::config::Secret::new(*s))
        .collect();
    crate::harness::TestApp::builder(backend)
        .stripe(standin)
        .config(move |c| {
            c.stripe.webhook_secrets = secrets;
            c.stripe.timeout_secs = timeout_secs;
        })
        .spawn()
        .await
}

fn ev(id: &str) -> billing::Event<'_> {
    billing::Event {
        id,
        kind: "invoice.paid",
        payload: None,
        customer_id: None,
    }
}

async fn stripe_grant(app: &TestApp, member: i64) -> Option<i64> {
    let grants = masthead_store::members::list_grants(app.state.db(), member)
        .await
        .unwrap();
    let stripe: Vec<_> = grants.iter().filter(|g| g.source == "stripe").collect();
    assert!(stripe.len() <= 1, "one grant per subscription: {grants:?}");
    stripe.first().and_then(|g| g.valid_until)
}

both!(
    snapshots_become_the_stripe_grant_and_never_go_back_in_time,
    Fixture::Demo
);
async fn snapshots_become_the_stripe_grant_and_never_go_back_in_time(app: TestApp) {
    let (cookie, m) = member_session(&app, "payer@example.org", false).await;
    let mut b = Browser::with_cookie(&app, &cookie);
    let now = jiff::Timestamp::now().as_second();
    assert!(b.page(GATED).await.contains("class=\"offer\""));
    assert!(
        apply(
            &app,
            &fetched(m, Status::Active, now + 30 * DAY, false, now - 100),
            now
        )
        .await
    );
    assert_eq!(stripe_grant(&app, m).await, Some(now + 31 * DAY));
    assert!(
        !b.page(GATED).await.contains("class=\"offer\""),
        "the subscriber reads"
    );
    // A cancellation fetched later wins; an older active snapshot arriving
    // afterwards changes nothing.
    assert!(
        apply(
            &app,
            &fetched(m, Status::Canceled, now + 30 * DAY, false, now - 50),
            now
        )
        .await
    );
    assert!(
        !apply(
            &app,
            &fetched(m, Status::Active, now + 30 * DAY, false, now - 80),
            now
        )
        .await
    );
    assert_eq!(stripe_grant(&app, m).await, None);
    assert!(b.page(GATED).await.contains("class=\"offer\""));
}

both!(
    past_due_keeps_access_for_the_grace_period_from_its_first_sighting,
    Fixture::Demo
);
async fn past_due_keeps_access_for_the_grace_period_from_its_first_sighting(app: TestApp) {
    let (_, m) = member_session(&app, "late@example.org", false).await;
    let now = jiff::Timestamp::now().as_second();
    apply(
        &app,
        &fetched(m, Status::PastDue, now, false, now - 3 * DAY),
        now,
    )
    .await;
    apply(
        &app,
        &fetched(m, Status::PastDue, now, false, now - DAY),
        now,
    )
    .await;
    assert_eq!(
        stripe_grant(&app, m).await,
        Some(now - 3 * DAY + DEFAULT_GRACE_SECS)
    );
    apply(
        &app,
        &fetched(m, Status::Active, now + 30 * DAY, false, now - 10),
        now,
    )
    .await;
    assert_eq!(stripe_grant(&app, m).await, Some(now + 31 * DAY));
}

both!(any_arrival_order_ends_in_the_in_order_grant, Fixture::Demo);
async fn any_arrival_order_ends_in_the_in_order_grant(app: TestApp) {
    let now = jiff::Timestamp::now().as_second();
    // A realistic life: subscribe, renew, payment fails, recovers, cancel at
    // period end, expire. Each snapshot carries the time it was fetched.
    let life = [
        (Status::Incomplete, now + 30 * DAY, false),
        (Status::Active, now + 30 * DAY, false),
        (Status::PastDue, now + 30 * DAY, false),
        (Status::Active, now + 60 * DAY, false),
        (Status::Active, now + 60 * DAY, true),
        (Status::Canceled, now + 60 * DAY, true),
        (Status::Active, now + 90 * DAY, false),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..6 {
        let (_, m) = member_session(&app, &format!("order{round}@example.org"), false).await;
        let sub = format!("sub_order_{round}");
        let snaps: Vec<FetchedSubscription> = life
            .iter()
            .enumerate()
            .map(|(i, (st, end, cancel))| FetchedSubscription {
                id: &sub,
                ..fetched(m, *st, *end, *cancel, now - 1000 + i as i64 * 10)
            })
            .collect();
        // Shuffle (xorshift), and deliver some twice.
        let mut order: Vec<usize> = (0..snaps.len()).collect();
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let dupes: Vec<usize> = order.iter().copied().filter(|i| i % 3 == 0).collect();
        order.extend(dupes);
        for i in &order {
            apply(&app, &snaps[*i], now).await;
        }
        let last = snaps.last().unwrap();
        let (_, stored) = billing::find_snapshot(app.state.db(), &sub)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, last.status, "round {round}: {order:?}");
        assert_eq!(stored.fetched_at_ms, last.fetched_at_ms);
        let grants = masthead_store::members::list_grants(app.state.db(), m)
            .await
            .unwrap();
        assert_eq!(grants.iter().filter(|g| g.source == "stripe").count(), 1);
        assert_eq!(grants[0].valid_until, Some(now + 91 * DAY), "round {round}");
    }
}

both!(an_event_is_processed_once, Fixture::Demo);
async fn an_event_is_processed_once(app: TestApp) {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    for expected in [true, false, false] {
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            billing::insert_event(&mut tx, &ev("evt_1"), now)
                .await
                .unwrap(),
            expected
        );
        masthead_store::commit(tx).await.unwrap();
    }
    // An event whose work fails is rolled back with it, so the retry runs.
    let mut tx = db.begin().await.unwrap();
    assert!(billing::insert_event(&mut tx, &ev("evt_2"), now)
        .await
        .unwrap());
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    assert!(billing::insert_event(&mut tx, &ev("evt_2"), now)
        .await
        .unwrap());
    masthead_store::commit(tx).await.unwrap();
}

both!(
    deleting_a_member_keeps_the_books_but_not_the_person,
    Fixture::Demo
);
async fn deleting_a_member_keeps_the_books_but_not_the_person(app: TestApp) {
    let (_, m) = member_session(&app, "gone@example.org", false).await;
    let now = jiff::Timestamp::now().as_second();
    apply(
        &app,
        &fetched(m, Status::Active, now + 30 * DAY, false, now - 5),
        now,
    )
    .await;
    masthead_store::members::delete_member(app.state.db(), m, None, 0)
        .await
        .unwrap();
    let (member, snap) = billing::find_snapshot(app.state.db(), "sub_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member, None);
    assert_eq!(snap.status, Status::Active);
    let raw: String = sqlx::query_scalar("SELECT snapshot FROM subscriptions WHERE id = 'sub_1'")
        .fetch_one(app.state.db().reader())
        .await
        .unwrap();
    assert_eq!(raw, "{}");
}

mod webhooks {
    use super::spawn_app;
    use super::*;
    use crate::stripe_standin::{event, StripeStandIn, WEBHOOK_SECRET};
    use masthead::billing::signature::sign;
    use serde_json::json;

    pub(super) async fn deliver(
        app: &TestApp,
        body: &str,
        signature: Option<String>,
    ) -> (u16, String) {
        let mut req = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("content-type", "application/json")
            // Stripe is another site: the route must not need Origin.
            .header("sec-fetch-site", "cross-site")
            .body(body.to_string());
        if let Some(s) = signature {
            req = req.header("stripe-signature", s);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap_or_default())
    }

    pub(super) fn signed(body: &str) -> Option<String> {
        Some(sign(
            body.as_bytes(),
            WEBHOOK_SECRET,
            jiff::Timestamp::now().as_second(),
        ))
    }

    both!(signed_events_become_grants);
    async fn signed_events_become_grants(backend: crate::harness::Backend) {
        let standin = StripeStandIn::start().await;
        let app = spawn_app(backend, &standin, &["whsec_old", WEBHOOK_SECRET]).await;
        let (cookie, m) = member_session(&app, "stripe@example.org", false).await;
        let mut b = Browser::with_cookie(&app, &cookie);
        let now = jiff::Timestamp::now().as_second();
        standin.put_subscription("sub_A", m, "active", now + 30 * DAY, false);

        let created = event(
            "evt_1",
            "customer.subscription.created",
            json!({"id": "sub_A", "object": "subscription"}),
        );
        assert_eq!(
            deliver(&app, &created, signed(&created)).await,
            (200, "processed\n".into())
        );
        assert_eq!(stripe_grant(&app, m).await, Some(now + 31 * DAY));
        assert!(
            !b.page(GATED).await.contains("class=\"offer\""),
            "the subscriber reads at once"
        );
        assert!(standin
            .state
            .versions
            .lock()
            .unwrap()
            .iter()
            .all(|v| v == masthead::billing::stripe::STRIPE_VERSION));

        // A replay changes nothing; forged, unsigned, stale, oversized: refused.
        assert_eq!(
            deliver(&app, &created, signed(&created)).await,
            (200, "already processed\n".into())
        );
        assert_eq!(deliver(&app, &created, None).await.0, 400);
        assert_eq!(
            deliver(
                &app,
                &created,
                Some(sign(created.as_bytes(), "whsec_forged", now))
            )
            .await
            .0,
            400
        );
        assert_eq!(
            deliver(
                &app,
                &created,
                Some(sign(created.as_bytes(), WEBHOOK_SECRET, now - 3600))
            )
            .await
            .0,
            400
        );
        let tampered = created.replace("sub_A", "sub_B");
        assert_eq!(deliver(&app, &tampered, signed(&created)).await.0, 400);
        // Cut short in transit: the signature no longer matches; signed
        // as cut, it is not an event.
        let cut = &created[..created.len() / 2];
        assert_eq!(deliver(&app, cut, signed(&created)).await.0, 400);
        assert_eq!(
            deliver(&app, cut, signed(cut)).await,
            (400, "the body is not JSON\n".into())
        );
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(400_000));
        assert_eq!(deliver(&app, &huge, signed(&huge)).await.0, 413);
        // The rotated-out secret still verifies during the rotation.
        let other = event(
            "evt_old",
            "customer.subscription.updated",
            json!({"id": "sub_A"}),
        );
        assert_eq!(
            deliver(&app, &other, Some(sign(other.as_bytes(), "whsec_old", now)))
                .await
                .0,
            200
        );
        // Unknown types are acknowledged and ignored.
        let unknown = event("evt_x", "customer.created", json!({"id": "cus_1"}));
        assert_eq!(
            deliver(&app, &unknown, signed(&unknown)).await,
            (200, "ignored\n".into())
        );

        // Stripe fails while an event is processed: 500, nothing recorded;
        // the retry succeeds and takes effect.
        standin.put_subscription("sub_A", m, "canceled", now + 30 * DAY, false);
        standin
            .state
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let deleted = event(
            "evt_2",
            "customer.subscription.deleted",
            json!({"id": "sub_A"}),
        );
        assert_eq!(deliver(&app, &deleted, signed(&deleted)).await.0, 500);
        assert_eq!(
            stripe_grant(&app, m).await,
            Some(now + 31 * DAY),
            "unchanged"
        );
        standin
            .state
            .failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            deliver(&app, &deleted, signed(&deleted)).await,
            (200, "processed\n".into())
        );
        assert_eq!(stripe_grant(&app, m).await, None);
        assert!(b.page(GATED).await.contains("class=\"offer\""));

        // An invoice event names its subscription under parent (since basil).
        standin.put_subscription("sub_C", m, "active", now + 60 * DAY, false);
        let paid = event(
            "evt_3",
            "invoice.paid",
            json!({"id": "in_1", "object": "invoice",
            "parent": {"subscription_details": {"subscription": "sub_C"}}}),
        );
        assert_eq!(deliver(&app, &paid, signed(&paid)).await.0, 200);
        assert_eq!(stripe_grant(&app, m).await, Some(now + 61 * DAY));
    }

    /// A subscription's life as Stripe would tell it: (status, period end
    /// in days from now, cancel at period end, the event announcing it).
    const LIFE: [(&str, i64, bool, &str); 9] = [
        ("incomplete", 30, false, "customer.subscription.created"),
        ("active", 30, false, "invoice.paid"),
        ("active", 60, false, "invoice.paid"),
        ("past_due", 60, false, "invoice.payment_failed"),
        ("active", 90, false, "invoice.paid"),
        ("paused", 90, false, "customer.subscription.paused"),
        ("active", 90, false, "customer.subscription.resumed"),
        ("active", 90, true, "customer.subscription.updated"),
        ("canceled", 90, true, "customer.subscription.deleted"),
    ];

    fn notice(id: &str, kind: &str, sub: &str) -> String {
        let object = if kind.starts_with("invoice.") {
            json!({"id": format!("in_{id}"), "object": "invoice",
                   "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub}}})
        } else {
            json!({"id": sub, "object": "subscription"})
        };
        event(id, kind, object)
    }

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    both!(concurrent_deliveries_end_as_in_order);
    /// Random prefixes of the life, told once in order and once with
    /// deliveries concurrent, delayed, duplicated and re-sent late while
    /// the subscription moves on: both end in the same snapshot and grant.
    async fn concurrent_deliveries_end_as_in_order(backend: crate::harness::Backend) {
        let standin = StripeStandIn::start().await;
        let app = spawn_app(backend, &standin, &[WEBHOOK_SECRET]).await;
        let now = jiff::Timestamp::now().as_second();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..5 {
            let len = 2 + rng.below(LIFE.len() as u64 - 1) as usize;
            let stages = &LIFE[..len];
            let mut ends = Vec::new();
            for way in ["inorder", "concurrent"] {
                let (_, m) =
                    member_session(&app, &format!("{way}{round}@example.org"), false).await;
                let sub = format!("sub_{way}_{round}");
                let mut tasks = tokio::task::JoinSet::new();
                for (i, (status, days, cancel, kind)) in stages.iter().enumerate() {
                    standin.put_subscription(&sub, m, status, now + days * DAY, *cancel);
                    let id = format!("evt_{way}_{round}_{i}");
                    if way == "inorder" {
                        let body = notice(&id, kind, &sub);
                        assert_eq!(deliver(&app, &body, signed(&body)).await.0, 200);
                        continue;
                    }
                    // One to three deliveries of this event, and now and
                    // then a late copy of an earlier one, each after a
                    // random delay; the subscription moves on meanwhile.
                    let mut batch = vec![id.clone(); 1 + rng.below(3) as usize];
                    if i > 0 && rng.below(2) == 0 {
                        batch.push(format!("evt_{way}_{round}_{}", rng.below(i as u64)));
                    }
                    for eid in batch {
                        let k = eid.rsplit('_').next().unwrap().parse::<usize>().unwrap();
                        let body = notice(&eid, stages[k].3, &sub);
                        let delay = rng.below(15);
                        let (client, url) = (app.client.clone(), app.url("/webhooks/stripe"));
                        tasks.spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                            let res = client
                                .post(url)
                                .header("content-type", "application/json")
                                .header("stripe-signature", signed(&body).unwrap())
                                .body(body)
                                .send()
                                .await
                                .unwrap();
                            res.status().as_u16()
                        });
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(rng.below(4))).await;
                }
                while let Some(status) = tasks.join_next().await {
                    assert_eq!(status.unwrap(), 200);
                }
                let (_, snap) = billing::find_snapshot(app.state.db(), &sub)
                    .await
                    .unwrap()
                    .unwrap();
                ends.push((snap, stripe_grant(&app, m).await));
            }
            let ((a, ga), (b, gb)) = (&ends[0], &ends[1]);
            let what = format!("round {round}, {len} stages: {a:?} {ga:?} / {b:?} {gb:?}");
            assert_eq!(
                (a.status, a.current_period_end, a.cancel_at_period_end),
                (b.status, b.current_period_end, b.cancel_at_period_end),
                "{what}"
            );
            match (ga, gb) {
                // Past due: the grace counts from each run's first sighting.
                (Some(x), Some(y)) if a.status == Status::PastDue => {
                    assert!((x - y).abs() < 60, "{what}")
                }
                _ => assert_eq!(ga, gb, "{what}"),
            }
        }
    }

    both!(stripe_timing_out_loses_nothing);
    /// Stripe answering too slowly: the webhook answers 500 (Stripe
    /// retries), checkout shows an error page; nothing is recorded, and
    /// the retry works once Stripe answers again.
    async fn stripe_timing_out_loses_nothing(backend: crate::harness::Backend) {
        use std::sync::atomic::Ordering::SeqCst;
        let standin = StripeStandIn::start().await;
        let app = super::spawn_app_with(backend, &standin, &[WEBHOOK_SECRET], 1).await;
        let (cookie, m) = member_session(&app, "slow@example.org", false).await;
        let mut b = Browser::with_cookie(&app, &cookie);
        let now = jiff::Timestamp::now().as_second();
        standin.put_subscription("sub_slow", m, "active", now + 30 * DAY, false);
        standin.state.stalling.store(true, SeqCst);
        let body = event(
            "evt_slow",
            "customer.subscription.created",
            json!({"id": "sub_slow"}),
        );
        let started = std::time::Instant::now();
        assert_eq!(deliver(&app, &body, signed(&body)).await.0, 500);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(2900),
            "the client gave up first"
        );
        assert_eq!(stripe_grant(&app, m).await, None);
        let csrf = b.csrf().await;
        let res = b.checkout(&csrf, "monthly").await;
        assert_eq!(res.status().as_u16(), 500);
        assert!(masthead_store::billing::find_customer(app.state.db(), m)
            .await
            .unwrap()
            .is_none());
        standin.state.stalling.store(false, SeqCst);
        assert_eq!(
            deliver(&app, &body, signed(&body)).await,
            (200, "processed\n".into())
        );
        assert_eq!(stripe_grant(&app, m).await, Some(now + 31 * DAY));
    }
}

mod checkout {
    use super::spawn_app;
    use super::*;
    use crate::stripe_standin::{StripeStandIn, WEBHOOK_SECRET};

    both!(a_member_checks_out_and_reads);
    async fn a_member_checks_out_and_reads(backend: crate::harness::Backend) {
        let standin = StripeStandIn::start().await;
        let app = spawn_app(backend, &standin, &[WEBHOOK_SECRET]).await;
        // An anonymous reader is sent to sign up first, and comes back.
        let mut b = Browser::new(&app);
        let page = b.page("/subscribe?plan=annual").await;
        assert!(
            page.contains("Create a free account")
                && page.contains("return_to=%2Fsubscribe%3Fplan%3Dannual"),
            "{page}"
        );
        let res = b
            .post(
                "/signup",
                &[
                    ("email", "buyer@example.org"),
                    ("return_to", "/subscribe?plan=annual"),
                ],
            )
            .await;
        assert_eq!(res.headers()["location"], "/subscribe?plan=annual");
        // Paying waits for the address to be proved.
        let page = b.page("/subscribe?plan=annual").await;
        assert!(
            page.contains("First confirm your email address")
                && !page.contains("continue to payment"),
            "{page}"
        );
        crate::harness::confirm_signup(&mut b, "buyer@example.org").await;
        let page = b.page("/subscribe?plan=annual").await;
        assert!(
            page.contains("continue to payment") && page.contains("$100 a year"),
            "{page}"
        );
        assert!(!page.contains("$14 a month"), "only the plan picked");
        let res = app.client.get(app.url("/subscribe")).send().await.unwrap();
        assert!(res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&format!("form-action 'self' {}", standin.base)));
        let csrf = b.csrf().await;
        // An unknown plan is a clear 422; the annual one goes to Checkout.
        let res = b.checkout(&csrf, "lifetime").await;
        assert_eq!(res.status().as_u16(), 422);
        // From the offer box of an article: the funnel and the way back
        // both remember it.
        let gated_id = crate::harness::article_id(&app, GATED.trim_start_matches('/')).await;
        let from = gated_id.to_string();
        let res = b.checkout_from(&csrf, "annual", &from).await;
        assert_eq!(res.status().as_u16(), 303);
        let to = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            to.starts_with(&format!("{}/pay/cs_test_", standin.base)),
            "{to}"
        );
        let session_id = to.rsplit('/').next().unwrap().to_string();
        {
            let posts = standin.state.posts.lock().unwrap();
            let kinds: Vec<&str> = posts.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(kinds, ["customers", "prices", "checkout/sessions"]);
            let session = &posts[2].1;
            let get = |k: &str| {
                session
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(get("mode"), Some("subscription"));
            assert_eq!(
                get("success_url"),
                Some(
                    format!(
                        "{}/subscribe/success?session_id={{CHECKOUT_SESSION_ID}}",
                        app.base
                    )
                    .as_str()
                )
            );
            let price = &standin.state.prices.lock().unwrap();
            let price = price.values().next().unwrap();
            assert_eq!(
                (price["unit_amount"].as_i64(), price["currency"].as_str()),
                (Some(10000), Some("usd"))
            );
        }
        // A double click reuses the customer, the price and the session.
        let again = b.checkout_from(&csrf, "annual", &from).await;
        assert_eq!(again.headers()["location"].to_str().unwrap(), to);
        assert_eq!(standin.state.customers.lock().unwrap().len(), 1);
        // From another article's offer box in the same minute: other
        // parameters, so another idempotency key (Stripe would refuse the
        // old one) and a session of its own.
        let other = crate::harness::article_id(&app, "bus-network-redesign-approved").await;
        let res = b.checkout_from(&csrf, "annual", &other.to_string()).await;
        assert_eq!(res.status().as_u16(), 303);
        assert_ne!(res.headers()["location"].to_str().unwrap(), to);
        // The reader pays; the success page grants access without waiting
        // for the webhook.
        let sub = standin.complete_checkout(&session_id);
        let mut stranger = Browser::with_cookie(
            &app,
            &member_session(&app, "other@example.org", false).await.0,
        );
        assert_eq!(
            stranger
                .get_status(&format!("/subscribe/success?session_id={session_id}"))
                .await,
            403
        );
        let res = b
            .get(&format!("/subscribe/success?session_id={session_id}"))
            .await;
        assert_eq!(res.headers()["location"], GATED, "back to the article");
        assert!(
            !b.page(GATED).await.contains("class=\"offer\""),
            "the new subscriber reads"
        );
        // The subscription knows its plan; the account page (the address
        // was confirmed before paying) names it.
        let account = b.page("/account").await;
        assert!(account.contains("Plan: Annual: $100 a year"), "{account}");
        assert!(account.contains("Renews on"), "{account}");
        let plan_id: Option<i64> =
            sqlx::query_scalar("SELECT plan_id FROM subscriptions WHERE id = $1")
                .bind(&sub)
                .fetch_one(app.state.db().reader())
                .await
                .unwrap();
        let annual = masthead_store::offers::list_active_plans(app.state.db())
            .await
            .unwrap();
        assert_eq!(
            plan_id,
            annual.iter().find(|p| p.slug == "annual").map(|p| p.id)
        );
        // One welcome email, however often the subscription is reconciled.
        b.get(&format!("/subscribe/success?session_id={session_id}"))
            .await;
        let mail: Vec<String> = crate::harness::outbox(&app)
            .await
            .into_iter()
            .filter(|m| m.contains("Subject: Welcome, subscriber"))
            .collect();
        assert_eq!(mail.len(), 1, "{mail:?}");
        assert!(
            mail[0].contains("To: buyer@example.org") && mail[0].contains("Annual, $100 a year"),
            "{}",
            mail[0]
        );
        assert!(
            mail[0].contains(&format!("{}/account", app.base)),
            "{}",
            mail[0]
        );
        // The funnel: one checkout started (the double click reopened
        // the same session) and one subscription, both from the article.
        app.state.funnel().flush(app.state.db()).await.unwrap();
        let t = masthead_store::members::find_funnel_totals(app.state.db(), gated_id)
            .await
            .unwrap();
        assert_eq!(
            (t.checkouts, t.subscriptions, t.cancellations),
            (1, 1, 0),
            "{t:?}"
        );
        // No second checkout while the subscription lives.
        let res = b.checkout(&csrf, "monthly").await;
        assert_eq!(
            res.headers()["location"],
            "/account?done=already-subscribed"
        );
        assert_eq!(standin.state.sessions.lock().unwrap().len(), 2);
    }

    both!(one_trial_per_member);
    /// A plan with a trial: the first checkout asks Stripe for it, the
    /// trialing subscription grants access and uses the trial up; the
    /// cancellation counts in the funnel; the stored webhook payloads go
    /// with the account, and after the keeping period.
    async fn one_trial_per_member(backend: crate::harness::Backend) {
        use super::webhooks::{deliver, signed};
        use crate::stripe_standin::event;
        let standin = StripeStandIn::start().await;
        let app = spawn_app(backend, &standin, &[WEBHOOK_SECRET]).await;
        let db = app.state.db();
        let now = jiff::Timestamp::now().as_second();
        let includes = vec!["Everything".to_string()];
        masthead_store::offers::upsert_plan(
            db,
            &masthead_store::offers::NewPlan {
                slug: "try-monthly",
                name: "Try it",
                interval: masthead_core::billing::Interval::Month,
                price: masthead_core::billing::Money::new(
                    900,
                    masthead_core::billing::Currency::parse("EUR").unwrap(),
                )
                .unwrap(),
                trial_days: Some(14),
                includes: &includes,
                position: 9,
            },
            None,
            now,
        )
        .await
        .unwrap();
        let (cookie, m) = member_session(&app, "trial@example.org", false).await;
        let mut b = Browser::with_cookie(&app, &cookie);
        let page = b.page("/subscribe?plan=try-monthly").await;
        assert!(
            page.contains("Try it: €9 a month, first 14 days free"),
            "{page}"
        );
        let csrf = b.csrf().await;
        let res = b.checkout(&csrf, "try-monthly").await;
        let session_id = res.headers()["location"]
            .to_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let trial_field = |standin: &StripeStandIn| {
            let posts = standin.state.posts.lock().unwrap();
            let (_, form) = posts
                .iter()
                .rev()
                .find(|(k, _)| k == "checkout/sessions")
                .unwrap();
            form.iter()
                .find(|(k, _)| k == "subscription_data[trial_period_days]")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(trial_field(&standin).as_deref(), Some("14"));
        let sub = standin.complete_checkout(&session_id);
        // The webhook tells of it (with the session, which names the
        // customer and the reader's address).
        let mut session = standin.state.sessions.lock().unwrap()[&session_id].clone();
        session["customer_details"] =
            serde_json::json!({"email": "trial@example.org", "name": "Tria L. Reader"});
        let body = event("evt_trial_1", "checkout.session.completed", session);
        assert_eq!(deliver(&app, &body, signed(&body)).await.0, 200);
        let (_, snap) = billing::find_snapshot(db, &sub).await.unwrap().unwrap();
        assert_eq!(snap.status, Status::Trialing);
        assert_eq!(
            stripe_grant(&app, m).await,
            Some(snap.current_period_end + DAY)
        );
        let account = b.page("/account").await;
        assert!(account.contains("free trial ends"), "{account}");
        assert!(!billing::trial_available(db, m).await.unwrap());
        let stored: Option<String> =
            sqlx::query_scalar("SELECT payload FROM stripe_events WHERE id = 'evt_trial_1'")
                .fetch_one(db.reader())
                .await
                .unwrap();
        assert!(stored.is_some_and(|p| p.contains("Tria L. Reader")));
        // The reader cancels at Stripe; the subscription ends.
        standin
            .state
            .subscriptions
            .lock()
            .unwrap()
            .get_mut(&sub)
            .unwrap()["status"] = serde_json::json!("canceled");
        let body = event(
            "evt_trial_2",
            "customer.subscription.deleted",
            serde_json::json!({"id": sub, "object": "subscription"}),
        );
        assert_eq!(deliver(&app, &body, signed(&body)).await.0, 200);
        assert_eq!(stripe_grant(&app, m).await, None);
        let t = masthead_store::members::find_funnel_totals(db, 0)
            .await
            .unwrap();
        assert_eq!((t.subscriptions, t.cancellations), (1, 1), "{t:?}");
        // No second trial: the page and the checkout both know.
        assert!(!b
            .page("/subscribe?plan=try-monthly")
            .await
            .contains("days free"));
        b.checkout(&csrf, "try-monthly").await;
        assert_eq!(trial_field(&standin), None);
        // An archived plan cannot be bought.
        masthead_store::offers::set_plan_active(db, "try-monthly", false, None, now)
            .await
            .unwrap();
        let res = b.checkout(&csrf, "try-monthly").await;
        assert_eq!(res.status().as_u16(), 422);
        // Payloads: an old one goes after the keeping period, and the
        // member's go with the account.
        let mut tx = db.begin().await.unwrap();
        let old = billing::Event {
            id: "evt_old",
            kind: "invoice.paid",
            payload: Some("{\"name\":\"Old\"}"),
            customer_id: Some("cus_other"),
        };
        billing::insert_event(&mut tx, &old, now - 91 * DAY)
            .await
            .unwrap();
        masthead_store::commit(tx).await.unwrap();
        assert_eq!(
            masthead::billing::scrub_old_payloads(&app.state)
                .await
                .unwrap(),
            1
        );
        masthead_store::members::delete_member(db, m, None, 0)
            .await
            .unwrap();
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events WHERE payload IS NOT NULL")
                .fetch_one(db.reader())
                .await
                .unwrap();
        assert_eq!(left, 0);
    }
}

mod account {
    use super::spawn_app;
    use super::*;
    use crate::stripe_standin::{StripeStandIn, WEBHOOK_SECRET};

    both!(billing_from_the_account_page);
    async fn billing_from_the_account_page(backend: crate::harness::Backend) {
        let standin = StripeStandIn::start().await;
        let app = spawn_app(backend, &standin, &[WEBHOOK_SECRET]).await;
        let mut b = Browser::new(&app);
        b.sign_up("acct@example.org", "account password").await;
        let m = masthead_store::members::find_member_by_email(app.state.db(), "acct@example.org")
            .await
            .unwrap()
            .unwrap()
            .0
            .id;
        crate::harness::confirm_signup(&mut b, "acct@example.org").await;
        let now = jiff::Timestamp::now().as_second();
        standin.put_subscription("sub_acct", m, "active", now + 20 * DAY, false);
        let sub = (jiff::Timestamp::now().as_second(), "sub_acct");
        masthead::billing::reconcile(&app.state, &app.state.stripe().unwrap(), sub.1, None, sub.0)
            .await
            .unwrap();
        let page = b.page("/account").await;
        assert!(
            page.contains("Status: active.") && page.contains("Renews on"),
            "{page}"
        );
        let csrf = b.csrf().await;
        // Cancel at period end, then resume: each goes to Stripe and back.
        let res = b.post("/account/billing/cancel", &[("csrf", &csrf)]).await;
        assert_eq!(res.headers()["location"], "/account?done=canceled");
        assert!(b.page("/account").await.contains("Ends on"));
        assert!(
            !b.page(GATED).await.contains("class=\"offer\""),
            "still entitled until the period end"
        );
        let res = b.post("/account/billing/resume", &[("csrf", &csrf)]).await;
        assert_eq!(res.headers()["location"], "/account?done=resumed");
        assert!(b.page("/account").await.contains("Renews on"));
        // The Billing Portal.
        let res = b.post("/account/billing/portal", &[("csrf", &csrf)]).await;
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{}/portal/", standin.base)));
        assert_eq!(
            b.post_status("/account/billing/cancel", &[("csrf", "forged")])
                .await,
            403
        );
        // Deleting the account cancels the subscription at Stripe first; if
        // Stripe is down, nothing is deleted.
        let res = b.reauth(&csrf, "account password").await;
        assert_eq!(res.status().as_u16(), 303);
        standin
            .state
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let res = b.delete_account(&csrf, "DELETE").await;
        assert_eq!(res.status().as_u16(), 500);
        assert!(masthead_store::members::find_member(app.state.db(), m)
            .await
            .unwrap()
            .is_some());
        standin
            .state
            .failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let res = b.delete_account(&csrf, "DELETE").await;
        assert_eq!(res.status().as_u16(), 200);
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("subscription was cancelled"));
        assert_eq!(
            standin.state.subscriptions.lock().unwrap()["sub_acct"]["status"],
            "canceled"
        );
        assert!(masthead_store::members::find_member(app.state.db(), m)
            .await
            .unwrap()
            .is_none());
    }
}

mod demo {
    use super::*;

    both!(a_demo_directory_without_stripe_offers_a_day_of_access);
    async fn a_demo_directory_without_stripe_offers_a_day_of_access(
        backend: crate::harness::Backend,
    ) {
        // A data directory seeded by `serve --demo`, with no Stripe key.
        let app = TestApp::builder(backend)
            .fixture(Fixture::Demo)
            .config(|c| {
                masthead::billing::checkout::mark_demo(&c.data_dir).unwrap();
            })
            .spawn()
            .await;
        let mut b = Browser::new(&app);
        assert!(b
            .page("/subscribe")
            .await
            .contains("create a free account, then come back"));
        b.post(
            "/signup",
            &[
                ("email", "curious@example.org"),
                ("return_to", "/subscribe"),
            ],
        )
        .await;
        assert!(b
            .page("/subscribe")
            .await
            .contains("First confirm your email address"));
        crate::harness::confirm_signup(&mut b, "curious@example.org").await;
        let page = b.page("/subscribe").await;
        assert!(
            page.contains("Try the subscriber experience (demo, one day)"),
            "{page}"
        );
        assert!(b.page(GATED).await.contains("class=\"offer\""));
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(
            b.post_status("/subscribe/demo", &[("csrf", "forged")])
                .await,
            403
        );
        let res = b.post("/subscribe/demo", &[("csrf", &csrf)]).await;
        assert_eq!(res.headers()["location"], "/account?done=subscribed");
        assert!(
            !b.page(GATED).await.contains("class=\"offer\""),
            "the demo subscriber reads"
        );
        let m =
            masthead_store::members::find_member_by_email(app.state.db(), "curious@example.org")
                .await
                .unwrap()
                .unwrap()
                .0
                .id;
        let grants = masthead_store::members::list_grants(app.state.db(), m)
            .await
            .unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].source, "demo");
        let now = jiff::Timestamp::now().as_second();
        assert!(grants[0].valid_until.unwrap() <= now + DAY);
    }

    both!(elsewhere_there_are_no_demo_grants, Fixture::Demo);
    async fn elsewhere_there_are_no_demo_grants(app: TestApp) {
        let (cookie, _) = member_session(&app, "nodemo@example.org", false).await;
        let mut b = Browser::with_cookie(&app, &cookie);
        let page = b.page("/subscribe").await;
        assert!(page.contains("not switched on") && !page.contains("demo, one day"));
        let res = b.post("/subscribe/demo", &[("csrf", "x")]).await;
        assert_eq!(res.status().as_u16(), 404);
    }
}

mod plans_cli {
    use super::*;
    use crate::stripe_standin::{StripeStandIn, KEY};
    use std::process::Command;

    /// SQLite only: this tests the binary; plan storage runs on both
    /// backends in the newsroom tests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plans_are_listed_added_with_their_stripe_price_archived_and_offered_again() {
        let standin = StripeStandIn::start().await;
        let app = TestApp::spawn(crate::harness::Backend::Sqlite, Fixture::Demo).await;
        let data = app.state.config().data_dir.clone();
        let run = |args: &[&str], stripe: bool| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_masthead"));
            cmd.arg("--data-dir")
                .arg(&data)
                .arg("plans")
                .args(args)
                .env("MASTHEAD_LOG", "warn")
                .env_remove("MASTHEAD_STRIPE_SECRET_KEY");
            if stripe {
                cmd.env("MASTHEAD_STRIPE_SECRET_KEY", KEY)
                    .env("MASTHEAD_STRIPE_API_BASE", &standin.base);
            }
            let out = cmd.output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let (ok, out) = run(&["list"], false);
        assert!(
            ok && out.contains(
                "annual\tAnnual\t$100 a year\toffered\tno Stripe Price yet\t0 subscription(s)"
            ),
            "{out}"
        );
        // A new plan gets its Stripe Price at once when Stripe is set up.
        let add = [
            "add",
            "annual-2027",
            "--name",
            "Annual 2027",
            "--interval",
            "year",
            "--amount",
            "120",
            "--currency",
            "usd",
            "--trial-days",
            "7",
            "--include",
            "Everything",
            "--position",
            "3",
        ];
        let (ok, out) = run(&add, true);
        assert!(
            ok && out.contains("plan annual-2027: Annual 2027, $120 a year")
                && out.contains("Stripe Price price_standin"),
            "{out}"
        );
        {
            let prices = standin.state.prices.lock().unwrap();
            let p = prices.values().next().unwrap();
            assert_eq!(
                (
                    p["unit_amount"].as_i64(),
                    p["currency"].as_str(),
                    p["recurring"]["interval"].as_str()
                ),
                (Some(12000), Some("usd"), Some("year"))
            );
        }
        let (ok, out) = run(&["list"], false);
        assert!(
            ok && out.contains(
                "annual-2027\tAnnual 2027\t$120 a year, 7-day trial\toffered\tprice_standin"
            ),
            "{out}"
        );
        // Renaming is fine; a new price is a new plan.
        let mut renamed = add;
        renamed[3] = "Annual (2027)";
        assert!(run(&renamed, false).0);
        let mut repriced = add;
        repriced[7] = "130";
        let (ok, out) = run(&repriced, false);
        assert!(!ok && out.contains("a new price is a new plan"), "{out}");
        // Amounts people mistype, and ones Stripe cannot charge.
        for (amount, currency, says) in [
            ("12.345", "USD", "not an amount in USD"),
            ("12,5.0.1", "USD", "not an amount"),
            ("4.505", "KWD", "last of the three decimals"),
            ("0", "USD", "more than zero"),
            ("5", "DOLLARS", "three-letter"),
        ] {
            let (ok, out) = run(
                &[
                    "add",
                    "odd",
                    "--name",
                    "Odd",
                    "--interval",
                    "month",
                    "--amount",
                    amount,
                    "--currency",
                    currency,
                ],
                false,
            );
            assert!(!ok && out.contains(says), "{amount} {currency}: {out}");
        }
        let (ok, out) = run(
            &[
                "add",
                "odd",
                "--name",
                "Odd",
                "--interval",
                "week",
                "--amount",
                "5",
                "--currency",
                "USD",
            ],
            false,
        );
        assert!(!ok && out.contains("month or year"), "{out}");
        // Archived plans leave the offer; offered again, they return.
        assert!(run(&["archive", "monthly"], false).0);
        assert!(!app.get_text("/subscribe", 200).await.contains("$14"));
        assert!(run(&["activate", "monthly"], false).0);
        assert!(app.get_text("/subscribe", 200).await.contains("$14"));
        let (ok, out) = run(&["archive", "nope"], false);
        assert!(!ok && out.contains("no plan \"nope\""), "{out}");
    }
}
