//! Staff accounts as use cases, each one transaction that writes its audit
//! entry with the change: an invitation (the account, its set-password
//! link and the email, or the link printed for the operator), a change of
//! role or standing, a new set-password link, the first owner. The
//! newsroom's handlers and the CLI both call these.

use crate::app::AppState;
use crate::http::AppError;
use masthead_core::members::{Email, Role};
use masthead_store::members as store;
use masthead_store::newsroom::{audit, Actor};

/// How a set-password link reaches its owner.
#[derive(Debug, Clone, Copy)]
pub enum Delivery<'a> {
    /// Emailed, naming who sent it.
    Email { sent_by: &'a str },
    /// Returned to the caller (the CLI prints it).
    Returned,
}

/// A new staff member.
pub struct Invitation<'a> {
    pub email: &'a Email,
    /// Display name; empty for the part of the address before `@`.
    pub name: &'a str,
    pub role: Role,
}

/// The display name a staff member gets when none is given.
pub fn name_or_default(email: &Email, name: &str) -> String {
    match name.trim() {
        "" => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string(),
        n => n.chars().take(100).collect(),
    }
}

/// What an invitation made: the account and its set-password link.
pub struct Invited {
    pub id: i64,
    pub link: String,
}

/// Invites a staff member: the account, a set-password link (emailed or
/// returned), and the audit entry `staff.invite`. `None` (nothing written)
/// when the address is on the staff already.
pub async fn invite(
    state: &AppState,
    inv: &Invitation<'_>,
    by: Actor<'_>,
    delivery: Delivery<'_>,
    now: i64,
) -> Result<Option<Invited>, AppError> {
    let name = name_or_default(inv.email, inv.name);
    let mut tx = state.db().begin().await?;
    let Some(id) = store::insert_staff(
        &mut tx,
        inv.email.as_str(),
        &inv.email.lower(),
        &name,
        inv.role.as_str(),
        now,
    )
    .await?
    else {
        return Ok(None);
    };
    let link = deliver(state, &mut tx, id, inv.email.as_str(), delivery, true, now).await?;
    audit(
        &mut tx,
        &by.audit(
            "staff.invite",
            "staff",
            inv.email.as_str(),
            inv.role.as_str(),
        ),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(Some(Invited { id, link }))
}

/// A change to a staff member's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Role(Role),
    Disable,
    Enable,
    /// A new set-password link.
    Reset,
}

/// The staff member a change is made to.
pub struct Target<'a> {
    pub id: i64,
    pub email: &'a str,
    /// The role before the change (for the audit entry).
    pub role: &'a str,
}

/// Changes a staff member's account and audits it in one transaction;
/// returns the set-password link for `Change::Reset`. A role change,
/// disabling or a reset ends nothing by itself: sessions read the account
/// on their next request (the session cache is cleared here).
pub async fn change(
    state: &AppState,
    t: &Target<'_>,
    change: Change,
    by: Actor<'_>,
    delivery: Delivery<'_>,
    now: i64,
) -> Result<Option<String>, AppError> {
    let mut tx = state.db().begin().await?;
    let mut link = None;
    let (action, detail) = match change {
        Change::Role(role) => {
            masthead_store::newsroom::set_staff_role(&mut tx, t.id, role.as_str(), now).await?;
            ("staff.role", format!("{} → {}", t.role, role.as_str()))
        }
        Change::Disable => {
            masthead_store::newsroom::set_staff_active(&mut tx, t.id, false, now).await?;
            ("staff.disable", String::new())
        }
        Change::Enable => {
            masthead_store::newsroom::set_staff_active(&mut tx, t.id, true, now).await?;
            ("staff.enable", String::new())
        }
        Change::Reset => {
            link = Some(deliver(state, &mut tx, t.id, t.email, delivery, false, now).await?);
            let detail = match delivery {
                Delivery::Email { .. } => "set-password link emailed",
                Delivery::Returned => "set-password link issued",
            };
            ("staff.reset", detail.to_string())
        }
    };
    audit(&mut tx, &by.audit(action, "staff", t.email, &detail), now).await?;
    masthead_store::commit(tx).await?;
    Ok(link)
}

