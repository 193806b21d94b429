//! Versioned migrations, one folder per backend with the same version
//! numbers. Each applies in its own transaction and is recorded in
//! `schema_migrations`.

use crate::{Backend, Db, Result};
use sqlx::{Connection, Executor, Row};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "content",
        sqlite: include_str!("../migrations/sqlite/0001_content.sql"),
        postgres: include_str!("../migrations/postgres/0001_content.sql"),
    },
    Migration {
        version: 2,
        name: "signing_keys",
        sqlite: include_str!("../migrations/sqlite/0002_signing_keys.sql"),
        postgres: include_str!("../migrations/postgres/0002_signing_keys.sql"),
    },
    Migration {
        version: 3,
        name: "plans_newsletters",
        sqlite: include_str!("../migrations/sqlite/0003_plans_newsletters.sql"),
        postgres: include_str!("../migrations/postgres/0003_plans_newsletters.sql"),
    },
    Migration {
        version: 4,
        name: "members",
        sqlite: include_str!("../migrations/sqlite/0004_members.sql"),
        postgres: include_str!("../migrations/postgres/0004_members.sql"),
    },
    Migration {
        version: 5,
        name: "billing",
        sqlite: include_str!("../migrations/sqlite/0005_billing.sql"),
        postgres: include_str!("../migrations/postgres/0005_billing.sql"),
    },
    Migration {
        version: 6,
        name: "billing_more",
        sqlite: include_str!("../migrations/sqlite/0006_billing_more.sql"),
        postgres: include_str!("../migrations/postgres/0006_billing_more.sql"),
    },
    Migration {
        version: 7,
        name: "newsletters",
        sqlite: include_str!("../migrations/sqlite/0007_newsletters.sql"),
        postgres: include_str!("../migrations/postgres/0007_newsletters.sql"),
    },
    Migration {
        version: 8,
        name: "audit",
        sqlite: include_str!("../migrations/sqlite/0008_audit.sql"),
        postgres: include_str!("../migrations/postgres/0008_audit.sql"),
    },
    Migration {
        version: 9,
        name: "article_owner",
        sqlite: include_str!("../migrations/sqlite/0009_article_owner.sql"),
        postgres: include_str!("../migrations/postgres/0009_article_owner.sql"),
    },
    Migration {
        version: 10,
        name: "corrections",
        sqlite: include_str!("../migrations/sqlite/0010_corrections.sql"),
        postgres: include_str!("../migrations/postgres/0010_corrections.sql"),
    },
    Migration {
        version: 11,
        name: "front_pages",
        sqlite: include_str!("../migrations/sqlite/0011_front_pages.sql"),
        postgres: include_str!("../migrations/postgres/0011_front_pages.sql"),
    },
    Migration {
        version: 12,
        name: "newsroom_more",
        sqlite: include_str!("../migrations/sqlite/0012_newsroom_more.sql"),
        postgres: include_str!("../migrations/postgres/0012_newsroom_more.sql"),
    },
    Migration {
        version: 13,
        name: "claims",
        sqlite: include_str!("../migrations/sqlite/0013_claims.sql"),
        postgres: include_str!("../migrations/postgres/0013_claims.sql"),
    },
    Migration {
        version: 14,
        name: "digest_articles",
        sqlite: include_str!("../migrations/sqlite/0014_digest_articles.sql"),
        postgres: include_str!("../migrations/postgres/0014_digest_articles.sql"),
    },
    Migration {
        version: 15,
        name: "search_by_audience",
        sqlite: include_str!("../migrations/sqlite/0015_search_by_audience.sql"),
        postgres: include_str!("../migrations/postgres/0015_search_by_audience.sql"),
    },
    Migration {
        version: 16,
        name: "one_history",
        sqlite: include_str!("../migrations/sqlite/0016_one_history.sql"),
        postgres: include_str!("../migrations/postgres/0016_one_history.sql"),
    },
    Migration {
        version: 17,
        name: "imports",
        sqlite: include_str!("../migrations/sqlite/0017_imports.sql"),
        postgres: include_str!("../migrations/postgres/0017_imports.sql"),
    },
    Migration {
        version: 18,
        name: "api",
        sqlite: include_str!("../migrations/sqlite/0018_api.sql"),
        postgres: include_str!("../migrations/postgres/0018_api.sql"),
    },
];

