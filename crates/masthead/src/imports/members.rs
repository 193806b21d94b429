//! Readers moving in: a member list exported by the old platform (Ghost's
//! members CSV now; Substack's lists later) → members, verified (the old
//! platform verified them), their newsletter choices recorded with the
//! import as the consent's source, comps granted, Stripe customers linked.
//! Rows are imported in batches, each batch one transaction; a batch that
//! fails is retried row by row, so one bad row never stops the rest.

use super::{MemberCounts, Report};
use crate::app::AppState;
use masthead_store::imports::{self as store, ImportedMember};
use std::collections::HashSet;

/// Rows per transaction.
const BATCH: usize = 500;

/// The columns of Ghost's members CSV that matter here.
struct Columns {
    id: Option<usize>,
    email: usize,
    subscribed: Option<usize>,
    comp: Option<usize>,
    customer: Option<usize>,
    created_at: Option<usize>,
    deleted_at: Option<usize>,
}

/// A CSV field read as true ("true", "TRUE", "1", "yes").
fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "y"
    )
}

/// A date as Ghost writes them (`2024-05-17T08:30:00.000Z`, or without
/// the zone, taken as UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_second());
    }
    let dt: jiff::civil::DateTime = s.replace(' ', "T").parse().ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// What a members CSV yields before anything is written.
pub struct Parsed {
    pub members: Vec<ImportedMember>,
    /// (line, why) for each row left out.
    pub skipped: Vec<(usize, String, String)>,
    /// Rows that opted in to email (`subscribed_to_emails`).
    pub opted_in: HashSet<usize>,
}

/// Reads Ghost's members CSV (`id,email,name,note,subscribed_to_emails,
/// complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,
/// tiers`; columns found by name, any order). `newsletters` are the
/// newsletters here that an opted-in member joins. Names, notes, labels
/// and tiers are not kept: members here have none.
pub fn parse_ghost_csv(text: &str, newsletters: &[i64]) -> Result<Parsed, String> {
    let rows = masthead_core::newsroom::parse_csv(text);
    let Some(header) = rows.first() else {
        return Err("the members CSV is empty".into());
    };
    let col = |name: &str| {
        header.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let cols = Columns {
        id: col("id"),
        email: col("email").ok_or("the members CSV has no “email” column")?,
        subscribed: col("subscribed_to_emails").or_else(|| col("subscribed")),
        comp: col("complimentary_plan"),
        customer: col("stripe_customer_id"),
        created_at: col("created_at"),
        deleted_at: col("deleted_at"),
    };
    let mut out = Parsed {
        members: Vec::with_capacity(rows.len()),
        skipped: Vec::new(),
        opted_in: HashSet::new(),
    };
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i + 1;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map_or("", |s| s.trim());
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let raw = get(Some(cols.email));
        if !get(cols.deleted_at).is_empty() {
            out.skipped
                .push((line, raw.into(), "deleted on the old site".into()));
            continue;
        }
        let email = match masthead_core::members::Email::parse(raw) {
            Ok(e) => e,
            Err(e) => {
                out.skipped.push((line, raw.into(), e.to_string()));
                continue;
            }
        };
        let lower = email.lower();
        if !seen.insert(lower.clone()) {
            out.skipped
                .push((line, raw.into(), "the address is on an earlier row".into()));
            continue;
        }
        let source_id = match get(cols.id) {
            "" => format!("email:{lower}"),
            id => id.to_string(),
        };
        let subscribed = truthy(get(cols.subscribed));
        if subscribed {
            out.opted_in.insert(out.members.len());
        }
        let customer = get(cols.customer);
        out.members.push(ImportedMember {
            source_id,
            email: email.as_str().to_string(),
            email_lower: lower,
            created_at: parse_time(get(cols.created_at)),
            newsletters: if subscribed {
                newsletters.to_vec()
            } else {
                Vec::new()
            },
            comp: truthy(get(cols.comp)),
            customer: (customer.starts_with("cus_")
                && customer.len() <= 255
                && customer
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| customer.to_string()),
        });
    }
    Ok(out)
}

