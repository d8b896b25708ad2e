//! Route handlers, grouped by resource.

pub mod account;
pub mod account_keys;
pub mod infra;
pub mod webhooks;
