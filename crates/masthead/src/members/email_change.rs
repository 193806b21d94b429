//! Confirming a change of email, in one transaction: the emailed link is
//! used, the address changes and the old address is told. A crash between
//! them can neither burn the link without the change nor change the
//! address without the notice.

use super::web::{consume_in, pub_name};
use crate::app::AppState;
use crate::http::AppError;
use masthead_core::members::Email;
use masthead_store::members as store;

/// What confirming the link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    Changed,
    /// Another account uses the address; nothing changed and the link
    /// still works (the address may be freed).
    Taken,
    /// Used, expired, malformed, or its member is gone.
    Expired,
}

pub async fn confirm(state: &AppState, token: &str, now: i64) -> Result<Confirmed, AppError> {
    let db = state.db();
    let name = pub_name(state);
    let mut tx = db.begin().await?;
    let Some(used) = consume_in(state, &mut tx, token, "email_change").await? else {
        return Ok(Confirmed::Expired);
    };
    let (Some(member_id), Ok(email)) = (used.member_id, Email::parse(&used.email)) else {
        return Ok(Confirmed::Expired);
    };
    let Some(old) = store::find_member_email_in(&mut tx, member_id).await? else {
        return Ok(Confirmed::Expired);
    };
    if !store::change_email(&mut tx, member_id, email.as_str(), &email.lower(), now).await? {
        return Ok(Confirmed::Taken);
    }
    store::queue_email(
        &mut tx,
        &crate::mail::account_email(
            state,
            "email_changed",
            &old,
            minijinja::context! { name, email => email.as_str() },
        )?,
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(Confirmed::Changed)
}
