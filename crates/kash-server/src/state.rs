//! Shared application state.

use std::sync::Arc;
use std::time::Duration;

use kash_service::Services;

use crate::embeds::targets::Targets;
use crate::embeds::tracker::EmbedTracker;
use crate::embeds::viewer::ViewerHasher;
use crate::killswitch::KillSwitches;
use crate::limiter::guarded::Breaker;
use crate::limiter::LockoutPolicy;
use crate::metrics::Metrics;
use crate::usage::UsageRecorder;

#[derive(Clone)]
pub struct AppState {
    pub svc: Services,
    pub limiter: Arc<Breaker>,
    pub kill_switches: KillSwitches,
    pub usage: Arc<UsageRecorder>,
    pub metrics: Arc<Metrics>,
    pub request_timeout: Duration,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    /// Embed renders and clicks counted in memory until the next flush.
    pub embeds: Arc<EmbedTracker>,
    pub embed_targets: Arc<Targets>,
    pub embed_viewers: Arc<ViewerHasher>,
    /// Group commit of `POST /v1/trades`.
    pub trades: kash_service::trading::batch::Batcher,
}

impl AppState {
    pub fn lockout_policy(&self) -> LockoutPolicy {
        let s = &self.svc.settings;
        LockoutPolicy {
            max_failures: s.lockout_max_failures,
            window_ms: (s.lockout_window_secs * 1000) as i64,
            lock_ms: (s.lockout_duration_secs * 1000) as i64,
        }
    }
}
