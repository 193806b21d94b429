-- A digest's articles, fixed when its sending starts (the email and its
-- web version list the same articles for good, however many are
-- published later). digest_fixed_at says the list was fixed, even empty.
ALTER TABLE sends ADD COLUMN digest_fixed_at INTEGER;
CREATE TABLE send_articles (
    send_id INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (send_id, article_id)
);
