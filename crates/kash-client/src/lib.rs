//! A typed Rust client for the Kash-compatible `/v1` API, used by the `kash` CLI and the test
//! suites. Errors carry the server's problem details, so callers can branch on `code`; the
//! `webhooks` module verifies deliveries on the receiving side.

pub mod client;
pub mod error;
pub mod webhooks;

pub use client::{ApiResponse, Client, ClientBuilder};
pub use error::{ApiProblem, Error};

/// `docs/webhooks.md`: its Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/webhooks.md")]
pub struct WebhooksGuide;
