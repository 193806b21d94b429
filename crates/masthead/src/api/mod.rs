//! The Ghost-compatible APIs: integrations and keys (`keys`), the Content
//! API (`content`), Ghost's error shape. Clients written against Ghost
//! (`@tryghost/content-api`, headless front ends) work with the URL and key
//! changed.

pub mod admin;
pub mod content;
pub mod keys;
pub mod openapi;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Ghost's error types, each with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    NotFound,
    Unauthorized,
    NoPermission,
    BadRequest,
    Validation,
    UpdateCollision,
    TooManyRequests,
    UnsupportedMediaType,
    TooLarge,
    Internal,
}

impl ErrorType {
    pub fn name(self) -> &'static str {
        match self {
            ErrorType::NotFound => "NotFoundError",
            ErrorType::Unauthorized => "UnauthorizedError",
            ErrorType::NoPermission => "NoPermissionError",
            ErrorType::BadRequest => "BadRequestError",
            ErrorType::Validation => "ValidationError",
            ErrorType::UpdateCollision => "UpdateCollisionError",
            ErrorType::TooManyRequests => "TooManyRequestsError",
            ErrorType::UnsupportedMediaType => "UnsupportedMediaTypeError",
            ErrorType::TooLarge => "RequestEntityTooLargeError",
            ErrorType::Internal => "InternalServerError",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::NotFound => StatusCode::NOT_FOUND,
            ErrorType::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorType::NoPermission => StatusCode::FORBIDDEN,
            ErrorType::BadRequest => StatusCode::BAD_REQUEST,
            ErrorType::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::UpdateCollision => StatusCode::CONFLICT,
            ErrorType::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error, answered as Ghost answers one:
/// `{"errors":[{"message","context","type","details","property","help","code","id"}]}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
    pub context: Option<String>,
    pub property: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            context: None,
            property: None,
        }
    }

    pub fn context(mut self, context: impl Into<String>) -> ApiError {
        self.context = Some(context.into());
        self
    }

    pub fn property(mut self, property: impl Into<String>) -> ApiError {
        self.property = Some(property.into());
        self
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            ErrorType::NotFound,
            format!("Resource not found error, cannot read {what}."),
        )
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %e, "API request failed");
        ApiError::new(ErrorType::Internal, "The server has encountered an error.")
    }
}

impl From<masthead_store::StoreError> for ApiError {
    fn from(e: masthead_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = keys::fresh_ids().uuid;
        let body = serde_json::json!({
            "errors": [{
                "message": self.message,
                "context": self.context,
                "type": self.kind.name(),
                "details": null,
                "property": self.property,
                "help": null,
                "code": null,
                "id": id,
            }]
        });
        let mut res = (self.kind.status(), body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        res
    }
}

/// A JSON answer.
pub fn json(value: &serde_json::Value) -> Response {
    let mut res = value.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

pub fn routes() -> Vec<crate::http::Route> {
    let mut routes = content::routes();
    routes.extend(admin::routes());
    routes.push(
        crate::http::Route::new(
            "/ghost/api/openapi.json",
            axum::routing::get(openapi_json),
            crate::http::Carries::NoText,
        )
        .cors(),
    );
    routes
}

async fn openapi_json(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
) -> Response {
    json(&openapi::document(state.config().base_url.as_str()))
}
