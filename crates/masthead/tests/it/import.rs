//! `masthead import`: files in, articles out; bad files reported, not fatal.

use crate::both;
use crate::harness::{Fixture, TestApp};
use masthead::content::import::{ImportOptions, ImportReport, Importer};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

async fn import(app: &TestApp, dir: &Path) -> ImportReport {
    let mut importer = Importer::new(
        app.state.db(),
        app.state.media(),
        app.state.processor(),
        ImportOptions::default(),
    );
    let report = importer
        .import_dir(dir)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    app.state
        .refresh_counters()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    report
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7 % 256) as u8, (y * 3 % 256) as u8, 120])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// A JPEG carrying EXIF orientation 6 (rotate 90° clockwise) and a GPS tag.
fn jpeg_rotated(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, _| {
        image::Rgb([if x < w / 2 { 250 } else { 10 }, 40, 40])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // TIFF, big-endian: IFD0 with Orientation = 6 and a GPS IFD pointer.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    // GPS IFD at 38: GPSLatitudeRef = "N".
    tiff.extend_from_slice(&[0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub const TOPIC: &str =
    "+++\ntype = \"topic\"\nslug = \"tides\"\nname = \"Tides\"\n+++\nAll about tides.\n";
const AUTHOR: &str =
    "+++\ntype = \"author\"\nslug = \"ana-reyes\"\nname = \"Ana Reyes\"\n+++\nCovers the coast.\n";

fn article(slug: &str, extra: &str) -> String {
    format!(
        "+++\ntype = \"article\"\nslug = \"{slug}\"\nheadline = \"Headline for {slug}\"\nstandfirst = \"Summary.\"\n\
         dateline = \"PORT ALDER\"\ncontent_type = \"news\"\npublished_at = \"2026-01-02T03:04:05Z\"\n\
         authors = [\"ana-reyes\"]\ntopics = [\"tides\"]\n{extra}+++\nFirst paragraph.\n\nSecond paragraph.\n"
    )
}

both!(import_creates_then_skips_unchanged_files, Fixture::Empty);
async fn import_creates_then_skips_unchanged_files(app: TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    write(dir.path(), "a.md", &article("low-tide-record", ""));
    let first = import(&app, dir.path()).await;
    assert_eq!((first.created, first.errors.len()), (3, 0), "{first:?}");
    let html = app.get_text("/low-tide-record", 200).await;
    assert!(html.contains("<span class=\"dateline\">PORT ALDER —</span> First paragraph."));
    let again = import(&app, dir.path()).await;
    assert_eq!(again.created, 0);
    assert!(again.unchanged >= 1, "{again:?}");
    write(
        dir.path(),
        "a.md",
        &article("low-tide-record", "").replace("Second paragraph", "Revised paragraph"),
    );
    let third = import(&app, dir.path()).await;
    assert_eq!(third.updated, 3, "{third:?}");
    let html = app.get_text("/low-tide-record", 200).await;
    assert!(
        html.contains("Revised paragraph"),
        "the cache follows the new revision"
    );
}

both!(bad_files_are_reported_with_line_and_reason, Fixture::Empty);
async fn bad_files_are_reported_with_line_and_reason(app: TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    write(dir.path(), "good.md", &article("good-one", ""));
    write(dir.path(), "no-front.md", "Just text\n");
    write(
        dir.path(),
        "bad-toml.md",
        "+++\ntype = \"article\"\nslug = \n+++\nx\n",
    );
    write(
        dir.path(),
        "bad-type.md",
        &article("bad-type", "").replace("content_type = \"news\"", "content_type = \"opinion\""),
    );
    write(dir.path(), "reserved.md", &article("search", ""));
    write(
        dir.path(),
        "unknown-topic.md",
        &article("unknown-topic", "").replace("[\"tides\"]", "[\"weather\"]"),
    );
    write(
        dir.path(),
        "escape.md",
        &article(
            "escape",
            "[lead_image]\nfile = \"../../../etc/hostname\"\nalt = \"x\"\n",
        ),
    );
    write(
        dir.path(),
        "svg.md",
        &article(
            "svg-image",
            "[lead_image]\nfile = \"pic.png\"\nalt = \"x\"\n",
        ),
    );
    write(
        dir.path(),
        "pic.png",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    );
    let report = import(&app, dir.path()).await;
    assert_eq!(report.created, 3, "the good files still import: {report:?}");
    let find = |name: &str| {
        report
            .errors
            .iter()
            .find(|e| e.starts_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("no error for {name}: {:#?}", report.errors))
    };
    assert!(find("no-front.md:1:").contains("+++"));
    assert!(find("bad-toml.md:3:").contains("not valid TOML"));
    assert!(find("bad-type.md:7:").contains("unknown content type \"opinion\""));
    assert!(find("reserved.md:3:").contains("reserved"));
    assert!(find("unknown-topic.md:10:").contains("unknown topic \"weather\""));
    assert!(
        find("escape.md:").contains("outside the import directory")
            || find("escape.md:").contains("cannot be read")
    );
    assert!(find("svg.md:").contains("SVG images are not accepted"));
    assert_eq!(report.errors.len(), 7);
    app.get_text("/svg-image", 404).await;
}

both!(
    images_are_oriented_stripped_and_given_variants,
    Fixture::Empty
);
async fn images_are_oriented_stripped_and_given_variants(app: TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    std::fs::write(dir.path().join("rotated.jpg"), jpeg_rotated(1200, 800))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("wide.png"), png(2000, 1000)).unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "a.md", &article("rotated-photo", "[lead_image]\nfile = \"rotated.jpg\"\nalt = \"Alt\"\ncaption = \"Cap\"\ncredit = \"A/B via C\"\n"));
    write(
        dir.path(),
        "b.md",
        &article(
            "wide-photo",
            "[lead_image]\nfile = \"wide.png\"\nalt = \"Alt\"\n",
        ),
    );
    let report = import(&app, dir.path()).await;
    assert!(report.errors.is_empty(), "{report:?}");
    let html = app.get_text("/rotated-photo", 200).await;
    // 1200×800 rotated a quarter turn is 800×1200: variants 480 and 800 wide.
    assert!(
        html.contains("width=\"800\" height=\"1200\""),
        "orientation applied"
    );
    let srcset = html
        .split("srcset=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    assert_eq!(srcset.matches("w,").count() + 1, 2, "{srcset}");
    for url in srcset
        .split(", ")
        .map(|s| s.split(' ').next().unwrap_or_default().to_string())
    {
        let bytes = app.get(&url).await.bytes().await.unwrap_or_default();
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "{url} is a JPEG");
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "{url} carries no EXIF"
        );
        let img = image::load_from_memory(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(img.height() > img.width(), "portrait after rotation");
    }
    let wide = app.get_text("/wide-photo", 200).await;
    let srcset = wide
        .split("srcset=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    for w in ["480w", "960w", "1600w", "2000w"] {
        assert!(srcset.contains(w), "{w} in {srcset}");
    }
}

both!(
    oversized_and_bomb_images_are_refused_clearly,
    Fixture::Empty
);
async fn oversized_and_bomb_images_are_refused_clearly(app: TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    // A PNG header claiming 100000×100000 pixels.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    std::fs::write(dir.path().join("bomb.png"), bomb).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("heic.jpg"),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "a.md",
        &article("bomb", "[lead_image]\nfile = \"bomb.png\"\nalt = \"x\"\n"),
    );
    write(
        dir.path(),
        "b.md",
        &article("heic", "[lead_image]\nfile = \"heic.jpg\"\nalt = \"x\"\n"),
    );
    let report = import(&app, dir.path()).await;
    assert_eq!(report.errors.len(), 2, "{report:?}");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.starts_with("a.md") && (e.contains("larger than") || e.contains("decoded"))),
        "{report:?}"
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.starts_with("b.md") && e.contains("HEIC")),
        "{report:?}"
    );
}

