//! Which organization owns an embed target, and whether it may be shown. Resolutions are
//! cached for one second per target, so the render path reads the database at most once a
//! second per target while a suspension or a new thread still takes effect within a second.

use std::collections::HashMap;
use std::sync::Mutex;

use kash_core::ids::{id_text, parse_uuid};
use kash_store::{orgs, public_markets, threads, Db, StoreError};

use super::EmbedKind;

const TTL_MS: i64 = 1_000;
/// Past this many cached targets the cache starts over (bounded memory under junk ids).
const MAX_ENTRIES: usize = 100_000;

/// A shown target: its canonical id and its (active) organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub org_id: String,
}

/// A resolution and when it was made (Unix ms).
type Cached = (Option<Target>, i64);

#[derive(Default)]
pub struct Targets {
    cache: Mutex<HashMap<(EmbedKind, String), Cached>>,
}

impl Targets {
    pub async fn resolve(
        &self,
        db: &Db,
        kind: EmbedKind,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Target>, StoreError> {
        let key = (kind, id.to_string());
        if let Ok(cache) = self.cache.lock() {
            if let Some((hit, at)) = cache.get(&key) {
                if now_ms - at < TTL_MS && now_ms >= *at {
                    return Ok(hit.clone());
                }
            }
        }
        let found = lookup(db, kind, id).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key, (found.clone(), now_ms));
        }
        Ok(found)
    }
}

async fn active_org(db: &Db, org_id: &str) -> Result<bool, StoreError> {
    Ok(orgs::get(db.reader(), org_id)
        .await?
        .is_some_and(|o| o.is_active()))
}

/// Uncached resolution: the one function that resolves embed targets. Markets resolve like
/// the public API shows them (owning org; only ACTIVE/FROZEN/RESOLVED/CANCELLED markets of
/// active orgs, [`public_markets::get`]).
async fn lookup(db: &Db, kind: EmbedKind, id: &str) -> Result<Option<Target>, StoreError> {
    match kind {
        EmbedKind::Market => {
            let Some(uuid) = parse_uuid(id) else {
                return Ok(None);
            };
            let market = public_markets::get(db.reader(), &id_text(&uuid)).await?;
            Ok(market.and_then(|m| m.organization_id.map(|org_id| Target { id: m.id, org_id })))
        }
        EmbedKind::Thread => {
            let Some(uuid) = parse_uuid(id) else {
                return Ok(None);
            };
            let Some(t) = threads::get(db.reader(), &id_text(&uuid)).await? else {
                return Ok(None);
            };
            Ok(active_org(db, &t.org_id).await?.then_some(Target {
                id: t.id,
                org_id: t.org_id,
            }))
        }
        EmbedKind::Organization => {
            let org = match parse_uuid(id) {
                Some(uuid) => orgs::get(db.reader(), &id_text(&uuid)).await?,
                None if kash_service::fields::is_slug(id) => {
                    orgs::find_by_slug(db.reader(), id).await?
                }
                None => None,
            };
            Ok(org.filter(|o| o.is_active()).map(|o| Target {
                id: o.id.clone(),
                org_id: o.id,
            }))
        }
    }
}
