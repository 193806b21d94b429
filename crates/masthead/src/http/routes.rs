//! The route table: every route with what it declares. The app assembles
//! one table (`crate::app::routes`); the router, the response finisher and
//! the leak suite all read it, so a route cannot be added without saying
//! what it carries, how it may be cached and whether another site may post
//! to it.

use crate::app::AppState;
use axum::routing::MethodRouter;
use std::collections::HashMap;

/// What a route's answers can carry. The leak suite requests every route
/// marked `Text` as every kind of reader; a route cannot be added without
/// saying which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    /// Can carry article text: page, lists, feeds, search, sitemaps.
    Text,
    /// Never carries article text (static files, media, health, robots).
    NoText,
    /// Carries any article text, drafts included, but only to a staff
    /// session (the newsroom's editor and previews): the leak suite checks
    /// that every reader who is not staff gets none of it.
    StaffText,
    /// Carries article text decided as for an anonymous reader whoever
    /// asks (the Content API: its key is public and it reads no cookie).
    /// The leak suite checks that no reader, a subscriber included, gets
    /// more from it than an anonymous one; it may answer CORS.
    AnonymousText,
}

/// How a route's successful answers may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheClass {
    /// Shared caches may keep it (`public`) when the request carries no
    /// credentials (a reader cookie, an `Authorization` header) and the
    /// answer sets no cookie; `private` otherwise.
    Shared,
    /// Never in a shared cache: answers for one person (accounts, the
    /// newsroom) and pages reached with a token in the URL.
    Private,
}

/// What the finisher needs to know about the route a request matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    pub carries: Carries,
    pub cache: CacheClass,
    /// Accepts POSTs from other sites: the route authenticates them itself
    /// (a webhook's signature, a signed unsubscribe token).
    pub cross_site: bool,
    /// Answers machines (webhooks): its errors keep their plain bodies.
    pub machine: bool,
    /// Streams its body from where it lies (media files): the finisher
    /// neither buffers nor compresses it, and the handler answers
    /// conditional requests itself.
    pub streams: bool,
    /// Answers CORS: other sites' scripts may read its answers
    /// (`Access-Control-Allow-Origin: *`, never with credentials) and the
    /// finisher answers its preflight. Only a route that carries no
    /// article text may: a cross-site read from a reader's browser must
    /// never reach text that the reader's address or cookie unlocked.
    pub cors: bool,
}

/// One route: its path (axum syntax), its handlers and its declaration.
pub struct Route {
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
    pub info: RouteInfo,
}

impl Route {
    /// A route, shared-cacheable and same-site only until declared otherwise.
    pub fn new(path: &'static str, handler: MethodRouter<AppState>, carries: Carries) -> Route {
        Route {
            path,
            handler,
            info: RouteInfo {
                carries,
                cache: CacheClass::Shared,
                cross_site: false,
                machine: false,
                streams: false,
                cors: false,
            },
        }
    }

    /// Never in a shared cache.
    pub fn private(mut self) -> Route {
        self.info.cache = CacheClass::Private;
        self
    }

    /// Accepts POSTs from other sites (it authenticates them itself).
    pub fn cross_site(mut self) -> Route {
        self.info.cross_site = true;
        self
    }

    /// Streams its body (see `RouteInfo::streams`).
    pub fn streams(mut self) -> Route {
        self.info.streams = true;
        self
    }

    /// Answers CORS (see `RouteInfo::cors`); only for `Carries::NoText`
    /// and `Carries::AnonymousText`.
    pub fn cors(mut self) -> Route {
        self.info.cors = true;
        self
    }

    /// A machine endpoint: cross-site, private, plain error bodies.
    pub fn machine(mut self) -> Route {
        self.info.machine = true;
        self.info.cross_site = true;
        self.info.cache = CacheClass::Private;
        self
    }

    pub fn carries(&self) -> Carries {
        self.info.carries
    }
}

