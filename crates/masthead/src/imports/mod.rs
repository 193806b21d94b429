//! Moving in from another platform: WordPress now (`wordpress`), Ghost
//! and Substack later on the same parts. Each imported object keeps its
//! origin (`masthead_store::imports`), so a second run finds it again by
//! source and never by slug; each item is one use case in one short
//! transaction, and no transaction is open across a fetch; old addresses
//! answer 301. Outbound fetches go through `crate::fetch`.

pub mod wordpress;
pub mod wp_body;
pub mod wxr;

use serde::Serialize;

/// Created, updated, unchanged, left alone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Edited here since the last import: kept as they are (`--force`).
    pub conflicts: usize,
}

/// An item not imported, or imported only in part, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// post, page, term, author, attachment.
    pub kind: String,
    pub source_id: String,
    pub title: String,
    pub reason: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, Clone, Serialize)]
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
        format!(
            "{}{}; {}; {}; {}; {} images; {} skipped; {} partly imported",
            if self.dry_run { "dry run: " } else { "" },
            c("articles", &self.articles),
            c("pages", &self.pages),
            c("topics", &self.topics),
            c("authors", &self.authors),
            self.images,
            self.skipped.len(),
            self.partial.len()
        )
    }

    fn skip(&mut self, kind: &str, source_id: &str, title: &str, reason: impl Into<String>) {
        self.skipped.push(Note {
            kind: kind.into(),
            source_id: source_id.into(),
            title: title.into(),
            reason: reason.into(),
        });
    }

    fn partly(&mut self, kind: &str, source_id: &str, title: &str, reason: impl Into<String>) {
        self.partial.push(Note {
            kind: kind.into(),
            source_id: source_id.into(),
            title: title.into(),
            reason: reason.into(),
        });
    }
}
