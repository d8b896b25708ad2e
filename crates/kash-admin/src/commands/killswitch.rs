use clap::Subcommand;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_service::Services;
use serde_json::json;

use super::actor;
use crate::output::{emit, CmdResult};

#[derive(Subcommand, Debug)]
pub enum KillSwitchCmd {
    /// Turn a flag on: API_TRADE_PROCESSING halts trading, api-<resource>-<read|write>
    /// disables routes.
    Set {
        flag: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Turn a flag off.
    Clear { flag: String },
    /// Flags in force, and every flag that exists.
    List,
}

pub async fn run(svc: &Services, cmd: KillSwitchCmd, json_out: bool) -> CmdResult {
    match cmd {
        KillSwitchCmd::Set { flag, reason } => {
            let set =
                kash_service::killswitch::set(svc, &flag, reason.as_deref(), &actor()).await?;
            emit(
                json_out,
                &json!({ "flag": set.flag, "on": true, "reason": set.reason,
                         "setAt": rfc3339_ms(from_unix_ms(set.set_at)) }),
                || {
                    format!(
                        "{} is on (running servers apply it within a second)",
                        set.flag
                    )
                },
            )
        }
        KillSwitchCmd::Clear { flag } => {
            let was_on = kash_service::killswitch::clear(svc, &flag, &actor()).await?;
            emit(
                json_out,
                &json!({ "flag": flag, "on": false, "wasOn": was_on }),
                || match was_on {
                    true => format!("{flag} is off"),
                    false => format!("{flag} was not on"),
                },
            )
        }
        KillSwitchCmd::List => {
            let on = kash_store::killswitch::list(svc.db.reader()).await?;
            let known = kash_core::route_policy::known_flags();
            emit(
                json_out,
                &json!({
                    "on": on.iter().map(|f| json!({
                        "flag": f.flag, "reason": f.reason, "setBy": f.set_by,
                        "setAt": rfc3339_ms(from_unix_ms(f.set_at)),
                    })).collect::<Vec<_>>(),
                    "known": known,
                }),
                || {
                    let on_names: Vec<&str> = on.iter().map(|f| f.flag.as_str()).collect();
                    format!(
                        "on: {}\nknown: {}",
                        if on_names.is_empty() {
                            "(none)".into()
                        } else {
                            on_names.join(", ")
                        },
                        known.join(", ")
                    )
                },
            )
        }
    }
}