/// The declarations by path pattern, for the finisher: which route a
/// request path is (the router's own matching happens after).
#[derive(Default)]
pub struct RouteTable {
    /// Routes without parameters, by their path: a request for one of
    /// them is a single lookup (a literal route always wins).
    exact: HashMap<String, RouteInfo>,
    /// The routes with parameters: (segments, rank, declaration); the rank
    /// has one bit per literal segment, the first segment highest, so
    /// literals win from the left as the router's matching does.
    routes: Vec<(Vec<Segment>, u64, RouteInfo)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

impl RouteTable {
    /// The table of `routes`.
    ///
    /// # Panics
    /// When a route that can carry article text declares CORS: a
    /// programming error, found when the app starts (and by its tests).
    pub fn new(routes: &[Route]) -> RouteTable {
        if let Some(r) = routes.iter().find(|r| {
            r.info.cors && !matches!(r.info.carries, Carries::NoText | Carries::AnonymousText)
        }) {
            panic!("{} carries article text and cannot answer CORS", r.path);
        }
        let exact = routes
            .iter()
            .filter(|r| !segments(r.path).contains(&Segment::Param))
            .map(|r| (r.path.to_string(), r.info))
            .collect();
        RouteTable {
            exact,
            routes: routes
                .iter()
                .filter(|r| segments(r.path).contains(&Segment::Param))
                .map(|r| {
                    let segs = segments(r.path);
                    let rank =
                        segs.iter()
                            .take(64)
                            .enumerate()
                            .fold(0u64, |rank, (i, s)| match s {
                                Segment::Literal(_) => rank | (1 << (63 - i)),
                                Segment::Param => rank,
                            });
                    (segs, rank, r.info)
                })
                .collect(),
        }
    }

    /// The declaration of the route `path` matches, preferring literal
    /// segments over parameters (as the router does); `None` for a path no
    /// route takes (a 404).
    ///
    /// It runs for every request, the article view too: one pass over the
    /// table, no allocation.
    pub fn find(&self, path: &str) -> Option<RouteInfo> {
        if let Some(info) = self.exact.get(path) {
            return Some(*info);
        }
        let count = path.split('/').skip(1).count();
        self.routes
            .iter()
            .filter(|(segs, _, _)| {
                segs.len() == count
                    && segs
                        .iter()
                        .zip(path.split('/').skip(1))
                        .all(|(s, p)| match s {
                            Segment::Literal(l) => l == p,
                            Segment::Param => !p.is_empty(),
                        })
            })
            .max_by_key(|(_, rank, _)| *rank)
            .map(|(_, _, info)| *info)
    }
}

fn segments(pattern: &str) -> Vec<Segment> {
    pattern
        .split('/')
        .skip(1)
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    fn route(path: &'static str) -> Route {
        Route::new(path, get(|| async { "" }), Carries::NoText)
    }

    #[test]
    fn a_path_finds_its_route_and_literals_win_over_parameters() {
        let table = RouteTable::new(&[
            route("/{slug}"),
            route("/search").private(),
            route("/topics/{slug}").cross_site(),
            route("/webhooks/stripe").machine(),
        ]);
        assert_eq!(
            table.find("/search").map(|i| i.cache),
            Some(CacheClass::Private)
        );
        assert_eq!(
            table.find("/harbour-news").map(|i| i.cache),
            Some(CacheClass::Shared)
        );
        assert!(table.find("/topics/tides").is_some_and(|i| i.cross_site));
        assert!(table
            .find("/webhooks/stripe")
            .is_some_and(|i| i.machine && i.cross_site));
        assert!(table.find("/topics/tides/extra").is_none());
        assert!(table.find("/").is_none(), "an empty segment is no slug");
    }

    #[test]
    #[should_panic(expected = "cannot answer CORS")]
    fn a_route_that_carries_text_cannot_answer_cors() {
        RouteTable::new(&[Route::new("/{slug}", get(|| async { "" }), Carries::Text).cors()]);
    }

    #[test]
    fn a_route_without_text_may_answer_cors() {
        let table = RouteTable::new(&[route("/media/{name}").cors(), route("/{slug}")]);
        assert!(table.find("/media/a.jpg").is_some_and(|i| i.cors));
        assert!(table.find("/harbour-news").is_some_and(|i| !i.cors));
    }
}
