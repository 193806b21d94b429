//! The newsroom's editor beyond the basics: the media library (uploads,
//! bad files, the words kept with an image), versions (save, autosave,
//! compare, restore), shared draft-preview links, two-step log-in, and
//! `masthead import` against newsroom edits.

use crate::both;
use crate::harness::{Browser, Fixture, TestApp};

use crate::harness::staff_browser as staff;

/// POSTs a multipart form (`harness::Browser::upload`).
async fn upload(
    b: &Browser<'_>,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    b.upload(path, fields, file).await
}

/// The words of the ferry photo the media tests upload.
const FERRY: [(&str, &str); 3] = [
    ("alt", "A ferry leaving the harbour at dawn"),
    ("caption", "The 6:10 sailing."),
    ("credit", "Ines Varga/Harbour Pictures"),
];

/// A staff member uploads the ferry photo (1200 × 800) with its words.
async fn upload_ferry(b: &Browser<'_>, csrf: &str) -> reqwest::Response {
    let mut fields = vec![("csrf", csrf)];
    fields.extend(FERRY);
    upload(
        b,
        "/admin/media",
        &fields,
        Some(("ferry.png", "image/png", &photo(1200, 800))),
    )
    .await
}

fn photo(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 200) as u8, (y % 180) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

async fn media_count(app: &TestApp) -> usize {
    masthead_store::media::list_media(app.state.db(), 1000)
        .await
        .unwrap()
        .len()
}

both!(
    the_media_library_takes_an_image_with_its_words_and_sizes,
    Fixture::Demo
);
async fn the_media_library_takes_an_image_with_its_words_and_sizes(app: TestApp) {
    let (mut b, csrf) = staff(&app, "contributor").await;
    let before = media_count(&app).await;
    let res = upload_ferry(&b, &csrf).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/admin/media?done=uploaded");
    let rows = masthead_store::media::list_media(app.state.db(), 1)
        .await
        .unwrap();
    let row = &rows[0];
    assert_eq!(
        (row.alt.as_str(), row.caption.as_str(), row.credit.as_str()),
        (FERRY[0].1, FERRY[1].1, FERRY[2].1)
    );
    assert_eq!(
        row.media
            .variants
            .iter()
            .map(|v| v.width)
            .collect::<Vec<_>>(),
        vec![480, 960, 1200]
    );
    for v in &row.media.variants {
        let url = format!("/media/{}-{}.{}", row.media.hash, v.width, v.ext);
        assert_eq!(app.get(&url).await.status().as_u16(), 200, "{url}");
    }
    let page = b.page("/admin/media?done=uploaded").await;
    assert!(
        page.contains("The image is in the library.")
            && page.contains("A ferry leaving the harbour at dawn")
    );
    assert_eq!(media_count(&app).await, before + 1);
}

both!(the_media_library_refuses_bad_files_clearly, Fixture::Demo);
async fn the_media_library_refuses_bad_files_clearly(app: TestApp) {
    let (mut b, csrf) = staff(&app, "contributor").await;
    let words = [
        ("csrf", csrf.as_str()),
        ("alt", "A ferry leaving the harbour at dawn"),
    ];
    let before = media_count(&app).await;
    // Bad files: each a clear message and a proper status, nothing stored.
    // A real PNG header (valid CRC) claiming 60,000 × 60,000 pixels.
    let mut bomb = photo(1, 1);
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let huge = vec![0x89u8; 50 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("huge.png", huge, 413, "larger than 25 MB"),
        ("bomb.png", bomb, 422, "the image is too large"),
        (
            "drawing.jpg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
            422,
            "SVG images are not accepted",
        ),
        (
            "phone.jpg",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            422,
            "HEIC/HEIF images are not accepted",
        ),
        (
            "lying.jpg",
            b"this is a text file pretending to be a JPEG".to_vec(),
            422,
            "not a supported image",
        ),
    ];
    for (name, bytes, status, says) in &cases {
        let res = upload(
            &b,
            "/admin/media",
            &words,
            Some((name, "image/jpeg", bytes)),
        )
        .await;
        assert_eq!(res.status().as_u16(), *status, "{name}");
        let text = res.text().await.unwrap();
        let shown = text
            .split("role=\"alert\"")
            .nth(1)
            .unwrap_or(&text)
            .split("</p>")
            .next()
            .unwrap_or_default();
        assert!(
            text.contains(says) && text.contains("Nothing was stored"),
            "{name}: {shown}"
        );
    }
    assert_eq!(
        media_count(&app).await,
        before,
        "nothing stored from bad files"
    );
    // No alt text, a forged form, no session, not multipart at all.
    let no_alt = [("csrf", csrf.as_str()), ("alt", " ")];
    assert_eq!(
        upload(
            &b,
            "/admin/media",
            &no_alt,
            Some(("a.png", "image/png", &photo(20, 20)))
        )
        .await
        .status()
        .as_u16(),
        422
    );
    let forged = [("csrf", "forged"), ("alt", "x")];
    assert_eq!(
        upload(
            &b,
            "/admin/media",
            &forged,
            Some(("a.png", "image/png", &photo(20, 20)))
        )
        .await
        .status()
        .as_u16(),
        403
    );
    let anonymous = Browser::new(&app);
    assert_eq!(
        upload(
            &anonymous,
            "/admin/media",
            &words,
            Some(("a.png", "image/png", &photo(20, 20)))
        )
        .await
        .status()
        .as_u16(),
        303
    );
    assert_eq!(b.send_status("/admin/media", &[("alt", "x")]).await, 400);
    assert_eq!(media_count(&app).await, before);
}