/// Brings the schema up to date. Safe to run from several processes at
/// once: PostgreSQL serialises on an advisory lock held by one dedicated
/// connection for the whole run (a session lock must be released on the
/// connection that took it), SQLite on its write lock.
pub async fn migrate(db: &Db) -> Result<Vec<i64>> {
    migrate_to(db, i64::MAX).await
}

/// Applies the migrations up to and including `last` (tests that build a
/// database as an earlier release left it).
pub async fn migrate_to(db: &Db, last: i64) -> Result<Vec<i64>> {
    let create = "CREATE TABLE IF NOT EXISTS schema_migrations (
        version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
    let mut applied = Vec::new();
    match db.backend() {
        Backend::Postgres => {
            let mut conn = db.writer().acquire().await?;
            conn.execute("SELECT pg_advisory_lock(727274)").await?;
            let result = async {
                conn.execute(create).await?;
                for m in MIGRATIONS.iter().take_while(|m| m.version <= last) {
                    let mut tx = conn.begin().await?;
                    if apply(&mut tx, m, m.postgres).await? {
                        applied.push(m.version);
                    }
                    tx.commit().await?;
                }
                Ok::<_, crate::StoreError>(())
            }
            .await;
            let unlocked = conn.execute("SELECT pg_advisory_unlock(727274)").await;
            result?;
            unlocked?;
        }
        Backend::Sqlite => {
            db.writer().execute(create).await?;
            for m in MIGRATIONS.iter().take_while(|m| m.version <= last) {
                let mut tx = db.begin().await?;
                if apply(&mut tx, m, m.sqlite).await? {
                    applied.push(m.version);
                }
                tx.commit().await?;
            }
        }
    }
    Ok(applied)
}

/// Applies one migration in the caller's transaction unless it already was.
async fn apply(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    m: &Migration,
    sql: &str,
) -> Result<bool> {
    let done = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
        .bind(m.version)
        .fetch_optional(&mut **tx)
        .await?;
    if done.is_some() {
        return Ok(false);
    }
    (&mut **tx).execute(sqlx::raw_sql(sql)).await?;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
        .bind(m.version)
        .bind(m.name)
        .bind(jiff::Timestamp::now().as_second())
        .execute(&mut **tx)
        .await?;
    tracing::info!(version = m.version, name = m.name, "applied migration");
    Ok(true)
}

/// Refreshes the planner's statistics after a bulk load, so queries keep
/// their index plans (PostgreSQL `ANALYZE`, SQLite `ANALYZE`).
pub async fn analyze(db: &Db) -> Result<()> {
    db.writer().execute("ANALYZE").await?;
    Ok(())
}

/// The migrated schema as sorted `table.column` names, for comparing the
/// two backends. Full-text internals are left out: FTS5's shadow tables on
/// SQLite and the stored `tsvector` column on PostgreSQL.
pub async fn schema_columns(db: &Db) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match db.backend() {
        Backend::Sqlite => {
            let tables = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'article_search_%'",
            )
            .fetch_all(db.reader())
            .await?;
            for t in tables {
                let table: String = t.try_get("name")?;
                let cols = sqlx::query("SELECT name FROM pragma_table_info($1)")
                    .bind(&table)
                    .fetch_all(db.reader())
                    .await?;
                for c in cols {
                    let col: String = c.try_get("name")?;
                    out.push(format!("{table}.{col}"));
                }
            }
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                 AND NOT (table_name = 'article_search' AND column_name = 'document')",
            )
            .fetch_all(db.reader())
            .await?;
            for r in rows {
                let t: String = r.try_get("t")?;
                let c: String = r.try_get("c")?;
                out.push(format!("{t}.{c}"));
            }
        }
    }
    out.sort();
    Ok(out)
}
