//! Members, for administrators and owners: the list (search, filters),
//! a member's record (consents, sessions, access and subscription,
//! newsletters, recent reading), complimentary access given and taken
//! back, deletion, and the CSV export. Every change and every export is
//! in the audit log.

use super::{page, when, StaffUser};
use crate::app::AppState;
use crate::http::forms::CsrfForm;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form as PostForm;
use masthead_core::newsroom::{csv_cell, Action};
use masthead_store::newsroom::{self as store, MemberFilter};
use std::collections::HashMap;

const PAGE: i64 = 50;

fn filter_of(q: &HashMap<String, String>) -> MemberFilter {
    match q.get("filter").map(String::as_str) {
        Some("free") => MemberFilter::Free,
        Some("paid") => MemberFilter::Paid,
        Some("comp") => MemberFilter::Complimentary,
        Some(f) => match f.strip_prefix("newsletter-").and_then(|id| id.parse().ok()) {
            Some(id) => MemberFilter::Newsletter(id),
            None => MemberFilter::All,
        },
        None => MemberFilter::All,
    }
}

fn query(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    uri: Uri,
) -> Result<Response, AppError> {
    user.may(Action::Members)?;
    let q = query(&uri);
    let search = q.get("q").cloned().unwrap_or_default();
    let filter = filter_of(&q);
    // Bounded before any arithmetic: one rule with the reader site's lists.
    let pg = i64::from(crate::http::page_param(&uri)?);
    let db = state.db();
    let (rows, total) =
        store::list_members(db, &filter, &search, state.now(), (pg - 1) * PAGE, PAGE).await?;
    let newsletters = masthead_store::newsletters::list(db).await?;
    let chosen = q.get("filter").cloned().unwrap_or_default();
    let mut filters = vec![
        ("", "Everyone".to_string()),
        ("free", "Free".to_string()),
        ("paid", "Paying".to_string()),
        ("comp", "Complimentary".to_string()),
    ]
    .into_iter()
    .map(|(v, l)| (v.to_string(), l))
    .collect::<Vec<_>>();
    for n in &newsletters {
        filters.push((format!("newsletter-{}", n.id), format!("Gets {}", n.name)));
    }
    let ctx = minijinja::context! {
        q => search,
        filters => filters.iter().map(|(v, l)| minijinja::context! { value => v, label => l, selected => *v == chosen }).collect::<Vec<_>>(),
        members => rows.iter().map(|m| minijinja::context! {
            id => m.id, email => m.email, verified => m.verified, since => when(&state, m.created_at),
            access => m.access.as_deref().map(|a| match a { "stripe" => "paying", "comp" => "complimentary", other => other }),
        }).collect::<Vec<_>>(),
        total => total,
        page => pg,
        more => pg * PAGE < total,
        filter => chosen,
        can_export => masthead_core::newsroom::allowed(user.role, Action::ExportMembers),
    };
    Ok(page(&state, "admin/members.html", "Members", &user, ctx))
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.may(Action::Members)?;
    let db = state.db();
    let Some((member, _)) = masthead_store::members::find_member(db, id).await? else {
        return Err(AppError::NotFound);
    };
    let now = state.now();
    let grants = masthead_store::members::list_grants(db, id).await?;
    let sessions = masthead_store::members::list_member_sessions(db, id).await?;
    let export = masthead_store::members::export_member(db, id)
        .await?
        .unwrap_or_default();
    let subscription = masthead_store::billing::find_member_subscription(db, id).await?;
    let all = masthead_store::newsletters::list(db).await?;
    let mine = masthead_store::newsletters::member_newsletters(db, id).await?;
    let suppressed =
        masthead_store::newsletters::find_suppression(db, &member.email.to_ascii_lowercase())
            .await?;
    let ctx = minijinja::context! {
        member => minijinja::context! { id => member.id, email => member.email, verified => member.verified, since => when(&state, member.created_at) },
        grants => grants.iter().map(|g| minijinja::context! {
            source => g.source, note => g.note, from => when(&state, g.valid_from),
            until => g.valid_until.map(|u| when(&state, u)), active => g.valid_from <= now && g.valid_until.is_none_or(|u| u > now),
        }).collect::<Vec<_>>(),
        sessions => sessions.iter().map(|s| minijinja::context! { agent => s.user_agent, last_seen => when(&state, s.last_seen_at) }).collect::<Vec<_>>(),
        consents => export["consents"].as_array().cloned().unwrap_or_default().iter().map(|c| minijinja::context! {
            document => c["document"].as_str().unwrap_or(""), version => c["version"].as_i64(), at => when(&state, c["accepted_at"].as_i64().unwrap_or(0)),
        }).collect::<Vec<_>>(),
        choices => export["newsletter_choices"].as_array().cloned().unwrap_or_default().iter().map(|c| minijinja::context! {
            newsletter => c["newsletter"].as_str().unwrap_or(""), action => c["action"].as_str().unwrap_or(""),
            source => c["source"].as_str().unwrap_or(""), at => when(&state, c["at"].as_i64().unwrap_or(0)),
        }).collect::<Vec<_>>(),
        reading => export["metered_views"].as_array().cloned().unwrap_or_default().iter().rev().take(20).map(|v| minijinja::context! {
            article => v["article"].as_str().unwrap_or("(deleted)"), at => when(&state, v["counted_at"].as_i64().unwrap_or(0)),
        }).collect::<Vec<_>>(),
        newsletters => all.iter().filter(|n| mine.contains(&n.id)).map(|n| n.name.clone()).collect::<Vec<_>>(),
        suppressed => suppressed.map(|(reason, detail)| format!("{reason}: {detail}")),
        subscription => subscription.map(|s| minijinja::context! {
            status => s.snapshot.status.as_str(), period_end => when(&state, s.snapshot.current_period_end),
            cancel_at_period_end => s.snapshot.cancel_at_period_end,
            plan => s.plan.map(|p| format!("{}: {} a {}", p.name, p.price.display(), p.interval.as_str())),
        }),
        can_comp => masthead_core::newsroom::allowed(user.role, Action::ComplimentaryAccess),
    };
    Ok(page(&state, "admin/member.html", &member.email, &user, ctx))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct CompForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    note: String,
}

