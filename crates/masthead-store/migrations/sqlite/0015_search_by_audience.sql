-- The search index holds each article's text by who may read it, so a
-- query matches only text its reader may see (issue 12): `open` is the
-- preview (all of a free article's body), `members` the rest of a
-- registration-wall article, `subscribers` the rest of a metered or
-- subscriber-only one. `fingerprint` is the access policy the split was
-- made under (`Policy::search_fingerprint`); a stale row matches readers
-- who are not entitled by headline and standfirst only, until the
-- search_index job makes it again. Starts empty: that job fills it.
DROP TABLE article_search;
CREATE VIRTUAL TABLE article_search USING fts5 (
    article_id UNINDEXED,
    fingerprint UNINDEXED,
    headline,
    standfirst,
    open,
    members,
    subscribers,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
