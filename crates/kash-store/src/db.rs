//! One handle over either back-end. Queries are written once in the SQL both engines accept
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`) and run through sqlx's `Any` driver; the few
//! places where the engines differ ask [`Db::backend`].

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Transaction};

use crate::StoreError;

/// A write transaction. Repositories take `&mut Tx` (or any executor) so that a state change,
/// its ledger entries and its outbox events always commit together.
pub type Tx = Transaction<'static, Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Connection pools for one database.
///
/// SQLite has a single writer: every write transaction goes through a pool of exactly one
/// connection and starts with `BEGIN IMMEDIATE`, so writers queue in the pool instead of
/// meeting `SQLITE_BUSY`; readers use their own pool (WAL lets them run beside the writer).
/// PostgreSQL uses one pool for both, and correctness comes from transactions and row locks.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    /// Ledger account ids by `(kind, owner)`: immutable once committed, so the hot trade path
    /// need not look them up again (see `ledger::committed_account`).
    accounts: AccountCache,
}

/// Committed ledger account ids by `(kind, owner id)`.
pub type AccountCache = Arc<Mutex<HashMap<(String, String), String>>>;

/// Pool sizing; the defaults suit one server instance on a small machine.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `sqlite://path` (file and parent directory created on first start) or
    /// `postgres://…`.
    pub async fn connect(url: &str, pool: &PoolSettings) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, pool).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::connect_postgres(url, pool).await
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in `{}` (expected sqlite:// or postgres://)",
                redact_url(url)
            )))
        }
    }

    async fn connect_sqlite(url: &str, pool: &PoolSettings) -> Result<Db, StoreError> {
        let path = sqlite_path(url);
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Config(
                "an in-memory SQLite database cannot be shared between connections; give a file path".into(),
            ));
        }
        if let Some(parent) = Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        let with_create = if url.contains("mode=") {
            url.to_string()
        } else {
            format!("{url}{separator}mode=rwc")
        };
        let options = AnyConnectOptions::from_str(&with_create)?.disable_statement_logging();
        let build = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(pool.acquire_timeout)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL keeps readers off the writer's path; NORMAL sync is durable
                        // against process crashes (the WAL is fsynced at checkpoints); the
                        // busy timeout covers other processes, such as kash-admin.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
        };
        let writer = build(1).connect_with(options.clone()).await?;
        let reader = build(pool.max_connections.max(2))
            .connect_with(options)
            .await?;
        Ok(Db {
            backend: Backend::Sqlite,
            writer,
            reader,
            accounts: AccountCache::default(),
        })
    }

    async fn connect_postgres(url: &str, pool: &PoolSettings) -> Result<Db, StoreError> {
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let shared = AnyPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Db {
            backend: Backend::Postgres,
            writer: shared.clone(),
            reader: shared,
            accounts: AccountCache::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending forward-only migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.writer).await?;
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(tx)
    }

    /// The writer pool, for a single self-contained statement (autocommit).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Ledger account ids known to be committed.
    pub fn account_cache(&self) -> &AccountCache {
        &self.accounts
    }

    /// The pool for reads that need no transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// `FOR UPDATE` where the engine has row locks. SQLite needs none: its write transactions
    /// are already serialised by `BEGIN IMMEDIATE`.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Answers when the database does (readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.reader.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or_default().to_string()
}

/// A database URL fit for messages: any password is replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:[redacted]{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./kash-data/kash.db"),
            "./kash-data/kash.db"
        );
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), "/tmp/x.db");
        assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://kash:s3cret@db:5432/kash"),
            "postgres://kash:[redacted]@db:5432/kash"
        );
        assert_eq!(
            redact_url("postgres://root@db/test"),
            "postgres://root@db/test"
        );
    }
}
