//! Store errors: sqlx failures, with unique violations mapped to the constraint they broke so
//! callers can answer "email already taken" instead of a 500.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("unique constraint `{0}` violated")]
    Unique(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the database itself could not be reached (→ 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            )
        )
    }

    /// The violated unique constraint, when that is what happened.
    pub fn unique_constraint(&self) -> Option<&str> {
        match self {
            StoreError::Unique(name) => Some(name),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
                return StoreError::Unique(constraint_name(db.as_ref()));
            }
        }
        StoreError::Database(err)
    }
}

/// PostgreSQL names the constraint; SQLite only says `UNIQUE constraint failed: t.a, t.b`, so
/// the name is rebuilt from the columns in the same `<table>_<column>_key` convention the
/// migrations use for their constraints.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(name) = db.constraint() {
        return name.to_string();
    }
    let message = db.message();
    let Some(cols) = message.strip_prefix("UNIQUE constraint failed: ") else {
        return message.to_string();
    };
    let mut table = "";
    let mut columns = Vec::new();
    for col in cols.split(", ") {
        if let Some((t, c)) = col.split_once('.') {
            table = t;
            columns.push(c);
        }
    }
    format!("{table}_{}_key", columns.join("_"))
}
