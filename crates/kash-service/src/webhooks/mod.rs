//! Webhook operations shared by the server and the operator CLI: secret rotation and
//! rollback, replays, the test ping, and the signing secrets of a key.

pub mod schedule;
pub mod sender;

use kash_core::ids::{id_text, new_id, parse_uuid};
use kash_core::signature;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::{ErrorCode, Problem};
use kash_store::webhooks::{self as store, EventRow, KeyTarget};
use serde::Serialize;
use serde_json::json;

use crate::secrets::generate_webhook_secret;
use crate::{audit, ServiceError, Services};

/// The previous secret keeps signing for this long after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 7 * 24 * 3_600_000;
/// A second rotation within this window is refused.
pub const ROTATION_COOLDOWN_MS: i64 = 60_000;
/// Manual replays allowed per event.
pub const MAX_REPLAYS: i64 = 5;
/// `apiVersion` of test pings: the current dated version (`api.md` §1).
pub const PING_API_VERSION: &str = "2026-08-19";
/// Settled events are kept this long (replayable meanwhile).
pub const RETENTION_MS: i64 = 30 * 24 * 3_600_000;

/// Opens the secrets that sign at `now_ms` (current first). A secret that cannot be opened
/// (wrong `KASH_SECRETS_KEY`) is skipped and logged, never shown.
pub fn signing_secrets(svc: &Services, target: &KeyTarget, now_ms: i64) -> Vec<String> {
    target
        .sealed_secrets(now_ms)
        .into_iter()
        .filter_map(|sealed| match svc.secrets.secret_box.open(sealed) {
            Ok(s) => Some(s),
            Err(err) => {
                tracing::error!(key_id = %target.api_key_id, error = %err, "webhook secret cannot be opened");
                None
            }
        })
        .collect()
}

/// The previous secret of a key while its overlap lasts (signed request bodies accept it).
pub async fn previous_secret(
    svc: &Services,
    api_key_id: &str,
    now_ms: i64,
) -> Result<Option<String>, ServiceError> {
    let Some(target) = store::key_target(svc.db.reader(), api_key_id, "").await? else {
        return Ok(None);
    };
    let (Some(sealed), Some(until)) = (&target.prev_secret_enc, target.prev_until) else {
        return Ok(None);
    };
    if now_ms >= until {
        return Ok(None);
    }
    Ok(svc.secrets.secret_box.open(sealed).ok())
}

fn not_configured(detail: &str) -> ServiceError {
    Problem::new(ErrorCode::WebhookNotConfigured, detail).into()
}

fn key_missing(id: &str) -> ServiceError {
    Problem::not_found(format!("API key {id} does not exist")).into()
}

fn canonical_id(id: &str, what: &str) -> Result<String, ServiceError> {
    parse_uuid(id)
        .map(|u| id_text(&u))
        .ok_or_else(|| Problem::not_found(format!("{what} {id} does not exist")).into())
}

/// A rotation's result: the new secret (shown once) and when the previous one stops signing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub secret: String,
    pub rotated_at: String,
    pub previous_retained_until: String,
}

/// Replaces a key's webhook secret; the previous one keeps signing for 7 days.
pub async fn rotate(
    svc: &Services,
    api_key_id: &str,
    actor: &str,
) -> Result<Rotation, ServiceError> {
    let id = canonical_id(api_key_id, "API key")?;
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let target = store::key_target(&mut *tx, &id, svc.db.for_update())
        .await?
        .ok_or_else(|| key_missing(&id))?;
    let Some(current) = target.secret_enc.clone() else {
        return Err(not_configured(
            "this key has no webhook secret; set a webhook URL first",
        ));
    };
    if let Some(at) = target.rotated_at {
        let wait = at + ROTATION_COOLDOWN_MS - now;
        if wait > 0 {
            let secs = (wait as u64).div_ceil(1000);
            return Err(Problem::new(
                ErrorCode::WebhookSecretRotationCooldown,
                format!("the webhook secret was rotated less than 60 s ago; retry in {secs} s"),
            )
            .retry_after(secs)
            .into());
        }
    }
    let secret = generate_webhook_secret();
    let until = now + ROTATION_OVERLAP_MS;
    store::store_rotation(
        &mut *tx,
        &id,
        &svc.secrets.secret_box.seal(&secret),
        Some(&current),
        Some(until),
        now,
    )
    .await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "webhook_secret_rotated",
        actor,
        Some(&id),
        json!({ "previousRetainedUntil": rfc3339_ms(from_unix_ms(until)) }),
    )
    .await?;
    tx.commit().await?;
    Ok(Rotation {
        secret,
        rotated_at: rfc3339_ms(from_unix_ms(now)),
        previous_retained_until: rfc3339_ms(from_unix_ms(until)),
    })
}

