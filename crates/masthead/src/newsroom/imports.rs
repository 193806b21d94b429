//! The Import page (administrators): upload a WordPress, Ghost or
//! Substack export (with Ghost's members CSV), read the dry run, confirm, follow the
//! progress, read the report. The work is `crate::imports::job` on the
//! queue, the same import as `masthead import --from wordpress|ghost|substack`.
//! Uploaded files are streamed to the data directory with a size limit,
//! never served, and deleted when the run ends.

use super::{page, when, StaffUser};
use crate::app::AppState;
use crate::http::{see_other, AppError};
use crate::imports::job::WebOptions;
use crate::imports::Report;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;
use masthead_store::imports as store;
use tokio::io::AsyncWriteExt;

/// The largest export the page takes by default (a WordPress export of a
/// large archive, without its images); `[imports] max_upload_mb`.
pub const MAX_EXPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

fn report_view(json: Option<&str>) -> Option<minijinja::Value> {
    let r: Report = serde_json::from_str(json?).ok()?;
    let rows: Vec<minijinja::Value> = [
        ("Articles", r.articles),
        ("Pages", r.pages),
        ("Topics", r.topics),
        ("Authors", r.authors),
        ("Newsletters", r.newsletters),
    ]
    .into_iter()
    .map(|(name, c)| minijinja::context! { name => name, c => minijinja::Value::from_serialize(c) })
    .collect();
    Some(minijinja::context! {
        rows => rows, images => r.images, dropped => r.dropped_characters,
        members => minijinja::Value::from_serialize(r.members), subscriptions => r.subscriptions,
        skipped => minijinja::Value::from_serialize(&r.skipped),
        partial => minijinja::Value::from_serialize(&r.partial),
    })
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let runs = store::list_runs(state.db(), 50).await?;
    let rows: Vec<minijinja::Value> = runs
        .iter()
        .map(|r| {
            minijinja::context! {
                id => r.id, file => r.file_name, status => r.status, by => r.staff_email,
                when => when(state, r.created_at), done => r.done, total => r.total,
            }
        })
        .collect();
    let mut res = page(
        state,
        "admin/import.html",
        "Import",
        user,
        minijinja::context! { runs => rows, error => error, max_mb => state.config().import_max_bytes / (1024 * 1024) },
    );
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /admin/import`.
pub async fn show(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::Import)?;
    render(&state, &user, None, StatusCode::OK).await
}

/// What the upload form sends: the export, Ghost's members CSV, options.
#[derive(Default)]
struct Upload {
    csrf: String,
    options: WebOptions,
    file: Option<(String, std::path::PathBuf, u64)>,
    members: Option<(String, std::path::PathBuf, u64)>,
}

impl Upload {
    /// Deletes what was stored (a refused form keeps nothing).
    fn remove_files(&self) {
        for (_, path, _) in self.file.iter().chain(&self.members) {
            crate::imports::job::remove_upload(&path.to_string_lossy());
        }
    }
}

/// Streams one file field to `path`, at most `limit` bytes; the partial
/// file goes when it fails.
async fn stream_field(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &std::path::Path,
    limit: u64,
) -> Result<u64, (String, StatusCode)> {
    let bad = |e: String| (e, StatusCode::BAD_REQUEST);
    let mut out = tokio::fs::File::create(path)
        .await
        .map_err(|e| bad(format!("cannot store the upload: {e}")))?;
    let mut size = 0u64;
    let failed = loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > limit {
                    break (
                        format!("the file is larger than {} MB", limit / (1024 * 1024)),
                        StatusCode::PAYLOAD_TOO_LARGE,
                    );
                }
                if let Err(e) = out.write_all(&chunk).await {
                    break bad(format!("cannot store the upload: {e}"));
                }
            }
            Ok(None) => match out.flush().await {
                Ok(()) => return Ok(size),
                Err(e) => break bad(format!("cannot store the upload: {e}")),
            },
            Err(e) => {
                let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                break (format!("the upload was cut off: {e}"), status);
            }
        }
    };
    drop(out);
    let _ = tokio::fs::remove_file(path).await;
    Err(failed)
}

/// Which platform an export is from, by its first bytes: XML is
/// WordPress's, JSON Ghost's, a zip Substack's.
fn sniff(path: &std::path::Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    if head[..n].starts_with(b"PK\x03\x04") {
        return Some("substack");
    }
    let text = head[..n]
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&head[..n]);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Some("wordpress"),
        Some(b'{') => Some("ghost"),
        _ => None,
    }
}

/// Streams the form's file to `dir`; other fields are short text.
async fn read_upload(
    mut form: Multipart,
    dir: &std::path::Path,
    limit: u64,
) -> Result<Upload, (String, StatusCode)> {
    let bad = |e: String| (e, StatusCode::BAD_REQUEST);
    let mut up = Upload::default();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("the form was malformed: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == "members" {
            let shown: String = field
                .file_name()
                .unwrap_or("export")
                .chars()
                .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                .take(200)
                .collect();
            let token: [u8; 16] = rand::Rng::gen(&mut rand::thread_rng());
            let path = dir.join(format!("{}.upload", hex::encode(token)));
            // A file already read goes if this one is refused.
            let (size, refused) = match stream_field(&mut field, &path, limit).await {
                Ok(size) => (size, None),
                Err(e) => (0, Some(e)),
            };
            if let Some(e) = refused {
                up.remove_files();
                return Err(e);
            }
            let slot = if name == "file" {
                &mut up.file
            } else {
                &mut up.members
            };
            if let Some((_, old, _)) = slot.replace((shown, path, size)) {
                let _ = tokio::fs::remove_file(old).await;
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| bad(format!("the form was malformed: {e}")))?;
        let text: String = text.chars().take(2000).collect();
        let on = text == "on" || text == "1";
        match name.as_str() {
            "csrf" => up.csrf = text,
            "old_url" => up.options.old_url = Some(text.trim().to_string()),
            "timezone" => up.options.timezone = text.trim().to_string(),
            "protected_as_subscribers" => up.options.protected_as_subscribers = on,
            "replace_pages" => up.options.replace_pages = on,
            "force" => up.options.force = on,
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /admin/import`: the upload; its dry run is queued at once.
pub async fn upload(
    State(state): State<AppState>,
    user: StaffUser,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    user.may(Action::Import)?;
    let Ok(form) = Multipart::from_request(req, &state).await else {
        return render(
            &state,
            &user,
            Some("Send the export with the upload form.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let dir = state.config().data_dir.join("imports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let limit = state.config().import_max_bytes;
    let up = match read_upload(form, &dir, limit).await {
        Ok(up) => up,
        Err((e, status)) => {
            let e = format!("Nothing was imported: {e}.");
            return render(&state, &user, Some(e), status).await;
        }
    };
    // Whatever refuses the upload, its file goes with the refusal.
    let started = start_run(&state, &user, &up).await;
    if !matches!(started, Ok(Ok(_))) {
        up.remove_files();
    } else if let Some((_, path, 0)) = &up.members {
        crate::imports::job::remove_upload(&path.to_string_lossy());
    }
    match started? {
        Ok(id) => {
            tracing::info!(run = id, "import uploaded");
            Ok(see_other(&format!("/admin/import/{id}")))
        }
        Err((e, status)) => render(&state, &user, Some(e), status).await,
    }
}

/// Checks an upload and records its run (with its dry-run job); a form
/// the administrator can mend is `Ok(Err((message, status)))`.
async fn start_run(
    state: &AppState,
    user: &StaffUser,
    up: &Upload,
) -> Result<Result<i64, (String, StatusCode)>, AppError> {
    user.check_csrf(&up.csrf)?;
    if let Some(url) = up.options.old_url.as_deref().filter(|u| !u.is_empty()) {
        if reqwest::Url::parse(url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            return Ok(Err((
                "The old site's address must start with https:// or http://.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
    }
    let Some((name, path, _)) = up.file.as_ref().filter(|f| f.2 > 0) else {
        return Ok(Err((
            "Choose the export file (Tools → Export in WordPress, Settings → Labs → Export in Ghost, or Settings → Exports in Substack).".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    };
    let Some(source) = sniff(path) else {
        return Ok(Err((
            "That file is not a WordPress export (XML), a Ghost export (JSON) or a Substack export (zip).".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    };
    let mut options = up.options.clone();
    // A browser sends the empty file field too: only a chosen file counts.
    if let Some((_, members, _)) = up.members.as_ref().filter(|m| m.2 > 0) {
        if source != "ghost" {
            return Ok(Err((
                "A members CSV goes with a Ghost export.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
        options.members_file = Some(members.to_string_lossy().to_string());
    }
    let options = serde_json::to_string(&options).map_err(|e| AppError::Internal(e.into()))?;
    let id = store::create_run(
        state.db(),
        source,
        name,
        &path.to_string_lossy(),
        &options,
        user.actor(),
        state.now(),
    )
    .await?;
    Ok(Ok(id))
}

/// `GET /admin/import/{id}`: the run as it stands.
pub async fn status(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.may(Action::Import)?;
    let run = store::find_run(state.db(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let busy = run.status == "checking" || run.status == "running";
    Ok(page(
        &state,
        "admin/import_run.html",
        &format!("Import: {}", run.file_name),
        &user,
        minijinja::context! {
            id => run.id, file => run.file_name, status => run.status, by => run.staff_email,
            when => when(&state, run.created_at), done => run.done, total => run.total,
            busy => busy, error => run.error,
            dry => run.status == "checked",
            r => if run.status == "checked" {
                report_view(run.dry_report.as_deref())
            } else {
                report_view(run.report.as_deref())
            },
        },
    ))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/import/{id}/confirm`: import what the dry run showed.
pub async fn confirm(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ConfirmForm>,
) -> Result<Response, AppError> {
    user.may(Action::Import)?;
    user.check_csrf(&f.csrf)?;
    if !store::confirm_run(state.db(), id, user.actor(), state.now()).await? {
        return Err(AppError::Conflict(
            "This import is not waiting for confirmation (it is still being checked, already ran, or another import is running: wait for it to finish).".into(),
        ));
    }
    Ok(see_other(&format!("/admin/import/{id}")))
}

/// `POST /admin/import/{id}/discard`: drop a checked run and its file.
pub async fn discard(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<ConfirmForm>,
) -> Result<Response, AppError> {
    user.may(Action::Import)?;
    user.check_csrf(&f.csrf)?;
    let Some(run) = store::find_run(state.db(), id).await? else {
        return Err(AppError::NotFound);
    };
    if store::discard_run(state.db(), id, user.actor(), state.now())
        .await?
        .is_none()
    {
        return Err(AppError::Conflict(
            "Only an import waiting for confirmation can be discarded.".into(),
        ));
    }
    crate::imports::job::remove_files(&run);
    Ok(see_other("/admin/import"))
}
