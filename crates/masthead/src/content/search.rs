//! The search index's text, split by who may read it (issue 12: a query
//! may only match text its reader may see), and the job that remakes the
//! index when the access policy moves the split.

use crate::app::AppState;
use masthead_core::access::{Policy, SearchAudience};
use masthead_core::content::{AccessLevel, ContentType};
use masthead_store::content::SearchText;

/// The job that remakes stale search rows.
pub const REINDEX_JOB: &str = "search_index";

/// An article's body text for the index: the blocks any reader may see
/// (its preview, or all of a free article) in `open`, the rest under the
/// audience that may read it.
pub fn search_text(
    blocks: &[String],
    level: AccessLevel,
    content_type: ContentType,
    preview_blocks: Option<u32>,
    policy: &Policy,
) -> SearchText {
    let total = u32::try_from(blocks.len()).unwrap_or(u32::MAX);
    let (open, audience) = policy.search_split(level, content_type, preview_blocks, total);
    let open = (open as usize).min(blocks.len());
    let text = |b: &[String]| super::markdown::plain_text(&b.join("\n"));
    let mut t = SearchText {
        fingerprint: policy.search_fingerprint(),
        open: text(&blocks[..open]),
        ..SearchText::default()
    };
    // A free article's split is the whole body: nothing is left over.
    match audience {
        SearchAudience::Everyone => {}
        SearchAudience::Members => t.members = text(&blocks[open..]),
        SearchAudience::Subscribers => t.subscribers = text(&blocks[open..]),
    }
    t
}

/// Queues the reindex job when any article's row is missing or was split
/// under another policy (at start, and whenever the settings change).
pub async fn ensure_index(state: &AppState) -> anyhow::Result<()> {
    let policy = state.settings().get().publication.policy.clone();
    let db = state.db();
    let fingerprint = policy.search_fingerprint();
    if masthead_store::content::list_stale_search(db, &fingerprint, 0, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let now = state.now();
    let mut tx = db.begin().await?;
    masthead_store::jobs::insert_job(
        &mut tx,
        &masthead_store::jobs::NewJob {
            kind: REINDEX_JOB,
            payload: "{}",
            unique_key: Some(&format!("search:{fingerprint}")),
            run_at: now,
            max_attempts: 5,
        },
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// The reindex job: remakes every stale row under the policy in effect,
/// in batches, rendering nothing (the stored blocks are the text).
pub async fn reindex(state: &AppState) -> anyhow::Result<u64> {
    let db = state.db();
    let policy = state.settings().get().publication.policy.clone();
    let fingerprint = policy.search_fingerprint();
    let mut after = 0;
    let mut done = 0;
    loop {
        let ids = masthead_store::content::list_stale_search(db, &fingerprint, after, 200).await?;
        let Some(last) = ids.last() else {
            return Ok(done);
        };
        after = *last;
        for id in ids {
            let Some(a) = masthead_store::content::find_article_by_id(db, id).await? else {
                continue;
            };
            let facts = a.facts();
            let blocks =
                masthead_store::content::find_body(db, &facts, masthead_core::Decision::Full)
                    .await?;
            let t = search_text(
                &blocks.blocks,
                facts.level,
                facts.content_type,
                facts.preview_blocks,
                &policy,
            );
            masthead_store::content::set_search_text(db, id, &t).await?;
            done += 1;
        }
    }
}
