//! The reader-revenue dashboard (editors and up): the funnel over the last
//! 30 days — metered views, offer boxes shown, sign-ups from the wall,
//! checkouts started, new subscriptions, cancellations — overall and by
//! article, and the newsletters' figures.

use super::{charts, StaffUser};
use crate::app::AppState;
use crate::http::AppError;
use axum::extract::State;
use axum::response::Response;
use masthead_core::newsroom::Action;

pub const DAYS: i64 = 30;

/// The first second of the period the dashboard shows (UTC days).
fn period_start(now: i64) -> i64 {
    let today = now - now.rem_euclid(86_400);
    today - (DAYS - 1) * 86_400
}

/// One chart per funnel step, a bar per day: all articles, or one.
async fn funnel_charts(
    state: &AppState,
    article: Option<i64>,
) -> Result<Vec<minijinja::Value>, AppError> {
    let db = state.db();
    // Counts still in memory count too.
    state.funnel().flush(db).await.map_err(AppError::Internal)?;
    let days =
        masthead_store::newsroom::funnel_days(db, period_start(state.now()), DAYS, article).await?;
    type Pick = fn(&masthead_store::newsroom::DayFunnel) -> i64;
    let series: [(&str, Pick); 6] = [
        ("Metered article views", |d| d.metered_views),
        ("Offer boxes shown", |d| d.offers_shown),
        ("Sign-ups from the wall", |d| d.signups),
        ("Checkouts started", |d| d.checkouts),
        ("New subscriptions", |d| d.subscriptions),
        ("Cancellations", |d| d.cancellations),
    ];
    Ok(series
        .iter()
        .map(|(name, f)| {
            let values: Vec<i64> = days.iter().map(f).collect();
            minijinja::context! {
                name => name,
                total => values.iter().sum::<i64>(),
                svg => minijinja::Value::from_safe_string(charts::bars(name, &values, 300, 64)),
            }
        })
        .collect())
}

pub async fn page_data(state: &AppState) -> Result<minijinja::Value, AppError> {
    let db = state.db();
    let charts = funnel_charts(state, None).await?;
    let articles: Vec<minijinja::Value> =
        masthead_store::newsroom::funnel_by_article(db, period_start(state.now()), 20)
            .await?
            .into_iter()
            .map(|(id, slug, headline, views, offers, signups, subs)| {
                minijinja::context! {
                    id => id, url => format!("/{slug}"), headline => headline, views => views,
                    offers => offers, signups => signups, subscriptions => subs,
                }
            })
            .collect();
    let mut newsletters = Vec::new();
    for n in masthead_store::newsletters::list(db).await? {
        let f = masthead_store::newsletters::find_figures(db, n.id).await?;
        let members = masthead_store::newsletters::count_members(db, n.id).await?;
        newsletters.push(minijinja::context! {
            name => n.name, members => members, sends => f.sends, delivered => f.delivered,
            failed => f.failed, unsubscribes => f.unsubscribes,
        });
    }
    Ok(minijinja::context! {
        days => DAYS,
        charts => charts,
        articles => articles,
        newsletters => newsletters,
    })
}

pub async fn page(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    // Everyone on the staff lands here; the figures are for editors and up.
    user.may(Action::WriteOwnDraft)?;
    let ctx = if masthead_core::newsroom::allowed(user.role, Action::Dashboard) {
        let ctx = page_data(&state).await?;
        minijinja::context! { figures => true, ..ctx }
    } else {
        minijinja::context! { figures => false }
    };
    Ok(super::page(
        &state,
        "admin/dashboard.html",
        "Newsroom",
        &user,
        ctx,
    ))
}

/// `GET /admin/dashboard/articles/{id}`: one article's funnel, day by day.
pub async fn article(
    State(state): State<AppState>,
    user: StaffUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    user.may(Action::Dashboard)?;
    let a = masthead_store::content::find_article_by_id(state.db(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let charts = funnel_charts(&state, Some(id)).await?;
    Ok(super::page(
        &state,
        "admin/dashboard_article.html",
        &format!("Reader revenue: {}", a.headline),
        &user,
        minijinja::context! { days => DAYS, charts => charts, headline => a.headline, url => format!("/{}", a.slug), id => id },
    ))
}
