//! A reader's account as use cases, each one transaction: emailed links
//! asked for (log-in, password reset, change of email), a link followed
//! (the link used, the address proved, the new session opened), a password
//! changed or reset, every session ended. Handlers check, limit and hash,
//! then call one of these. The no-enumeration rule holds here: a request
//! for an address nobody holds writes the same kind of email, to it.

use super::tokens;
use super::web::{link, new_link_token, pub_name};
use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::AppError;
use crate::mail::account_email;
use masthead_core::members::{safe_return_to, Email, LOGIN_LINK_SECS, MEMBER_SESSION};
use masthead_store::members::{self as store, Member, NewSession};
use masthead_store::Tx;
use minijinja::context;

const RESET_SECS: i64 = 3_600;
const EMAIL_CHANGE_SECS: i64 = 3_600;

/// Opens a new member session in `tx` (a fresh id: a log-in never keeps
/// the session id the browser had), carrying over what the browser's
/// previous session and anonymous meter held; returns its token.
pub(crate) async fn open_session_in(
    tx: &mut Tx,
    viewer: &Viewer,
    user_agent: &str,
    member_id: i64,
    now: i64,
) -> Result<String, AppError> {
    let (token, hash) = tokens::new_token();
    let reader = format!("m{member_id}");
    let sid = store::insert_session(
        tx,
        &NewSession {
            token_hash: &hash,
            kind: "member",
            member_id: Some(member_id),
            staff_id: None,
            user_agent,
        },
        now + MEMBER_SESSION.absolute,
        now,
    )
    .await?;
    if let Some((old, _)) = &viewer.session {
        store::move_session_state(tx, old.id, sid, &reader).await?;
    }
    store::merge_meter(tx, &reader, &viewer.meter.entries).await?;
    Ok(token)
}

