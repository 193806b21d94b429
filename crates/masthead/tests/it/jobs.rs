//! The job queue: scheduled publishing without a restart, leases.

use crate::both;
use crate::harness::{Fixture, TestApp};
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_store::content::NewArticle;

pub(crate) fn scheduled(slug: &str, at: i64) -> NewArticle {
    NewArticle {
        slug: Slug::parse_article(slug).unwrap_or_else(|e| panic!("{e}")),
        headline: format!("Scheduled {slug}"),
        standfirst: "Later.".into(),
        dateline: String::new(),
        content_type: ContentType::News,
        access_level: AccessLevel::Free,
        preview_blocks: None,
        status: ArticleStatus::Scheduled,
        published_at: Some(at),
        updated_at: None,
        body_markdown: None,
        blocks: vec!["<p>Embargoed text.</p>".into()],
        search: masthead_store::content::SearchText {
            fingerprint: masthead_core::access::Policy::default().search_fingerprint(),
            open: "Embargoed text.".into(),
            ..Default::default()
        },
        lead: None,
        author_ids: vec![],
        topic_ids: vec![],
        previous_slugs: vec![],
        source_hash: None,
    }
}

both!(a_scheduled_article_goes_live_at_its_time, Fixture::Empty);
async fn a_scheduled_article_goes_live_at_its_time(app: TestApp) {
    let now = app.state.now();
    let db = app.state.db();
    masthead_store::content::upsert_article(db, &scheduled("embargoed-story", now + 3_600), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.get_text("/embargoed-story", 404).await;
    assert!(!app
        .get_text("/feeds/rss.xml", 200)
        .await
        .contains("embargoed-story"));
    assert_eq!(app.run_jobs().await, 0, "not due yet");
    // An hour later by the app's clock (no waiting): the job is due.
    app.state.clock().advance(3_600);
    assert_eq!(app.run_jobs().await, 1);
    let html = app.get_text("/embargoed-story", 200).await;
    assert!(html.contains("Embargoed text."));
    assert!(app
        .get_text("/feeds/rss.xml", 200)
        .await
        .contains("embargoed-story"));
    let status = masthead_store::jobs::find_job_status(db, &format!("publish:{}", 1))
        .await
        .ok()
        .flatten();
    assert_eq!(status.map(|s| s.status).as_deref(), Some("done"));
}

both!(
    an_expired_lease_is_reclaimed_and_a_stale_worker_cannot_finish,
    Fixture::Empty
);
async fn an_expired_lease_is_reclaimed_and_a_stale_worker_cannot_finish(app: TestApp) {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    masthead_store::content::upsert_article(db, &scheduled("leased-story", now - 1), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The article was published directly (its time had come); queue a job by hand.
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    masthead_store::jobs::insert_job(
        &mut tx,
        &masthead_store::jobs::NewJob {
            kind: "publish_article",
            payload: "{\"article_id\":1}",
            unique_key: Some("k"),
            run_at: now - 1,
            max_attempts: 3,
        },
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let first = masthead_store::jobs::claim_job(db, "crashed-worker", now, 30)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("claim"));
    assert!(
        masthead_store::jobs::claim_job(db, "other", now, 30)
            .await
            .ok()
            .flatten()
            .is_none(),
        "leased"
    );
    let later = now + 31;
    let second = masthead_store::jobs::claim_job(db, "other", later, 30)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("reclaim"));
    assert_eq!(first.id, second.id);
    assert_eq!(second.attempts, 2);
    assert!(
        !masthead_store::jobs::finish_job(db, &first, "crashed-worker", later, false)
            .await
            .unwrap_or(true),
        "the stale worker's result is refused"
    );
    assert!(
        masthead_store::jobs::finish_job(db, &second, "other", later, false)
            .await
            .unwrap_or(false)
    );
}

both!(
    a_sent_email_job_is_scrubbed_only_by_the_worker_that_finishes_it,
    Fixture::Empty
);
async fn a_sent_email_job_is_scrubbed_only_by_the_worker_that_finishes_it(app: TestApp) {
    let db = app.state.db();
    let now = jiff::Timestamp::now().as_second();
    let email = masthead_store::members::OutgoingEmail {
        to: "reader@example.org".into(),
        subject: "Your log-in link".into(),
        text: "http://127.0.0.1/account/link/secret-token".into(),
    };
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    masthead_store::members::queue_email(&mut tx, &email, now - 400)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let payload = || async {
        sqlx::query_scalar::<_, String>("SELECT payload FROM jobs WHERE kind = 'email'")
            .fetch_one(db.reader())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // A worker claims it and is killed after sending; its lease runs out
    // and another worker takes the job over.
    let stale = masthead_store::jobs::claim_job(db, "killed", now - 400, 300)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("claim"));
    let taken = masthead_store::jobs::claim_job(db, "other", now, 300)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("reclaim"));
    // The killed worker's late finish neither finishes nor scrubs it.
    assert!(
        !masthead_store::jobs::finish_job(db, &stale, "killed", now, true)
            .await
            .unwrap_or(true)
    );
    assert!(
        payload().await.contains("reader@example.org"),
        "the job the other worker holds keeps its message"
    );
    assert!(
        masthead_store::jobs::finish_job(db, &taken, "other", now, true)
            .await
            .unwrap_or(false)
    );
    assert_eq!(payload().await, "{}", "finished and scrubbed together");
    // Through the worker: a queued account email is sent, finished and scrubbed.
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    masthead_store::members::queue_email(&mut tx, &email, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.run_jobs().await, 1);
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT status, payload FROM jobs WHERE kind = 'email' ORDER BY id")
            .fetch_all(db.reader())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rows,
        vec![("done".into(), "{}".into()), ("done".into(), "{}".into())]
    );
}
