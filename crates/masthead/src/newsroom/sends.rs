//! Newsletter sends from the newsroom (editors and up): pick an article
//! and a newsletter, send a test to yourself first, then send; follow the
//! send's progress (the page refreshes itself while it runs) and its
//! delivery figures; resume a paused one.

use super::{page, when, StaffUser};
use crate::app::AppState;
use crate::http::forms::CsrfForm;
use crate::http::see_other;
use crate::http::AppError;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form as PostForm;
use masthead_core::newsroom::Action;
use masthead_store::newsletters as store;

pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    user.may(Action::SendNewsletters)?;
    let db = state.db();
    let mut newsletters = Vec::new();
    for n in store::list(db).await? {
        let f = store::find_figures(db, n.id).await?;
        newsletters.push(minijinja::context! {
            id => n.id, slug => n.slug, name => n.name, audience => n.audience,
            members => store::count_members(db, n.id).await?,
            sends => f.sends, delivered => f.delivered, failed => f.failed, unsubscribes => f.unsubscribes,
        });
    }
    let (articles, _) = masthead_store::content::list_articles(
        db,
        masthead_store::content::Listing::All,
        state.now(),
        0,
        30,
    )
    .await?;
    let sends = store::list_sends(db, 20).await?;
    let mut rows = Vec::new();
    for s in &sends {
        let p = store::send_progress(db, s.id).await?;
        rows.push(minijinja::context! {
            id => s.id, subject => s.subject, status => s.status, sent => p.sent, failed => p.failed,
            total => p.total().max(s.recipients), when => when(&state, s.run_at),
        });
    }
    let editing = match crate::http::query_param(&uri, "edit") {
        Some(slug) => store::find_by_slug(db, &slug).await?,
        None => None,
    };
    let ctx = minijinja::context! {
        can_manage => masthead_core::newsroom::allowed(user.role, Action::ManageNewsletters),
        edit => editing.map(|n| minijinja::context! {
            slug => n.slug, name => n.name, description => n.description, sender_name => n.sender_name,
            sender_email => n.sender_email, reply_to => n.reply_to, audience => n.audience, on_signup => n.on_signup,
        }),
        newsletters => newsletters,
        articles => articles.iter().map(|a| minijinja::context! { id => a.id, headline => a.headline }).collect::<Vec<_>>(),
        sends => rows,
        notice => crate::http::query_param(&uri, "tested").map(|_| format!("A test was sent to {}.", user.email)),
    };
    Ok(page(
        &state,
        "admin/newsletters.html",
        "Newsletters",
        &user,
        ctx,
    ))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    newsletter: String,
    #[serde(default)]
    article: String,
    #[serde(default)]
    subject: String,
    /// "test" sends one copy to the staff member; "send" sends to all.
    #[serde(default)]
    action: String,
    /// "editor" when sent from the article editor (a test returns there).
    #[serde(default)]
    from: String,
}

pub async fn send(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<SendForm>,
) -> Result<Response, AppError> {
    user.may(Action::SendNewsletters)?;
    user.check_csrf(&f.csrf)?;
    let db = state.db();
    let bad = |what: &str| AppError::BadRequest(format!("{what}; go back and choose again"));
    let newsletter = f
        .newsletter
        .parse::<i64>()
        .map_err(|_| bad("choose a newsletter"))?;
    let article = f
        .article
        .parse::<i64>()
        .map_err(|_| bad("choose an article"))?;
    let n = store::find_by_id(db, newsletter)
        .await?
        .ok_or_else(|| bad("that newsletter is gone"))?;
    let a = masthead_store::content::find_article_by_id(db, article)
        .await?
        .ok_or_else(|| bad("that article is gone"))?;
    if !crate::newsletters::render::visible(&a, state.now()) {
        return Err(bad("that article is not published"));
    }
    let subject = match f.subject.trim() {
        "" => a.headline.clone(),
        s => s.chars().take(200).collect(),
    };
    let new = store::NewSend {
        newsletter_id: n.id,
        article_id: Some(a.id),
        digest_days: None,
        subject: &subject,
        run_at: state.now(),
        created_by: &user.email,
    };
    if f.action == "test" {
        // Rendered exactly as the send would be, sent only to the staff
        // member; nothing is stored.
        let draft = store::Send {
            id: 0,
            newsletter_id: n.id,
            article_id: Some(a.id),
            digest_days: None,
            subject: subject.clone(),
            status: "scheduled".into(),
            run_at: state.now(),
            started_at: None,
            finished_at: None,
            paused_reason: None,
            recipients: 0,
            digest_fixed_at: None,
        };
        let prepared = crate::newsletters::render::prepare(&state, &draft)
            .await
            .map_err(AppError::Internal)?;
        crate::newsletters::sender::send_test(&state, &prepared, &user.email)
            .await
            .map_err(|e| AppError::Internal(e.context("sending the test")))?;
        return Ok(see_other(&if f.from == "editor" {
            format!("/admin/articles/{}?tested=1", a.id)
        } else {
            "/admin/newsletters?tested=1".to_string()
        }));
    }
    // The audit names the article and newsletter (the send's id is made
    // by the same insert).
    let detail = format!("{} to {}", a.slug, n.slug);
    let audit = user.audit("send.create", "send", &a.slug, &detail);
    let id = store::create_send(db, &new, Some(&audit), state.now()).await?;
    Ok(see_other(&format!("/admin/sends/{id}")))
}

pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.may(Action::SendNewsletters)?;
    let db = state.db();
    let Some(s) = store::find_send(db, id).await? else {
        return Err(AppError::NotFound);
    };
    let n = store::find_by_id(db, s.newsletter_id).await?;
    let p = store::send_progress(db, id).await?;
    let elapsed = s
        .started_at
        .map(|t| (s.finished_at.unwrap_or_else(|| state.now()) - t).max(1))
        .unwrap_or(1);
    let rate = (p.sent + p.failed) as f64 / elapsed as f64;
    let live = matches!(s.status.as_str(), "scheduled" | "sending");
    let ctx = minijinja::context! {
        send => minijinja::context! {
            id => s.id, subject => s.subject, status => s.status, paused_reason => s.paused_reason,
            newsletter => n.as_ref().map(|n| n.name.clone()), web => n.as_ref().map(|n| format!("/newsletters/{}/{}", n.slug, s.id)),
            when => when(&state, s.run_at),
        },
        progress => minijinja::context! {
            queued => p.queued, sent => p.sent, failed => p.failed, total => p.total().max(s.recipients),
            rate => format!("{rate:.0}"),
            left => if rate > 0.0 && p.queued > 0 { Some((p.queued as f64 / rate).ceil() as i64) } else { None },
        },
        refresh => live,
    };
    Ok(page(&state, "admin/send.html", &s.subject, &user, ctx))
}

pub async fn resume(
    State(state): State<AppState>,
    user: StaffUser,
    Path(id): Path<i64>,
    PostForm(f): PostForm<CsrfForm>,
) -> Result<Response, AppError> {
    user.may(Action::SendNewsletters)?;
    user.check_csrf(&f.csrf)?;
    store::resume_send(state.db(), id, user.actor(), state.now()).await?;
    Ok(see_other(&format!("/admin/sends/{id}")))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct NewsletterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    sender_name: String,
    #[serde(default)]
    sender_email: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    on_signup: String,
}

/// Creates or changes a newsletter (administrators and owners).
pub async fn save_newsletter(
    State(state): State<AppState>,
    user: StaffUser,
    PostForm(f): PostForm<NewsletterForm>,
) -> Result<Response, AppError> {
    user.may(Action::ManageNewsletters)?;
    user.check_csrf(&f.csrf)?;
    let bad = |m: String| AppError::BadRequest(format!("{m}; go back and correct it"));
    let slug = masthead_core::content::Slug::parse(f.slug.trim())
        .map_err(|e| bad(format!("short name: {e}")))?;
    if f.name.trim().is_empty() {
        return Err(bad("the newsletter needs a name".into()));
    }
    let sender = masthead_core::members::Email::parse(&f.sender_email)
        .map_err(|e| bad(format!("sender address: {e}")))?;
    let reply_to = match f.reply_to.trim() {
        "" => sender.as_str().to_string(),
        r => masthead_core::members::Email::parse(r)
            .map_err(|e| bad(format!("reply-to: {e}")))?
            .as_str()
            .to_string(),
    };
    if !matches!(f.audience.as_str(), "members" | "subscribers") {
        return Err(bad("choose who gets it".into()));
    }
    let db = state.db();
    let position = match store::find_by_slug(db, slug.as_str()).await? {
        Some(_) => {
            store::list(db)
                .await?
                .iter()
                .position(|n| n.slug == slug.as_str())
                .unwrap_or(0) as i64
                + 1
        }
        None => store::list(db).await?.len() as i64 + 1,
    };
    let now = state.now();
    let audit = user.audit("newsletter.save", "newsletter", slug.as_str(), &f.audience);
    masthead_store::offers::upsert_newsletter(
        db,
        &masthead_store::offers::NewNewsletter {
            slug: slug.as_str(),
            name: f.name.trim(),
            description: f.description.trim(),
            sender_name: if f.sender_name.trim().is_empty() {
                f.name.trim()
            } else {
                f.sender_name.trim()
            },
            sender_email: sender.as_str(),
            reply_to: &reply_to,
            audience: &f.audience,
            on_signup: f.on_signup == "on",
            position,
        },
        Some(&audit),
        now,
    )
    .await?;
    state.refresh_counters().await.map_err(AppError::Internal)?;
    Ok(see_other("/admin/newsletters"))
}
