//! Route handlers, grouped by resource.

pub mod account;
pub mod account_keys;
pub mod embeds;
pub mod infra;
pub mod organizations;
pub mod public_orgs;
pub mod public_threads;
pub mod webhooks;
