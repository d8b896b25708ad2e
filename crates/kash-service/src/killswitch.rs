//! Kill switches, set and cleared by the operator; servers poll the table, so a change reaches
//! every instance within a second.

use kash_core::route_policy::known_flags;
use kash_core::Problem;
use kash_store::killswitch::{self, KillSwitchRecord};

use crate::audit;
use crate::{ServiceError, Services};

fn check_flag(flag: &str) -> Result<(), Problem> {
    if known_flags().contains(&flag) {
        Ok(())
    } else {
        Err(Problem::invalid(
            "flag",
            format!(
                "unknown flag `{flag}`; known flags: {}",
                known_flags().join(", ")
            ),
        ))
    }
}

pub async fn set(
    svc: &Services,
    flag: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<KillSwitchRecord, ServiceError> {
    check_flag(flag)?;
    let record = KillSwitchRecord {
        flag: flag.to_string(),
        reason: reason.map(str::to_string),
        set_by: Some(actor.to_string()),
        set_at: svc.now_ms(),
    };
    let mut tx = svc.db.begin().await?;
    killswitch::set(&mut *tx, &record).await?;
    audit::lifecycle(
        &mut *tx,
        record.set_at,
        "kill_switch_set",
        actor,
        None,
        serde_json::json!({ "flag": flag, "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// Returns whether the flag was on.
pub async fn clear(svc: &Services, flag: &str, actor: &str) -> Result<bool, ServiceError> {
    check_flag(flag)?;
    let mut tx = svc.db.begin().await?;
    let was_set = killswitch::clear(&mut *tx, flag).await?;
    audit::lifecycle(
        &mut *tx,
        svc.now_ms(),
        "kill_switch_cleared",
        actor,
        None,
        serde_json::json!({ "flag": flag, "wasSet": was_set }),
    )
    .await?;
    tx.commit().await?;
    Ok(was_set)
}
