//! The authentication gate over real HTTP: every refusal code it owns, with its status, problem
//! body and audit entry, on SQLite and PostgreSQL.

use chrono::Duration;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, LimitOverrides};
use kash_store::audit::{self, AuditFilter, AuditRecord};
use kash_testkit::{backend_tests, eventually, expect_problem, Backend, TestApp, TestOptions};

const USAGE: &str = "/v1/account/usage";

fn behind_proxy() -> TestOptions {
    TestOptions {
        trusted_proxies: Some("127.0.0.1/32,::1".into()),
        ..TestOptions::default()
    }
}

async fn audit_entries(app: &TestApp) -> Vec<AuditRecord> {
    audit::list(
        app.svc.db.reader(),
        &AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
}

/// The last auth-failure entry must name the code, IP, route and (when known) key.
async fn assert_audited(app: &TestApp, code: &str, ip: &str, key_id: Option<&str>) {
    let entries = audit_entries(app).await;
    let entry = entries
        .iter()
        .rev()
        .find(|e| e.kind == "auth_failure" && e.code.as_deref() == Some(code))
        .unwrap_or_else(|| panic!("no audit entry for {code}: {entries:?}"));
    assert_eq!(entry.ip.as_deref(), Some(ip));
    assert_eq!(entry.route.as_deref(), Some(USAGE));
    assert_eq!(entry.method.as_deref(), Some("GET"));
    assert_eq!(entry.api_key_id.as_deref(), key_id);
    assert!(entry.request_id.as_deref().is_some_and(|r| !r.is_empty()));
}

async fn get_from(app: &TestApp, ip: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(app.url(USAGE)).header("X-Forwarded-For", ip);
    if let Some(key) = key {
        req = req.header("X-API-Key", key);
    }
    req.send().await.unwrap()
}

async fn missing_malformed_and_unknown_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.http.get(app.url(USAGE)).send().await.unwrap();
    expect_problem(resp, 401, "API_KEY_MISSING").await;
    assert_audited(&app, "API_KEY_MISSING", "127.0.0.1", None).await;

    for malformed in [
        "nope",
        "kash_test_short",
        "kash_prod_abcdefghijklmnopqrstuvwxyzABCDEF",
        "kash_test_abcdefghijklmnopqrstuvwxyzABCDE-",
    ] {
        let resp = app.get(USAGE, malformed).await;
        expect_problem(resp, 401, "API_KEY_MALFORMED").await;
    }
    assert_audited(&app, "API_KEY_MALFORMED", "127.0.0.1", None).await;

    let resp = app
        .get(USAGE, "kash_test_abcdefghijklmnopqrstuvwxyzABCDEF")
        .await;
    expect_problem(resp, 401, "API_KEY_INVALID").await;
    assert_audited(&app, "API_KEY_INVALID", "127.0.0.1", None).await;

    // A well-formed key of the other environment is unknown here, even when its secret part
    // matches a real key.
    let (_, key) = app.user_with_key(Tier::Free).await;
    let live = key.replacen("kash_test_", "kash_live_", 1);
    expect_problem(app.get(USAGE, &live).await, 401, "API_KEY_INVALID").await;
    // The real key works.
    assert_eq!(app.get(USAGE, &key).await.status(), 200);
}

async fn revoked_and_expired_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("rev@test.example").await;
    let issued = app
        .key_with(Owner::User(user.clone()), Tier::Developer, None)
        .await;
    assert_eq!(app.get(USAGE, &issued.key).await.status(), 200);
    kash_service::keys::revoke(&app.svc, &issued.id, "test")
        .await
        .unwrap();
    let body = expect_problem(app.get(USAGE, &issued.key).await, 401, "API_KEY_REVOKED").await;
    assert_eq!(body["title"], "API key revoked");
    assert_audited(&app, "API_KEY_REVOKED", "127.0.0.1", Some(&issued.id)).await;

    let expiring = app
        .issue(IssueRequest {
            owner: Owner::User(user),
            tier: Tier::Developer,
            scopes: None,
            name: Some("short-lived".into()),
            ip_allowlist: None,
            webhook_url: None,
            expires_at: Some(app.svc.now() + Duration::hours(1)),
            limits: LimitOverrides::default(),
        })
        .await;
    // Developer keys lack auth:manage by default; any other refusal than expiry is fine here,
    // what matters is the switch to API_KEY_EXPIRED once the clock passes the expiry.
    expect_problem(
        app.get(USAGE, &expiring.key).await,
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    app.clock.advance(Duration::hours(2));
    expect_problem(app.get(USAGE, &expiring.key).await, 401, "API_KEY_EXPIRED").await;
    assert_audited(&app, "API_KEY_EXPIRED", "127.0.0.1", Some(&expiring.id)).await;
}