both!(
    an_images_words_change_and_are_offered_on_reuse,
    Fixture::Demo
);
async fn an_images_words_change_and_are_offered_on_reuse(app: TestApp) {
    let (mut b, csrf) = staff(&app, "contributor").await;
    let res = upload_ferry(&b, &csrf).await;
    assert_eq!(res.status().as_u16(), 303);
    let rows = masthead_store::media::list_media(app.state.db(), 1)
        .await
        .unwrap();
    let row = &rows[0];
    // The words stored with an image change, and are offered on reuse: a
    // lead image chosen with empty fields takes them.
    let id = row.media.id.to_string();
    let res = b
        .send(
            &format!("/admin/media/{id}"),
            &[
                ("alt", "The ferry at dawn"),
                ("caption", "Leaving Port Alder."),
                ("credit", "Ines Varga/Harbour Pictures"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (mut editor, ecsrf) = staff(&app, "editor").await;
    let form = [
        ("csrf", ecsrf.as_str()),
        ("revision", ""),
        ("headline", "The dawn ferry"),
        ("standfirst", "Early."),
        ("dateline", ""),
        ("slug", ""),
        ("content_type", "news"),
        ("access_level", "free"),
        ("topics", ""),
        ("authors", ""),
        ("body", "Text."),
        ("publish_at", ""),
        ("lead_media", id.as_str()),
        ("lead_alt", ""),
        ("lead_caption", ""),
        ("lead_credit", ""),
        ("action", "save"),
    ];
    let res = editor.post("/admin/articles/new", &form).await;
    assert_eq!(res.status().as_u16(), 303);
    let a = masthead_store::content::find_article_any(app.state.db(), "the-dawn-ferry")
        .await
        .unwrap()
        .unwrap();
    let lead = a.lead_image.expect("the lead image");
    assert_eq!(
        (
            lead.alt.as_str(),
            lead.caption.as_str(),
            lead.credit.as_str()
        ),
        (
            "The ferry at dawn",
            "Leaving Port Alder.",
            "Ines Varga/Harbour Pictures"
        )
    );
    // A lead image that does not exist is refused.
    let mut bad = form;
    bad[12].1 = "999999";
    bad[6].1 = "another-dawn-ferry";
    let res = editor.post("/admin/articles/new", &bad).await;
    assert_eq!(res.status().as_u16(), 422);
}

fn article_fields<'a>(
    csrf: &'a str,
    revision: &'a str,
    body: &'a str,
    action: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("revision", revision),
        ("headline", "Harbour dredging to start"),
        ("standfirst", "Work begins in March."),
        ("dateline", "PORT ALDER"),
        ("slug", ""),
        ("content_type", "news"),
        ("access_level", "subscribers"),
        ("topics", ""),
        ("authors", ""),
        ("body", body),
        ("publish_at", ""),
        ("action", action),
    ]
}

async fn revision_of(app: &TestApp, id: i64) -> String {
    masthead_store::newsroom::article_revision(app.state.db(), id)
        .await
        .unwrap()
        .unwrap()
        .to_string()
}

/// An editor's browser on a new article saved twice ("March", then
/// "April" with a line added): (browser, csrf, editor path, id).
async fn saved_twice(app: &TestApp) -> (Browser<'_>, String, String, i64) {
    let (mut b, csrf) = staff(app, "editor").await;
    let first = "Dredgers arrive in March.\n\nThe channel will be 12 metres deep.";
    let res = b
        .post(
            "/admin/articles/new",
            &article_fields(&csrf, "", first, "save"),
        )
        .await;
    let edit = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?saved=1")
        .to_string();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    let second = "Dredgers arrive in April.\n\nThe channel will be 12 metres deep.\n\nFishing boats will use the north quay.";
    let rev = revision_of(app, id).await;
    assert_eq!(
        b.post_status(&edit, &article_fields(&csrf, &rev, second, "save"))
            .await,
        303
    );
    (b, csrf, edit, id)
}

both!(versions_are_kept_and_compared_line_by_line, Fixture::Demo);
async fn versions_are_kept_and_compared_line_by_line(app: TestApp) {
    let db = app.state.db();
    let (mut b, _, edit, id) = saved_twice(&app).await;
    let versions = masthead_store::newsroom::list_revisions(db, id, 10)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.kind.as_str()).collect::<Vec<_>>(),
        vec!["save", "save"]
    );
    let oldest = versions[1].id;
    // Compare the first version with now: the changed line and the new one.
    let diff = b.page(&format!("{edit}/revisions/{oldest}")).await;
    assert!(
        diff.contains(
            "<del><span class=\"visually-hidden\">removed: </span>Dredgers arrive in March.</del>"
        ),
        "{diff}"
    );
    assert!(diff.contains(
        "<ins><span class=\"visually-hidden\">added: </span>Dredgers arrive in April.</ins>"
    ));
    assert!(diff.contains("<ins><span class=\"visually-hidden\">added: </span>Fishing boats will use the north quay.</ins>"));
    assert!(
        diff.contains("<span>The channel will be 12 metres deep.</span>"),
        "unchanged lines shown plainly"
    );
    assert_eq!(b.get_status(&format!("{edit}/revisions/999999")).await, 404);
}

