//! Steps 2–3: the key header, its shape, and the lookup by HMAC.

use axum::http::HeaderMap;
use kash_core::apikey::key_environment;
use kash_core::{ErrorCode, Problem};
use kash_service::secrets::ct_eq;
use kash_store::keys::{self, ApiKeyRecord};

use crate::state::AppState;

pub(crate) struct Refused {
    pub problem: Problem,
    pub key_id: Option<String>,
}

fn refused(code: ErrorCode, detail: &str) -> Refused {
    Refused {
        problem: Problem::new(code, detail),
        key_id: None,
    }
}

/// The key, and when the lookup could fetch them in the same round trip, the tiers and limit
/// overrides of its owner's active keys (what the quota is sized from).
pub(crate) type Found = (ApiKeyRecord, Option<Vec<(String, Option<i64>)>>);

pub(crate) async fn find_key(
    state: &AppState,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<Found, Refused> {
    let Some(raw) = headers.get("x-api-key") else {
        return Err(refused(
            ErrorCode::ApiKeyMissing,
            "send your API key in the X-API-Key header",
        ));
    };
    let Ok(key) = raw.to_str().map(str::trim) else {
        return Err(refused(
            ErrorCode::ApiKeyMalformed,
            "the API key is malformed",
        ));
    };
    let Some(env) = key_environment(key) else {
        return Err(refused(
            ErrorCode::ApiKeyMalformed,
            "the API key is malformed (expected kash_live_… or kash_test_… with 32 letters and digits)",
        ));
    };
    let invalid = || refused(ErrorCode::ApiKeyInvalid, "the API key is not valid");
    if env != state.svc.settings.environment {
        return Err(invalid());
    }
    let hasher = &state.svc.secrets.hasher;
    let hash = hasher.hash(key);
    let db = state.svc.db.reader();
    let store_failed = |e: kash_store::StoreError| Refused {
        problem: if e.is_unavailable() {
            Problem::new(
                ErrorCode::DependencyUnavailable,
                "the key store is unavailable",
            )
        } else {
            tracing::error!(error = %e, "key lookup failed");
            Problem::new(ErrorCode::InternalError, "the key could not be checked")
        },
        key_id: None,
    };
    let (record, found_by, owner_limits) = match keys::find_by_hash_with_owner_limits(
        db, &hash, now_ms,
    )
    .await
    .map_err(store_failed)?
    {
        Some((record, limits)) => (record, hash, Some(limits)),
        None => {
            // During a pepper rotation, a key still stored under the previous pepper is
            // re-hashed under the current one on first use.
            let Some(old_hash) = hasher.previous_hash(key, state.svc.now()) else {
                return Err(invalid());
            };
            let Some(mut record) = keys::find_by_hash(db, &old_hash)
                .await
                .map_err(store_failed)?
            else {
                return Err(invalid());
            };
            if !ct_eq(record.key_hash.as_bytes(), old_hash.as_bytes()) {
                return Err(invalid());
            }
            match keys::rehash(state.svc.db.writer(), &record.id, &hash).await {
                Ok(()) => record.key_hash = hash,
                Err(err) => {
                    tracing::warn!(error = %err, key_id = %record.id, "re-hash under the current pepper failed; will retry on next use")
                }
            }
            let found_by = record.key_hash.clone();
            (record, found_by, None)
        }
    };
    if !ct_eq(record.key_hash.as_bytes(), found_by.as_bytes()) || record.environment != env.as_str()
    {
        return Err(invalid());
    }
    if record.revoked_at.is_some() {
        return Err(Refused {
            problem: Problem::new(ErrorCode::ApiKeyRevoked, "this API key has been revoked"),
            key_id: Some(record.id),
        });
    }
    if record.expires_at.is_some_and(|at| at <= now_ms) {
        return Err(Refused {
            problem: Problem::new(ErrorCode::ApiKeyExpired, "this API key has expired"),
            key_id: Some(record.id),
        });
    }
    Ok((record, owner_limits))
}
