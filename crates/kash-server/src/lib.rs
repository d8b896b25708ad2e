//! The HTTP server: `/v1` behind the authentication gate, the public infrastructure routes,
//! and the background workers.

pub mod app;
pub mod console;
pub mod embeds;
pub mod gate;
pub mod http;
pub mod killswitch;
pub mod limiter;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod public_api;
pub mod routes;
pub mod state;
pub mod usage;
pub mod workers;

/// What one process does (`--role`): a fleet can scale HTTP and workers separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Role {
    /// HTTP API only.
    Api,
    /// Background workers only (plus health, readiness and metrics).
    Worker,
    /// Both.
    #[default]
    All,
}

impl Role {
    pub fn serves_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }

    pub fn runs_workers(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }
}
