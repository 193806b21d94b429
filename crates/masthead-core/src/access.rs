//! The access decision: what part of an article's text a response may
//! carry, as one total, pure function of the article, the reader, the
//! policy, the channel and the time.
//!
//! Every route that can carry article text asks the store for the body
//! *through* a `Decision` (see `masthead_store::content::find_body`), so the
//! rule here can change without touching any route.

use crate::content::{AccessLevel, ContentType};
use serde::{Deserialize, Serialize};

/// What part of an article body a reader receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Decision {
    /// Every block of the body.
    Full,
    /// Only the first `blocks` blocks; the rest never leaves the server.
    Preview { blocks: u32 },
}

impl Decision {
    /// How many of `total` blocks this decision lets through.
    pub fn visible_blocks(self, total: u32) -> u32 {
        match self {
            Decision::Full => total,
            Decision::Preview { blocks } => blocks.min(total),
        }
    }
}

/// Why a reader got a preview: it picks the offer shown after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The metered allowance of this window is used up.
    MeterSpent,
    /// The article is for signed-in members.
    RegistrationNeeded,
    /// The article is for subscribers (or, off the article page, metered).
    SubscriptionNeeded,
}

/// Where the text is going. Only the article page spends the meter; every
/// other channel (feeds, search, JSON, email web versions) treats a metered
/// article as subscriber-only, or a feed reader would get the archive free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    ArticlePage,
    Other,
}

/// The publication's access policy (publication settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Metered articles an anonymous reader may read per window (N).
    pub anonymous_limit: u32,
    /// Metered articles a signed-in member may read per window (M).
    pub member_limit: u32,
    /// The rolling window, in seconds.
    pub window_secs: i64,
    /// Preview length in blocks when the article sets none (K).
    pub preview_blocks: u32,
    /// What `default` means for each content type.
    pub news: AccessLevel,
    pub analysis: AccessLevel,
    pub memo: AccessLevel,
    pub report: AccessLevel,
    pub event: AccessLevel,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            anonymous_limit: 2,
            member_limit: 5,
            window_secs: 30 * 86_400,
            preview_blocks: 3,
            news: AccessLevel::Metered,
            analysis: AccessLevel::Metered,
            memo: AccessLevel::Subscribers,
            report: AccessLevel::Subscribers,
            event: AccessLevel::Free,
        }
    }
}

impl Policy {
    /// The level an article really has: `default` resolved by content type.
    /// A policy that itself says `default` is read as `metered`.
    pub fn resolve(&self, level: AccessLevel, content_type: ContentType) -> AccessLevel {
        let resolved = match level {
            AccessLevel::Default => match content_type {
                ContentType::News => self.news,
                ContentType::Analysis => self.analysis,
                ContentType::Memo => self.memo,
                ContentType::Report => self.report,
                ContentType::Event => self.event,
            },
            other => other,
        };
        if resolved == AccessLevel::Default {
            AccessLevel::Metered
        } else {
            resolved
        }
    }

    /// How many blocks a preview shows: the article's own length (its
    /// paywall divider) or K, but never more than a third of the body, so
    /// a reader who is not entitled never receives the whole body however
    /// short it is. A one- or two-block article shows no body at all (its
    /// headline and standfirst are the preview), three to five blocks show
    /// one, six to eight show two.
    pub fn preview_len(&self, article_preview: Option<u32>, total: u32) -> u32 {
        let wanted = article_preview.unwrap_or(self.preview_blocks);
        wanted.min(total / 3)
    }
}

/// Who may search an article's text past its preview (and so find it by
/// that text): what the other channels would show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchAudience {
    /// A free article: everyone reads it all.
    Everyone,
    /// A registration-wall article: signed-in readers read it all.
    Members,
    /// Metered (off the article page) and subscriber-only articles.
    Subscribers,
}

impl Policy {
    /// How the search index splits an article: the blocks anyone may match
    /// (its preview) and who may match the rest.
    pub fn search_split(
        &self,
        level: AccessLevel,
        content_type: ContentType,
        article_preview: Option<u32>,
        total: u32,
    ) -> (u32, SearchAudience) {
        match self.resolve(level, content_type) {
            AccessLevel::Free => (total, SearchAudience::Everyone),
            AccessLevel::Registered => (
                self.preview_len(article_preview, total),
                SearchAudience::Members,
            ),
            _ => (
                self.preview_len(article_preview, total),
                SearchAudience::Subscribers,
            ),
        }
    }