both!(
    a_version_opens_in_the_editor_and_changes_nothing_until_saved,
    Fixture::Demo
);
async fn a_version_opens_in_the_editor_and_changes_nothing_until_saved(app: TestApp) {
    let db = app.state.db();
    let (mut b, _, edit, id) = saved_twice(&app).await;
    let versions = masthead_store::newsroom::list_revisions(db, id, 10)
        .await
        .unwrap();
    let oldest = versions[1].id;
    // Restore opens that version in the editor; nothing changes until saved.
    let restored = b.page(&format!("{edit}?restore={oldest}")).await;
    assert!(
        restored.contains("It is not saved yet") && restored.contains("Dredgers arrive in March.")
    );
    assert!(masthead_store::content::find_article_markdown(db, id)
        .await
        .unwrap()
        .unwrap()
        .contains("April"));
}

both!(autosave_keeps_work_apart_from_the_article, Fixture::Demo);
async fn autosave_keeps_work_apart_from_the_article(app: TestApp) {
    let db = app.state.db();
    let (mut b, csrf, edit, id) = saved_twice(&app).await;
    // Autosave keeps work as this person's autosave, not in the article.
    let rev = revision_of(&app, id).await;
    let auto = format!("{edit}/autosave");
    let typed = "Dredgers arrive in May, after the storms.";
    let res = b
        .post(&auto, &article_fields(&csrf, &rev, typed, "autosave"))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let answer: serde_json::Value = res.json().await.unwrap();
    assert!(
        answer["saved_at"].as_str().is_some_and(|t| t.len() == 5),
        "{answer}"
    );
    let res = b
        .post(
            &auto,
            &article_fields(
                &csrf,
                &rev,
                "Dredgers arrive in May, after the storms. More.",
                "autosave",
            ),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let versions = masthead_store::newsroom::list_revisions(db, id, 10)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().filter(|v| v.kind == "autosave").count(),
        1,
        "one autosave per person, the latest"
    );
    assert!(
        masthead_store::content::find_article_markdown(db, id)
            .await
            .unwrap()
            .unwrap()
            .contains("April"),
        "the article is untouched"
    );
    assert_eq!(revision_of(&app, id).await, rev);
    // Reopening the editor offers the autosave; restoring it brings the text back.
    let page = b.page(&edit).await;
    assert!(
        page.contains("You have changes autosaved at"),
        "the editor offers the autosave"
    );
    let restored = b.page(&format!("{edit}?restore={}", versions[0].id)).await;
    assert!(restored.contains("after the storms. More."));
}

both!(
    autosave_refuses_expired_forged_stale_large_and_foreign_requests,
    Fixture::Demo
);
async fn autosave_refuses_expired_forged_stale_large_and_foreign_requests(app: TestApp) {
    let (mut b, csrf, edit, id) = saved_twice(&app).await;
    let rev = revision_of(&app, id).await;
    let auto = format!("{edit}/autosave");
    let typed = "Dredgers arrive in May, after the storms.";
    // A session that has expired: 401 as JSON (the script keeps the text).
    let mut gone = Browser::new(&app);
    let res = gone
        .post(&auto, &article_fields("x", &rev, typed, "autosave"))
        .await;
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.text().await.unwrap().contains("session has expired"));
    // A forged token, a stale revision, a body too large.
    assert_eq!(
        b.post_status(&auto, &article_fields("forged", &rev, typed, "autosave"))
            .await,
        403
    );
    assert_eq!(
        b.post_status(&auto, &article_fields(&csrf, "1", typed, "autosave"))
            .await,
        409
    );
    let big = "x".repeat(1_000_001);
    assert_eq!(
        b.post_status(&auto, &article_fields(&csrf, &rev, &big, "autosave"))
            .await,
        413
    );
    // Someone else's article a contributor may not touch.
    let (mut contributor, ccsrf) = staff(&app, "contributor").await;
    let res = contributor
        .post(&auto, &article_fields(&ccsrf, &rev, typed, "autosave"))
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let answer: serde_json::Value = res.json().await.unwrap();
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("does not allow editing"),
        "{answer}"
    );
    let gone = "/admin/articles/999999/autosave";
    assert_eq!(
        b.post_status(gone, &article_fields(&csrf, &rev, typed, "autosave"))
            .await,
        404
    );
}

