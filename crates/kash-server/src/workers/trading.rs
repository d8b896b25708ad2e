//! The trading worker: freezes markets at `freezeAt`, expires unconfirmed high-value trades,
//! redeems every holding after settlement (unless `KASH_AUTO_REDEEM=false`) and purges
//! idempotency records. Every step works from the database with row locks, so any number of
//! instances can run it.

use std::time::Duration;

use kash_service::trading::{confirm, markets, settle};
use kash_service::Services;
use tokio_util::sync::CancellationToken;

/// How often the worker looks for work.
pub const TICK: Duration = Duration::from_millis(200);

pub async fn run(svc: Services, stop: CancellationToken) {
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        ticks += 1;
        if let Err(e) = markets::freeze_due(&svc).await {
            tracing::warn!(error = %e, "freeze worker");
        }
        if let Err(e) = confirm::expire_due(&svc).await {
            tracing::warn!(error = %e, "confirmation expiry worker");
        }
        if svc.settings.auto_redeem {
            if let Err(e) = settle::settle_due(&svc).await {
                tracing::warn!(error = %e, "settlement worker");
            }
        }
        // About once a minute: responses past 24 h become tombstones, lapsed tombstones go.
        if ticks.is_multiple_of(300) {
            let now = svc.now_ms();
            let db = svc.db.writer();
            if let Err(e) = kash_store::idempotency::drop_expired_responses(db, now).await {
                tracing::warn!(error = %e, "idempotency purge");
            }
            if let Err(e) = kash_store::idempotency::purge(db, now).await {
                tracing::warn!(error = %e, "idempotency purge");
            }
        }
    }
}
