//! Moving in from another platform: WordPress now (`wordpress`), Ghost
//! and Substack later on the same parts. Each imported object keeps its
//! origin (`masthead_store::imports`), so a second run finds it again by
//! source and never by slug; each item is one use case in one short
//! transaction, and no transaction is open across a fetch; old addresses
//! answer 301. Outbound fetches go through `crate::fetch`.

pub mod carry_over;
pub mod ghost;
pub mod ghost_body;
pub mod html;
pub mod images;
pub mod job;
pub mod members;
pub mod substack;
pub mod wordpress;
pub mod wp_body;
pub mod wxr;

use masthead_core::content::Slug;
use serde::{Deserialize, Serialize};

/// Where a long import reports how far it is (an import run's row, once a
/// second) and keeps its job's lease; nothing for the command line.
pub struct Progress<'a> {
    run: Option<(i64, &'static str)>,
    lease: Option<(i64, &'a str)>,
    last: Option<std::time::Instant>,
}

impl<'a> Progress<'a> {
    pub fn none() -> Progress<'a> {
        Progress {
            run: None,
            lease: None,
            last: None,
        }
    }

    /// For the run `run` (shown as `status` while it goes) in job `job`
    /// held by `owner`.
    pub fn job(run: i64, status: &'static str, job: i64, owner: &'a str) -> Progress<'a> {
        Progress {
            run: Some((run, status)),
            lease: Some((job, owner)),
            last: None,
        }
    }

    /// `done` of `total` items; writes at most once a second. Fails when
    /// the job's lease was lost (another worker took it over).
    pub async fn tick(
        &mut self,
        state: &crate::app::AppState,
        done: u64,
        total: u64,
    ) -> anyhow::Result<()> {
        let Some((run, status)) = self.run else {
            return Ok(());
        };
        if self
            .last
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1))
            && done < total
        {
            return Ok(());
        }
        self.last = Some(std::time::Instant::now());
        let now = state.now();
        let update = masthead_store::imports::RunUpdate {
            status,
            done: i64::try_from(done).unwrap_or(i64::MAX),
            total: i64::try_from(total).unwrap_or(i64::MAX),
            dry_report: None,
            report: None,
            error: None,
            file_gone: false,
        };
        masthead_store::imports::update_run(state.db(), run, &update, now).await?;
        if let Some((job, owner)) = self.lease {
            let until = now + crate::jobs::LEASE_SECS;
            if !masthead_store::jobs::renew_lease(state.db(), job, owner, until).await? {
                anyhow::bail!("another worker took this import over");
            }
        }
        Ok(())
    }
}

/// Created, updated, unchanged, left alone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Edited here since the last import: kept as they are (`--force`).
    pub conflicts: usize,
}

/// An item not imported, or imported only in part, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// post, page, term, author, attachment.
    pub kind: String,
    pub source_id: String,
    pub title: String,
    pub reason: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Report {
    pub dry_run: bool,
    pub articles: Counts,
    pub pages: Counts,
    pub topics: Counts,
    pub authors: Counts,
    /// Images copied into the media library (or, dry, referenced).
    pub images: usize,
    /// Items skipped whole.
    pub skipped: Vec<Note>,
    /// Items imported in part, or changed on the way (a slug, an image).
    pub partial: Vec<Note>,
    /// Characters XML forbids, dropped from the file.
    pub dropped_characters: usize,
    #[serde(default)]
    pub newsletters: Counts,
    #[serde(default)]
    pub members: MemberCounts,
    /// Paid subscriptions carried over from Stripe (imported, never
    /// counted as new on the dashboard).
    #[serde(default)]
    pub subscriptions: usize,
}

/// What a member import did (or, dry, would do).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounts {
    /// Rows read (dry run: rows that would be imported).
    pub rows: usize,
    pub created: usize,
    /// Already had an account here (kept, joined).
    pub existing: usize,
    pub opted_in: usize,
    pub comps: usize,
    /// Stripe customers linked.
    pub customers: usize,
    /// On the suppression list: no opt-in recorded.
    pub suppressed: usize,
}

impl Report {
    /// The counts in one line, for the terminal and the audit log.
    pub fn summary(&self) -> String {
        let c = |n: &str, c: &Counts| {
            format!(
                "{n}: {} created, {} updated, {} unchanged, {} conflicts",
                c.created, c.updated, c.unchanged, c.conflicts
            )
        };
        let mut out = format!(
            "{}{}; {}; {}; {}; {} images",
            if self.dry_run { "dry run: " } else { "" },
            c("articles", &self.articles),
            c("pages", &self.pages),
            c("topics", &self.topics),
            c("authors", &self.authors),
            self.images,
        );
        if self.newsletters != Counts::default() {
            out.push_str(&format!("; {}", c("newsletters", &self.newsletters)));
        }
        let m = &self.members;
        if m.rows > 0 {
            out.push_str(&format!(
                "; members: {} rows, {} created, {} existing, {} newsletter opt-ins, {} comps, {} Stripe customers, {} suppressed; {} subscriptions carried over",
                m.rows, m.created, m.existing, m.opted_in, m.comps, m.customers, m.suppressed, self.subscriptions
            ));
        }
        out.push_str(&format!(
            "; {} skipped; {} partly imported",
            self.skipped.len(),
            self.partial.len()
        ));
        out
    }