both!(
    a_headline_with_script_cannot_break_out_of_json_ld,
    Fixture::Empty
);
async fn a_headline_with_script_cannot_break_out_of_json_ld(app: TestApp) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    let hostile = "Tide </script><script>alert(1)</script> & \\\"more\\\"";
    write(
        dir.path(),
        "a.md",
        &article("hostile-headline", "").replace(
            "headline = \"Headline for hostile-headline\"",
            &format!("headline = \"{hostile}\""),
        ),
    );
    let report = import(&app, dir.path()).await;
    assert!(report.errors.is_empty(), "{report:?}");
    let html = app.get_text("/hostile-headline", 200).await;
    assert!(
        !html.contains("<script>alert"),
        "no executable script anywhere"
    );
    let json = html
        .split("<script type=\"application/ld+json\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap_or_default();
    let ld: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(
        ld["headline"],
        "Tide </script><script>alert(1)</script> & \"more\""
    );
    assert!(html.contains("<h1 class=\"headline\">Tide &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;</h1>"));
}

both!(
    import_reports_a_conflict_with_newsroom_edits_unless_forced,
    Fixture::Empty
);
async fn import_reports_a_conflict_with_newsroom_edits_unless_forced(app: TestApp) {
    let db = app.state.db();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "topics/tides.md", TOPIC);
    write(dir.path(), "authors/ana.md", AUTHOR);
    write(dir.path(), "a.md", &article("harbour-edit", ""));
    assert_eq!(import(&app, dir.path()).await.created, 3);
    // The file changes and import wrote the article last: it is updated.
    write(
        dir.path(),
        "a.md",
        &article("harbour-edit", "").replace(
            "Second paragraph.",
            "Second paragraph, revised in the file.",
        ),
    );
    let second = import(&app, dir.path()).await;
    assert!(second.conflicts.is_empty(), "{second:?}");
    let md = |db| async move {
        masthead_store::content::find_article_markdown(db, id_of(db).await)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(md(db).await.contains("revised in the file"));
    // The newsroom edits it (a save clears the source hash).
    let mut a = masthead_store::content::find_article_any(db, "harbour-edit")
        .await
        .unwrap()
        .unwrap();
    let id = a.id;
    let body = "Edited in the newsroom.";
    let blocks = masthead::content::markdown::render_blocks(body).unwrap_or_else(|e| panic!("{e}"));
    let edited = masthead_store::content::NewArticle {
        slug: masthead_core::Slug::parse_article("harbour-edit").unwrap(),
        headline: std::mem::take(&mut a.headline),
        standfirst: a.standfirst.clone(),
        dateline: a.dateline.clone(),
        content_type: a.content_type,
        access_level: a.access_level,
        preview_blocks: None,
        status: a.status,
        published_at: a.published_at.map(|p| p.as_second()),
        updated_at: None,
        body_markdown: Some(body.to_string()),
        search: masthead::content::search::search_text(
            &blocks,
            a.access_level,
            a.content_type,
            None,
            &masthead_core::access::Policy::default(),
        ),
        blocks,
        lead: None,
        author_ids: Vec::new(),
        topic_ids: Vec::new(),
        previous_slugs: Vec::new(),
        source_hash: None,
    };
    masthead_store::content::upsert_article(db, &edited, 1)
        .await
        .unwrap();
    // Import again with another change in the file: a conflict, the edit kept.
    write(
        dir.path(),
        "a.md",
        &article("harbour-edit", "").replace("Second paragraph.", "Third version of the file."),
    );
    let third = import(&app, dir.path()).await;
    assert_eq!(third.conflicts.len(), 1, "{third:?}");
    assert!(
        third.conflicts[0].ends_with(": harbour-edit"),
        "{:?}",
        third.conflicts
    );
    assert_eq!(
        masthead_store::content::find_article_markdown(db, id)
            .await
            .unwrap()
            .unwrap(),
        body
    );
    // --force overwrites it, and import owns it again.
    let mut importer = Importer::new(
        db,
        app.state.media(),
        app.state.processor(),
        ImportOptions {
            force: true,
            ..ImportOptions::default()
        },
    );
    let forced = importer
        .import_dir(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(forced.conflicts.is_empty(), "{forced:?}");
    assert!(masthead_store::content::find_article_markdown(db, id)
        .await
        .unwrap()
        .unwrap()
        .contains("Third version of the file."));
    assert!(
        import(&app, dir.path()).await.conflicts.is_empty(),
        "import owns it again"
    );
}

async fn id_of(db: &masthead_store::Db) -> i64 {
    masthead_store::content::find_article_any(db, "harbour-edit")
        .await
        .unwrap()
        .unwrap()
        .id
}
