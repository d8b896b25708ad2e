//! API key lifecycle: issue, list, update, revoke. The plaintext key and webhook secret exist
//! only in the value returned by issuance (and a webhook-URL change that creates a secret).

use chrono::{DateTime, Utc};
use kash_core::apikey::key_hint;
use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::scope::{Scope, ScopeSet};
use kash_core::tier::{Tier, TierRateLimits};
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::{ErrorCode, Issue, Problem};
use kash_store::keys::{self, ApiKeyRecord, KeySettings};
use kash_store::{owners, Tx};
use serde::Serialize;
use serde_json::json;

use crate::config::parse_nets;
use crate::secrets::{generate_api_key, generate_webhook_secret};
use crate::ssrf::validate_webhook_url;
use crate::{audit, ServiceError, Services};

/// Per-key limit overrides; `None` keeps the tier default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub rate_limit_per_minute: Option<u32>,
    pub per_trade_cap: Option<Usdc>,
    pub daily_cap: Option<Usdc>,
    pub confirm_threshold: Option<Usdc>,
}

/// Everything issuance accepts.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub owner: Owner,
    pub tier: Tier,
    pub scopes: Option<ScopeSet>,
    pub name: Option<String>,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub limits: LimitOverrides,
}

/// A key's effective limits, as issuance reports them (`api.md` §4): USDC as atomic strings,
/// `null` for none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveLimits {
    pub rate_limit_per_minute: u32,
    pub per_trade_limit_usdc: Option<String>,
    pub daily_spend_limit_usdc: Option<String>,
    pub high_value_trade_threshold_usdc: Option<String>,
}

fn atomic_override(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

/// The tier of a stored key (an unknown value is treated as the most restrictive tier).
pub fn key_tier(key: &ApiKeyRecord) -> Tier {
    key.tier.parse().unwrap_or(Tier::Free)
}

/// The key's own requests/min (tier default or override).
pub fn key_rate_limit(tier: &str, overridden: Option<i64>, tiers: TierRateLimits) -> u32 {
    match overridden.and_then(|v| u32::try_from(v).ok()) {
        Some(limit) => limit,
        None => tiers.per_minute(tier.parse().unwrap_or(Tier::Free)),
    }
}

pub fn effective_limits(key: &ApiKeyRecord, tiers: TierRateLimits) -> EffectiveLimits {
    let tier = key_tier(key);
    let atomic = |v: u64| Usdc::from_atomic(v).to_atomic_string();
    EffectiveLimits {
        rate_limit_per_minute: key_rate_limit(&key.tier, key.rate_limit_per_minute, tiers),
        per_trade_limit_usdc: Some(atomic(
            atomic_override(key.per_trade_cap_atomic)
                .unwrap_or(tier.default_per_trade_cap_atomic()),
        )),
        daily_spend_limit_usdc: Some(atomic(
            atomic_override(key.daily_cap_atomic).unwrap_or(tier.default_daily_cap_atomic()),
        )),
        high_value_trade_threshold_usdc: atomic_override(key.confirm_threshold_atomic)
            .or(tier.default_confirm_threshold_atomic())
            .map(atomic),
    }
}

/// What issuance returns: the only time the plaintext key exists outside the caller's hands.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedKey {
    pub id: String,
    pub key: String,
    pub tier: String,
    pub scopes: Vec<&'static str>,
    pub limits: EffectiveLimits,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    #[serde(skip)]
    pub record: ApiKeyRecord,
}

/// A key as listings show it; never the hash, never a secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub owner_kind: &'static str,
    pub owner_id: String,
    pub name: String,
    pub hint: String,
    pub tier: String,
    pub scopes: Vec<String>,
    pub status: &'static str,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub limits: EffectiveLimits,
}

impl KeyView {
    pub fn new(key: &ApiKeyRecord, now_ms: i64, tiers: TierRateLimits) -> Self {
        let ts = |ms: Option<i64>| ms.map(|ms| rfc3339_ms(from_unix_ms(ms)));
        let status = if key.revoked_at.is_some() {
            "revoked"
        } else if !key.is_active(now_ms) {
            "expired"
        } else {
            "active"
        };
        KeyView {
            id: key.id.clone(),
            owner_kind: key.owner.kind(),
            owner_id: key.owner.id().to_string(),
            name: key.name.clone(),
            hint: key.hint.clone(),
            tier: key.tier.clone(),
            scopes: key
                .scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            status,
            ip_allowlist: key.ip_allowlist.clone(),
            webhook_url: key.webhook_url.clone(),
            expires_at: ts(key.expires_at),
            created_at: rfc3339_ms(from_unix_ms(key.created_at)),
            last_used_at: ts(key.last_used_at),
            revoked_at: ts(key.revoked_at),
            limits: effective_limits(key, tiers),
        }
    }
}

