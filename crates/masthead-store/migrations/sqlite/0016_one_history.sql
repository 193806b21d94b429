-- One history per article (issue 13). `editor_versions` keeps every
-- version: the newsroom's saves and autosaves, and from now on every other
-- write of an article (imports, the CLI) with no staff member. The rows of
-- `article_revisions`, which every save wrote and nothing read, move into
-- it in the editor's shape, unless the editor kept that revision itself;
-- `published_at` (seconds) stands in for the editor's local `publish_at`.
INSERT INTO editor_versions (article_id, kind, article_revision, staff_id, staff_name, snapshot, created_at)
SELECT r.article_id, 'save', r.revision, NULL, 'earlier save',
       json_object(
           'headline', COALESCE(json_extract(r.snapshot, '$.headline'), ''),
           'standfirst', COALESCE(json_extract(r.snapshot, '$.standfirst'), ''),
           'dateline', COALESCE(json_extract(r.snapshot, '$.dateline'), ''),
           'slug', COALESCE(json_extract(r.snapshot, '$.slug'), ''),
           'content_type', COALESCE(json_extract(r.snapshot, '$.content_type'), ''),
           'access_level', COALESCE(json_extract(r.snapshot, '$.access_level'), ''),
           'topics', COALESCE((SELECT group_concat(slug, ', ') FROM (
               SELECT t.slug FROM json_each(r.snapshot, '$.topic_ids') j
               JOIN topics t ON t.id = j.value ORDER BY j.key)), ''),
           'authors', COALESCE((SELECT group_concat(slug, ', ') FROM (
               SELECT a.slug FROM json_each(r.snapshot, '$.author_ids') j
               JOIN authors a ON a.id = j.value ORDER BY j.key)), ''),
           'body', COALESCE(json_extract(r.snapshot, '$.body_markdown'), ''),
           'publish_at', '',
           'published_at', json_extract(r.snapshot, '$.published_at'),
           'lead_media', COALESCE(CAST(json_extract(r.snapshot, '$.lead_media_id') AS TEXT), ''),
           'lead_alt', '',
           'lead_caption', '',
           'lead_credit', ''
       ),
       r.created_at
FROM article_revisions r
WHERE NOT EXISTS (
    SELECT 1 FROM editor_versions v
    WHERE v.article_id = r.article_id AND v.article_revision = r.revision AND v.kind = 'save')
ORDER BY r.created_at, r.article_id, r.revision;

DROP TABLE article_revisions;
