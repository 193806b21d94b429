//! The article page: the page that defines the product.

use super::view::{self, Link};
use crate::access::funnel::Step;
use crate::access::meter;
use crate::access::reader::{self, Viewer};
use crate::app::AppState;
use crate::cache::{CachedPage, PageKey, Variant};
use crate::http::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use bytes::Bytes;
use masthead_core::access::{Gate, Outcome};
use masthead_core::content::{AccessLevel, Article, Body, Slug};
use masthead_core::Decision;
use std::sync::Arc;

/// The article page. The access decision comes first (from cached facts
/// when the slug has been seen), then the page rendered for exactly that
/// decision is served from the cache or rendered; the meter is spent last,
/// only for a GET that is not a prefetch.
pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    req: axum::extract::Request,
) -> AppResult {
    // Borrow the request's headers: a `HeaderMap` extractor would copy them.
    let method = req.method().clone();
    let headers = req.headers();
    if Slug::parse_article(&slug).is_err() {
        // An imported item's old address may be no slug of ours.
        return super::old_address(&state, req.uri())
            .await
            .ok_or(AppError::NotFound);
    }
    // A request without cookies is a fresh anonymous reader: no lookups.
    let viewer = if headers.contains_key(header::COOKIE) {
        Viewer::from_headers(&state, headers).await?
    } else {
        Viewer::default()
    };
    let settings = state.settings().get();
    let policy = &settings.publication.policy;
    let settings_version = settings.version;
    let content_version = state.cache().content_version();
    let now = state.now();
    let db = state.db();
    let (facts, revision, mut loaded) = match state.cache().lookup(&slug) {
        Some((facts, revision)) => (facts, revision, None),
        None => {
            let Some(article) = masthead_store::content::find_article(db, &slug, now).await? else {
                return match masthead_store::content::find_redirect(db, &slug, now).await? {
                    Some(new_slug) => {
                        Ok(Redirect::permanent(&format!("/{new_slug}")).into_response())
                    }
                    None => match super::old_address(&state, req.uri()).await {
                        Some(res) => Ok(res),
                        None => Err(AppError::NotFound),
                    },
                };
            };
            (article.facts(), article.revision, Some(article))
        }
    };
    let mut outcome = reader::outcome(&state, policy, &viewer, &facts).await?;
    let prefetch = headers
        .get("sec-purpose")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("prefetch"));
    if outcome.count && prefetch {
        // Serving it would spend the meter on a page the reader may never
        // open; serving it free would let prefetches read without a meter.
        // The browser fetches it for real when the reader follows the link.
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CACHE_CONTROL, "no-store")],
            "not prefetched: opening this article counts towards the meter\n",
        )
            .into_response());
    }
    // A signed-in reader's view is counted in the database before the full
    // text is served, atomically: parallel requests from one session never
    // read more than the meter allows.
    let server_meter = if outcome.count {
        viewer.reader_key()
    } else {
        None
    };
    if let (Some(reader), true) = (&server_meter, method == Method::GET) {
        let window_start = now - policy.window_secs;
        let spent = masthead_store::members::spend_view(
            db,
            reader,
            facts.id,
            now,
            window_start,
            policy.member_limit,
        )
        .await?;
        if spent {
            if let Some(c) = &viewer.cached {
                c.counted(facts.id, now);
            }
        } else {
            outcome = masthead_core::access::refused(&facts, policy);
            if let (Some(c), Some(sid)) = (&viewer.cached, viewer.session_id()) {
                let m = masthead_store::members::find_meter(db, sid, reader, window_start).await?;
                c.set_meter(m);
            }
        }
    }
    let key = PageKey {
        article_id: facts.id,
        revision,
        variant: Variant {
            decision: outcome.decision,
            gate: outcome.gate,
            signed_in: viewer.session.is_some(),
        },
        settings_version,
    };
    let page = match state.cache().find(&key) {
        Some(page) => page,
        None => {
            let article = match loaded.take() {
                Some(a) => a,
                None => match masthead_store::content::find_article(db, &slug, now).await? {
                    Some(a) => a,
                    None => return Err(AppError::NotFound),
                },
            };
            let body = masthead_store::content::find_body(db, &facts, outcome.decision).await?;
            let related = masthead_store::content::list_related(db, &article, now, 4).await?;
            let offer = match outcome.decision {
                Decision::Full => None,
                Decision::Preview { .. } => Some(offer(&state, &article, &outcome, &viewer).await?),
            };
            let corrections = masthead_store::content::list_corrections(db, article.id).await?;
            let page = render(&state, &article, &body, &related, &corrections, offer)?;
            let page = Arc::new(CachedPage::new(Bytes::from(page)));
            state
                .cache()
                .insert(content_version, &slug, facts, key, page.clone());
            page
        }
    };
    let mut res = super::shared::cached_response(page);
    if method != Method::GET || prefetch {
        return Ok(res);
    }
    let metered = policy.resolve(facts.level, facts.content_type) == AccessLevel::Metered;
    if outcome.count && server_meter.is_none() {
        let mut m = viewer.meter.clone();
        m.count(facts.id, now, policy.window_secs);
        if let Some(value) = m.encode(&state.meter_keys()) {
            let c = meter::set_cookie(
                &value,
                policy.window_secs,
                state.config().base_url.is_https(),
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
    if metered && outcome.decision == Decision::Full && viewer.staff.is_none() {
        state.funnel().record(facts.id, Step::MeteredView, now);
    }
    if outcome.gate.is_some() {
        state.funnel().record(facts.id, Step::OfferShown, now);
    }
    Ok(res)
}

/// What the offer box after a preview shows.
async fn offer(
    state: &AppState,
    a: &Article,
    outcome: &Outcome,
    viewer: &Viewer,
) -> Result<minijinja::Value, AppError> {
    let db = state.db();
    let plans = masthead_store::offers::list_active_plans(db).await?;
    let newsletters = masthead_store::offers::list_newsletters(db).await?.len();
    let terms = masthead_store::members::find_page_version(db, "terms").await?;
    let privacy = masthead_store::members::find_page_version(db, "privacy").await?;
    let signed_in = viewer.session.is_some();
    let gate = outcome.gate.unwrap_or(Gate::SubscriptionNeeded);
    let free_path = !signed_in && gate != Gate::SubscriptionNeeded;
    let prices: Vec<_> = plans.iter().map(|p| (p.price, p.interval)).collect();
    let policy = &state.settings().get().publication.policy;
    let heading = match gate {
        Gate::MeterSpent => format!(
            "You have read your {} free articles for this period",
            if signed_in {
                policy.member_limit
            } else {
                policy.anonymous_limit
            }
        ),
        Gate::RegistrationNeeded => "This article is free with an account".to_string(),
        Gate::SubscriptionNeeded => "This article is for subscribers".to_string(),
    };
    let return_to = format!("/{}", a.slug);
    Ok(minijinja::context! {
        heading => heading,
        free_path => free_path,
        signed_in => signed_in,
        offer_line => masthead_core::billing::offer_line(&prices),
        plans => plans.iter().map(|p| minijinja::context! {
            slug => p.slug,
            name => p.name,
            price => p.price.display(),
            interval => match p.interval {
                masthead_core::billing::Interval::Month => "month",
                masthead_core::billing::Interval::Year => "year",
            },
        }).collect::<Vec<_>>(),
        newsletters => newsletters,
        kinds => masthead_core::ContentType::ALL.iter().map(|t| t.section_title().to_lowercase()).collect::<Vec<_>>(),
        article_id => a.id,
        return_to => return_to,
        login_url => format!("/login?return_to={}", crate::http::urlencode(&return_to)),
        terms_version => terms,
        privacy_version => privacy,
    })
}

fn render(
    state: &AppState,
    a: &Article,
    body: &Body,
    related: &[masthead_core::content::ArticleSummary],
    corrections: &[masthead_store::content::Correction],
    offer: Option<minijinja::Value>,
) -> Result<String, AppError> {
    let base = &state.config().base_url;
    let settings = state.settings().get();
    let canonical = base.join(&format!("/{}", a.slug));
    let published = a.published_at.map(|t| view::time(state, t));
    let updated = match a.published_at {
        Some(p) if a.updated_at.as_second() > p.as_second() + 60 => {
            Some(view::time(state, a.updated_at))
        }
        _ => None,
    };
    let lead = a.lead_image.as_ref().map(|l| view::lead(l, 960));
    let mut blocks = body.blocks.clone();
    // The dateline opens the body: "PORT ALDER — First paragraph…".
    if !a.dateline.is_empty() {
        if let Some(first) = blocks.first_mut() {
            if let Some(rest) = first.strip_prefix("<p>") {
                *first = format!(
                    "<p><span class=\"dateline\">{} —</span> {rest}",
                    minijinja::HtmlEscape(&a.dateline)
                );
            }
        }
    }
    let image_urls: Vec<String> = a
        .lead_image
        .iter()
        .filter_map(|l| {
            l.media.variants.last().map(|v| {
                base.join(&format!(
                    "/media/{}",
                    crate::media::variant_name(&l.media.hash, v.width, &v.ext)
                ))
            })
        })
        .collect();
    let policy = &settings.publication.policy;
    let free = policy.resolve(a.access_level, a.content_type) == AccessLevel::Free;
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.headline,
        "description": a.standfirst,
        "mainEntityOfPage": canonical,
        "url": canonical,
        "datePublished": published.as_ref().map(|t| t.iso.clone()),
        "dateModified": view::time(state, a.updated_at).iso,
        "articleSection": a.content_type.label(),
        "keywords": a.topics.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "author": a.authors.iter().map(|au| serde_json::json!({
            "@type": "Person",
            "name": au.name,
            "url": base.join(&format!("/authors/{}", au.slug)),
        })).collect::<Vec<_>>(),
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": settings.publication.name,
            "url": base.join("/"),
        },
        "isAccessibleForFree": free,
    });
    if !image_urls.is_empty() {
        ld["image"] = serde_json::json!(image_urls);
    }
    if !free && body.is_complete() {
        // The gated part is on the page: name the element that wraps it.
        ld["hasPart"] = serde_json::json!({
            "@type": "WebPageElement",
            "isAccessibleForFree": false,
            "cssSelector": ".article-body",
        });
    }
    let topics: Vec<Link> = a
        .topics
        .iter()
        .map(|t| Link {
            url: format!("/topics/{}", t.slug),
            name: t.name.clone(),
        })
        .collect();
    let ctx = minijinja::context! {
        site => view::site(state),
        title => if a.seo_title.is_empty() { &a.headline } else { &a.seo_title },
        description => if a.seo_description.is_empty() { &a.standfirst } else { &a.seo_description },
        canonical => canonical,
        og_type => "article",
        og_image => image_urls.first(),
        json_ld => minijinja::Value::from_safe_string(view::json_for_script(&ld)),
        article => minijinja::context! {
            headline => a.headline,
            standfirst => a.standfirst,
            kind => a.content_type.label(),
            kind_url => format!("/sections/{}", a.content_type.as_str()),
            authors => view::authors(&a.authors),
            published => published,
            updated => updated,
            lead => lead,
            topics => topics,
            body_html => minijinja::Value::from_safe_string(blocks.join("\n")),
            corrections => corrections.iter().map(|c| minijinja::context! {
                when => jiff::Timestamp::from_second(c.created_at).ok().map(|t| view::time(state, t)),
                body => c.body,
            }).collect::<Vec<_>>(),
        },
        related => related.iter().map(|r| view::card(state, r)).collect::<Vec<_>>(),
        offer => offer,
    };
    Ok(state.theme().render("article.html", ctx)?)
}