fn problem(state: &AppState, status: StatusCode, title: &str, text: &str, back: &str) -> Response {
    crate::http::forms::FormPage::new(title)
        .error(text.to_string())
        .link(back, "Back")
        .render(state, status)
}

pub async fn comp(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CompForm>,
) -> Result<Response, AppError> {
    user.may(Action::ComplimentaryAccess)?;
    user.check_csrf(&f.csrf)?;
    let back = format!("/admin/members/{id}");
    let Ok(date) = f.until.trim().parse::<jiff::civil::Date>() else {
        return Ok(problem(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Complimentary access",
            "Give the last day as a date like 2027-06-30.",
            &back,
        ));
    };
    let tz = state.settings().get().tz.clone();
    let now = state.now();
    let end = match masthead_core::members::complimentary_until(date, &tz, now) {
        Ok(end) => end,
        Err(e) => {
            return Ok(problem(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Complimentary access",
                &e,
                &back,
            ))
        }
    };
    let note: String = f.note.trim().chars().take(200).collect();
    let detail = format!("until the end of {date}; {note}");
    let granted = masthead_store::members::grant_complimentary(
        state.db(),
        masthead_store::members::Grantee::Member(id),
        end,
        &note,
        user.actor(),
        &detail,
        now,
    )
    .await?;
    if granted.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&back))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CsrfForm>,
) -> Result<Response, AppError> {
    user.may(Action::ComplimentaryAccess)?;
    user.check_csrf(&f.csrf)?;
    masthead_store::members::end_complimentary(state.db(), id, user.actor(), state.now()).await?;
    Ok(see_other(&format!("/admin/members/{id}")))
}

pub async fn delete(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CsrfForm>,
) -> Result<Response, AppError> {
    user.may(Action::Members)?;
    user.check_csrf(&f.csrf)?;
    let db = state.db();
    let Some((member, _)) = masthead_store::members::find_member(db, id).await? else {
        return Err(AppError::NotFound);
    };
    // A live subscription is cancelled at Stripe first; if Stripe cannot
    // be reached, nothing is deleted.
    let canceled = crate::billing::account::cancel_before_deletion(&state, id)
        .await
        .map_err(|e| AppError::Internal(e.context("cancelling the subscription at Stripe")))?;
    let detail = if canceled {
        "subscription cancelled at Stripe"
    } else {
        ""
    };
    let (object, now) = (id.to_string(), state.now());
    let audit = user.audit("member.delete", "member", &object, detail);
    masthead_store::members::delete_member(db, id, Some(&audit), now).await?;
    tracing::info!(member = id, by = user.id, "member deleted by staff");
    let _ = member;
    Ok(see_other("/admin/members"))
}

