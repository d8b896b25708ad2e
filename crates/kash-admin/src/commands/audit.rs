use clap::Args;
use kash_core::time::{from_unix_ms, parse_rfc3339, rfc3339_ms};
use kash_service::Services;
use kash_store::audit::{self, AuditFilter};
use serde_json::{json, Value};

use super::uuid_arg;
use crate::output::{emit, CmdResult, Failure};

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only events of this key.
    #[arg(long)]
    key: Option<String>,
    /// Only events from this IP.
    #[arg(long)]
    ip: Option<String>,
    /// RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// At most this many events (oldest first).
    #[arg(long, default_value_t = 1000)]
    limit: i64,
}

pub async fn run(svc: &Services, args: AuditArgs, json_out: bool) -> CmdResult {
    let key = args
        .key
        .as_deref()
        .map(|k| uuid_arg("--key", k))
        .transpose()?;
    let ip = args
        .ip
        .as_deref()
        .map(|ip| {
            ip.parse::<std::net::IpAddr>()
                .map(|ip| ip.to_string())
                .map_err(|_| Failure::usage("--ip", format!("`{ip}` is not an IP address")))
        })
        .transpose()?;
    let since = args
        .since
        .as_deref()
        .map(|t| {
            parse_rfc3339(t)
                .map(|t| t.timestamp_millis())
                .ok_or_else(|| Failure::usage("--since", format!("`{t}` is not an RFC 3339 time")))
        })
        .transpose()?;
    let events = audit::list(
        svc.db.reader(),
        &AuditFilter {
            api_key_id: key,
            ip,
            since_ms: since,
            limit: args.limit.clamp(1, 100_000),
        },
    )
    .await?;
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "occurredAt": rfc3339_ms(from_unix_ms(e.occurred_at)),
                "kind": e.kind,
                "code": e.code,
                "ip": e.ip,
                "method": e.method,
                "route": e.route,
                "apiKeyId": e.api_key_id,
                "actor": e.actor,
                "requestId": e.request_id,
                "count": e.count,
                "details": e.details.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()),
            })
        })
        .collect();
    emit(
        json_out,
        &json!({ "data": rows, "count": rows.len() }),
        || {
            if events.is_empty() {
                return "no audit events".into();
            }
            events
                .iter()
                .map(|e| {
                    format!(
                        "{}  {:<20} {:<24} ip={} key={} route={} count={}",
                        rfc3339_ms(from_unix_ms(e.occurred_at)),
                        e.kind,
                        e.code.as_deref().unwrap_or("-"),
                        e.ip.as_deref().unwrap_or("-"),
                        e.api_key_id.as_deref().unwrap_or("-"),
                        e.route.as_deref().unwrap_or("-"),
                        e.count
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    )
}
