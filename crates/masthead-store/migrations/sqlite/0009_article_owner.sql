-- The staff member who created an article in the newsroom (NULL for
-- imported ones): contributors and authors work on their own.
ALTER TABLE articles ADD COLUMN owner_staff_id INTEGER REFERENCES staff (id) ON DELETE SET NULL;