async fn scope_is_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("scope@test.example").await;
    let key = app
        .key_with(
            Owner::User(user),
            Tier::Mm,
            Some("markets:read,trades:write"),
        )
        .await;
    let body = expect_problem(app.get(USAGE, &key.key).await, 403, "INSUFFICIENT_SCOPE").await;
    assert_eq!(body["requiredScopes"], serde_json::json!(["auth:manage"]));
    assert_audited(&app, "INSUFFICIENT_SCOPE", "127.0.0.1", Some(&key.id)).await;
}

async fn ip_allowlists_with_trusted_proxy(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy()).await;
    let user = app.user("ip@test.example").await;
    let key = app
        .issue(IssueRequest {
            owner: Owner::User(user),
            tier: Tier::Enterprise,
            scopes: Some(kash_core::scope::ScopeSet::parse_list("auth:manage").unwrap()),
            name: None,
            ip_allowlist: Some("203.0.113.7, 10.20.0.0/16, 2001:db8::/32".into()),
            webhook_url: None,
            expires_at: None,
            limits: LimitOverrides::default(),
        })
        .await;
    for allowed in [
        "203.0.113.7",
        "10.20.5.6",
        "2001:db8::99",
        "198.51.100.9, 203.0.113.7",
    ] {
        let resp = get_from(&app, allowed, Some(&key.key)).await;
        assert_eq!(resp.status(), 200, "{allowed} should pass");
    }
    let resp = get_from(&app, "198.51.100.1", Some(&key.key)).await;
    expect_problem(resp, 403, "IP_NOT_ALLOWED").await;
    assert_audited(&app, "IP_NOT_ALLOWED", "198.51.100.1", Some(&key.id)).await;
    // The right-most untrusted hop counts: a client cannot smuggle an allowed address in front.
    let resp = get_from(&app, "203.0.113.7, 198.51.100.1", Some(&key.key)).await;
    expect_problem(resp, 403, "IP_NOT_ALLOWED").await;
}

async fn untrusted_peers_cannot_spoof_forwarded_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("spoof@test.example").await;
    let key = app
        .issue(IssueRequest {
            owner: Owner::User(user),
            tier: Tier::Enterprise,
            scopes: Some(kash_core::scope::ScopeSet::parse_list("auth:manage").unwrap()),
            name: None,
            ip_allowlist: Some("203.0.113.7".into()),
            webhook_url: None,
            expires_at: None,
            limits: LimitOverrides::default(),
        })
        .await;
    let resp = get_from(&app, "203.0.113.7", Some(&key.key)).await;
    expect_problem(resp, 403, "IP_NOT_ALLOWED").await;
    assert_audited(&app, "IP_NOT_ALLOWED", "127.0.0.1", Some(&key.id)).await;
}

async fn brute_force_lockout(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy()).await;
    let (_, good) = app.user_with_key(Tier::Enterprise).await;
    let attacker = "198.51.100.66";
    // Failures that are not credential failures do not count.
    for _ in 0..25 {
        let resp = get_from(&app, attacker, None).await;
        assert_eq!(resp.status(), 401);
    }
    for i in 0..21 {
        let bad = format!("kash_test_{:0>32}", i);
        let resp = get_from(&app, attacker, Some(&bad)).await;
        expect_problem(resp, 401, "API_KEY_INVALID").await;
    }
    // Locked now, even with a good key.
    let resp = get_from(&app, attacker, Some(&good)).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((899..=900).contains(&retry), "retry-after {retry}");
    expect_problem(resp, 429, "IP_LOCKED_OUT").await;
    // Another IP is unaffected.
    assert_eq!(
        get_from(&app, "198.51.100.67", Some(&good)).await.status(),
        200
    );
    // Lockout refusals are aggregated into one entry per IP and minute.
    for _ in 0..3 {
        assert_eq!(get_from(&app, attacker, Some(&good)).await.status(), 429);
    }
    let entries = audit_entries(&app).await;
    let lockouts: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == "ip_locked_out")
        .collect();
    assert!(!lockouts.is_empty() && lockouts.len() <= 2, "{lockouts:?}");
    assert_eq!(lockouts.iter().map(|e| e.count).sum::<i64>(), 4);
    assert!(lockouts.iter().all(|e| e.ip.as_deref() == Some(attacker)));
    // The lockout ends after 15 minutes.
    app.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    assert_eq!(get_from(&app, attacker, Some(&good)).await.status(), 200);
}

