-- The search index holds each article's text by who may read it, so a
-- query matches only text its reader may see (issue 12): `open` is the
-- preview (all of a free article's body), `members` the rest of a
-- registration-wall article, `subscribers` the rest of a metered or
-- subscriber-only one. `fingerprint` is the access policy the split was
-- made under (`Policy::search_fingerprint`); a stale row matches readers
-- who are not entitled by headline and standfirst only, until the
-- search_index job makes it again. Starts empty: that job fills it.
-- Weights carry the audience: A headline and standfirst, B open,
-- C members, D subscribers.
DROP TABLE article_search;
CREATE TABLE article_search (
    article_id BIGINT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    headline TEXT NOT NULL,
    standfirst TEXT NOT NULL,
    open TEXT NOT NULL,
    members TEXT NOT NULL,
    subscribers TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', headline || ' ' || standfirst), 'A') ||
        setweight(to_tsvector('english', open), 'B') ||
        setweight(to_tsvector('english', members), 'C') ||
        setweight(to_tsvector('english', subscribers), 'D')
    ) STORED
);
CREATE INDEX article_search_document ON article_search USING GIN (document);