both!(
    a_shared_draft_preview_link_works_for_anyone_until_it_expires,
    Fixture::Demo
);
async fn a_shared_draft_preview_link_works_for_anyone_until_it_expires(app: TestApp) {
    let (mut b, csrf) = staff(&app, "author").await;
    let body = "Open to all.\n\n<!-- paywall -->\n\nSharedDraftSecretK7 stays in the draft.";
    let res = b
        .post(
            "/admin/articles/new",
            &article_fields(&csrf, "", body, "save"),
        )
        .await;
    let edit = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?saved=1")
        .to_string();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    let res = b.share_preview(&edit, "3").await;
    assert_eq!(res.status().as_u16(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let token = to.split("share=").nth(1).unwrap().to_string();
    let page = b.page(&to).await;
    assert!(
        page.contains(&format!("/preview/{token}")),
        "the editor shows the link"
    );
    // Anyone with the link reads the draft in full, never cached or indexed.
    let res = app.get(&format!("/preview/{token}")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-robots-tag"], "noindex");
    let text = res.text().await.unwrap();
    assert!(text.contains("SharedDraftSecretK7") && text.contains("Draft preview"));
    // A tampered, an expired and a made-up token get nothing.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let expired = masthead::newsroom::articles::preview_token(
        &app.state,
        id,
        jiff::Timestamp::now().as_second() - 1,
    );
    let forged_id = token.replacen(&format!("d{id}."), &format!("d{}.", id + 1), 1);
    for t in [
        tampered.as_str(),
        expired.as_str(),
        forged_id.as_str(),
        "nonsense",
    ] {
        let res = app.get(&format!("/preview/{t}")).await;
        assert_eq!(res.status().as_u16(), 404, "{t}");
        assert!(!res.text().await.unwrap().contains("SharedDraftSecretK7"));
    }
    assert_eq!(b.share_preview(&edit, "365").await.status().as_u16(), 400);
    assert_eq!(
        b.post_status(
            &format!("{edit}/share"),
            &[("csrf", "forged"), ("days", "1")]
        )
        .await,
        403
    );
}

fn code_at(secret: &str, step: i64) -> String {
    let key = masthead_core::totp::base32_decode(secret).unwrap();
    format!("{:06}", masthead_core::totp::hotp(&key, step as u64, 6))
}

fn attr(html: &str, before: &str) -> String {
    html.split(before)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// An editor with a password, logged in (no second step yet).
struct Editor<'a> {
    b: Browser<'a>,
    csrf: String,
    staff_id: i64,
}

async fn editor_with_password(app: &TestApp) -> Editor<'_> {
    let db = app.state.db();
    staff(app, "editor").await;
    let staff_id = masthead_store::members::find_staff_by_email(db, "editor@newsroom.example")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let hash = app
        .state
        .passwords()
        .hash("harbour lights 42")
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    masthead_store::members::set_staff_password(&mut tx, staff_id, &hash, 1)
        .await
        .unwrap();
    masthead_store::commit(tx).await.unwrap();
    // Logged in with the password (no second step yet).
    let mut b = Browser::new(app);
    let res = b
        .staff_log_in("editor@newsroom.example", "harbour lights 42")
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let csrf = masthead::members::tokens::csrf_token(&b.jar["masthead_staff"]);
    Editor { b, csrf, staff_id }
}

/// Two-step log-in turned on through the account page: the secret, the
/// step whose code turned it on, and the recovery codes shown.
struct TwoStep {
    secret: String,
    step: i64,
    codes: Vec<String>,
}

fn recovery_codes(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .map(|r| r.split('<').next().unwrap_or_default().to_string())
        .collect()
}

async fn turn_on_two_step(e: &mut Editor<'_>) -> TwoStep {
    let csrf = e.csrf.clone();
    let res =
        e.b.post("/admin/account/2fa", &[("csrf", &csrf), ("step", "start")])
            .await;
    let secret = attr(&res.text().await.unwrap(), "data-secret=\"");
    let step = masthead_core::totp::step_of(jiff::Timestamp::now().as_second());
    let res =
        e.b.post(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "confirm"),
                ("secret", &secret),
                ("code", &code_at(&secret, step)),
                ("password", "harbour lights 42"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let codes = recovery_codes(&res.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    TwoStep {
        secret,
        step,
        codes,
    }
}

both!(
    turning_on_two_step_log_in_needs_the_password_and_a_code,
    Fixture::Demo
);
async fn turning_on_two_step_log_in_needs_the_password_and_a_code(app: TestApp) {
    let db = app.state.db();
    let Editor {
        mut b,
        csrf,
        staff_id,
    } = editor_with_password(&app).await;
    // Set up: a key to scan, confirmed by a code.
    let res = b
        .post("/admin/account/2fa", &[("csrf", &csrf), ("step", "start")])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    let secret = attr(&page, "data-secret=\"");
    assert_eq!(
        secret.len(),
        32,
        "{}",
        &page[page.len().saturating_sub(3000)..]
    );
    assert!(page.contains("otpauth://totp/"));
    let now = jiff::Timestamp::now().as_second();
    let step = masthead_core::totp::step_of(now);
    let wrong = b
        .post(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "confirm"),
                ("secret", &secret),
                ("code", "000000"),
                ("password", "harbour lights 42"),
            ],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 422);
    // A session alone cannot turn it on: the password is asked for.
    let no_password = b
        .post(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "confirm"),
                ("secret", &secret),
                ("code", &code_at(&secret, step)),
            ],
        )
        .await;
    assert_eq!(no_password.status().as_u16(), 422);
    assert!(masthead_store::members::find_staff_totp(db, staff_id)
        .await
        .unwrap()
        .is_none());
    let res = b
        .post(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "confirm"),
                ("secret", &secret),
                ("code", &code_at(&secret, step)),
                ("password", "harbour lights 42"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|r| r.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes shown once");
    assert!(
        !b.page("/admin/account").await.contains(&codes[0]),
        "shown only once"
    );
}