    /// Counts one imported post and notes what the report's reader needs
    /// (its slug taken here, a newsroom edit kept); the article's id when
    /// it was written (created or updated).
    pub fn post_done(
        &mut self,
        source_id: &str,
        title: &str,
        wanted_slug: &str,
        done: &masthead_store::imports::ArticleImport,
    ) -> Option<i64> {
        use masthead_store::imports::ArticleImport;
        if let ArticleImport::Created { id, slug } = done {
            self.articles.created += 1;
            if slug != wanted_slug {
                self.partly(
                    "post",
                    source_id,
                    title,
                    format!("the slug {wanted_slug:?} is taken here; imported as {slug:?}"),
                );
            }
            return Some(*id);
        }
        match done {
            ArticleImport::Updated { id, .. } => {
                self.articles.updated += 1;
                return Some(*id);
            }
            ArticleImport::Conflict { slug, .. } => {
                self.articles.conflicts += 1;
                self.partly("post", source_id, title, format!("/{slug} was edited in the newsroom since its import; kept as it is (--force overwrites it)"));
            }
            _ => self.articles.unchanged += 1,
        }
        None
    }

    pub fn skip(&mut self, kind: &str, source_id: &str, title: &str, reason: impl Into<String>) {
        self.skipped.push(Note {
            kind: kind.into(),
            source_id: source_id.into(),
            title: title.into(),
            reason: reason.into(),
        });
    }

    pub fn partly(&mut self, kind: &str, source_id: &str, title: &str, reason: impl Into<String>) {
        self.partial.push(Note {
            kind: kind.into(),
            source_id: source_id.into(),
            title: title.into(),
            reason: reason.into(),
        });
    }
}

/// A slug from the old site's, or from the title when ours refuse it
/// (percent-encoded UTF-8, underscores, reserved words, too long).
pub fn slug_for(wanted: &str, title: &str, fallback: &str, article: bool) -> Option<Slug> {
    let parse = |s: &str| {
        if article {
            Slug::parse_article(s).ok()
        } else {
            Slug::parse(s).ok()
        }
    };
    parse(wanted)
        .or_else(|| {
            // Percent-encoded UTF-8 says nothing readable: the title does.
            (!wanted.contains('%'))
                .then(|| Slug::from_title(&wanted.replace('_', "-")))
                .flatten()
                .and_then(|s| parse(s.as_str()))
        })
        .or_else(|| Slug::from_title(title).and_then(|s| parse(s.as_str())))
        .or_else(|| {
            parse(&format!(
                "{fallback}-{}",
                Slug::from_title(title).map_or(String::new(), |s| s.as_str().to_string())
            ))
        })
        .or_else(|| parse(fallback))
}

/// The text of a little inline HTML (a caption): tags removed without
/// adding spaces, the common entities decoded.
pub fn inline_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts an object that was (`existed`) or was not there before.
pub fn count(c: &mut Counts, existed: bool) {
    if existed {
        c.updated += 1;
    } else {
        c.created += 1;
    }
}

/// Ends a run that wrote: its audit entry with the counts, fresh planner
/// statistics, the caches told.
pub async fn finish_run(
    state: &crate::app::AppState,
    actor: masthead_store::newsroom::Actor<'_>,
    action: &str,
    file: &std::path::Path,
    report: &Report,
) -> anyhow::Result<()> {
    let db = state.db();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let detail = report.summary();
    let audit = actor.audit(action, "file", &name, &detail);
    masthead_store::newsroom::record(db, &audit, state.now()).await?;
    masthead_store::analyze(db).await?;
    state.refresh_counters().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_ours_refuse_get_valid_ones() {
        assert_eq!(
            slug_for("low-tide", "Low tide", "post", true)
                .unwrap()
                .as_str(),
            "low-tide"
        );
        assert_eq!(
            slug_for("my_post", "x", "post", true).unwrap().as_str(),
            "my-post"
        );
        assert_eq!(
            slug_for("%e6%bd%ae", "Tide tables", "post", true)
                .unwrap()
                .as_str(),
            "tide-tables"
        );
        assert_eq!(
            slug_for("search", "Search", "post", true).unwrap().as_str(),
            "post-search"
        );
        assert_eq!(slug_for("", "", "post", true).unwrap().as_str(), "post");
    }
}
