//! Plans, for administrators and owners: the same rules as `masthead
//! plans`: a new price is a new plan; archive stops offering one.

use super::{page, StaffUser};
use crate::app::AppState;
use crate::http::forms::CsrfForm;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::billing::{Currency, Interval, Money};
use masthead_core::newsroom::Action;
use masthead_store::offers;

#[derive(Debug, serde::Deserialize, Default, Clone)]
pub struct PlanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    interval: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    trial_days: String,
    #[serde(default)]
    includes: String,
}

async fn render(
    state: &AppState,
    user: &StaffUser,
    form: &PlanForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let plans = offers::list_plans(state.db()).await?;
    let ctx = minijinja::context! {
        plans => plans.iter().map(|r| minijinja::context! {
            slug => r.plan.slug, name => r.plan.name,
            price => format!("{} a {}", r.plan.price.display(), r.plan.interval.as_str()),
            trial => r.plan.trial_days, active => r.active,
            stripe => r.stripe_price_id, subscriptions => r.subscriptions,
        }).collect::<Vec<_>>(),
        form => minijinja::context! {
            slug => form.slug, name => form.name, interval => form.interval, amount => form.amount,
            currency => if form.currency.is_empty() { "USD".to_string() } else { form.currency.clone() },
            trial_days => form.trial_days, includes => form.includes,
        },
        error => error,
    };
    let mut res = page(state, "admin/plans.html", "Plans", user, ctx);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn list(State(state): State<AppState>, user: StaffUser) -> Result<Response, AppError> {
    user.may(Action::Plans)?;
    render(&state, &user, &PlanForm::default(), None, StatusCode::OK).await
}

/// The new plan a form describes, or what is wrong with it.
fn parse(f: &PlanForm) -> Result<(Interval, Money, Option<u32>, Vec<String>), String> {
    masthead_core::content::Slug::parse(f.slug.trim()).map_err(|e| format!("Short name: {e}"))?;
    if f.name.trim().is_empty() {
        return Err("Give the plan a name readers will see.".into());
    }
    let interval = Interval::parse(&f.interval).ok_or("Choose monthly or yearly.")?;
    let currency = Currency::parse(&f.currency).map_err(|e| e.to_string())?;
    let price = Money::parse(&f.amount, currency).map_err(|e| e.to_string())?;
    if price.minor() == 0 {
        return Err("The amount must be more than zero (free access is a free account).".into());
    }
    price.stripe_unit_amount().map_err(|e| e.to_string())?;
    let trial = match f.trial_days.trim() {
        "" | "0" => None,
        t => Some(
            t.parse::<u32>()
                .ok()
                .filter(|d| *d <= 730)
                .ok_or("Trial days: a whole number up to 730.")?,
        ),
    };
    let includes = f
        .includes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    Ok((interval, price, trial, includes))
}

pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<PlanForm>,
) -> Result<Response, AppError> {
    user.may(Action::Plans)?;
    user.check_csrf(&f.csrf)?;
    let (interval, price, trial_days, includes) = match parse(&f) {
        Ok(p) => p,
        Err(e) => {
            return render(&state, &user, &f, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    let now = state.now();
    let slug = f.slug.trim();
    let position = offers::list_plans(state.db()).await?.len() as i64 + 1;
    let new = offers::NewPlan {
        slug,
        name: f.name.trim(),
        interval,
        price,
        trial_days,
        includes: &includes,
        position,
    };
    let detail = format!("{} a {}", price.display(), interval.as_str());
    let audit = user.audit("plan.save", "plan", slug, &detail);
    match offers::upsert_plan(state.db(), &new, Some(&audit), now).await {
        Ok(_) => {}
        Err(masthead_store::StoreError::Conflict(e)) => {
            return render(
                &state,
                &user,
                &f,
                Some(format!("{e}: choose another short name.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => return Err(e.into()),
    }
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other("/admin/plans"))
}

pub async fn set_active(
    State(state): State<AppState>,
    user: StaffUser,
    Path((slug, action)): Path<(String, String)>,
    PostForm(f): PostForm<CsrfForm>,
) -> Result<Response, AppError> {
    user.may(Action::Plans)?;
    user.check_csrf(&f.csrf)?;
    let active = match action.as_str() {
        "archive" => false,
        "activate" => true,
        _ => return Err(AppError::NotFound),
    };
    let now = state.now();
    let action = if active {
        "plan.activate"
    } else {
        "plan.archive"
    };
    let audit = user.audit(action, "plan", &slug, "");
    if !offers::set_plan_active(state.db(), &slug, active, Some(&audit), now).await? {
        return Err(AppError::NotFound);
    }
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other("/admin/plans"))
}