both!(
    two_step_log_in_takes_each_code_once_and_recovery_codes_once,
    Fixture::Demo
);
async fn two_step_log_in_takes_each_code_once_and_recovery_codes_once(app: TestApp) {
    let db = app.state.db();
    let mut e = editor_with_password(&app).await;
    let staff_id = e.staff_id;
    let TwoStep {
        secret,
        step,
        codes,
    } = turn_on_two_step(&mut e).await;
    // Log-in: the password alone is not enough.
    let mut fresh = Browser::new(&app);
    let res = fresh
        .staff_log_in("editor@newsroom.example", "harbour lights 42")
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        !res.headers().contains_key("set-cookie"),
        "no session before the code"
    );
    let token = attr(&res.text().await.unwrap(), "name=\"token\" value=\"");
    // The code that turned it on was used: a replay is refused.
    let replay = fresh.two_step_code(&token, &code_at(&secret, step)).await;
    assert_eq!(replay.status().as_u16(), 401);
    assert!(fresh.get("/admin").await.status().is_redirection());
    // The next code works, once.
    let next = code_at(&secret, step + 1);
    let res = fresh.two_step_code(&token, &next).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(fresh.get_status("/admin").await, 200);
    let mut other = Browser::new(&app);
    let res = other
        .staff_log_in("editor@newsroom.example", "harbour lights 42")
        .await;
    let token2 = attr(&res.text().await.unwrap(), "name=\"token\" value=\"");
    assert_eq!(
        other.two_step_code(&token2, &next).await.status().as_u16(),
        401,
        "a used code is refused"
    );
    // The log-in token itself works once.
    assert_eq!(
        fresh
            .two_step_code(&token, &code_at(&secret, step + 2))
            .await
            .status()
            .as_u16(),
        410
    );
    // A recovery code works once, typed any way.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(
        other.two_step_code(&token2, &typed).await.status().as_u16(),
        303
    );
    let mut third = Browser::new(&app);
    let res = third
        .staff_log_in("editor@newsroom.example", "harbour lights 42")
        .await;
    let token3 = attr(&res.text().await.unwrap(), "name=\"token\" value=\"");
    assert_eq!(
        third
            .two_step_code(&token3, &codes[3])
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        masthead_store::members::recovery_codes_left(db, staff_id)
            .await
            .unwrap(),
        9
    );
}

