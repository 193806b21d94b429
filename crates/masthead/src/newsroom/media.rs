//! The media library: upload images (JPEG, PNG, WebP, GIF; HEIC and SVG
//! refused with a reason), see what is there, and keep the alt text,
//! caption and credit stored with each image so they are offered again
//! whenever it is reused. Decoding, orientation, the colour profile and the
//! responsive variants are `crate::media`'s work (on blocking threads, a few
//! at a time, with size and memory limits).

use super::{page, when, StaffUser};
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use crate::media::{MediaError, MAX_UPLOAD_BYTES};
use axum::extract::multipart::Multipart;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;
use masthead_store::media::MediaRow;

/// What the request body of an upload may reach: the file and its words.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;
/// A body declared larger than the limit is read and thrown away up to
/// this size, so the browser gets the explanation instead of a reset
/// connection; past it the connection is simply closed.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

/// Reads and discards a request body (at most `max` bytes).
async fn drain(body: axum::body::Body, max: u64) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > max {
                break;
            }
        }
    }
}

/// The library as the editor's image picker and the library page see it.
pub fn item(row: &MediaRow) -> minijinja::Value {
    let view = crate::site::view::image(&row.media, &row.alt, &row.caption, &row.credit, 960);
    let thumb = crate::site::view::image(&row.media, &row.alt, "", "", 320);
    minijinja::context! {
        id => row.media.id,
        src => view.src,
        srcset => view.srcset,
        thumb => thumb.src,
        width => view.width,
        height => view.height,
        alt => row.alt,
        caption => row.caption,
        credit => row.credit,
        name => row.original_name,
        size => format!("{} × {}", row.media.width, row.media.height),
        kb => row.bytes / 1024,
    }
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    error: Option<String>,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let rows = masthead_store::media::list_media(state.db(), 120).await?;
    let items: Vec<minijinja::Value> = rows
        .iter()
        .map(|r| {
            minijinja::context! { added => when(state, r.created_at), ..item(r) }
        })
        .collect();
    let ctx = minijinja::context! {
        items => items,
        error => error,
        notice => notice,
        max_mb => MAX_UPLOAD_BYTES / 1024 / 1024,
    };
    let mut res = page(state, "admin/media.html", "Media library", user, ctx);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    let notice = match crate::http::query_param(&uri, "done").as_deref() {
        Some("uploaded") => Some("The image is in the library."),
        Some("saved") => Some("Saved."),
        _ => None,
    };
    render(&state, &user, None, notice, StatusCode::OK).await
}

fn field_text(s: &str, max: usize) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// The parts of an upload form.
#[derive(Default)]
struct Upload {
    csrf: String,
    alt: String,
    caption: String,
    credit: String,
    file: Option<(String, Vec<u8>)>,
}

/// Reads the multipart form; a body past the limit is `TooLarge`.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, MediaError> {
    let mut up = Upload::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(MediaError::TooLarge)
            }
            Err(e) => return Err(MediaError::Decode(format!("the form was malformed: {e}"))),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(MediaError::TooLarge)
            }
            Err(e) => return Err(MediaError::Decode(format!("the form was malformed: {e}"))),
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => up.csrf = text(),
            "alt" => up.alt = field_text(&text(), 500),
            "caption" => up.caption = field_text(&text(), 1000),
            "credit" => up.credit = field_text(&text(), 300),
            "file" => {
                if bytes.len() > MAX_UPLOAD_BYTES {
                    return Err(MediaError::TooLarge);
                }
                let original: String = file_name
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                    .take(200)
                    .collect();
                up.file = Some((original, bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /admin/media`: one image with its alt text, caption and credit.
pub async fn upload(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    use axum::extract::FromRequest;
    user.may(Action::WriteOwnDraft)?;
    let fail = |e: String, status| render(&state, &user, Some(e), None, status);
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > UPLOAD_BODY_LIMIT as u64) {
        if n <= DRAIN_LIMIT {
            drain(req.into_body(), DRAIN_LIMIT).await;
        }
        let e = format!("Nothing was stored: {}.", MediaError::TooLarge);
        return fail(e, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Ok(multipart) = Multipart::from_request(req, &state).await else {
        return fail(
            "Send the image with the upload form.".into(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let up = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e @ MediaError::TooLarge) => {
            return fail(
                format!("Nothing was stored: {e}."),
                StatusCode::PAYLOAD_TOO_LARGE,
            )
            .await
        }
        Err(e) => return fail(format!("Nothing was stored: {e}."), StatusCode::BAD_REQUEST).await,
    };
    user.check_csrf(&up.csrf)?;
    let Some((name, bytes)) = up.file.filter(|(_, b)| !b.is_empty()) else {
        return fail(
            "Choose an image file to upload.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if up.alt.is_empty() {
        return fail(
            "Describe the image in the alt text (what a reader who cannot see it should know)."
                .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // The image's words and the audit entry go in with its row: one
    // transaction.
    let db = state.db();
    let described = masthead_store::media::Described {
        words: (up.alt.as_str(), up.caption.as_str(), up.credit.as_str()),
        by: user.actor(),
        name: &name,
    };
    let stored = crate::content::import::store_image(
        db,
        state.media(),
        state.processor(),
        bytes,
        &name,
        Some(&described),
    )
    .await;
    if let Err(e) = stored {
        return match e.downcast_ref::<MediaError>() {
            Some(m @ MediaError::Storage(_)) => Err(AppError::Internal(anyhow::anyhow!("{m}"))),
            Some(m) => {
                let status = match m {
                    MediaError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                fail(format!("Nothing was stored: {m}."), status).await
            }
            None => Err(AppError::Internal(e)),
        };
    }
    Ok(see_other("/admin/media?done=uploaded"))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alt: String,
    #[serde(default)]
    caption: String,
    #[serde(default)]
    credit: String,
}

/// `POST /admin/media/{id}`: changes the words stored with an image (what
/// is offered next time; articles already using it keep theirs).
pub async fn save_text(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<TextForm>,
) -> Result<Response, AppError> {
    user.may(Action::WriteOwnDraft)?;
    user.check_csrf(&f.csrf)?;
    let alt = field_text(&f.alt, 500);
    if alt.is_empty() {
        return render(
            &state,
            &user,
            Some("The alt text cannot be empty.".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let db = state.db();
    let (caption, credit) = (field_text(&f.caption, 1000), field_text(&f.credit, 300));
    let object = id.to_string();
    let audit = user.audit("media.describe", "media", &object, &alt);
    let now = state.now();
    let words = (alt.as_str(), caption.as_str(), credit.as_str());
    if !masthead_store::media::update_media_text(db, id, words, &audit, now).await? {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/admin/media?done=saved"))
}