async fn pepper_rotation_rehashes_then_expires(backend: Backend) {
    let mut first = TestApp::spawn(backend).await;
    let (_, key) = first.user_with_key(Tier::Enterprise).await;
    let old_pepper = first.svc.settings.pepper.clone().unwrap();
    first.stop().await;

    let rotated = |until_hours: i64| {
        let old = old_pepper.clone();
        TestOptions {
            tweak: Some(std::sync::Arc::new(
                move |s: &mut kash_service::config::Settings| {
                    s.pepper = Some("a-brand-new-pepper-0123456789abcdef".into());
                    s.pepper_previous = Some(old.clone());
                    s.pepper_previous_until =
                        Some(chrono::Utc::now() + Duration::hours(until_hours));
                },
            )),
            ..TestOptions::default()
        }
    };
    let db = first.db.clone();
    drop(first);

    // Past the grace deadline a key still under the old pepper is unknown.
    let expired = TestApp::start_on(db.clone(), rotated(-1)).await;
    expect_problem(expired.get(USAGE, &key).await, 401, "API_KEY_INVALID").await;

    // Within the grace period it works and is re-hashed under the new pepper on use...
    let during = TestApp::start_on(db.clone(), rotated(1)).await;
    assert_eq!(during.get(USAGE, &key).await.status(), 200);
    // ...so it keeps working after the grace period.
    let after = TestApp::start_on(db, rotated(-1)).await;
    assert_eq!(after.get(USAGE, &key).await.status(), 200);
}

async fn kill_switches_reach_the_gate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.user_with_key(Tier::Enterprise).await;
    kash_service::killswitch::set(&app.svc, "api-account-read", Some("maintenance"), "test")
        .await
        .unwrap();
    let applied = eventually(std::time::Duration::from_secs(1), || async {
        app.get(USAGE, &key).await.status() == 503
    })
    .await;
    assert!(applied, "kill switch not applied within 1 s");
    let resp = app.get(USAGE, &key).await;
    assert_eq!(resp.headers()["retry-after"], "60");
    let body = expect_problem(resp, 503, "ROUTE_DISABLED").await;
    assert_eq!(body["flag"], "api-account-read");
    assert_eq!(body["extensions"]["flag"], "api-account-read");
    // Other flags do not affect this route.
    kash_service::killswitch::clear(&app.svc, "api-account-read", "test")
        .await
        .unwrap();
    kash_service::killswitch::set(&app.svc, "API_TRADE_PROCESSING", None, "test")
        .await
        .unwrap();
    let cleared = eventually(std::time::Duration::from_secs(1), || async {
        app.get(USAGE, &key).await.status() == 200
    })
    .await;
    assert!(
        cleared,
        "a cleared route flag must stop refusing; the trade flag does not cover reads"
    );
    // And stays served while the trade switch is on (the poller has surely run by now).
    tokio::time::sleep(kash_server::killswitch::POLL_EVERY * 2).await;
    assert_eq!(app.get(USAGE, &key).await.status(), 200);
}

async fn version_negotiation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.user_with_key(Tier::Enterprise).await;
    for (sent, served) in [
        (None, "2026-08-19"),
        (Some("2026-04-29"), "2026-04-29"),
        (Some("2026-08-19"), "2026-08-19"),
    ] {
        let mut req = app.http.get(app.url(USAGE)).header("X-API-Key", &key);
        if let Some(v) = sent {
            req = req.header("X-Kash-Api-Version", v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-kash-api-version"], served);
        assert_eq!(resp.headers()["x-api-version"], served);
        assert!(resp.headers().get("deprecation").is_none());
    }
    for bad in ["2026-05-02", "2099-01-01", "latest"] {
        let resp = app
            .http
            .get(app.url(USAGE))
            .header("X-API-Key", &key)
            .header("X-Kash-Api-Version", bad)
            .send()
            .await
            .unwrap();
        let body = expect_problem(resp, 410, "API_VERSION_UNSUPPORTED").await;
        assert_eq!(body["requested"], bad);
        assert_eq!(
            body["supported"],
            serde_json::json!(["2026-08-19", "2026-04-29"])
        );
        assert_eq!(body["current"], "2026-08-19");
        assert_eq!(body["metadata"]["current"], "2026-08-19");
    }
    // Several values are refused too.
    let resp = app
        .http
        .get(app.url(USAGE))
        .header("X-API-Key", &key)
        .header("X-Kash-Api-Version", "2026-04-29")
        .header("X-Kash-Api-Version", "2026-08-19")
        .send()
        .await
        .unwrap();
    expect_problem(resp, 410, "API_VERSION_UNSUPPORTED").await;
    // Negotiation runs after authentication: a bad key with a bad version is a 401.
    let resp = app
        .http
        .get(app.url(USAGE))
        .header("X-API-Key", "kash_test_abcdefghijklmnopqrstuvwxyzABCDEF")
        .header("X-Kash-Api-Version", "1999-01-01")
        .send()
        .await
        .unwrap();
    expect_problem(resp, 401, "API_KEY_INVALID").await;
}

backend_tests!(
    missing_malformed_and_unknown_keys,
    revoked_and_expired_keys,
    scope_is_enforced,
    ip_allowlists_with_trusted_proxy,
    untrusted_peers_cannot_spoof_forwarded_for,
    brute_force_lockout,
    pepper_rotation_rehashes_then_expires,
    kill_switches_reach_the_gate,
    version_negotiation,
);
