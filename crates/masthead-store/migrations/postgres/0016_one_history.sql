-- One history per article (issue 13). `editor_versions` keeps every
-- version: the newsroom's saves and autosaves, and from now on every other
-- write of an article (imports, the CLI) with no staff member. The rows of
-- `article_revisions`, which every save wrote and nothing read, move into
-- it in the editor's shape, unless the editor kept that revision itself;
-- `published_at` (seconds) stands in for the editor's local `publish_at`.
INSERT INTO editor_versions (article_id, kind, article_revision, staff_id, staff_name, snapshot, created_at)
SELECT r.article_id, 'save', r.revision, NULL, 'earlier save',
       jsonb_build_object(
           'headline', COALESCE(s.j->>'headline', ''),
           'standfirst', COALESCE(s.j->>'standfirst', ''),
           'dateline', COALESCE(s.j->>'dateline', ''),
           'slug', COALESCE(s.j->>'slug', ''),
           'content_type', COALESCE(s.j->>'content_type', ''),
           'access_level', COALESCE(s.j->>'access_level', ''),
           'topics', COALESCE((
               SELECT string_agg(t.slug, ', ' ORDER BY e.n)
               FROM jsonb_array_elements_text(COALESCE(s.j->'topic_ids', '[]'::jsonb)) WITH ORDINALITY e(v, n)
               JOIN topics t ON t.id = e.v::bigint), ''),
           'authors', COALESCE((
               SELECT string_agg(a.slug, ', ' ORDER BY e.n)
               FROM jsonb_array_elements_text(COALESCE(s.j->'author_ids', '[]'::jsonb)) WITH ORDINALITY e(v, n)
               JOIN authors a ON a.id = e.v::bigint), ''),
           'body', COALESCE(s.j->>'body_markdown', ''),
           'publish_at', '',
           'published_at', s.j->'published_at',
           'lead_media', COALESCE(s.j->>'lead_media_id', ''),
           'lead_alt', '',
           'lead_caption', '',
           'lead_credit', ''
       )::text,
       r.created_at
FROM article_revisions r
CROSS JOIN LATERAL (SELECT r.snapshot::jsonb AS j) s
WHERE NOT EXISTS (
    SELECT 1 FROM editor_versions v
    WHERE v.article_id = r.article_id AND v.article_revision = r.revision AND v.kind = 'save')
ORDER BY r.created_at, r.article_id, r.revision;

DROP TABLE article_revisions;