both!(
    replacing_two_step_log_in_needs_the_password_and_a_current_code,
    Fixture::Demo
);
async fn replacing_two_step_log_in_needs_the_password_and_a_current_code(app: TestApp) {
    let db = app.state.db();
    let mut e = editor_with_password(&app).await;
    let TwoStep { secret, codes, .. } = turn_on_two_step(&mut e).await;
    let Editor {
        mut b,
        csrf,
        staff_id,
    } = e;
    // Issue 12 item 11: replacing it (a new phone) with only the session
    // is refused; it needs the password and a current or recovery code.
    let res = b
        .post("/admin/account/2fa", &[("csrf", &csrf), ("step", "start")])
        .await;
    let page = res.text().await.unwrap();
    assert!(
        page.contains("name=\"current\""),
        "the replace form asks for the current code"
    );
    let theirs = attr(&page, "data-secret=\"");
    let their_code = code_at(
        &theirs,
        masthead_core::totp::step_of(jiff::Timestamp::now().as_second()),
    );
    for form in [
        vec![("code", their_code.as_str())],
        vec![
            ("code", their_code.as_str()),
            ("password", "harbour lights 42"),
        ],
        vec![
            ("code", their_code.as_str()),
            ("current", codes[6].as_str()),
        ],
        vec![
            ("code", their_code.as_str()),
            ("current", "00000"),
            ("password", "harbour lights 42"),
        ],
    ] {
        let mut f = vec![
            ("csrf", csrf.as_str()),
            ("step", "confirm"),
            ("secret", theirs.as_str()),
        ];
        f.extend(form.iter().cloned());
        assert_eq!(
            b.post_status("/admin/account/2fa", &f).await,
            422,
            "{form:?}"
        );
        let (kept, _) = masthead_store::members::find_staff_totp(db, staff_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept, secret, "the secret was not replaced by {form:?}");
    }
    assert_eq!(
        masthead_store::members::recovery_codes_left(db, staff_id)
            .await
            .unwrap(),
        10,
        "no recovery code spent by a refused replace"
    );
    let res = b
        .post(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "confirm"),
                ("secret", &theirs),
                ("code", &their_code),
                ("current", &codes[6]),
                ("password", "harbour lights 42"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|r| r.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(
        codes.len(),
        10,
        "a replacement comes with new recovery codes"
    );
    assert_eq!(
        masthead_store::members::find_staff_totp(db, staff_id)
            .await
            .unwrap()
            .unwrap()
            .0,
        theirs
    );
}

both!(
    turning_off_two_step_log_in_needs_the_password_and_a_code,
    Fixture::Demo
);
async fn turning_off_two_step_log_in_needs_the_password_and_a_code(app: TestApp) {
    let db = app.state.db();
    let mut e = editor_with_password(&app).await;
    let TwoStep { codes, .. } = turn_on_two_step(&mut e).await;
    let Editor {
        mut b,
        csrf,
        staff_id,
    } = e;
    // Turning it off needs the password and a code too.
    assert_eq!(
        b.post_status(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "off"),
                ("code", "123"),
                ("password", "harbour lights 42")
            ]
        )
        .await,
        422
    );
    assert_eq!(
        b.post_status(
            "/admin/account/2fa",
            &[("csrf", &csrf), ("step", "off"), ("code", &codes[5])]
        )
        .await,
        422,
        "no password"
    );
    assert!(masthead_store::members::find_staff_totp(db, staff_id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        b.post_status(
            "/admin/account/2fa",
            &[
                ("csrf", &csrf),
                ("step", "off"),
                ("code", &codes[5]),
                ("password", "harbour lights 42")
            ]
        )
        .await,
        303
    );
    assert!(masthead_store::members::find_staff_totp(db, staff_id)
        .await
        .unwrap()
        .is_none());
    let audit: Vec<String> = masthead_store::newsroom::list_audit(db, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        audit.contains(&"staff.2fa_on".to_string()) && audit.contains(&"staff.2fa_off".to_string())
    );
}

both!(
    the_editor_bundle_is_embedded_and_cached_for_good_or_the_markdown_editor_says_why,
    Fixture::Demo
);
async fn the_editor_bundle_is_embedded_and_cached_for_good_or_the_markdown_editor_says_why(
    app: TestApp,
) {
    let (mut b, _) = staff(&app, "editor").await;
    let page = b.page("/admin/articles/new").await;
    if masthead::newsroom::assets::editor_built() {
        let v = masthead::newsroom::assets::version();
        assert!(page.contains(&format!(
            "<script src=\"/admin/assets/editor.js?v={v}\" defer></script>"
        )));
        assert!(page.contains("<script type=\"application/json\" id=\"editor-data\">"));
        let res = b
            .get_with(
                &format!("/admin/assets/editor.js?v={v}"),
                &[("accept-encoding", "br")],
            )
            .await;
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "even with the staff cookie"
        );
        assert_eq!(res.headers()["content-encoding"], "br");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        let again = b
            .get_with(
                &format!("/admin/assets/editor.js?v={v}"),
                &[("accept-encoding", "br"), ("if-none-match", &etag)],
            )
            .await;
        assert_eq!(again.status().as_u16(), 304);
        assert_eq!(b.get_status("/admin/assets/editor.css").await, 200);
    } else {
        assert!(
            page.contains("the rich-text editor is not in this build")
                && !page.contains("<script src")
        );
    }
    assert_eq!(b.get_status("/admin/assets/other.js").await, 404);
    // What a handler declares public (the stylesheet) stays public with cookies on the request.
    assert_eq!(
        b.get("/static/style.css").await.headers()["cache-control"],
        "public, max-age=86400"
    );
    // Whatever this build carries, the fallback page says why and needs no script.
    let html = app.state.theme().render("admin/article.html", minijinja::context! {
        site => masthead::site::view::site(&app.state), nav => Vec::<String>::new(), staff => minijinja::context! { name => "x" },
        form => minijinja::context! { body => "Text" }, rich => false, content_types => ["news"], access_levels => ["default"], paywall => "<!-- paywall -->",
    }).unwrap();
    assert!(
        html.contains("Markdown editor: the rich-text editor is not in this build")
            && !html.contains("<script")
    );
    assert!(html.contains("Body (Markdown)") && html.contains("&lt;!-- paywall --&gt;"));
}

