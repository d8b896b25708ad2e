//! The trading worker: freezes markets at `freezeAt`, expires unconfirmed high-value trades,
//! redeems every holding after settlement (unless `KASH_AUTO_REDEEM=false`), settles held
//! revenue-share accruals hourly and purges idempotency records. Every step works from the database with row locks, so any number of
//! instances can run it.

use std::time::Duration;

use kash_service::revenue;
use kash_service::trading::{confirm, markets, settle};
use kash_service::Services;
use tokio_util::sync::CancellationToken;

/// How often the worker looks for work.
pub const TICK: Duration = Duration::from_millis(200);

/// How often the revenue-share settlement job runs, by the service clock (so tests that
/// advance the injected clock see it run without sleeping).
pub const REVENUE_SETTLEMENT_EVERY_MS: i64 = 3_600_000;

pub async fn run(svc: Services, stop: CancellationToken) {
    let mut ticks: u64 = 0;
    let mut next_settlement = i64::MIN;
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
        // Hourly: held revenue-share accruals become payable (idempotent; any number of
        // instances may run it at once).
        let now = svc.now_ms();
        if now >= next_settlement {
            match revenue::settle(&svc, None).await {
                Ok(_) => next_settlement = now.saturating_add(REVENUE_SETTLEMENT_EVERY_MS),
                Err(e) => tracing::warn!(error = %e, "revenue settlement worker"),
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
