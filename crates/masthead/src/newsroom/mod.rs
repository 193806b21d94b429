//! The newsroom: the staff web app under `/admin`. Server-rendered pages
//! and forms that work without JavaScript. Every handler takes the
//! `StaffUser` extractor and says `user.may(action)?`: the role table in
//! `masthead_core::newsroom` says who may do what; every change is
//! written to the audit log in the transaction that makes it.
//!
//! This first part: the dashboard (the reader-revenue funnel and the
//! newsletter figures, as server-rendered SVG), members (list, search,
//! filters, a member's record, complimentary access, deletion, CSV
//! export), plans, and the audit log.

pub mod account;
pub mod articles;
pub mod assets;
pub mod charts;
pub mod dashboard;
pub mod front;
pub mod imports;
pub mod integrations;
pub mod media;
pub mod members;
pub mod pages;
pub mod plans;
pub mod sends;
pub mod settings;
pub mod setup;
pub mod staff;
pub mod topics;

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::see_other;
use crate::http::AppError;
use crate::http::{Carries, Route};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use masthead_core::members::Role;
use masthead_core::newsroom::{allowed, Action};

pub fn routes() -> Vec<Route> {
    use Carries::{NoText, StaffText};
    vec![
        Route::new("/admin", get(dashboard::page), NoText).private(),
        Route::new(
            "/admin/dashboard/articles/{id}",
            get(dashboard::article),
            NoText,
        )
        .private(),
        Route::new("/admin/articles", get(articles::list), StaffText).private(),
        Route::new(
            "/admin/articles/new",
            get(articles::new_page).post(articles::create),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/articles/{id}",
            get(articles::edit).post(articles::save),
            StaffText,
        )
        .private(),
        Route::new(
            "/admin/articles/{id}/preview",
            get(articles::preview),
            StaffText,
        )
        .private(),
        Route::new(
            "/admin/articles/{id}/corrections",
            post(articles::correct),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/articles/{id}/autosave",
            post(articles::autosave),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/articles/{id}/revisions/{rev}",
            get(articles::compare),
            StaffText,
        )
        .private(),
        Route::new("/admin/articles/{id}/share", post(articles::share), NoText).private(),
        // A shared draft preview: the article in full to whoever holds an
        // unexpired signed link, nothing to anyone else.
        Route::new("/preview/{token}", get(articles::shared_preview), StaffText).private(),
        Route::new("/admin/assets/{name}", get(assets::serve), NoText),
        Route::new(
            "/admin/setup/{token}",
            get(setup::page).post(setup::create),
            NoText,
        )
        .private(),
        Route::new("/admin/front", get(front::show).post(front::save), NoText).private(),
        Route::new(
            "/admin/media",
            get(media::show)
                .post(media::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    media::UPLOAD_BODY_LIMIT,
                )),
            NoText,
        )
        .private(),
        Route::new("/admin/media/{id}", post(media::save_text), NoText).private(),
        Route::new(
            "/admin/topics",
            get(topics::show).post(topics::save_topic),
            NoText,
        )
        .private(),
        Route::new("/admin/authors", post(topics::save_author), NoText).private(),
        Route::new("/admin/pages", get(pages::show).post(pages::save), NoText).private(),
        Route::new("/admin/members", get(members::list), NoText).private(),
        Route::new("/admin/members/export.csv", post(members::export), NoText).private(),
        Route::new("/admin/members/import", post(members::import), NoText).private(),
        Route::new("/admin/members/{id}", get(members::show), NoText).private(),
        Route::new("/admin/members/{id}/comp", post(members::comp), NoText).private(),
        Route::new("/admin/members/{id}/revoke", post(members::revoke), NoText).private(),
        Route::new("/admin/members/{id}/delete", post(members::delete), NoText).private(),
        Route::new("/admin/plans", get(plans::list).post(plans::create), NoText).private(),
        Route::new(
            "/admin/plans/{slug}/{action}",
            post(plans::set_active),
            NoText,
        )
        .private(),
        Route::new("/admin/newsletters", get(sends::list), NoText).private(),
        Route::new("/admin/newsletters/send", post(sends::send), NoText).private(),
        Route::new(
            "/admin/newsletters/save",
            post(sends::save_newsletter),
            NoText,
        )
        .private(),
        Route::new("/admin/sends/{id}", get(sends::show), NoText).private(),
        Route::new("/admin/sends/{id}/resume", post(sends::resume), NoText).private(),
        Route::new(
            "/admin/settings",
            get(settings::show).post(settings::save),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/settings/integrations",
            post(settings::save_integrations),
            NoText,
        )
        .private(),
        Route::new("/admin/staff", get(staff::list), NoText).private(),
        Route::new("/admin/staff/invite", post(staff::invite), NoText).private(),
        Route::new("/admin/staff/{id}/{what}", post(staff::change), NoText).private(),
        Route::new("/admin/audit", get(audit), NoText).private(),
        Route::new(
            "/admin/integrations",
            get(integrations::list).post(integrations::add),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/integrations/{id}/{what}",
            post(integrations::change),
            NoText,
        )
        .private(),
        Route::new(
            "/admin/import",
            get(imports::show)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    usize::try_from(imports::MAX_EXPORT_BYTES + 1024 * 1024).unwrap_or(usize::MAX),
                )),
            NoText,
        )
        .private(),
        Route::new("/admin/import/{id}", get(imports::status), NoText).private(),
        Route::new("/admin/import/{id}/confirm", post(imports::confirm), NoText).private(),
        Route::new("/admin/import/{id}/discard", post(imports::discard), NoText).private(),
        Route::new("/admin/account", get(account::show), NoText).private(),
        Route::new("/admin/account/2fa", post(account::two_factor), NoText).private(),
    ]
}