    /// What the search split depends on, as text: an index row made under
    /// another fingerprint is stale (its preview text may be too long).
    pub fn search_fingerprint(&self) -> String {
        let level = |t: ContentType| self.resolve(AccessLevel::Default, t).as_str();
        format!(
            "k{};{}",
            self.preview_blocks,
            ContentType::ALL
                .iter()
                .map(|t| format!("{}={}", t.as_str(), level(*t)))
                .collect::<Vec<_>>()
                .join(",")
        )
    }
}

/// The facts about an article the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArticleFacts {
    pub id: i64,
    pub level: AccessLevel,
    pub content_type: ContentType,
    pub preview_blocks: Option<u32>,
    pub block_count: u32,
}

/// Who is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    Anonymous,
    Member,
    Staff,
}

/// A reader as the decision sees them. `counted` holds the ids of the
/// metered articles counted in the current window (the caller drops
/// entries older than the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader<'a> {
    pub kind: ReaderKind,
    /// Holds an active grant (subscription, complimentary, …).
    pub entitled: bool,
    /// Holds a grant for this one article (unlocked by signing up from it).
    pub unlocked: bool,
    pub counted: &'a [i64],
}

/// The decision and what goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    /// Why the reader got a preview, when they did.
    pub gate: Option<Gate>,
    /// Whether this view spends one metered article.
    pub count: bool,
    /// Metered articles left in the window after this view, when metered.
    pub remaining: Option<u32>,
}

fn full() -> Outcome {
    Outcome {
        decision: Decision::Full,
        gate: None,
        count: false,
        remaining: None,
    }
}

/// The access decision. Total: every combination has an answer.
pub fn decide(
    article: &ArticleFacts,
    reader: &Reader<'_>,
    policy: &Policy,
    channel: Channel,
) -> Outcome {
    let preview = |gate: Gate, remaining: Option<u32>| Outcome {
        decision: Decision::Preview {
            blocks: policy.preview_len(article.preview_blocks, article.block_count),
        },
        gate: Some(gate),
        count: false,
        remaining,
    };
    if reader.kind == ReaderKind::Staff || reader.entitled || reader.unlocked {
        return full();
    }
    match policy.resolve(article.level, article.content_type) {
        AccessLevel::Free => full(),
        AccessLevel::Registered => match reader.kind {
            ReaderKind::Anonymous => preview(Gate::RegistrationNeeded, None),
            _ => full(),
        },
        AccessLevel::Metered if channel == Channel::ArticlePage => {
            let limit = match reader.kind {
                ReaderKind::Anonymous => policy.anonymous_limit,
                _ => policy.member_limit,
            };
            let used = u32::try_from(reader.counted.len()).unwrap_or(u32::MAX);
            if reader.counted.contains(&article.id) {
                // A re-read within the window is free.
                Outcome {
                    remaining: Some(limit.saturating_sub(used)),
                    ..full()
                }
            } else if used < limit {
                Outcome {
                    decision: Decision::Full,
                    gate: None,
                    count: true,
                    remaining: Some(limit - used - 1),
                }
            } else {
                preview(Gate::MeterSpent, Some(0))
            }
        }
        // Metered off the article page, and subscriber-only articles.
        _ => preview(Gate::SubscriptionNeeded, None),
    }
}