/// A log-in link asked for: to the account holder a link, to an address
/// nobody holds a note saying so (with the sign-up page).
pub async fn request_login_link(
    state: &AppState,
    email: &Email,
    holder: Option<&Member>,
    return_to: &str,
) -> Result<(), AppError> {
    let name = pub_name(state);
    let lower = email.lower();
    let mut tx = state.db().begin().await?;
    let mail = match holder {
        Some(m) => {
            let t = new_link_token(
                state,
                &mut tx,
                "login",
                Some(m.id),
                &lower,
                return_to,
                LOGIN_LINK_SECS,
            )
            .await?;
            let link = link(state, &format!("/login/link/{t}"));
            account_email(state, "login_link", &m.email, context! { name, link })?
        }
        None => {
            let signup = link(state, "/signup");
            account_email(
                state,
                "login_no_account",
                email.as_str(),
                context! { name, signup },
            )?
        }
    };
    store::queue_email(&mut tx, &mail, state.now()).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// A password reset asked for: a link to the account holder, a note to an
/// address nobody holds.
pub async fn request_reset(
    state: &AppState,
    email: &Email,
    holder: Option<&Member>,
) -> Result<(), AppError> {
    let name = pub_name(state);
    let mut tx = state.db().begin().await?;
    let mail = match holder {
        Some(m) => {
            let t = new_link_token(
                state,
                &mut tx,
                "reset",
                Some(m.id),
                &email.lower(),
                "/account",
                RESET_SECS,
            )
            .await?;
            let link = link(state, &format!("/password/reset/{t}"));
            account_email(state, "reset_link", &m.email, context! { name, link })?
        }
        None => account_email(state, "reset_no_account", email.as_str(), context! { name })?,
    };
    store::queue_email(&mut tx, &mail, state.now()).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// A change of email asked for by a signed-in member: the confirmation
/// link to the new address and a warning to the old one. Nothing changes
/// until the link is followed (`email_change::confirm`).
pub async fn request_email_change(
    state: &AppState,
    member: &Member,
    new: &Email,
) -> Result<(), AppError> {
    let name = pub_name(state);
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let t = new_link_token(
        state,
        &mut tx,
        "email_change",
        Some(member.id),
        new.as_str(),
        "/account",
        EMAIL_CHANGE_SECS,
    )
    .await?;
    let link = link(state, &format!("/account/email/{t}"));
    let confirm = account_email(
        state,
        "email_change_confirm",
        new.as_str(),
        context! { name, link },
    )?;
    let warn = account_email(
        state,
        "email_change_warning",
        &member.email,
        context! { name },
    )?;
    store::queue_email(&mut tx, &confirm, now).await?;
    store::queue_email(&mut tx, &warn, now).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// A member link followed and what it did.
pub struct LinkFollowed {
    /// The new session's token.
    pub token: String,
    /// Where to go: the link's return path, or the account page when the
    /// proof dropped a password chosen at sign-up.
    pub to: String,
}

/// An emailed member link (log-in or verification) followed from this
/// browser, in one transaction: the link used once, the address proved
/// under `store::prove_address`'s rule from this browser's session, a new
/// session opened. `None` when the link was used or has expired.
pub async fn follow_member_link(
    state: &AppState,
    viewer: &Viewer,
    user_agent: &str,
    token: &str,
    purpose: &str,
    proof: store::Proof,
) -> Result<Option<LinkFollowed>, AppError> {
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let Some(used) = super::web::consume_in(state, &mut tx, token, purpose).await? else {
        return Ok(None);
    };
    let Some(member_id) = used.member_id else {
        return Ok(None);
    };
    let proved = store::prove_address(&mut tx, member_id, viewer.session_id(), proof, now).await?;
    // A session the proof ended carries nothing over (its state is gone).
    let session = open_session_in(&mut tx, viewer, user_agent, member_id, now).await?;
    masthead_store::commit(tx).await?;
    let to = if proved.password_dropped {
        "/account?done=claimed".to_string()
    } else {
        safe_return_to(&used.return_to, "/account")
    };
    Ok(Some(LinkFollowed { token: session, to }))
}

/// A password reset link used, in one transaction: the address proved
/// (first, so the password chosen now is the one that stays), the new
/// password, every session ended (this browser's old one too) and a new
/// one opened; its token. `None` when the link was used or has expired.
pub async fn reset_password(
    state: &AppState,
    viewer: &Viewer,
    user_agent: &str,
    token: &str,
    password_hash: &str,
) -> Result<Option<String>, AppError> {
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let Some(used) = super::web::consume_in(state, &mut tx, token, "reset").await? else {
        return Ok(None);
    };
    let Some(member_id) = used.member_id else {
        return Ok(None);
    };
    store::prove_address(
        &mut tx,
        member_id,
        viewer.session_id(),
        store::Proof::Link,
        now,
    )
    .await?;
    store::set_password(&mut tx, member_id, password_hash, now).await?;
    store::delete_member_sessions(&mut tx, member_id, None).await?;
    let fresh = Viewer {
        session: None,
        ..viewer.clone()
    };
    let session = open_session_in(&mut tx, &fresh, user_agent, member_id, now).await?;
    masthead_store::commit(tx).await?;
    Ok(Some(session))
}

/// A signed-in member's new password; every other session ends.
pub async fn change_password(
    state: &AppState,
    member_id: i64,
    keep_session: Option<i64>,
    password_hash: &str,
) -> Result<(), AppError> {
    let mut tx = state.db().begin().await?;
    store::set_password(&mut tx, member_id, password_hash, state.now()).await?;
    store::delete_member_sessions(&mut tx, member_id, keep_session).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}

/// "Log out everywhere": every session of the member ends, this one too.
pub async fn log_out_everywhere(
    state: &AppState,
    member_id: Option<i64>,
    session_id: i64,
) -> Result<(), AppError> {
    let mut tx = state.db().begin().await?;
    if let Some(id) = member_id {
        store::delete_member_sessions(&mut tx, id, None).await?;
    }
    store::delete_session_in(&mut tx, session_id).await?;
    masthead_store::commit(tx).await?;
    Ok(())
}