/// The CSV export (administrators and owners; audit-logged). Cells that a
/// spreadsheet would run as formulas are neutralised.
pub async fn export(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<CsrfForm>,
) -> Result<Response, AppError> {
    user.may(Action::ExportMembers)?;
    user.check_csrf(&f.csrf)?;
    let db = state.db();
    let now = state.now();
    let mut csv = String::from("id,email,verified,created_at,access,newsletters\r\n");
    let newsletters = masthead_store::newsletters::list(db).await?;
    let mut offset = 0;
    let mut count = 0;
    loop {
        let (rows, _) = store::list_members(db, &MemberFilter::All, "", now, offset, 1000).await?;
        if rows.is_empty() {
            break;
        }
        for m in &rows {
            let mine = masthead_store::newsletters::member_newsletters(db, m.id).await?;
            let names: Vec<&str> = newsletters
                .iter()
                .filter(|n| mine.contains(&n.id))
                .map(|n| n.slug.as_str())
                .collect();
            let created = jiff::Timestamp::from_second(m.created_at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            csv.push_str(
                &[
                    m.id.to_string(),
                    csv_cell(&m.email),
                    m.verified.to_string(),
                    created,
                    csv_cell(m.access.as_deref().unwrap_or("")),
                    csv_cell(&names.join(" ")),
                ]
                .join(","),
            );
            csv.push_str("\r\n");
            count += 1;
        }
        offset += rows.len() as i64;
    }
    let rows = format!("{count} rows");
    store::record(
        db,
        &user.audit("members.export", "members", "all", &rows),
        now,
    )
    .await?;
    let mut res = (StatusCode::OK, csv).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"members.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
    #[serde(default)]
    source: String,
    /// The previous system confirmed these addresses.
    #[serde(default)]
    confirmed: String,
    /// These people consented to the newsletters in the `newsletters` column.
    #[serde(default)]
    consented: String,
}

/// Imports members from CSV (a header row with `email`, and optionally
/// `newsletters`: slugs separated by spaces). Nobody is opted in to a
/// newsletter unless the form says they consented; every opt-in records
/// the import's source. Existing members keep their account.
pub async fn import(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<ImportForm>,
) -> Result<Response, AppError> {
    user.may(Action::Members)?;
    user.check_csrf(&f.csrf)?;
    let source: String = f.source.trim().chars().take(100).collect();
    if source.is_empty() {
        return Ok(problem(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Import members",
            "Say where these members come from (it is kept with each consent).",
            "/admin/members",
        ));
    }
    let rows = masthead_core::newsroom::parse_csv(&f.csv);
    let Some(header) = rows.first() else {
        return Ok(problem(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Import members",
            "Paste the CSV, with a header row naming an email column.",
            "/admin/members",
        ));
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let Some(email_col) = col("email") else {
        return Ok(problem(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Import members",
            "The header row has no “email” column.",
            "/admin/members",
        ));
    };
    let imp = masthead_store::members::MemberImport {
        rows: &rows,
        email_col,
        newsletters_col: col("newsletters"),
        source: &source,
        confirmed: f.confirmed == "on",
        consented: f.consented == "on",
    };
    let report =
        masthead_store::members::import_members(state.db(), &imp, user.actor(), state.now())
            .await?;
    let (created, existing, opted_in, skipped) = (
        report.created,
        report.existing,
        report.opted_in,
        &report.skipped,
    );
    let mut page = crate::http::forms::FormPage::new("Import done")
        .lead(&format!("{created} new members, {existing} already here, {opted_in} newsletter opt-ins recorded with the source “{source}”."));
    if f.consented != "on" {
        page =
            page.lead("Nobody was opted in to a newsletter: the form did not say they consented.");
    }
    for s in skipped.iter().take(20) {
        page = page.lead(&format!("Skipped {s}"));
    }
    if skipped.len() > 20 {
        page = page.lead(&format!("…and {} more skipped.", skipped.len() - 20));
    }
    Ok(page
        .link("/admin/members", "Back to the members")
        .render(&state, StatusCode::OK))
}