// Issue 13: an article save is one transaction. With its last write made
// to fail (a trigger on the audit log), the article, its slug, its body,
// its versions and the audit log are exactly as before.
both!(
    a_save_that_fails_at_its_last_write_changes_nothing,
    Fixture::Demo
);
async fn a_save_that_fails_at_its_last_write_changes_nothing(app: TestApp) {
    let db = app.state.db();
    let (mut b, csrf) = staff(&app, "editor").await;
    let res = b
        .post(
            "/admin/articles/new",
            &article_fields(&csrf, "", "First body.", "save"),
        )
        .await;
    let edit = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?saved=1")
        .to_string();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    let before = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    let versions = masthead_store::newsroom::list_revisions(db, id, 50)
        .await
        .unwrap()
        .len();
    let audits = masthead_store::newsroom::list_audit(db, 1000)
        .await
        .unwrap()
        .len();
    crate::harness::fail_audit_writes(&app).await;
    let rev = revision_of(&app, id).await;
    let mut fields = article_fields(&csrf, &rev, "A new body that must not land.", "save");
    for f in fields.iter_mut() {
        if f.0 == "slug" {
            f.1 = "renamed-but-not-saved";
        }
    }
    let res = b.post(&edit, &fields).await;
    assert_eq!(
        res.status().as_u16(),
        500,
        "the injected failure is our error"
    );
    let after = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.slug.as_str(), after.revision),
        (before.slug.as_str(), before.revision),
        "slug and revision kept"
    );
    let body =
        masthead_store::content::find_body(db, &after.facts(), masthead_core::Decision::Full)
            .await
            .unwrap();
    assert_eq!(
        body.blocks,
        vec!["<p>First body.</p>".to_string()],
        "body kept"
    );
    assert!(
        masthead_store::content::find_redirect(db, "renamed-but-not-saved", i64::MAX)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        masthead_store::content::find_article_any(db, "renamed-but-not-saved")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        masthead_store::newsroom::list_revisions(db, id, 50)
            .await
            .unwrap()
            .len(),
        versions,
        "no version kept"
    );
    assert_eq!(
        masthead_store::newsroom::list_audit(db, 1000)
            .await
            .unwrap()
            .len(),
        audits
    );
}

// Issue 13: a create that loses its slug is a 409 with the form kept,
// never an update of the other article.
both!(
    a_taken_slug_is_a_409_and_never_an_update_of_another_article,
    Fixture::Demo
);
async fn a_taken_slug_is_a_409_and_never_an_update_of_another_article(app: TestApp) {
    let db = app.state.db();
    let (mut b, csrf) = staff(&app, "editor").await;
    let taken = "council-approves-harbour-seawall-plan";
    let before = masthead_store::content::find_article_any(db, taken)
        .await
        .unwrap()
        .unwrap();
    let mut fields = article_fields(&csrf, "", "A body that belongs elsewhere.", "save");
    for f in fields.iter_mut() {
        if f.0 == "slug" {
            f.1 = taken;
        }
    }
    let res = b.post("/admin/articles/new", &fields).await;
    assert_eq!(res.status().as_u16(), 409);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("is taken") && page.contains("A body that belongs elsewhere."),
        "the form is kept"
    );
    let after = masthead_store::content::find_article_any(db, taken)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.id, after.revision, after.headline),
        (before.id, before.revision, before.headline)
    );
}

