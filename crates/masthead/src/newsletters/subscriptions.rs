//! Newsletter sign-up without an account, as use cases in one transaction
//! each: the confirmation asked for (the link and its email), the link
//! followed (the link used, the member made or found and the address
//! proved, the consents, the opt-ins), a one-click unsubscribe.

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::AppError;
use crate::members::web::{consume_in, link, new_link_token, pub_name};
use masthead_core::members::Email;
use masthead_store::members;
use masthead_store::newsletters as store;

/// How long a newsletter confirmation link works.
pub const CONFIRM_SECS: i64 = 7 * 86_400;

/// Asks `email` to confirm the newsletters `ids` (named `names`): a link
/// that carries the choice, and its email.
pub async fn request_confirmation(
    state: &AppState,
    email: &Email,
    ids: &[i64],
    names: &[&str],
) -> Result<(), AppError> {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let name = pub_name(state);
    let lower = email.lower();
    let mut tx = state.db().begin().await?;
    let token = new_link_token(
        state,
        &mut tx,
        "newsletters",
        None,
        &lower,
        &list,
        CONFIRM_SECS,
    )
    .await?;
    let link = link(state, &format!("/newsletters/confirm/{token}"));
    let ctx = minijinja::context! { name, link, newsletters => names };
    let mail = crate::mail::account_email(state, "newsletters_confirm", email.as_str(), ctx)?;
    members::queue_email(&mut tx, &mail, state.now()).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// A confirmation link followed, in one transaction: the link used once,
/// the member made (or found) and the address proved from this browser,
/// the Terms and Privacy versions consented to, the newsletters opted in.
/// `None` when the link was used or has expired.
pub async fn confirm(
    state: &AppState,
    viewer: &Viewer,
    token: &str,
) -> Result<Option<()>, AppError> {
    let db = state.db();
    let now = state.now();
    let terms = members::find_page_version(db, "terms").await?;
    let privacy = members::find_page_version(db, "privacy").await?;
    let mut tx = db.begin().await?;
    let Some(used) = consume_in(state, &mut tx, token, "newsletters").await? else {
        return Ok(None);
    };
    let ids: Vec<i64> = used
        .return_to
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let member = members::ensure_member_in(&mut tx, &used.email, &used.email, now).await?;
    let proof = members::Proof::Link;
    members::prove_address(&mut tx, member, viewer.session_id(), proof, now).await?;
    for (doc, v) in [("terms", terms), ("privacy", privacy)] {
        if let Some(v) = v {
            members::insert_consent(&mut tx, member, doc, v, now).await?;
        }
    }
    for id in &ids {
        store::subscribe(&mut tx, member, *id, "newsletters-page", now).await?;
    }
    masthead_store::commit(tx).await?;
    Ok(Some(()))
}

/// The one-click unsubscribe of `member` from `newsletter`.
pub async fn unsubscribe(state: &AppState, member: i64, newsletter: i64) -> Result<(), AppError> {
    let mut tx = state.db().begin().await?;
    store::unsubscribe(&mut tx, member, newsletter, "one-click", state.now()).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}