/// Imports parsed members; returns the Stripe customers now linked to
/// them (whose subscriptions the carry-over looks for).
pub async fn import(
    state: &AppState,
    source: &str,
    parsed: &Parsed,
    dry_run: bool,
    report: &mut Report,
    progress: &mut super::Progress<'_>,
) -> anyhow::Result<HashSet<String>> {
    for (line, email, why) in &parsed.skipped {
        report.skip("member", &format!("line {line}"), email, why.clone());
    }
    let c: &mut MemberCounts = &mut report.members;
    c.rows = parsed.members.len();
    let mut customers = HashSet::new();
    if dry_run {
        c.opted_in = parsed.opted_in.len();
        c.comps = parsed.members.iter().filter(|m| m.comp).count();
        c.customers = parsed
            .members
            .iter()
            .filter(|m| m.customer.is_some())
            .count();
        return Ok(customers);
    }
    let now = state.now();
    let total = parsed.members.len() as u64;
    let mut done = 0u64;
    for batch in parsed.members.chunks(BATCH) {
        let outcomes = match store::import_members(state.db(), source, batch, now).await {
            Ok(o) => o.into_iter().map(Ok).collect::<Vec<_>>(),
            // One bad row must not lose the batch: each on its own.
            Err(_) => {
                let mut one = Vec::with_capacity(batch.len());
                for m in batch {
                    one.push(
                        store::import_members(state.db(), source, std::slice::from_ref(m), now)
                            .await
                            .map(|mut o| o.pop().unwrap_or_default()),
                    );
                }
                one
            }
        };
        for (m, o) in batch.iter().zip(outcomes) {
            let o = match o {
                Ok(o) => o,
                Err(e) => {
                    report.skip("member", &m.source_id, &m.email, e.to_string());
                    continue;
                }
            };
            let c = &mut report.members;
            if o.created {
                c.created += 1;
            } else {
                c.existing += 1;
            }
            c.opted_in += o.opted_in as usize;
            c.comps += usize::from(o.comp_granted);
            c.customers += usize::from(o.customer_linked);
            if o.suppressed {
                c.suppressed += 1;
                if !m.newsletters.is_empty() {
                    report.partly(
                        "member",
                        &m.source_id,
                        &m.email,
                        "on the suppression list here: no newsletter opt-in recorded",
                    );
                }
            }
            match (&m.customer, &o.customer_conflict) {
                (Some(_), Some(why)) => {
                    report.partly("member", &m.source_id, &m.email, why.clone())
                }
                (Some(cus), None) => {
                    customers.insert(cus.clone());
                }
                _ => {}
            }
        }
        done += batch.len() as u64;
        progress.tick(state, done, total).await?;
    }
    Ok(customers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghost_rows_become_members() {
        let csv = "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n\
            a1,Ann@Example.com,Ann,,true,false,,2023-01-02T03:04:05.000Z,,vip,\n\
            a2,bob@example.com,Bob,,false,true,cus_Bob1,,,,\n\
            a3,gone@example.com,,,true,,,,2024-01-01T00:00:00.000Z,,\n\
            a4,not-an-address,,,true,,,,,,\n\
            a5,ann@example.com,,,true,,,,,,\n\
            a6,eve@example.com,,,TRUE,,cus_bad;drop,,,,\n";
        let p = parse_ghost_csv(csv, &[7, 9]).unwrap();
        assert_eq!(p.members.len(), 3);
        let ann = &p.members[0];
        assert_eq!(
            (ann.source_id.as_str(), ann.email_lower.as_str()),
            ("a1", "ann@example.com")
        );
        assert_eq!(ann.newsletters, vec![7, 9]);
        assert_eq!(ann.created_at, Some(1672628645));
        let bob = &p.members[1];
        assert!(bob.comp && bob.newsletters.is_empty());
        assert_eq!(bob.customer.as_deref(), Some("cus_Bob1"));
        assert_eq!(
            p.members[2].customer, None,
            "a malformed customer id is dropped"
        );
        let why: Vec<&str> = p.skipped.iter().map(|(_, _, w)| w.as_str()).collect();
        assert_eq!(why.len(), 3);
        assert_eq!(why[0], "deleted on the old site");
        assert_eq!(why[2], "the address is on an earlier row");
        assert!(parse_ghost_csv("name\nx\n", &[]).is_err());
        assert!(parse_ghost_csv("", &[]).is_err());
    }

    #[test]
    fn any_csv_parses_without_panicking() {
        let parts = [
            "id",
            "email",
            ",",
            "\n",
            "\"",
            "a@b.example",
            "true",
            "cus_1",
            "\r\n",
            "é",
            "\"\"",
            "deleted_at",
            "2024-13-40",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut text = String::from(
                "id,email,subscribed_to_emails,stripe_customer_id,deleted_at,created_at\n",
            );
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(parts[(seed % parts.len() as u64) as usize]);
            }
            let p = parse_ghost_csv(&text, &[1]).unwrap();
            let mut seen = HashSet::new();
            for m in &p.members {
                assert!(seen.insert(m.email_lower.clone()), "one row per address");
            }
        }
    }
}
