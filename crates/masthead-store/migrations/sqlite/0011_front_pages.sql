-- Front pages: editors pin a lead story (position 0) and order featured
-- slots on the home page ('home') and each section ('section:news' …).
CREATE TABLE front_slots (
    page TEXT NOT NULL,
    position INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (page, position)
);
