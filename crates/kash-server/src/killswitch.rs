//! The kill switches in force, polled from the database so an operator's change reaches every
//! instance within a second.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use kash_store::{killswitch, Db};
use tokio_util::sync::CancellationToken;

pub const POLL_EVERY: Duration = Duration::from_millis(250);

#[derive(Clone, Default)]
pub struct KillSwitches {
    on: Arc<ArcSwap<HashSet<String>>>,
}

impl KillSwitches {
    pub fn is_on(&self, flag: &str) -> bool {
        self.on.load().contains(flag)
    }

    pub async fn refresh(&self, db: &Db) -> Result<(), kash_store::StoreError> {
        let flags = killswitch::list(db.reader()).await?;
        self.on
            .store(Arc::new(flags.into_iter().map(|f| f.flag).collect()));
        Ok(())
    }

    /// Polls until cancelled. A failed poll keeps the last known flags (and is logged).
    pub async fn run(self, db: Db, stop: CancellationToken) {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(err) = self.refresh(&db).await {
                        tracing::warn!(error = %err, "cannot refresh kill switches; keeping the last known set");
                    }
                }
            }
        }
    }
}
