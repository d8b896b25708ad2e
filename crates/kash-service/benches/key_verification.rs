//! Key verification, as the gate performs it on every `/v1` request (`api.md` §3, steps 2–3):
//! the shape check, the HMAC under the pepper, the lookup of the hash among 10,000 stored keys
//! (SQLite, the default back-end) and the constant-time comparison.
//!
//! ```text
//! cargo bench -p kash-service --bench key_verification
//! ```

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kash_core::apikey::{key_environment, Environment};
use kash_core::owner::Owner;
use kash_core::time::{Clock, SystemClock};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::secrets::{ct_eq, generate_api_key};
use kash_service::Services;
use kash_store::keys::ApiKeyRecord;

const STORED_KEYS: usize = 10_000;

fn record(svc: &Services, user: &str, key: &str, n: usize) -> ApiKeyRecord {
    ApiKeyRecord {
        id: kash_core::ids::id_text(&kash_core::ids::new_id()),
        owner: Owner::User(user.to_string()),
        environment: "test".into(),
        key_hash: svc.secrets.hasher.hash(key),
        hint: kash_core::apikey::key_hint(key),
        name: format!("bench {n}"),
        tier: "free".into(),
        scopes: "markets:read".into(),
        ip_allowlist: None,
        webhook_url: None,
        webhook_secret_enc: None,
        webhook_url_changed_at: None,
        expires_at: None,
        rate_limit_per_minute: None,
        per_trade_cap_atomic: None,
        daily_cap_atomic: None,
        confirm_threshold_atomic: None,
        created_at: svc.now_ms(),
        last_used_at: None,
        revoked_at: None,
    }
}

async fn setup(dir: &std::path::Path) -> anyhow::Result<(Services, String)> {
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(format!("sqlite://{}", dir.join("bench.db").display())),
        data_dir: Some(dir.to_path_buf()),
        pepper: Some("bench-pepper-0123456789abcdef0123456789".into()),
        secrets_key: Some("bench-secrets-key-0123456789abcdef01234".into()),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;
    let user = kash_service::users::create(&svc, "bench@example.com", None, None, "bench")
        .await?
        .id;
    // Written directly: the cap of 5 active keys per owner does not matter here.
    let mut tx = svc.db.begin().await?;
    let mut probe = String::new();
    for n in 0..STORED_KEYS {
        let key = generate_api_key(Environment::Test);
        kash_store::keys::insert(&mut *tx, &record(&svc, &user, &key, n)).await?;
        if n == STORED_KEYS / 2 {
            probe = key;
        }
    }
    tx.commit().await?;
    Ok((svc, probe))
}

fn verification(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => panic!("tokio runtime: {err}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("temp dir: {err}"),
    };
    let (svc, key) = match runtime.block_on(setup(dir.path())) {
        Ok(ready) => ready,
        Err(err) => panic!("setup: {err:#}"),
    };

    c.bench_function("key shape + HMAC + compare", |b| {
        let stored = svc.secrets.hasher.hash(&key);
        b.iter(|| {
            let key = black_box(key.as_str());
            let env = key_environment(key);
            let hash = svc.secrets.hasher.hash(key);
            black_box(env.is_some() && ct_eq(hash.as_bytes(), stored.as_bytes()))
        })
    });
    c.bench_function("key verification with lookup (SQLite, 10,000 keys)", |b| {
        b.iter(|| {
            let key = black_box(key.as_str());
            let found = runtime.block_on(async {
                let env = key_environment(key)?;
                let hash = svc.secrets.hasher.hash(key);
                let record = kash_store::keys::find_by_hash(svc.db.reader(), &hash)
                    .await
                    .ok()??;
                (ct_eq(record.key_hash.as_bytes(), hash.as_bytes())
                    && record.environment == env.as_str())
                .then_some(record)
            });
            assert!(found.is_some());
        })
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
