//! The images of an imported body, shared by every source: each copied
//! into the media library once per run (read from a local copy of the old
//! site's files when one was given, else fetched through the guard), the
//! body pointed at the copies, links to the old site made local. An image
//! that cannot be copied is removed and reported: the reader CSP only
//! allows images from the site itself.

use super::html::{self, attr, LinkTo};
use super::Report;
use crate::app::AppState;
use crate::fetch::Fetcher;
use std::collections::HashMap;
use std::path::PathBuf;

/// An image the run has copied (its media id and record), or why not.
pub type Copied = Result<(i64, masthead_core::content::Media), String>;

/// A local copy of the old site's files: URLs whose path contains
/// `marker` are read from `dir`, below the marker (`/wp-content/uploads/`
/// for WordPress, `/content/` for Ghost).
#[derive(Debug, Clone)]
pub struct LocalCopy {
    pub dir: PathBuf,
    pub marker: &'static str,
}

pub struct Images<'a> {
    state: &'a AppState,
    /// The import's source: an image copied by an earlier run is found
    /// again by its address under it, and not fetched again.
    source: String,
    /// The old site's host names (lower case).
    pub hosts: Vec<String>,
    base: Option<reqwest::Url>,
    local: Option<LocalCopy>,
    fetcher: Fetcher,
    dry_run: bool,
    done: HashMap<String, Copied>,
    /// Copied (or, dry, referenced).
    pub count: usize,
}

/// The path (and query) of `url` when it is on one of `hosts`.
pub fn old_path(url: &str, hosts: &[String]) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    if !hosts.contains(&host) {
        return None;
    }
    let mut p = u.path().to_string();
    if let Some(q) = u.query() {
        p.push('?');
        p.push_str(q);
    }
    Some(p)
}

/// The host names of these addresses, lower case, each once.
pub fn hosts_of<'s>(urls: impl IntoIterator<Item = &'s str>) -> Vec<String> {
    let mut hosts = Vec::new();
    for u in urls {
        if let Some(h) = reqwest::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
    }
    hosts
}

