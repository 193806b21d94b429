//! The article page: the page that defines the product.

use super::decision_for;
use super::view::{self, Link};
use crate::app::AppState;
use crate::cache::{CachedPage, PageKey};
use crate::http::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use masthead_core::access::Channel;
use masthead_core::content::{AccessLevel, Article, Body, Slug};
use std::sync::Arc;

pub async fn show(State(state): State<AppState>, Path(slug): Path<String>) -> AppResult {
    if Slug::parse_article(&slug).is_err() {
        return Err(AppError::NotFound);
    }
    let settings_version = state.settings().get().version;
    // Fast path: slug → (id, revision) → rendered bytes, no query at all.
    // The decision variant is part of the key; today it is always "full".
    if let Some(page) = state
        .cache()
        .find(&slug, masthead_core::Decision::Full, settings_version)
    {
        return Ok(cached_response(page));
    }

    let content_version = state.cache().content_version();
    let now = jiff::Timestamp::now().as_second();
    let db = state.db();
    let Some(article) = masthead_store::content::find_article(db, &slug, now).await? else {
        return match masthead_store::content::find_redirect(db, &slug, now).await? {
            Some(new_slug) => Ok(Redirect::permanent(&format!("/{new_slug}")).into_response()),
            None => Err(AppError::NotFound),
        };
    };
    let decision = decision_for(&state, &article.facts(), Channel::ArticlePage);
    let body = masthead_store::content::find_body(db, &article.facts(), decision).await?;
    let related = masthead_store::content::list_related(db, &article, now, 4).await?;
    let page = render(&state, &article, &body, &related)?;
    let page = Arc::new(CachedPage::new(Bytes::from(page)));
    state.cache().insert(
        content_version,
        &slug,
        PageKey {
            article_id: article.id,
            revision: article.revision,
            variant: decision,
            settings_version,
        },
        page.clone(),
    );
    Ok(cached_response(page))
}

fn cached_response(page: Arc<CachedPage>) -> Response {
    let mut res = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.body.clone(),
    )
        .into_response();
    res.extensions_mut().insert(page);
    res
}

fn render(
    state: &AppState,
    a: &Article,
    body: &Body,
    related: &[masthead_core::content::ArticleSummary],
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
    let free = a.access_level == AccessLevel::Free;
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
        title => a.headline,
        description => a.standfirst,
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
        },
        related => related.iter().map(|r| view::card(state, r)).collect::<Vec<_>>(),
    };
    Ok(state.theme().render("article.html", ctx)?)
}