/// Operator: makes the previous secret current again (within its 7 days); the rotated-out
/// secret stops signing at once.
pub async fn rollback(svc: &Services, api_key_id: &str, actor: &str) -> Result<(), ServiceError> {
    let id = canonical_id(api_key_id, "API key")?;
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let target = store::key_target(&mut *tx, &id, svc.db.for_update())
        .await?
        .ok_or_else(|| key_missing(&id))?;
    let previous = match (&target.prev_secret_enc, target.prev_until) {
        (Some(p), Some(until)) if now < until => p.clone(),
        _ => {
            return Err(not_configured(
                "this key has no previous webhook secret within its 7-day overlap",
            ))
        }
    };
    store::store_rotation(&mut *tx, &id, &previous, None, None, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "webhook_secret_rolled_back",
        actor,
        Some(&id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a replay of one event of `api_key_id` (any status); refused past the replay cap or
/// when the key has no webhook URL. Returns the event after the change.
pub async fn redeliver(
    svc: &Services,
    api_key_id: &str,
    event_id: &str,
) -> Result<EventRow, ServiceError> {
    let not_found = || -> ServiceError {
        Problem::not_found(format!("webhook event {event_id} does not exist")).into()
    };
    let Some(event_uuid) = parse_uuid(event_id) else {
        return Err(not_found());
    };
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    store::lock_keys(&mut tx, svc.db.backend(), &[api_key_id.to_string()]).await?;
    let event = match store::get_event(&mut *tx, &id_text(&event_uuid)).await? {
        Some(e) if e.api_key_id == api_key_id => e,
        _ => return Err(not_found()),
    };
    let target = store::key_target(&mut *tx, api_key_id, "").await?;
    if target.and_then(|t| t.webhook_url).is_none() {
        return Err(not_configured(
            "this key has no webhook URL; set one before redelivering",
        ));
    }
    if event.replay_count >= MAX_REPLAYS {
        return Err(Problem::new(
            ErrorCode::WebhookReplayLimitReached,
            format!(
                "event {} was already redelivered {MAX_REPLAYS} times",
                event.id
            ),
        )
        .with("maxReplays", MAX_REPLAYS)
        .into());
    }
    store::start_replay(&mut *tx, event.seq, now).await?;
    store::ensure_head(&mut *tx, svc.db.backend(), api_key_id).await?;
    let after = store::get_event(&mut *tx, &event.id)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(after)
}

/// What an operator bulk replay did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkReplay {
    pub api_key_id: String,
    pub statuses: Vec<String>,
    pub matched: usize,
    pub replayed: Vec<String>,
    /// Events already replayed the maximum number of times.
    pub skipped_at_cap: Vec<String>,
}

/// Replays every event of a key with one of `statuses` created at or after `since_ms`, oldest
/// first (events at the replay cap are skipped and listed).
pub async fn bulk_redeliver(
    svc: &Services,
    api_key_id: &str,
    statuses: Vec<String>,
    since_ms: Option<i64>,
) -> Result<BulkReplay, ServiceError> {
    let id = canonical_id(api_key_id, "API key")?;
    let target = store::key_target(svc.db.reader(), &id, "")
        .await?
        .ok_or_else(|| key_missing(&id))?;
    if target.webhook_url.is_none() {
        return Err(not_configured(
            "this key has no webhook URL; set one before redelivering",
        ));
    }
    let events = store::select_for_bulk(svc.db.reader(), &id, &statuses, since_ms).await?;
    let mut out = BulkReplay {
        api_key_id: id.clone(),
        statuses,
        matched: events.len(),
        replayed: Vec::new(),
        skipped_at_cap: Vec::new(),
    };
    for event in events {
        match redeliver(svc, &id, &event.id).await {
            Ok(_) => out.replayed.push(event.id),
            Err(ServiceError::Problem(p)) if p.code == ErrorCode::WebhookReplayLimitReached => {
                out.skipped_at_cap.push(event.id)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The answer to a test ping.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PingResult {
    pub api_key_id: String,
    pub url: String,
    pub event_id: String,
    pub ok: bool,
    pub status_code: Option<u16>,
    pub failure_code: Option<&'static str>,
    pub error_message: Option<String>,
    pub duration_ms: u64,
    pub response_body: String,
}

/// Sends one signed `webhook.ping` to the key's URL and reports the response. It is not an
/// event: nothing is stored, listed or retried.
pub async fn ping(
    svc: &Services,
    sender: &sender::Sender,
    api_key_id: &str,
) -> Result<PingResult, ServiceError> {
    let id = canonical_id(api_key_id, "API key")?;
    let target = store::key_target(svc.db.reader(), &id, "")
        .await?
        .ok_or_else(|| key_missing(&id))?;
    let Some(url) = target.webhook_url.clone() else {
        return Err(not_configured("this key has no webhook URL"));
    };
    let now = svc.now_ms();
    let secrets = signing_secrets(svc, &target, now);
    if secrets.is_empty() {
        return Err(not_configured("this key has no usable webhook secret"));
    }
    let event_id = id_text(&new_id());
    let version = PING_API_VERSION;
    let body = json!({
        "id": event_id,
        "type": "webhook.ping",
        "apiVersion": version,
        "createdAt": rfc3339_ms(from_unix_ms(now)),
        "data": { "apiKeyId": id },
    })
    .to_string();
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let t = svc.now_ms();
    let header = signature::webhook_header(&refs, t, body.as_bytes());
    let out = sender
        .post(&url, &event_id, version, &header, body.into())
        .await;
    Ok(PingResult {
        api_key_id: id,
        url,
        event_id,
        ok: out.failure.is_none(),
        status_code: out.status_code,
        failure_code: out.failure.map(|f| f.as_str()),
        error_message: out.error_message,
        duration_ms: u64::try_from(out.elapsed.as_millis()).unwrap_or(u64::MAX),
        response_body: out.body.chars().take(4096).collect(),
    })
}