impl<'a> Images<'a> {
    /// For a site at `site` (relative URLs resolve against it).
    pub fn new(
        state: &'a AppState,
        source: &str,
        site: &str,
        hosts: Vec<String>,
        local: Option<LocalCopy>,
        allow_private: bool,
        dry_run: bool,
    ) -> Images<'a> {
        Images {
            state,
            source: source.to_string(),
            hosts,
            base: reqwest::Url::parse(&format!("{}/", site.trim_end_matches('/'))).ok(),
            local,
            fetcher: Fetcher {
                allow_private,
                ..Fetcher::default()
            },
            dry_run,
            done: HashMap::new(),
            count: 0,
        }
    }

    /// The bytes behind an image URL: from the local copy when it has the
    /// file (never outside it: no `..`, no symlink out), else fetched
    /// through the guard.
    async fn bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        if let Some(local) = &self.local {
            if let Some(at) = url.find(local.marker) {
                let rel = &url[at + local.marker.len()..];
                let rel = rel.split(['?', '#']).next().unwrap_or_default();
                let root = local
                    .dir
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", local.dir.display()))?;
                if !rel.split('/').any(|s| s == ".." || s.is_empty()) {
                    if let Ok(real) = root.join(rel).canonicalize() {
                        if !real.starts_with(&root) {
                            return Err(format!("{rel} is outside {}", local.dir.display()));
                        }
                        let path = real.clone();
                        return tokio::task::spawn_blocking(move || std::fs::read(&path))
                            .await
                            .map_err(|e| e.to_string())?
                            .map_err(|e| format!("{rel}: {e}"));
                    }
                }
            }
        }
        self.fetcher.get(url).await.map_err(|e| e.to_string())
    }

    /// `url` made absolute against the old site.
    fn absolute(&self, url: &str) -> Result<String, String> {
        let url = url.replace("&amp;", "&");
        match (&self.base, reqwest::Url::parse(&url)) {
            (_, Ok(u)) => Ok(u.to_string()),
            (Some(base), Err(_)) => base
                .join(&url)
                .map(|u| u.to_string())
                .map_err(|e| format!("{url}: {e}")),
            (None, Err(e)) => Err(format!("{url}: {e}")),
        }
    }

    /// Copies an image into the media library, once per run.
    pub async fn copy(&mut self, url: &str) -> Copied {
        let absolute = self.absolute(url)?;
        if let Some(done) = self.done.get(&absolute) {
            return done.clone();
        }
        let db = self.state.db();
        let origin = masthead_store::imports::Origin {
            source: &self.source,
            kind: "image",
            source_id: &absolute,
        };
        let earlier = match masthead_store::imports::find_item(db, origin).await {
            Ok(Some(id)) => masthead_store::media::find_media(db, id)
                .await
                .ok()
                .flatten(),
            _ => None,
        };
        if let Some(media) = earlier {
            let found: Copied = Ok((media.id, media));
            self.done.insert(absolute, found.clone());
            return found;
        }
        let result = match self.bytes(&absolute).await {
            Err(e) => Err(e),
            Ok(bytes) => {
                let name = absolute
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or("image")
                    .to_string();
                let s = self.state;
                match crate::content::import::store_image(
                    s.db(),
                    s.media(),
                    s.processor(),
                    bytes,
                    &name,
                    None,
                )
                .await
                {
                    Err(e) => Err(format!("{absolute}: {e}")),
                    Ok((id, hash)) => {
                        match masthead_store::media::find_media_by_hash(s.db(), &hash).await {
                            Ok(Some(m)) => {
                                self.count += 1;
                                let now = s.now();
                                match masthead_store::imports::remember_alias(db, origin, id, now)
                                    .await
                                {
                                    Ok(()) => Ok((id, m)),
                                    Err(e) => Err(format!("{absolute}: {e}")),
                                }
                            }
                            Ok(None) => Err(format!("{absolute}: stored but not found")),
                            Err(e) => Err(format!("{absolute}: {e}")),
                        }
                    }
                }
            }
        };
        self.done.insert(absolute, result.clone());
        result
    }

    /// The blocks' images copied and pointed at the copies, links to image
    /// files on the old site pointed at our copies; what cannot be copied
    /// is removed (a link: its words kept) and reported against the item.
    pub async fn localise(
        &mut self,
        blocks: Vec<String>,
        report: &mut Report,
        item: (&str, &str, &str),
    ) -> Vec<String> {
        let (kind, id, title) = item;
        let mut out = Vec::with_capacity(blocks.len());
        for block in blocks {
            let mut copies = HashMap::new();
            for src in html::image_sources(&block) {
                if src.is_empty() || copies.contains_key(&src) {
                    continue;
                }
                let copied = if self.dry_run {
                    self.count += 1;
                    Err(String::new())
                } else {
                    self.copy(&src).await
                };
                if let Err(why) = &copied {
                    if !self.dry_run {
                        report.partly(kind, id, title, format!("image removed: {why}"));
                    }
                }
                copies.insert(src, copied);
            }
            if self.dry_run {
                out.push(block);
                continue;
            }
            let block = html::map_images(&block, |a| match copies.get(attr(a, "src")) {
                Some(Ok((_, media))) => {
                    let v = crate::site::view::image(media, attr(a, "alt"), "", "", 960);
                    Some(format!(
                        "<img src=\"{}\" srcset=\"{}\" sizes=\"(max-width: 960px) 100vw, 960px\" width=\"{}\" height=\"{}\" alt=\"{}\">",
                        v.src,
                        v.srcset,
                        v.width,
                        v.height,
                        html::escape(&v.alt)
                    ))
                }
                _ => None,
            });
            // A link to an image file on the old site (the "full size" link
            // around an image) points at our copy of that file.
            let mut targets = HashMap::new();
            for href in html::link_targets(&block) {
                if targets.contains_key(&href)
                    || !html::is_image_file(&href)
                    || old_path(&href, &self.hosts).is_none()
                {
                    continue;
                }
                let copied = self.copy(&href).await;
                if let Err(why) = &copied {
                    report.partly(kind, id, title, format!("link to an image removed: {why}"));
                }
                targets.insert(href, copied);
            }
            let block = html::map_links(&block, |href| match targets.get(href) {
                Some(Ok((_, m))) => LinkTo::Href(format!("/media/{}.{}", m.hash, m.ext)),
                Some(Err(_)) => LinkTo::Unwrap,
                None => LinkTo::Keep,
            });
            out.push(block);
        }
        out
    }

    /// Links to the old site become links on this one (its old addresses
    /// answer 301 to the new ones), whatever the scheme or port.
    pub fn relink(&self, html: &str) -> String {
        html::map_links(html, |href| {
            let href = href.replace("&amp;", "&");
            match old_path(&href, &self.hosts) {
                Some(mut path) => {
                    if let Some((_, fragment)) = href.split_once('#') {
                        path.push('#');
                        path.push_str(fragment);
                    }
                    LinkTo::Href(path)
                }
                None => LinkTo::Keep,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_paths_only_on_the_old_site() {
        let hosts = vec!["old.example".to_string()];
        assert_eq!(
            old_path("https://old.example/2024/05/17/tide/", &hosts).as_deref(),
            Some("/2024/05/17/tide/")
        );
        assert_eq!(
            old_path("https://old.example/?p=12", &hosts).as_deref(),
            Some("/?p=12")
        );
        assert_eq!(old_path("https://elsewhere.example/x/", &hosts), None);
        assert_eq!(
            hosts_of(["https://Old.Example/a", "http://old.example", "nonsense"]),
            vec!["old.example".to_string()]
        );
    }
}
