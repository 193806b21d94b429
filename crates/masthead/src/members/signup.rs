//! The sign-up use case, in one transaction: the member (or nothing, when
//! the address is taken), a pending session that claims the address, the
//! article it unlocks and the anonymous meter carried over, the consents,
//! the newsletters chosen, and the email — the confirmation, or to the
//! owner of a taken address a log-in link. The answer (a session) is the
//! same either way; only the email differs (no enumeration).

use super::tokens;
use super::web::{link, new_link_token, pub_name, VERIFY_SECS};
use crate::app::AppState;
use crate::http::AppError;
use crate::mail::account_email;
use masthead_core::members::{Email, LOGIN_LINK_SECS, MEMBER_SESSION};
use masthead_store::members::{self as store, NewSession};
use minijinja::context;
use std::collections::HashMap;

/// What a sign-up carries, checked and hashed by the handler.
pub struct SignUp<'a> {
    pub email: &'a Email,
    pub password_hash: Option<&'a str>,
    /// A same-site path (already made safe) the emailed link returns to.
    pub return_to: &'a str,
    /// The article signed up from, when it may be unlocked.
    pub article: Option<i64>,
    /// The anonymous meter's (article, counted at) entries.
    pub meter: &'a [(i64, i64)],
    pub user_agent: &'a str,
    /// The form's newsletter checkboxes (`nl_<id>`).
    pub choices: &'a HashMap<String, String>,
}

/// Signs up; returns the new session's token.
pub async fn sign_up(state: &AppState, s: &SignUp<'_>, now: i64) -> Result<String, AppError> {
    let db = state.db();
    let lower = s.email.lower();
    let terms = store::find_page_version(db, "terms").await?;
    let privacy = store::find_page_version(db, "privacy").await?;
    let (token, token_hash) = tokens::new_token();
    let mut tx = db.begin().await?;
    let member_id = store::insert_member(
        &mut tx,
        s.email.as_str(),
        &lower,
        s.password_hash,
        false,
        now,
    )
    .await?;
    let sid = store::insert_session(
        &mut tx,
        &NewSession {
            token_hash: &token_hash,
            kind: "member",
            member_id,
            staff_id: None,
            user_agent: s.user_agent,
        },
        now + MEMBER_SESSION.absolute,
        now,
    )
    .await?;
    if let Some(id) = member_id {
        store::set_claim(&mut tx, id, sid).await?;
    }
    if let Some(a) = s.article {
        store::unlock_article(&mut tx, sid, a, now).await?;
    }
    // Pending until the address is proved: the session's own meter.
    store::merge_meter(&mut tx, &format!("s{sid}"), s.meter).await?;
    let name = pub_name(state);
    let offered: Vec<_> = masthead_store::newsletters::list(db)
        .await?
        .into_iter()
        .filter(|n| n.on_signup)
        .collect();
    let newsletters = crate::newsletters::web::chosen(s.choices, &offered);
    let mail = match member_id {
        Some(id) => {
            for (doc, v) in [("terms", terms), ("privacy", privacy)] {
                if let Some(v) = v {
                    store::insert_consent(&mut tx, id, doc, v, now).await?;
                }
            }
            for n in &newsletters {
                masthead_store::newsletters::subscribe(&mut tx, id, *n, "signup", now).await?;
            }
            // Confirming returns to where the sign-up was headed (a plan to
            // pay for, an article).
            let t = new_link_token(
                state,
                &mut tx,
                "verify",
                Some(id),
                &lower,
                s.return_to,
                VERIFY_SECS,
            )
            .await?;
            let chosen: Vec<&str> = offered
                .iter()
                .filter(|n| newsletters.contains(&n.id))
                .map(|n| n.name.as_str())
                .collect();
            let link = link(state, &format!("/account/verify/{t}"));
            let ctx = context! { name, link, newsletters => chosen };
            account_email(state, "signup_confirm", s.email.as_str(), ctx)?
        }
        None => {
            // The account that holds the address, so its log-in link works.
            let existing = store::find_member_by_email(db, &lower)
                .await?
                .map(|(m, _)| m.id);
            let t = new_link_token(
                state,
                &mut tx,
                "login",
                existing,
                &lower,
                s.return_to,
                LOGIN_LINK_SECS,
            )
            .await?;
            let link = link(state, &format!("/login/link/{t}"));
            account_email(
                state,
                "signup_taken",
                s.email.as_str(),
                context! { name, link },
            )?
        }
    };
    store::queue_email(&mut tx, &mail, now).await?;
    masthead_store::commit(tx).await?;
    Ok(token)
}
