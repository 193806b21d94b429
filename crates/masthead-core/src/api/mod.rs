//! The rules of the Ghost-compatible APIs that need no I/O: key and id
//! formats, the filter language (`nql`), `limit`/`page`/`order` and the
//! pagination block exactly as Ghost computes it.

pub mod jwt;
pub mod nql;

/// Ghost's default page size.
pub const DEFAULT_LIMIT: u32 = 15;
/// The most items one answer carries (`limit=all` included), as Ghost 6
/// caps it.
pub const MAX_LIMIT: u32 = 100;

/// Whether `s` is `n` lowercase hex digits.
pub fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` looks like a Ghost object id (24 hex digits).
pub fn is_object_id(s: &str) -> bool {
    is_hex(s, 24)
}

/// `limit`: absent → 15; `all` or anything above the cap → the cap; not a
/// positive number → an error message.
pub fn limit(raw: Option<&str>) -> Result<u32, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some("all") => Ok(MAX_LIMIT),
        Some(s) => match s.parse::<u64>() {
            Ok(0) | Err(_) => Err(format!(
                "limit must be a positive number or 'all', not {s:?}"
            )),
            Ok(n) => Ok(u32::try_from(n.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT)),
        },
    }
}

/// `page`: absent → 1; otherwise a positive number.
pub fn page(raw: Option<&str>) -> Result<u32, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => match s.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!("page must be a positive number, not {s:?}")),
            Ok(n) => Ok(n),
        },
    }
}

/// A comma-separated list (`fields`, `include`, `formats`), trimmed, empty
/// items dropped, at most 50.
pub fn list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(50)
        .map(String::from)
        .collect()
}

/// One `order` term: a field and whether it is descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub field: String,
    pub desc: bool,
}

/// `order=published_at desc, title asc` (direction optional, ascending by
/// default); only `allowed` fields, at most 5 terms.
pub fn order(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<OrderBy>, String> {
    let mut out = Vec::new();
    for term in list(raw) {
        let mut words = term.split_whitespace();
        let field = words.next().unwrap_or("").to_string();
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(format!(
                    "order direction must be asc or desc, not {other:?}"
                ))
            }
        };
        if words.next().is_some() || !allowed.contains(&field.as_str()) {
            return Err(format!("cannot order by {term:?}"));
        }
        out.push(OrderBy { field, desc });
        if out.len() > 5 {
            return Err("order has more than 5 terms".into());
        }
    }
    Ok(out)
}

/// `meta.pagination` as Ghost computes it, quirks included: `pages` is at
/// least 1, and `next`/`prev` follow Ghost's three cases even past the
/// last page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub pages: u64,
    pub total: u64,
    pub next: Option<u64>,
    pub prev: Option<u64>,
}

pub fn pagination(page: u32, limit: u32, total: u64) -> Pagination {
    let pages = total.div_ceil(u64::from(limit.max(1))).max(1);
    let p = u64::from(page);
    let (next, prev) = if pages > 1 {
        if p == 1 {
            (Some(p + 1), None)
        } else if p == pages {
            (None, Some(p - 1))
        } else {
            (Some(p + 1), Some(p - 1))
        }
    } else {
        (None, None)
    };
    Pagination {
        page,
        limit,
        pages,
        total,
        next,
        prev,
    }
}

/// Ghost's `reading_time`: minutes at 275 words a minute, plus 12 seconds
/// an image for the first ten and 3 seconds for each after, at least 1
/// minute when there is any text.
pub fn reading_time(words: usize, images: usize) -> u32 {
    let first = images.min(10);
    let image_secs =
        (0..first).map(|i| 12 - i.min(9)).sum::<usize>() + images.saturating_sub(10) * 3;
    let secs = words * 60 / 275 + image_secs;
    let minutes = (secs as f64 / 60.0).round() as u32;
    if words > 0 || images > 0 {
        minutes.max(1)
    } else {
        0
    }
}

/// A time as Ghost writes it: `2024-05-17T08:30:00.000+00:00`.
pub fn ghost_time(unix: i64) -> String {
    ghost_time_ms(unix, 0)
}

/// A time with milliseconds: a post's `updated_at` carries its revision
/// (mod 1000) there, so two saves in one second still differ and Ghost's
/// collision check (the client sends back the `updated_at` it read) sees
/// every save.
pub fn ghost_time_ms(unix: i64, ms: i64) -> String {
    match jiff::Timestamp::from_second(unix) {
        Ok(t) => format!(
            "{}.{:03}+00:00",
            t.strftime("%Y-%m-%dT%H:%M:%S"),
            ms.rem_euclid(1000)
        ),
        Err(_) => "1970-01-01T00:00:00.000+00:00".into(),
    }
}

/// The (seconds, milliseconds) of an ISO 8601 time a client sent back.
pub fn parse_ms(text: &str) -> Option<(i64, i64)> {
    let t: jiff::Timestamp = text.trim().parse().ok()?;
    let ms = t.as_millisecond();
    Some((ms.div_euclid(1000), ms.rem_euclid(1000)))
}

/// Ghost's `visibility` for an access level as the policy resolves it:
/// free is `public`, registered is `members`, metered and subscriber-only
/// are `paid` (a reader without a subscription cannot count on them).
pub fn visibility(resolved: crate::AccessLevel) -> &'static str {
    use crate::AccessLevel::*;
    match resolved {
        Free => "public",
        Registered => "members",
        Metered | Subscribers | Default => "paid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_pages() {
        assert_eq!(limit(None), Ok(15));
        assert_eq!(limit(Some("all")), Ok(100));
        assert_eq!(limit(Some("5")), Ok(5));
        assert_eq!(
            limit(Some("100000000000000000000")),
            Err("limit must be a positive number or 'all', not \"100000000000000000000\"".into())
        );
        assert_eq!(limit(Some("1000")), Ok(100));
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("-1")).is_err());
        assert_eq!(page(None), Ok(1));
        assert!(page(Some("0")).is_err());
        assert!(page(Some("x")).is_err());
    }

    #[test]
    fn pagination_follows_ghost() {
        let p = pagination(1, 15, 0);
        assert_eq!((p.pages, p.next, p.prev), (1, None, None));
        let p = pagination(1, 15, 31);
        assert_eq!((p.pages, p.next, p.prev), (3, Some(2), None));
        let p = pagination(2, 15, 31);
        assert_eq!((p.next, p.prev), (Some(3), Some(1)));
        let p = pagination(3, 15, 31);
        assert_eq!((p.next, p.prev), (None, Some(2)));
        // Past the end, Ghost still points both ways.
        let p = pagination(9, 15, 31);
        assert_eq!((p.next, p.prev), (Some(10), Some(8)));
    }

    #[test]
    fn order_takes_only_listed_fields() {
        let allowed = ["published_at", "title"];
        assert_eq!(
            order(Some("published_at desc, title"), &allowed).unwrap(),
            vec![
                OrderBy {
                    field: "published_at".into(),
                    desc: true
                },
                OrderBy {
                    field: "title".into(),
                    desc: false
                }
            ]
        );
        assert!(order(Some("html desc"), &allowed).is_err());
        assert!(order(Some("title sideways"), &allowed).is_err());
        assert!(order(Some("title asc extra"), &allowed).is_err());
        assert_eq!(order(None, &allowed).unwrap(), vec![]);
    }

    #[test]
    fn ids_keys_times_and_reading_time() {
        assert!(is_object_id("5ddc9141c35e7700383b2937"));
        assert!(!is_object_id("5ddc9141c35e7700383b293"));
        assert!(!is_object_id("5DDC9141C35E7700383B2937"));
        assert!(is_hex("22444f78447824223cefc48062", 26));
        assert_eq!(ghost_time(1_715_934_600), "2024-05-17T08:30:00.000+00:00");
        assert_eq!(
            ghost_time_ms(1_715_934_600, 1042),
            "2024-05-17T08:30:00.042+00:00"
        );
        assert_eq!(
            parse_ms("2024-05-17T08:30:00.042+00:00"),
            Some((1_715_934_600, 42))
        );
        assert_eq!(
            parse_ms("2024-05-17T10:30:00.042+02:00"),
            Some((1_715_934_600, 42))
        );
        assert_eq!(parse_ms("yesterday"), None);
        assert_eq!(reading_time(0, 0), 0);
        assert_eq!(reading_time(10, 0), 1);
        assert_eq!(reading_time(2750, 0), 10);
        assert_eq!(reading_time(2750, 1), 10);
        assert_eq!(reading_time(2750, 5), 11);
    }
}
