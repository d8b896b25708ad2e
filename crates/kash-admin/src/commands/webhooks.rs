use clap::Subcommand;
use kash_service::Services;

use super::uuid_arg;
use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum WebhooksCmd {
    /// Replay a key's events (oldest first; each replay counts toward the 5-replay cap).
    BulkRedeliver {
        /// The API key whose events are replayed.
        #[arg(long)]
        key: String,
        /// Comma list of statuses to replay (none, pending, retrying, delivered, failed);
        /// default: failed and none — the events that would otherwise never arrive.
        #[arg(long)]
        status: Option<String>,
        /// Only events created at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
    },
}

pub async fn run(svc: &Services, cmd: WebhooksCmd, json_out: bool) -> CmdResult {
    match cmd {
        WebhooksCmd::BulkRedeliver { key, status, since } => {
            let key = uuid_arg("--key", &key)?;
            let statuses: Vec<String> = match status.as_deref() {
                None => vec!["failed".into(), "none".into()],
                Some(list) => {
                    let mut out = Vec::new();
                    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !kash_store::webhooks::STATUSES.contains(&s) {
                            return Err(Failure::usage(
                                "--status",
                                format!("`{s}` is not one of none, pending, retrying, delivered, failed"),
                            ));
                        }
                        out.push(s.to_string());
                    }
                    if out.is_empty() {
                        return Err(Failure::usage("--status", "name at least one status"));
                    }
                    out
                }
            };
            let since_ms = since
                .as_deref()
                .map(|t| {
                    kash_core::time::parse_rfc3339(t)
                        .map(|t| t.timestamp_millis())
                        .ok_or_else(|| {
                            Failure::usage("--since", format!("`{t}` is not an RFC 3339 time"))
                        })
                })
                .transpose()?;
            let done =
                kash_service::webhooks::bulk_redeliver(svc, &key, statuses, since_ms).await?;
            emit(json_out, &done, || {
                let mut text = format!(
                    "key {}: {} event(s) matched ({}), {} queued for redelivery",
                    done.api_key_id,
                    done.matched,
                    done.statuses.join(","),
                    done.replayed.len()
                );
                if !done.skipped_at_cap.is_empty() {
                    text.push_str(&format!(
                        "; {} skipped (already replayed 5 times)",
                        done.skipped_at_cap.len()
                    ));
                }
                text
            })
        }
    }
}
