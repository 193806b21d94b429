//! Synthetic articles for the scale benchmark (`masthead generate`).
//!
//! Words are drawn from a fixed vocabulary with a Zipf-like skew, so the
//! benchmark's search queries range from rare to very common terms. The
//! sequence is deterministic: the same N gives the same database.

use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_store::content::{self as store, NewArticle, NewAuthor, NewTopic};
use masthead_store::Db;

/// Ordered from most to least frequent.
pub const VOCABULARY: &[&str] = &[
    "city",
    "council",
    "year",
    "people",
    "plan",
    "water",
    "school",
    "housing",
    "budget",
    "harbour",
    "public",
    "state",
    "transit",
    "workers",
    "health",
    "report",
    "community",
    "river",
    "program",
    "local",
    "funding",
    "energy",
    "coast",
    "residents",
    "market",
    "police",
    "court",
    "election",
    "hospital",
    "climate",
    "bridge",
    "ferry",
    "storm",
    "tenants",
    "teachers",
    "nurses",
    "wildfire",
    "salmon",
    "tourism",
    "library",
    "festival",
    "museum",
    "bakery",
    "shipyard",
    "lighthouse",
    "orchard",
    "vineyard",
    "glacier",
    "estuary",
    "tidewater",
    "archive",
    "ballot",
    "cannery",
    "drawbridge",
    "eelgrass",
    "foghorn",
    "granary",
    "heron",
    "inlet",
    "jetty",
    "kelp",
    "lagoon",
    "marina",
    "netloft",
    "oysterbed",
    "pier",
    "quarry",
    "reef",
    "seawall",
    "tideline",
    "upland",
    "viaduct",
    "wharf",
    "xeriscape",
    "yardarm",
    "zoning",
    "abalone",
    "breakwater",
    "causeway",
    "dredging",
    "embankment",
    "fishery",
    "gangway",
    "hatchery",
    "icebreaker",
    "jurisdiction",
    "keelson",
    "levee",
    "mudflat",
    "nautical",
    "outfall",
    "pilings",
    "quayside",
    "riprap",
    "sandbar",
    "trawler",
    "undertow",
    "vessel",
    "waterfront",
    "zooplankton",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for fake text.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A word index skewed toward the front of the vocabulary.
    fn zipf(&mut self) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let n = VOCABULARY.len() as f64;
        ((n.powf(u) - 1.0) as usize).min(VOCABULARY.len() - 1)
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(VOCABULARY[self.zipf()]);
        }
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + c.as_str() + ".",
            None => s,
        }
    }
}

/// `policy` splits the search index (the publication's policy).
pub async fn generate(
    db: &Db,
    count: u32,
    policy: &masthead_core::access::Policy,
) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now().as_second();
    let mut topic_ids = Vec::new();
    for i in 0..8 {
        let slug = Slug::parse(&format!("generated-topic-{i}"))?;
        topic_ids.push(
            store::upsert_topic(
                db,
                &NewTopic {
                    slug: &slug,
                    name: &format!("Generated topic {i}"),
                    description: "Generated for benchmarks.",
                },
                None,
                now,
            )
            .await?,
        );
    }
    let mut author_ids = Vec::new();
    for i in 0..5 {
        let slug = Slug::parse(&format!("generated-author-{i}"))?;
        author_ids.push(
            store::upsert_author(
                db,
                &NewAuthor {
                    slug: &slug,
                    name: &format!("Generated Author {i}"),
                    bio_html: "<p>Generated for benchmarks.</p>",
                    avatar_media_id: None,
                },
                None,
                now,
            )
            .await?,
        );
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let bar = indicatif::ProgressBar::new(u64::from(count));
    let mut batch = Vec::with_capacity(500);
    for n in 0..count {
        let headline = rng.sentence(8);
        let blocks: Vec<String> = (0..10)
            .map(|_| format!("<p>{}</p>", rng.sentence(60)))
            .collect();
        let content_type = ContentType::ALL[rng.below(ContentType::ALL.len())];
        let search = crate::content::search::search_text(
            &blocks,
            AccessLevel::Default,
            content_type,
            None,
            policy,
        );
        batch.push(NewArticle {
            slug: Slug::parse(&format!("generated-article-{n}"))?,
            headline: headline.trim_end_matches('.').to_string(),
            standfirst: rng.sentence(30),
            dateline: "PORT ALDER".into(),
            content_type,
            access_level: AccessLevel::Default,
            preview_blocks: None,
            status: ArticleStatus::Published,
            // One article every ten minutes, newest now.
            published_at: Some(now - i64::from(count - n) * 600),
            updated_at: None,
            body_markdown: None,
            blocks,
            search,
            lead: None,
            author_ids: vec![author_ids[rng.below(author_ids.len())]],
            topic_ids: vec![
                topic_ids[rng.below(topic_ids.len())],
                topic_ids[rng.below(topic_ids.len())],
            ],
            previous_slugs: Vec::new(),
            source_hash: None,
        });
        if batch.len() == 500 {
            store::upsert_articles(db, &batch, now).await?;
            bar.inc(batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store::upsert_articles(db, &batch, now).await?;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    masthead_store::analyze(db).await?;
    println!("generated {count} articles");
    Ok(())
}
