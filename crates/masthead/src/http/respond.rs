//! Answers and request parameters every module uses: redirects, HTML
//! bodies, themed error pages, query and page parameters.

use crate::app::AppState;
use crate::http::AppError;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// A 303 to `to` (after a form post).
pub fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// A themed error page. Used by the response finisher for every error.
pub fn render_error(state: &AppState, status: StatusCode, message: &str) -> Response {
    let ctx = minijinja::context! {
        site => crate::site::view::site(state),
        status => status.as_u16(),
        title => status.canonical_reason().unwrap_or("Error"),
        message => message,
    };
    let html = state.theme().render("error.html", ctx).unwrap_or_else(|e| {
        tracing::error!(error = %e, "error template failed");
        format!(
            "<!doctype html><title>{}</title><p>{}</p>",
            status.as_u16(),
            status
        )
    });
    let mut res = (status, html).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// An HTML response.
pub fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// A query parameter, decoded leniently (bad UTF-8 becomes U+FFFD rather
/// than an error page).
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `?page=N`: absent means 1; anything but 1..=10000 is a clear 400.
pub fn page_param(uri: &Uri) -> Result<u32, AppError> {
    match query_param(uri, "page") {
        None => Ok(1),
        Some(p) => match p.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(
                "the page number must be a whole number from 1 to 10000".into(),
            )),
        },
    }
}

/// `s` percent-encoded for a query string.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|x| x.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_bounded() {
        let uri = |s: &str| s.parse::<Uri>().unwrap_or_default();
        assert_eq!(page_param(&uri("/x")).ok(), Some(1));
        assert_eq!(page_param(&uri("/x?page=3")).ok(), Some(3));
        for bad in [
            "/x?page=0",
            "/x?page=1000000000000000000000000000000",
            "/x?page=-1",
            "/x?page=a",
        ] {
            assert!(page_param(&uri(bad)).is_err(), "{bad}");
        }
    }
}
