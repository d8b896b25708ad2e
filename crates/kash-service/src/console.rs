//! Console sign-in and sessions (`organizations-embeds-portal.md` §6).
//!
//! A session id is 256 random bits (base64url) that lives only in the browser's cookie; the
//! database keeps its SHA-256. The CSRF token is an HMAC of the session id under a key derived
//! from the secrets key, so it changes with every session and needs no storage. Sign-in
//! throttling lives in the server (it shares the limiter store with `/v1`); this module only
//! checks passwords and keeps sessions.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use kash_store::sessions::{self, SessionRecord};
use kash_store::users::{self, UserRecord};
use sha2::{Digest, Sha256};

use crate::secrets::{ct_eq, hmac_hex, random_token};
use crate::users::{hash_password, normalize_email};
use crate::{audit, ServiceError, Services};

/// A session ends 12 hours after its last request …
pub const IDLE_MS: i64 = 12 * 3_600_000;
/// … and 7 days after sign-in, whatever happens.
pub const ABSOLUTE_MS: i64 = 7 * 24 * 3_600_000;
/// Activity is written at most once a minute per session, so reading pages does not turn
/// every request into a write (the idle clock is accurate to a minute).
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// What the database keeps of a session id.
pub fn session_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session's CSRF token.
pub fn csrf_token(svc: &Services, token: &str) -> String {
    hmac_hex(&svc.secrets.csrf_key, token.as_bytes())
}

/// Constant-time check of a submitted CSRF token.
pub fn csrf_matches(svc: &Services, token: &str, submitted: &str) -> bool {
    ct_eq(csrf_token(svc, token).as_bytes(), submitted.as_bytes())
}

/// A live session: the cookie value (the caller sets it) and the row.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub record: SessionRecord,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"[redacted]")
            .field("user_id", &self.record.user_id)
            .finish()
    }
}

/// Where a request came from, recorded on the session for the user's own reference.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A hash to verify against when the account does not exist or has no password, so both
/// cases cost the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-matches").unwrap_or_default())
}

/// argon2id verification off the async workers (it takes tens of milliseconds by design).
async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// The account a sign-in names, as the throttle counts it: the normalised email, or the raw
/// text lower-cased when it is not an email (it still counts, so guessing cannot dodge it).
pub fn account_label(email: &str) -> String {
    normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase())
}

/// Checks a password. `Ok(None)` is a failed sign-in, whatever the reason (the caller shows one
/// generic message).
pub async fn check_password(
    svc: &Services,
    email: &str,
    password: &str,
) -> Result<Option<UserRecord>, ServiceError> {
    let user = match normalize_email(email) {
        Ok(email) => users::find_by_email(svc.db.reader(), &email).await?,
        Err(_) => None,
    };
    let stored = match &user {
        Some(u) => users::password_hash(svc.db.reader(), &u.id).await?,
        None => None,
    };
    let has_password = stored.is_some();
    let phc = stored.unwrap_or_else(|| decoy_hash().to_string());
    let ok = verify(password.to_string(), phc).await && has_password;
    Ok(if ok { user } else { None })
}

/// Starts a session for `user_id`, ending `previous` (rotation: a session id that existed before
/// sign-in never survives it).
pub async fn start(
    svc: &Services,
    user_id: &str,
    previous: Option<&str>,
    client: &ClientInfo,
) -> Result<Session, ServiceError> {
    let now = svc.now_ms();
    let token = random_token();
    let record = SessionRecord {
        id_hash: session_hash(&token),
        user_id: user_id.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE_MS,
        ip: client.ip.clone(),
        user_agent: client
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(300).collect()),
        flash_enc: None,
    };
    let mut tx = svc.db.begin().await?;
    if let Some(old) = previous {
        sessions::delete(&mut *tx, &session_hash(old)).await?;
    }
    // Expired rows are swept here, where a write transaction is open anyway.
    sessions::delete_expired(&mut *tx, now, now - IDLE_MS).await?;
    sessions::insert(&mut *tx, &record).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "console_signed_in",
        &format!("console:{user_id}"),
        None,
        serde_json::json!({ "userId": user_id, "ip": client.ip }),
    )
    .await?;
    tx.commit().await?;
    Ok(Session { token, record })
}

/// The live session a cookie names, or `None` when it is unknown or expired (an expired row is
/// deleted on sight).
pub async fn resolve(svc: &Services, token: &str) -> Result<Option<Session>, ServiceError> {
    let hash = session_hash(token);
    let Some(record) = sessions::get(svc.db.reader(), &hash).await? else {
        return Ok(None);
    };
    if !ct_eq(record.id_hash.as_bytes(), hash.as_bytes()) {
        return Ok(None);
    }
    let now = svc.now_ms();
    if now >= record.expires_at || now >= record.last_seen_at + IDLE_MS {
        sessions::delete(svc.db.writer(), &hash).await?;
        return Ok(None);
    }
    if now - record.last_seen_at >= TOUCH_EVERY_MS {
        sessions::touch(svc.db.writer(), &hash, now).await?;
    }
    Ok(Some(Session {
        token: token.to_string(),
        record,
    }))
}

/// Ends a session server-side; the cookie is useless afterwards.
pub async fn end(svc: &Services, session: &Session) -> Result<(), ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    sessions::delete(&mut *tx, &session.record.id_hash).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "console_signed_out",
        &format!("console:{}", session.record.user_id),
        None,
        serde_json::json!({ "userId": session.record.user_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a failed sign-in (never the password).
pub async fn audit_failure(
    svc: &Services,
    account: &str,
    ip: &str,
    locked: bool,
) -> Result<(), ServiceError> {
    audit::lifecycle(
        svc.db.writer(),
        svc.now_ms(),
        if locked {
            "console_sign_in_locked"
        } else {
            "console_sign_in_failed"
        },
        "console",
        None,
        serde_json::json!({ "account": account, "ip": ip }),
    )
    .await?;
    Ok(())
}

/// Leaves a one-time message for the next page of this session (sealed at rest).
pub async fn set_flash(svc: &Services, session: &Session, text: &str) -> Result<(), ServiceError> {
    let sealed = svc.secrets.secret_box.seal(text);
    sessions::set_flash(svc.db.writer(), &session.record.id_hash, Some(&sealed)).await?;
    Ok(())
}

/// Takes the one-time message, if any: it is gone afterwards (a reload does not show it again).
pub async fn take_flash(svc: &Services, session: &Session) -> Result<Option<String>, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let sealed = sessions::get(&mut *tx, &session.record.id_hash)
        .await?
        .and_then(|s| s.flash_enc);
    if sealed.is_some() {
        sessions::set_flash(&mut *tx, &session.record.id_hash, None).await?;
    }
    tx.commit().await?;
    Ok(sealed.and_then(|s| svc.secrets.secret_box.open(&s).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_hashes_are_hex_sha256() {
        let h = session_hash("abc");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn account_labels() {
        assert_eq!(account_label(" Alice@Example.COM "), "alice@example.com");
        assert_eq!(account_label("Not An Email"), "not an email");
    }
}