const MAX_NAME_CHARS: usize = 100;

fn check_name(name: &str, issues: &mut Vec<Issue>) {
    let chars = name.trim().chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        issues.push(Issue::new(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
}

/// Normalises an allowlist to its stored form; empty means "no allowlist".
fn normalize_allowlist(text: &str, issues: &mut Vec<Issue>) -> Option<String> {
    match parse_nets(text) {
        Ok(nets) if nets.is_empty() => None,
        Ok(nets) => Some(
            nets.iter()
                .map(|n| match n.prefix_len() == n.max_prefix_len() {
                    true => n.addr().to_string(),
                    false => n.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        Err(message) => {
            issues.push(Issue::new("ipAllowlist", message));
            None
        }
    }
}

fn to_i64(value: Option<u64>, field: &str, issues: &mut Vec<Issue>) -> Option<i64> {
    value.and_then(|v| match i64::try_from(v) {
        Ok(v) => Some(v),
        Err(_) => {
            issues.push(Issue::new(field, "is too large"));
            None
        }
    })
}

fn check_limits(limits: &LimitOverrides, issues: &mut Vec<Issue>) -> [Option<i64>; 4] {
    if limits.rate_limit_per_minute == Some(0) {
        issues.push(Issue::new("rateLimitPerMinute", "must be at least 1"));
    }
    [
        limits.rate_limit_per_minute.map(i64::from),
        to_i64(
            limits.per_trade_cap.map(Usdc::atomic),
            "perTradeLimitUsdc",
            issues,
        ),
        to_i64(
            limits.daily_cap.map(Usdc::atomic),
            "dailySpendLimitUsdc",
            issues,
        ),
        to_i64(
            limits.confirm_threshold.map(Usdc::atomic),
            "highValueTradeThresholdUsdc",
            issues,
        ),
    ]
}

async fn check_webhook_url(svc: &Services, url: &str, issues: &mut Vec<Issue>) -> Option<String> {
    match validate_webhook_url(
        url,
        svc.settings.environment,
        svc.settings.webhook_allow_private,
    )
    .await
    {
        Ok(url) => Some(url.to_string()),
        Err(message) => {
            issues.push(Issue::new("webhookUrl", message));
            None
        }
    }
}

fn no_such_owner(owner: &Owner) -> ServiceError {
    Problem::not_found(format!("{} {} does not exist", owner.kind(), owner.id())).into()
}

/// Locks the owner, checks it exists and returns its active-key cap.
async fn lock_owner(svc: &Services, tx: &mut Tx, owner: &Owner) -> Result<i64, ServiceError> {
    owners::lock_key_cap(&mut **tx, owner, svc.db.for_update())
        .await?
        .ok_or_else(|| no_such_owner(owner))
}

/// Changes how many active keys the owner may hold (default 5).
pub async fn set_key_cap(
    svc: &Services,
    owner: &Owner,
    max_active: u32,
    actor: &str,
) -> Result<(), ServiceError> {
    let mut tx = svc.db.begin().await?;
    if !owners::set_key_cap(&mut *tx, owner, i64::from(max_active)).await? {
        return Err(no_such_owner(owner));
    }
    audit::lifecycle(
        &mut *tx,
        svc.now_ms(),
        "key_cap_changed",
        actor,
        None,
        json!({ "owner": owner.to_string(), "maxActive": max_active }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the self-serve tier the console issues the owner's keys at (`free` unless raised);
/// existing keys keep their tier.
pub async fn set_tier(
    svc: &Services,
    owner: &Owner,
    tier: Tier,
    actor: &str,
) -> Result<(), ServiceError> {
    let mut tx = svc.db.begin().await?;
    if !owners::set_tier(&mut *tx, owner, tier.as_str()).await? {
        return Err(no_such_owner(owner));
    }
    audit::lifecycle(
        &mut *tx,
        svc.now_ms(),
        "tier_changed",
        actor,
        None,
        json!({ "owner": owner.to_string(), "tier": tier.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn issue(
    svc: &Services,
    req: IssueRequest,
    actor: &str,
) -> Result<IssuedKey, ServiceError> {
    let now = svc.now_ms();
    let mut issues = Vec::new();
    let name = req.name.clone().unwrap_or_else(|| "default".to_string());
    check_name(&name, &mut issues);
    let scopes = req
        .scopes
        .clone()
        .unwrap_or_else(|| ScopeSet::new(Scope::defaults_for(req.tier)));
    if scopes.is_empty() {
        issues.push(Issue::new("scopes", "must name at least one scope"));
    }
    let allowlist = req
        .ip_allowlist
        .as_deref()
        .and_then(|text| normalize_allowlist(text, &mut issues));
    if let Some(at) = req.expires_at {
        if at.timestamp_millis() <= now {
            issues.push(Issue::new("expiresAt", "must be in the future"));
        }
    }
    let [rate, per_trade, daily, threshold] = check_limits(&req.limits, &mut issues);
    let webhook_url = match req.webhook_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => check_webhook_url(svc, url, &mut issues).await,
        None => None,
    };
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let webhook_secret = webhook_url.as_ref().map(|_| generate_webhook_secret());
    let plaintext = generate_api_key(svc.settings.environment);
    let record = ApiKeyRecord {
        id: id_text(&new_id()),
        owner: req.owner.clone(),
        environment: svc.settings.environment.as_str().to_string(),
        key_hash: svc.secrets.hasher.hash(&plaintext),
        hint: key_hint(&plaintext),
        name: name.trim().to_string(),
        tier: req.tier.as_str().to_string(),
        scopes: scopes.to_list(),
        ip_allowlist: allowlist,
        webhook_secret_enc: webhook_secret
            .as_deref()
            .map(|s| svc.secrets.secret_box.seal(s)),
        webhook_url_changed_at: webhook_url.as_ref().map(|_| now),
        webhook_url,
        expires_at: req.expires_at.map(|t| t.timestamp_millis()),
        rate_limit_per_minute: rate,
        per_trade_cap_atomic: per_trade,
        daily_cap_atomic: daily,
        confirm_threshold_atomic: threshold,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };

    let mut tx = svc.db.begin().await?;
    let cap = lock_owner(svc, &mut tx, &req.owner).await?;
    let active = keys::active_for_owner(&mut *tx, &req.owner, now).await?;
    if active.len() as i64 >= cap {
        return Err(Problem::new(
            ErrorCode::ActiveKeyLimitReached,
            format!(
                "{} {} already holds {} active keys (maximum {cap}); revoke one first",
                req.owner.kind(),
                req.owner.id(),
                active.len()
            ),
        )
        .with("maxActiveKeys", cap)
        .into());
    }
    keys::insert(&mut *tx, &record).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "key_issued",
        actor,
        Some(&record.id),
        json!({
            "owner": req.owner.to_string(),
            "tier": record.tier,
            "scopes": record.scopes,
            "ipAllowlist": record.ip_allowlist,
            "webhookUrl": record.webhook_url,
            "hint": record.hint,
        }),
    )
    .await?;
    tx.commit().await?;
    let tiers = svc.settings.tier_rate_limits();
    Ok(IssuedKey {
        id: record.id.clone(),
        key: plaintext,
        tier: record.tier.clone(),
        scopes: scopes.names(),
        limits: effective_limits(&record, tiers),
        webhook_secret,
        record,
    })
}

pub async fn list(svc: &Services, owner: Option<&Owner>) -> Result<Vec<KeyView>, ServiceError> {
    let now = svc.now_ms();
    let tiers = svc.settings.tier_rate_limits();
    Ok(keys::list(svc.db.reader(), owner)
        .await?
        .iter()
        .map(|k| KeyView::new(k, now, tiers))
        .collect())
}

pub async fn get(svc: &Services, id: &str) -> Result<ApiKeyRecord, ServiceError> {
    let Some(id) = kash_core::ids::parse_uuid(id) else {
        return Err(Problem::not_found(format!("API key {id} does not exist")).into());
    };
    keys::get(svc.db.reader(), &id_text(&id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("API key {id} does not exist")).into())
}

/// Revokes a key at once; revoking a revoked key changes nothing and says so.
pub async fn revoke(
    svc: &Services,
    id: &str,
    actor: &str,
) -> Result<(ApiKeyRecord, bool), ServiceError> {
    let key = get(svc, id).await?;
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let changed = keys::revoke(&mut *tx, &key.id, now).await?;
    if changed {
        audit::lifecycle(
            &mut *tx,
            now,
            "key_revoked",
            actor,
            Some(&key.id),
            json!({}),
        )
        .await?;
    }
    let after = keys::get(&mut *tx, &key.id).await?.unwrap_or(key);
    tx.commit().await?;
    Ok((after, changed))
}

/// An edit. Outer `None` = leave unchanged; for the webhook URL, `Some("")` removes it.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    pub name: Option<String>,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    pub limits: LimitOverrides,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedKey {
    pub id: String,
    pub name: String,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    #[serde(skip)]
    pub record: ApiKeyRecord,
}

/// Webhook URL changes are limited to one an hour per key from the console; the operator is
/// exempt.
pub const WEBHOOK_URL_COOLDOWN_MS: i64 = 3_600_000;

pub async fn update(
    svc: &Services,
    id: &str,
    change: KeyUpdate,
    actor: &str,
    enforce_url_cooldown: bool,
) -> Result<UpdatedKey, ServiceError> {
    let current = get(svc, id).await?;
    if current.revoked_at.is_some() {
        return Err(Problem::invalid("id", "a revoked key cannot be edited").into());
    }
    let now = svc.now_ms();
    let mut issues = Vec::new();
    let mut next = KeySettings::from(&current);
    if let Some(name) = &change.name {
        check_name(name, &mut issues);
        next.name = name.trim().to_string();
    }
    if let Some(list) = &change.ip_allowlist {
        next.ip_allowlist = normalize_allowlist(list, &mut issues);
    }
    let [rate, per_trade, daily, threshold] = check_limits(&change.limits, &mut issues);
    next.rate_limit_per_minute = rate.or(next.rate_limit_per_minute);
    next.per_trade_cap_atomic = per_trade.or(next.per_trade_cap_atomic);
    next.daily_cap_atomic = daily.or(next.daily_cap_atomic);
    next.confirm_threshold_atomic = threshold.or(next.confirm_threshold_atomic);
    let mut new_secret = None;
    if let Some(url) = &change.webhook_url {
        let url = url.trim();
        let target = if url.is_empty() {
            None
        } else {
            check_webhook_url(svc, url, &mut issues).await
        };
        if target != current.webhook_url && (url.is_empty() || target.is_some()) {
            if enforce_url_cooldown {
                if let Some(changed) = current.webhook_url_changed_at {
                    let wait_ms = changed + WEBHOOK_URL_COOLDOWN_MS - now;
                    if wait_ms > 0 {
                        let secs = (wait_ms as u64).div_ceil(1000);
                        return Err(Problem::new(
                            ErrorCode::RateLimitExceeded,
                            format!("the webhook URL of this key changed less than an hour ago; retry in {secs} s"),
                        )
                        .retry_after(secs)
                        .into());
                    }
                }
            }
            if target.is_some() && next.webhook_secret_enc.is_none() {
                let secret = generate_webhook_secret();
                next.webhook_secret_enc = Some(svc.secrets.secret_box.seal(&secret));
                new_secret = Some(secret);
            }
            next.webhook_url = target;
            next.webhook_url_changed_at = Some(now);
        }
    }
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let mut tx = svc.db.begin().await?;
    keys::update_settings(&mut *tx, &current.id, &next).await?;
    let before = KeySettings::from(&current);
    if before.ip_allowlist != next.ip_allowlist {
        audit::lifecycle(
            &mut *tx,
            now,
            "allowlist_changed",
            actor,
            Some(&current.id),
            json!({ "from": before.ip_allowlist, "to": next.ip_allowlist }),
        )
        .await?;
    }
    if before.webhook_url != next.webhook_url {
        audit::lifecycle(
            &mut *tx,
            now,
            "webhook_url_changed",
            actor,
            Some(&current.id),
            json!({ "from": before.webhook_url, "to": next.webhook_url, "secretCreated": new_secret.is_some() }),
        )
        .await?;
    }
    if before != next {
        audit::lifecycle(
            &mut *tx,
            now,
            "key_updated",
            actor,
            Some(&current.id),
            json!({ "name": next.name }),
        )
        .await?;
    }
    let record = keys::get(&mut *tx, &current.id)
        .await?
        .ok_or_else(|| kash_store::StoreError::Corrupt("key vanished during update".into()))?;
    tx.commit().await?;
    Ok(UpdatedKey {
        id: record.id.clone(),
        name: record.name.clone(),
        ip_allowlist: record.ip_allowlist.clone(),
        webhook_url: record.webhook_url.clone(),
        webhook_secret: new_secret,
        record,
    })
}
