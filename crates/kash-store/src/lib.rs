//! Persistence for both back-ends: the migrations, the repositories and (later) the ledger.
//! Every repository function takes an executor, so callers decide which statements commit
//! together.

pub mod accruals;
pub mod audit;
pub mod db;
pub mod embeds;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod killswitch;
pub mod ledger;
pub mod markets;
pub mod org_analytics;
pub mod orgs;
pub mod outbox;
pub mod owners;
pub mod partners;
pub mod positions;
pub mod proposals;
pub mod public_markets;
pub mod redemptions;
pub mod revenue_events;
pub mod sessions;
pub mod threads;
pub mod trades;
pub mod usage;
pub mod users;
pub mod webhooks;

pub use db::{Backend, Db, PoolSettings, Tx};
pub use error::StoreError;
pub use sqlx;

/// Shorthand for the executor bound every repository function takes.
pub trait Exec<'c>: sqlx::Executor<'c, Database = sqlx::Any> {}
impl<'c, T: sqlx::Executor<'c, Database = sqlx::Any>> Exec<'c> for T {}