/// The outcome when the database refused to count a view `decide` would
/// have counted (parallel requests spent the meter first): a preview
/// behind the spent meter, exactly as the next request will decide.
pub fn refused(article: &ArticleFacts, policy: &Policy) -> Outcome {
    Outcome {
        decision: Decision::Preview {
            blocks: policy.preview_len(article.preview_blocks, article.block_count),
        },
        gate: Some(Gate::MeterSpent),
        count: false,
        remaining: Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::*;
    use ReaderKind::*;

    #[test]
    fn search_splits_follow_what_each_reader_may_read() {
        let p = Policy::default();
        assert_eq!(
            p.search_split(Free, ContentType::News, None, 9),
            (9, SearchAudience::Everyone)
        );
        assert_eq!(
            p.search_split(Registered, ContentType::News, None, 9),
            (3, SearchAudience::Members)
        );
        assert_eq!(
            p.search_split(Subscribers, ContentType::News, Some(1), 9),
            (1, SearchAudience::Subscribers)
        );
        assert_eq!(
            p.search_split(Default, ContentType::News, None, 2),
            (0, SearchAudience::Subscribers),
            "metered"
        );
        assert_eq!(
            p.search_split(Default, ContentType::Event, None, 2),
            (2, SearchAudience::Everyone)
        );
        let fewer = Policy {
            preview_blocks: 2,
            ..Policy::default()
        };
        assert_ne!(p.search_fingerprint(), fewer.search_fingerprint());
        let memo_free = Policy {
            memo: Free,
            ..Policy::default()
        };
        assert_ne!(p.search_fingerprint(), memo_free.search_fingerprint());
        let limits = Policy {
            anonymous_limit: 9,
            ..Policy::default()
        };
        assert_eq!(
            p.search_fingerprint(),
            limits.search_fingerprint(),
            "the meter does not matter"
        );
    }

    #[test]
    fn a_refused_count_is_the_spent_meter_preview() {
        let policy = Policy::default();
        let a = article(Metered);
        let counted: Vec<i64> = (100..100 + i64::from(policy.member_limit)).collect();
        let spent = decide(
            &a,
            &Reader {
                kind: Member,
                entitled: false,
                unlocked: false,
                counted: &counted,
            },
            &policy,
            Channel::ArticlePage,
        );
        assert_eq!(refused(&a, &policy), spent);
    }

    fn article(level: AccessLevel) -> ArticleFacts {
        ArticleFacts {
            id: 7,
            level,
            content_type: ContentType::News,
            preview_blocks: None,
            block_count: 12,
        }
    }

    const P: Decision = Decision::Preview { blocks: 3 };
    const F: Decision = Decision::Full;

    #[test]
    fn a_preview_never_exceeds_the_body() {
        assert_eq!(Decision::Preview { blocks: 3 }.visible_blocks(2), 2);
        assert_eq!(Decision::Preview { blocks: 3 }.visible_blocks(10), 3);
        assert_eq!(Decision::Full.visible_blocks(10), 10);
    }

    #[test]
    fn preview_length_is_at_most_a_third_and_never_the_whole_body() {
        let p = Policy::default();
        assert_eq!(p.preview_len(None, 12), 3);
        assert_eq!(p.preview_len(Some(8), 12), 4, "at most a third");
        assert_eq!(
            p.preview_len(None, 1),
            0,
            "a one-block article shows no body"
        );
        assert_eq!(p.preview_len(None, 2), 0, "nor does a two-block one");
        assert_eq!(p.preview_len(None, 3), 1);
        assert_eq!(p.preview_len(None, 6), 2);
        assert_eq!(
            p.preview_len(Some(0), 9),
            0,
            "a divider first shows nothing"
        );
        assert_eq!(p.preview_len(None, 0), 0);
        for total in 1..200 {
            for own in [None, Some(0), Some(1), Some(total), Some(u32::MAX)] {
                assert!(p.preview_len(own, total) < total, "{own:?} of {total}");
            }
        }
    }

    #[test]
    fn default_resolves_by_content_type() {
        let p = Policy::default();
        assert_eq!(p.resolve(Default, ContentType::Memo), Subscribers);
        assert_eq!(p.resolve(Default, ContentType::Event), Free);
        assert_eq!(p.resolve(Registered, ContentType::Event), Registered);
        let odd = Policy {
            news: Default,
            ..Policy::default()
        };
        assert_eq!(odd.resolve(Default, ContentType::News), Metered);
    }

    type Row<'a> = (
        AccessLevel,
        ReaderKind,
        bool,
        Channel,
        &'a [i64],
        Decision,
        Option<Gate>,
        bool,
        Option<u32>,
    );

    /// The whole table: level × reader × channel × meter state.
    #[test]
    fn the_decision_table() {
        let policy = Policy::default();
        let none: &[i64] = &[];
        let one: &[i64] = &[1];
        let two: &[i64] = &[1, 2];
        let five: &[i64] = &[1, 2, 3, 4, 5];
        let read_this: &[i64] = &[1, 7];
        use Channel::{ArticlePage as Page, Other};
        use Gate::*;
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // level       reader     entitled channel counted    decision gate                      count  remaining
            (Free,         Anonymous, false, Page,  two,       F, None,                     false, None),
            (Free,         Anonymous, false, Other, two,       F, None,                     false, None),
            (Metered,      Anonymous, false, Page,  none,      F, None,                     true,  Some(1)),
            (Metered,      Anonymous, false, Page,  one,       F, None,                     true,  Some(0)),
            (Metered,      Anonymous, false, Page,  two,       P, Some(MeterSpent),         false, Some(0)),
            (Metered,      Anonymous, false, Page,  read_this, F, None,                     false, Some(0)),
            (Metered,      Anonymous, false, Other, none,      P, Some(SubscriptionNeeded), false, None),
            (Metered,      Member,    false, Page,  two,       F, None,                     true,  Some(2)),
            (Metered,      Member,    false, Page,  five,      P, Some(MeterSpent),         false, Some(0)),
            (Metered,      Member,    false, Other, none,      P, Some(SubscriptionNeeded), false, None),
            (Metered,      Member,    true,  Page,  five,      F, None,                     false, None),
            (Metered,      Member,    true,  Other, five,      F, None,                     false, None),
            (Metered,      Staff,     false, Page,  five,      F, None,                     false, None),
            (Registered,   Anonymous, false, Page,  none,      P, Some(RegistrationNeeded), false, None),
            (Registered,   Anonymous, false, Other, none,      P, Some(RegistrationNeeded), false, None),
            (Registered,   Member,    false, Page,  five,      F, None,                     false, None),
            (Registered,   Member,    false, Other, none,      F, None,                     false, None),
            (Subscribers,  Anonymous, false, Page,  none,      P, Some(SubscriptionNeeded), false, None),
            (Subscribers,  Member,    false, Page,  none,      P, Some(SubscriptionNeeded), false, None),
            (Subscribers,  Member,    true,  Page,  none,      F, None,                     false, None),
            (Subscribers,  Member,    true,  Other, none,      F, None,                     false, None),
            (Subscribers,  Staff,     false, Other, none,      F, None,                     false, None),
            (Default,      Anonymous, false, Page,  none,      F, None,                     true,  Some(1)),
            (Default,      Anonymous, false, Page,  two,       P, Some(MeterSpent),         false, Some(0)),
        ];
        for (i, &(level, kind, entitled, channel, counted, decision, gate, count, remaining)) in
            rows.iter().enumerate()
        {
            let reader = Reader {
                kind,
                entitled,
                unlocked: false,
                counted,
            };
            let got = decide(&article(level), &reader, &policy, channel);
            assert_eq!(
                got,
                Outcome {
                    decision,
                    gate,
                    count,
                    remaining
                },
                "row {i}: {level:?} {kind:?} entitled={entitled} {channel:?} {counted:?}"
            );
        }
    }

    #[test]
    fn an_unlocked_article_is_full_for_anyone_on_any_channel() {
        for level in [Metered, Registered, Subscribers] {
            for channel in [Channel::ArticlePage, Channel::Other] {
                let reader = Reader {
                    kind: Anonymous,
                    entitled: false,
                    unlocked: true,
                    counted: &[1, 2, 3],
                };
                assert_eq!(
                    decide(&article(level), &reader, &Policy::default(), channel).decision,
                    Decision::Full
                );
            }
        }
    }

    #[test]
    fn every_combination_has_an_answer_and_previews_stay_within_the_body() {
        for level in AccessLevel::ALL {
            for t in ContentType::ALL {
                for kind in [Anonymous, Member, Staff] {
                    for entitled in [false, true] {
                        for channel in [Channel::ArticlePage, Channel::Other] {
                            for blocks in [0u32, 1, 2, 3, 9, 40] {
                                let a = ArticleFacts {
                                    id: 1,
                                    level: *level,
                                    content_type: *t,
                                    preview_blocks: Some(5),
                                    block_count: blocks,
                                };
                                let r = Reader {
                                    kind,
                                    entitled,
                                    unlocked: false,
                                    counted: &[2, 3, 4, 5, 6],
                                };
                                let out = decide(&a, &r, &Policy::default(), channel);
                                if let Decision::Preview { blocks: shown } = out.decision {
                                    // Never the whole body, never past a third of it.
                                    assert!(blocks == 0 || shown < blocks);
                                    assert!(shown <= blocks / 3);
                                    assert!(out.gate.is_some());
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