/// Stores a set-password link and, for `Delivery::Email`, queues the email
/// that carries it (an invitation or a new link), in the caller's
/// transaction.
async fn deliver(
    state: &AppState,
    tx: &mut masthead_store::Tx,
    id: i64,
    to: &str,
    delivery: Delivery<'_>,
    first: bool,
    now: i64,
) -> Result<String, AppError> {
    let link = super::set_password_link_in(state, tx, id, to, now).await?;
    if let Delivery::Email { sent_by } = delivery {
        let name = state.settings().get().publication.name.clone();
        let template = if first {
            "staff_invite"
        } else {
            "staff_new_link"
        };
        let ctx = minijinja::context! { name, sent_by, link };
        let mail = crate::mail::account_email(state, template, to, ctx)?;
        store::queue_email(tx, &mail, now).await?;
    }
    Ok(link)
}

/// Why the first owner was not made; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupRefused {
    /// The setup link was used or has expired.
    Gone,
    /// The address is on the staff already.
    Taken,
}

/// The publication's first owner, from the one-time setup link: the link
/// used, the account with its password, the audit entry — all or nothing
/// (a failure never uses up the link without making the owner).
pub async fn set_up_owner(
    state: &AppState,
    token_hash: &str,
    email: &Email,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<Result<i64, SetupRefused>, AppError> {
    let name = name_or_default(email, name);
    let mut tx = state.db().begin().await?;
    if store::consume_token(&mut tx, token_hash, "setup", now)
        .await?
        .is_none()
    {
        return Ok(Err(SetupRefused::Gone));
    }
    let Some(id) = store::insert_staff(
        &mut tx,
        email.as_str(),
        &email.lower(),
        &name,
        Role::Owner.as_str(),
        now,
    )
    .await?
    else {
        return Ok(Err(SetupRefused::Taken));
    };
    store::set_staff_password(&mut tx, id, password_hash, now).await?;
    let me = Actor {
        staff_id: Some(id),
        email: email.as_str(),
    };
    audit(
        &mut tx,
        &me.audit("setup.owner", "staff", email.as_str(), ""),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(Ok(id))
}

/// A password chosen through a set-password link: the link used, the
/// password stored, the audit entry `staff.password` — all or nothing.
/// `None` when the link was used or has expired.
pub async fn set_password_with_link(
    state: &AppState,
    token_hash: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<i64>, AppError> {
    let mut tx = state.db().begin().await?;
    let Some(used) = store::consume_token(&mut tx, token_hash, "staff_password", now).await? else {
        return Ok(None);
    };
    let Some(staff_id) = used.staff_id else {
        return Ok(None);
    };
    store::set_staff_password(&mut tx, staff_id, password_hash, now).await?;
    let me = Actor {
        staff_id: Some(staff_id),
        email: &used.email,
    };
    audit(
        &mut tx,
        &me.audit("staff.password", "staff", &used.email, "set with a link"),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(Some(staff_id))
}

/// Two-step verification turned on (the secret, the step its first code
/// used, the recovery codes' hashes) or off (`None`) for `by`'s own
/// account, with the audit entry, in one transaction.
pub async fn set_two_step(
    state: &AppState,
    by: Actor<'_>,
    staff_id: i64,
    enable: Option<(&str, i64, &[String])>,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db().begin().await?;
    store::set_staff_totp(&mut tx, staff_id, enable, now).await?;
    let action = if enable.is_some() {
        "staff.2fa_on"
    } else {
        "staff.2fa_off"
    };
    audit(
        &mut tx,
        &by.audit(action, "staff", &staff_id.to_string(), ""),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    Ok(())
}
