//! Route handlers, grouped by resource.

pub mod account;
pub mod account_keys;
pub mod embeds;
pub mod infra;
pub mod markets;
pub mod org_analytics;
pub mod organizations;
pub mod portfolio;
pub mod public_markets;
pub mod public_orgs;
pub mod public_social;
pub mod public_threads;
pub mod quotes;
pub mod redemptions;
pub mod traces;
pub mod trades;
pub mod webhooks;