// Issue 13: one history per article. A database that still has
// `article_revisions` beside the editor's versions (as every release before
// migration 16 left it) keeps its old versions in the editor's history,
// without doubling the ones the editor kept, and can restore them.
both!(
    the_old_article_history_moves_into_the_editor_and_restores,
    Fixture::Demo
);
async fn the_old_article_history_moves_into_the_editor_and_restores(app: TestApp) {
    let db = app.state.db();
    let id = crate::harness::article_id(&app, "council-approves-harbour-seawall-plan").await;
    let article = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    let topic = article
        .topics
        .first()
        .expect("the demo article has a topic")
        .clone();
    let author = article
        .authors
        .first()
        .expect("the demo article has an author")
        .clone();
    let exec = |sql: String| async move {
        sqlx::query(&sql)
            .execute(db.writer())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    // The database as migration 15 left it: both histories.
    exec("DELETE FROM schema_migrations WHERE version = 16".into()).await;
    exec("CREATE TABLE article_revisions (article_id BIGINT NOT NULL REFERENCES articles(id) ON DELETE CASCADE, \
          revision BIGINT NOT NULL, created_at BIGINT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (article_id, revision))".into()).await;
    exec(format!(
        "DELETE FROM editor_versions WHERE article_id = {id}"
    ))
    .await;
    let old = serde_json::json!({
        "slug": article.slug, "headline": "The first headline we had", "standfirst": "An older standfirst.",
        "dateline": "PORT ALDER", "content_type": "news", "access_level": "metered", "preview_blocks": null,
        "status": "published", "published_at": 1_700_000_000, "body_markdown": "An old body, long gone.",
        "blocks": ["<p>An old body, long gone.</p>"], "author_ids": [author.id], "topic_ids": [topic.id],
        "lead_media_id": null,
    });
    let now = serde_json::json!({ "slug": article.slug, "headline": article.headline, "body_markdown": "Now." });
    for (rev, snap, at) in [(1, &old, 1_700_000_000), (2, &now, 1_700_000_500)] {
        sqlx::query("INSERT INTO article_revisions (article_id, revision, created_at, snapshot) VALUES ($1, $2, $3, $4)")
            .bind(id).bind(rev).bind(at).bind(snap.to_string()).execute(db.writer()).await.unwrap();
    }
    // The editor kept revision 2 itself: it must not appear twice.
    sqlx::query("INSERT INTO editor_versions (article_id, kind, article_revision, staff_id, staff_name, snapshot, created_at) \
                 VALUES ($1, 'save', 2, NULL, 'Ed Itor', $2, 1700000500)")
        .bind(id).bind(serde_json::json!({ "headline": article.headline, "body": "Now." }).to_string())
        .execute(db.writer()).await.unwrap();

    assert_eq!(masthead_store::migrate(db).await.unwrap(), vec![16]);
    assert!(
        sqlx::query("SELECT 1 FROM article_revisions")
            .fetch_optional(db.reader())
            .await
            .is_err(),
        "the dropped table is gone"
    );
    let versions = masthead_store::newsroom::list_revisions(db, id, 10)
        .await
        .unwrap();
    let seen: Vec<_> = versions
        .iter()
        .map(|v| (v.article_revision, v.staff_name.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![(2, "Ed Itor"), (1, "earlier save")],
        "one history, no revision twice"
    );

    // The old version opens in the editor with its words, topics, authors
    // and publication time, and saving it makes it the article again.
    let (mut b, csrf) = staff(&app, "editor").await;
    let edit = format!("/admin/articles/{id}");
    let page = b.page(&format!("{edit}?restore={}", versions[1].id)).await;
    assert!(
        page.contains("It is not saved yet") && page.contains("by earlier save"),
        "{page}"
    );
    for want in [
        "The first headline we had",
        "An older standfirst.",
        "An old body, long gone.",
        topic.slug.as_str(),
        author.slug.as_str(),
    ] {
        assert!(page.contains(want), "the restored form shows {want}");
    }
    let when = jiff::Timestamp::from_second(1_700_000_000)
        .unwrap()
        .to_zoned(app.state.settings().get().tz.clone())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    assert!(page.contains(&when), "publication time {when} in the form");
    let rev = revision_of(&app, id).await;
    let fields = vec![
        ("csrf", csrf.as_str()),
        ("revision", rev.as_str()),
        ("headline", "The first headline we had"),
        ("standfirst", "An older standfirst."),
        ("dateline", "PORT ALDER"),
        ("slug", article.slug.as_str()),
        ("content_type", "news"),
        ("access_level", "metered"),
        ("topics", topic.slug.as_str()),
        ("authors", author.slug.as_str()),
        ("body", "An old body, long gone."),
        ("publish_at", when.as_str()),
        ("action", "save"),
    ];
    assert_eq!(b.post_status(&edit, &fields).await, 303);
    let after = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.headline, "The first headline we had");
    assert_eq!(
        masthead_store::newsroom::list_revisions(db, id, 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

// Writes from outside the newsroom (imports, the CLI) keep their version
// in the same history, so the editor can go back to what an import wrote.
both!(
    an_imported_article_has_its_version_in_the_editor,
    Fixture::Demo
);
async fn an_imported_article_has_its_version_in_the_editor(app: TestApp) {
    let db = app.state.db();
    let id = crate::harness::article_id(&app, "council-approves-harbour-seawall-plan").await;
    let versions = masthead_store::newsroom::list_revisions(db, id, 10)
        .await
        .unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(
        (versions[0].kind.as_str(), versions[0].staff_name.as_str()),
        ("save", masthead_store::content::IMPORT_VERSION_BY)
    );
    let (mut b, _) = staff(&app, "editor").await;
    let article = masthead_store::content::find_article_by_id(db, id)
        .await
        .unwrap()
        .unwrap();
    let page = b
        .page(&format!("/admin/articles/{id}?restore={}", versions[0].id))
        .await;
    assert!(page.contains("It is not saved yet") && page.contains(&article.headline));
}

// Issue 13: an upload stores the image's row, its words and the audit entry
// in one transaction: when the audit entry cannot be written, the library
// has no new image (its files may stay on disk, unlisted, and a retry of
// the same bytes reuses them).
both!(
    an_upload_that_fails_at_its_last_write_leaves_no_image,
    Fixture::Demo
);
async fn an_upload_that_fails_at_its_last_write_leaves_no_image(app: TestApp) {
    let (b, csrf) = staff(&app, "editor").await;
    let before = media_count(&app).await;
    crate::harness::fail_audit_writes(&app).await;
    let words = [
        ("csrf", csrf.as_str()),
        ("alt", "A ferry at dusk."),
        ("caption", ""),
        ("credit", ""),
    ];
    let res = upload(
        &b,
        "/admin/media",
        &words,
        Some(("late.png", "image/png", &photo(640, 480))),
    )
    .await;
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(
        media_count(&app).await,
        before,
        "no image row without its audit entry"
    );
}
