//! The handle every operation takes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use kash_core::time::Clock;
use kash_core::Problem;
use kash_store::{Db, PoolSettings, StoreError};

use crate::config::{ConfigError, Settings};
use crate::secrets::Secrets;

/// A failed operation: a refusal the caller can show as it is, or a store failure (logged;
/// answered as 500/503 without its cause).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<kash_store::sqlx::Error> for ServiceError {
    fn from(err: kash_store::sqlx::Error) -> Self {
        ServiceError::Store(err.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub secrets: Arc<Secrets>,
    pub clock: Arc<dyn Clock>,
}

impl Services {
    /// Resolves secrets, connects and applies pending migrations.
    pub async fn open(settings: Settings, clock: Arc<dyn Clock>) -> Result<Services, OpenError> {
        let secrets = Secrets::resolve(&settings)?;
        let pool = PoolSettings {
            max_connections: settings.db_max_connections,
            ..PoolSettings::default()
        };
        let db = Db::connect(&settings.database_url, &pool).await?;
        db.migrate().await?;
        Ok(Services {
            db,
            settings: Arc::new(settings),
            secrets: Arc::new(secrets),
            clock,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
