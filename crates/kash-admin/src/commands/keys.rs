use clap::{Args, Subcommand};
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, KeyUpdate, KeyView, LimitOverrides};
use kash_service::Services;
use serde_json::json;

use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Issue a key; the plaintext (and any webhook secret) is printed once.
    Issue(IssueArgs),
    /// List keys, of one owner or of everyone.
    List {
        #[arg(long, conflicts_with = "org")]
        user: Option<String>,
        #[arg(long)]
        org: Option<String>,
    },
    /// Edit a key's name, allowlist, webhook URL or limits.
    Update(UpdateArgs),
    /// Revoke a key, immediately and permanently.
    Revoke { id: String },
    /// Send one signed `webhook.ping` to the key's webhook URL and print the response (not an
    /// event: never stored, listed or retried).
    TestWebhook { id: String },
    /// Make the previous webhook secret current again (within 7 days of a rotation).
    RollbackWebhookSecret { id: String },
}

#[derive(Args, Debug)]
pub struct LimitArgs {
    /// Requests per minute.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Per-trade cap in USDC (e.g. 250 or 12.5).
    #[arg(long)]
    per_trade_cap: Option<String>,
    /// Rolling 24 h buy cap in USDC.
    #[arg(long)]
    daily_cap: Option<String>,
    /// High-value confirmation threshold in USDC.
    #[arg(long)]
    confirm_threshold: Option<String>,
}