/// Why a request is turned away: no staff session (to the log-in page),
/// or a role that may not (403).
#[derive(Debug)]
pub enum Denied {
    LogIn,
    Forbidden(String),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::LogIn => see_other("/admin/login"),
            Denied::Forbidden(why) => AppError::Forbidden(why).into_response(),
        }
    }
}

/// The signed-in staff member behind a request.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The CSRF token of the staff session's forms.
    pub csrf: String,
}

/// A handler that takes a `StaffUser` runs only for a signed-in staff
/// member; anyone else is sent to the log-in page. The handler then says
/// what it does (`user.may(Action::…)?`), refused with a 403.
impl axum::extract::FromRequestParts<AppState> for StaffUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        StaffUser::signed_in(&viewer, &parts.headers).map_err(IntoResponse::into_response)
    }
}

impl StaffUser {
    /// The signed-in staff member behind a request, or `Denied::LogIn`.
    pub fn signed_in(viewer: &Viewer, headers: &HeaderMap) -> Result<StaffUser, Denied> {
        let Some(staff) = viewer.staff.as_ref().and_then(|s| s.staff.as_ref()) else {
            return Err(Denied::LogIn);
        };
        let Some(role) = Role::parse(&staff.role) else {
            return Err(Denied::Forbidden("your account has no known role".into()));
        };
        Ok(StaffUser {
            id: staff.id,
            email: staff.email.clone(),
            name: staff.name.clone(),
            role,
            csrf: crate::staff::staff_csrf(headers),
        })
    }

    /// Refuses (403) what this staff member's role may not do.
    pub fn may(&self, action: Action) -> Result<(), AppError> {
        if allowed(self.role, action) {
            return Ok(());
        }
        Err(AppError::Forbidden(format!(
            "your role ({}) does not allow this; ask an administrator",
            self.role.as_str()
        )))
    }

    /// The staff member, or the response to send instead: the log-in page
    /// when there is none, 403 when the role may not do `action` (for
    /// handlers that answer in JSON or build their own refusal).
    pub fn require(
        viewer: &Viewer,
        headers: &HeaderMap,
        action: Action,
    ) -> Result<StaffUser, Denied> {
        let user = StaffUser::signed_in(viewer, headers)?;
        user.may(action)
            .map_err(|e| Denied::Forbidden(e.to_string()))?;
        Ok(user)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), AppError> {
        if self.csrf.is_empty() || self.csrf != sent {
            return Err(AppError::Forbidden(
                "this form has expired; go back, reload the page and try again".into(),
            ));
        }
        Ok(())
    }

    /// This staff member as the actor of audited changes.
    pub fn actor(&self) -> masthead_store::newsroom::Actor<'_> {
        masthead_store::newsroom::Actor {
            staff_id: Some(self.id),
            email: &self.email,
        }
    }

    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        object_type: &'a str,
        object_id: &'a str,
        detail: &'a str,
    ) -> masthead_store::newsroom::Audit<'a> {
        self.actor().audit(action, object_type, object_id, detail)
    }
}

/// Renders an admin page (`admin/*.html`) with the newsroom's navigation;
/// never cached.
pub fn page(
    state: &AppState,
    template: &str,
    title: &str,
    user: &StaffUser,
    ctx: minijinja::Value,
) -> Response {
    let nav: Vec<minijinja::Value> = [
        ("/admin", "Dashboard", Action::Dashboard),
        ("/admin/articles", "Articles", Action::WriteOwnDraft),
        ("/admin/media", "Media", Action::WriteOwnDraft),
        ("/admin/front", "Front pages", Action::FrontPages),
        (
            "/admin/topics",
            "Topics and authors",
            Action::TopicsAndAuthors,
        ),
        ("/admin/members", "Members", Action::Members),
        ("/admin/newsletters", "Newsletters", Action::SendNewsletters),
        ("/admin/plans", "Plans", Action::Plans),
        ("/admin/staff", "Staff", Action::ManageStaffBelow),
        ("/admin/pages", "Pages", Action::Settings),
        ("/admin/settings", "Settings", Action::Settings),
        ("/admin/import", "Import", Action::Import),
        (
            "/admin/integrations",
            "API integrations",
            Action::Integrations,
        ),
        ("/admin/audit", "Audit log", Action::AuditLog),
        ("/admin/account", "Your account", Action::WriteOwnDraft),
    ]
    .into_iter()
    .filter(|(_, _, a)| allowed(user.role, *a))
    .map(|(href, name, _)| minijinja::context! { href => href, name => name })
    .collect();
    let full = minijinja::context! {
        site => crate::site::view::site(state),
        title => title,
        noindex => true,
        nav => nav,
        staff => minijinja::context! { name => user.name, email => user.email, role => user.role.as_str() },
        csrf => user.csrf,
        ..ctx
    };
    let mut res = match state.theme().render(template, full) {
        Ok(html) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => AppError::from(e).into_response(),
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Formats a Unix time for staff pages.
pub fn when(state: &AppState, t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| crate::site::view::time(state, ts).display)
        .unwrap_or_default()
}

async fn audit(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::AuditLog)?;
    let entries = masthead_store::newsroom::list_audit(state.db(), 200).await?;
    let rows: Vec<minijinja::Value> = entries
        .iter()
        .map(|e| minijinja::context! {
            who => e.staff_email, action => e.action, object => format!("{} {}", e.object_type, e.object_id),
            detail => e.detail, when => when(&state, e.created_at),
        })
        .collect();
    Ok(page(
        &state,
        "admin/audit.html",
        "Audit log",
        &user,
        minijinja::context! { entries => rows },
    ))
}
