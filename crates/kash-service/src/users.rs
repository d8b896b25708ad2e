//! Users.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kash_core::ids::{id_text, new_id};
use kash_core::Problem;
use kash_store::users::{self, NewUser, UserRecord};
use kash_store::StoreError;

use crate::audit;
use crate::{ServiceError, Services};

/// The console's password hashing: argon2id at m = 19 MiB, t = 2, p = 1
/// (`organizations-embeds-portal.md` §6).
pub fn hash_password(password: &str) -> Result<String, Problem> {
    if password.chars().count() < 8 {
        return Err(Problem::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Problem::invalid("password", e.to_string()))?;
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Problem::invalid("password", e.to_string()))
}

/// Lower-cased, trimmed; a deliberately small check (`local@domain.tld`), the mailbox itself
/// is never contacted.
pub fn normalize_email(email: &str) -> Result<String, Problem> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        });
    if valid {
        Ok(email)
    } else {
        Err(Problem::invalid("email", "must be an email address"))
    }
}

pub async fn create(
    svc: &Services,
    email: &str,
    name: Option<&str>,
    password: Option<&str>,
    actor: &str,
) -> Result<UserRecord, ServiceError> {
    let email = normalize_email(email)?;
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 200) {
        return Err(Problem::invalid("name", "must be at most 200 characters").into());
    }
    let password_hash = password.map(hash_password).transpose()?;
    let id = id_text(&new_id());
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let inserted = users::insert(
        &mut *tx,
        &NewUser {
            id: &id,
            email: &email,
            name,
            password_hash: password_hash.as_deref(),
            created_at: now,
        },
    )
    .await;
    match inserted {
        Err(StoreError::Unique(c)) if c == "users_email_key" => {
            return Err(Problem::invalid("email", format!("{email} is already registered")).into())
        }
        other => other?,
    }
    // Every user gets its USDC ledger account in the transaction that creates it.
    kash_store::ledger::ensure_account(&mut tx, kash_store::ledger::kind::USER, &id, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "user_created",
        actor,
        None,
        serde_json::json!({ "userId": id }),
    )
    .await?;
    let user = users::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("user vanished after insert".into()))?;
    tx.commit().await?;
    Ok(user)
}

/// Sets (or replaces) a user's console password and signs the user out everywhere: whoever
/// knew the old password must not keep a session.
pub async fn set_password(
    svc: &Services,
    user_id: &str,
    password: &str,
    actor: &str,
) -> Result<u64, ServiceError> {
    let hash = hash_password(password)?;
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    if !users::set_password_hash(&mut *tx, user_id, &hash).await? {
        return Err(Problem::not_found(format!("user {user_id} does not exist")).into());
    }
    let ended = kash_store::sessions::delete_for_user(&mut *tx, user_id).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "password_set",
        actor,
        None,
        serde_json::json!({ "userId": user_id, "sessionsEnded": ended }),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}