#[derive(Args, Debug)]
pub struct IssueArgs {
    #[arg(long, conflicts_with = "org", required_unless_present = "org")]
    user: Option<String>,
    #[arg(long)]
    org: Option<String>,
    /// free, developer, enterprise or mm.
    #[arg(long)]
    tier: String,
    /// Comma list; defaults to the tier's scopes.
    #[arg(long)]
    scopes: Option<String>,
    #[arg(long)]
    name: Option<String>,
    /// Comma list of IPv4/IPv6 addresses and CIDRs.
    #[arg(long)]
    ip_allowlist: Option<String>,
    #[arg(long)]
    webhook_url: Option<String>,
    /// RFC 3339 time.
    #[arg(long)]
    expires_at: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    id: String,
    #[arg(long)]
    name: Option<String>,
    /// Empty string removes the webhook.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Empty string removes the allowlist.
    #[arg(long)]
    ip_allowlist: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

fn usdc(flag: &str, value: &Option<String>) -> Result<Option<Usdc>, Failure> {
    value
        .as_deref()
        .map(|v| Usdc::parse_human(v).map_err(|e| Failure::usage(flag, format!("`{v}` {e}"))))
        .transpose()
}

impl LimitArgs {
    fn overrides(&self) -> Result<LimitOverrides, Failure> {
        Ok(LimitOverrides {
            rate_limit_per_minute: self.rate_limit,
            per_trade_cap: usdc("--per-trade-cap", &self.per_trade_cap)?,
            daily_cap: usdc("--daily-cap", &self.daily_cap)?,
            confirm_threshold: usdc("--confirm-threshold", &self.confirm_threshold)?,
        })
    }
}

fn owner(user: Option<String>, org: Option<String>) -> Result<Option<Owner>, Failure> {
    Ok(match (user, org) {
        (Some(u), _) => Some(Owner::User(uuid_arg("--user", &u)?)),
        (None, Some(o)) => Some(Owner::Org(uuid_arg("--org", &o)?)),
        (None, None) => None,
    })
}

fn table(keys: &[KeyView]) -> String {
    if keys.is_empty() {
        return "no keys".into();
    }
    let mut out = format!(
        "{:<36}  {:<8}  {:<10}  {:<16}  {:<20}  {}\n",
        "ID", "STATUS", "TIER", "HINT", "NAME", "SCOPES"
    );
    for k in keys {
        out.push_str(&format!(
            "{:<36}  {:<8}  {:<10}  {:<16}  {:<20}  {}\n",
            k.id,
            k.status,
            k.tier,
            k.hint,
            k.name,
            k.scopes.join(",")
        ));
    }
    out.trim_end().to_string()
}

pub async fn run(svc: &Services, cmd: KeysCmd, json_out: bool) -> CmdResult {
    match cmd {
        KeysCmd::Issue(args) => {
            let owner = owner(args.user, args.org)?
                .ok_or_else(|| Failure::usage("--user", "give --user or --org"))?;
            let tier: Tier = args
                .tier
                .parse()
                .map_err(|e: kash_core::tier::UnknownTier| {
                    Failure::usage("--tier", e.to_string())
                })?;
            let scopes = args
                .scopes
                .as_deref()
                .map(ScopeSet::parse_list)
                .transpose()
                .map_err(|e| Failure::usage("--scopes", e.to_string()))?;
            let expires_at = args
                .expires_at
                .as_deref()
                .map(|t| {
                    kash_core::time::parse_rfc3339(t).ok_or_else(|| {
                        Failure::usage("--expires-at", format!("`{t}` is not an RFC 3339 time"))
                    })
                })
                .transpose()?;
            let issued = kash_service::keys::issue(
                svc,
                IssueRequest {
                    owner,
                    tier,
                    scopes,
                    name: args.name,
                    ip_allowlist: args.ip_allowlist,
                    webhook_url: args.webhook_url,
                    expires_at,
                    limits: args.limits.overrides()?,
                },
                &actor(),
            )
            .await?;
            emit(json_out, &issued, || {
                let mut text = format!(
                    "issued key {} ({}, scopes {})\n\n  {}\n\nStore it now: it is shown only once.",
                    issued.id,
                    issued.tier,
                    issued.scopes.join(","),
                    issued.key
                );
                if let Some(secret) = &issued.webhook_secret {
                    text.push_str(&format!("\nWebhook signing secret (shown once): {secret}"));
                }
                text
            })
        }
        KeysCmd::List { user, org } => {
            let owner = owner(user, org)?;
            let keys = kash_service::keys::list(svc, owner.as_ref()).await?;
            emit(
                json_out,
                &json!({ "data": keys, "count": keys.len() }),
                || table(&keys),
            )
        }
        KeysCmd::Update(args) => {
            let id = uuid_arg("ID", &args.id)?;
            let updated = kash_service::keys::update(
                svc,
                &id,
                KeyUpdate {
                    name: args.name,
                    ip_allowlist: args.ip_allowlist,
                    webhook_url: args.webhook_url,
                    limits: args.limits.overrides()?,
                },
                &actor(),
                false,
            )
            .await?;
            emit(json_out, &updated, || {
                let mut text = format!("updated key {}", updated.id);
                if let Some(secret) = &updated.webhook_secret {
                    text.push_str(&format!("\nWebhook signing secret (shown once): {secret}"));
                }
                text
            })
        }
        KeysCmd::TestWebhook { id } => {
            let id = uuid_arg("ID", &id)?;
            let sender = kash_service::webhooks::sender::Sender::new(
                std::time::Duration::from_millis(svc.settings.webhook_timeout_ms),
                svc.settings.webhook_allow_private,
            )
            .map_err(|e| {
                Failure::Other(kash_core::Problem::new(
                    kash_core::ErrorCode::InternalError,
                    format!("cannot build the HTTP client: {e}"),
                ))
            })?;
            let result = kash_service::webhooks::ping(svc, &sender, &id).await?;
            emit(json_out, &result, || {
                let outcome = match (result.status_code, result.failure_code) {
                    (Some(code), None) => format!("delivered: HTTP {code}"),
                    (Some(code), Some(f)) => format!("not accepted: HTTP {code} ({f})"),
                    (None, Some(f)) => format!(
                        "failed: {f} ({})",
                        result.error_message.as_deref().unwrap_or("no detail")
                    ),
                    (None, None) => "no response".to_string(),
                };
                let mut text = format!(
                    "webhook.ping {} to {}\n{outcome} in {} ms",
                    result.event_id, result.url, result.duration_ms
                );
                if !result.response_body.is_empty() {
                    text.push_str(&format!("\n\n{}", result.response_body));
                }
                text
            })?;
            if result.ok {
                Ok(())
            } else {
                Err(Failure::Silent)
            }
        }
        KeysCmd::RollbackWebhookSecret { id } => {
            let id = uuid_arg("ID", &id)?;
            kash_service::webhooks::rollback(svc, &id, &actor()).await?;
            emit(json_out, &json!({ "id": id, "rolledBack": true }), || {
                format!("key {id}: the previous webhook secret is current again; the rotated-out secret no longer signs")
            })
        }
        KeysCmd::Revoke { id } => {
            let id = uuid_arg("ID", &id)?;
            let (key, changed) = kash_service::keys::revoke(svc, &id, &actor()).await?;
            let revoked_at = key
                .revoked_at
                .map(|ms| kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(ms)));
            emit(
                json_out,
                &json!({ "id": key.id, "revoked": true, "revokedAt": revoked_at, "changed": changed }),
                || match changed {
                    true => format!("revoked key {}", key.id),
                    false => format!("key {} was already revoked", key.id),
                },
            )
        }
    }
}
