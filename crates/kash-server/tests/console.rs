//! The web console over real HTTP, on SQLite and PostgreSQL: sign-in and sessions (cookie flags,
//! rotation, idle and absolute expiry, sign-out), sign-in throttling, CSRF on every state
//! change, security headers, role checks, and the JSON routes `/api/account/api-keys` with the
//! same rules as `kash-admin` (validation, webhook-URL cooldown, 5-key cap, audit) and their
//! 60 requests/min per session.

use chrono::Duration;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_store::audit::{self, AuditFilter};
use kash_testkit::console::{csrf_in, session_cookie, ConsoleClient};
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp, TestOptions};
use reqwest::header::{LOCATION, ORIGIN, REFERER};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery";
const KEYS: &str = "/api/account/api-keys";
const CSP: &str = "default-src 'self'; frame-ancestors 'none'";

async fn signed_in(app: &TestApp, email: &str) -> (String, ConsoleClient) {
    let user = app.user_with_password(email, PASSWORD).await;
    let mut client = ConsoleClient::new(app);
    let resp = client.sign_in(email, PASSWORD).await;
    assert_eq!(resp.status(), 303, "sign-in of {email}");
    assert!(client.csrf.is_some(), "the keys page carries a CSRF token");
    (user, client)
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn session_rows(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>("SELECT id_hash, user_id FROM console_sessions")
        .fetch_all(app.svc.db.reader())
        .await
        .unwrap()
}

async fn key_count(app: &TestApp, user: &str) -> usize {
    kash_service::keys::list(
        &app.svc,
        Some(&kash_core::owner::Owner::User(user.to_string())),
    )
    .await
    .unwrap()
    .len()
}

fn assert_console_headers(headers: &reqwest::header::HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(get("content-security-policy"), CSP);
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert_eq!(get("referrer-policy"), "same-origin");
    assert_eq!(get("x-frame-options"), "DENY");
    assert_eq!(get("cache-control"), "no-store");
    assert!(headers.get("access-control-allow-origin").is_none());
}

async fn sign_in_rotates_and_sign_out_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user_with_password("ann@test.example", PASSWORD).await;
    let mut client = ConsoleClient::new(&app);

    // Signed out, a console page sends you to sign in and back.
    let resp = client.page("/settings/api-keys?org=").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        location(&resp),
        "/signin?next=%2Fsettings%2Fapi-keys%3Forg%3D"
    );
    let signin = client.page("/signin").await;
    assert_eq!(signin.status(), 200);
    assert_console_headers(signin.headers());

    // Wrong password and unknown account: the same generic answer, no cookie.
    for (email, password) in [
        ("ann@test.example", "wrong password"),
        ("nobody@test.example", PASSWORD),
    ] {
        let resp = client.sign_in(email, password).await;
        assert_eq!(resp.status(), 200);
        assert!(session_cookie(resp.headers()).is_none());
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("The email or password is incorrect."),
            "{body}"
        );
    }
    assert!(session_rows(&app).await.is_empty());

    // Success: a 256-bit random id in an HttpOnly, SameSite=Lax cookie; only its hash stored.
    let resp = client.sign_in("Ann@Test.Example", PASSWORD).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/settings/api-keys");
    let cookie = session_cookie(resp.headers()).expect("session cookie");
    assert_eq!(cookie.name, "kash_session", "plain-HTTP localhost name");
    assert_eq!(cookie.value.len(), 43, "base64url of 32 random bytes");
    assert!(cookie.has_attr("HttpOnly"));
    assert_eq!(cookie.attr("SameSite").as_deref(), Some("Lax"));
    assert_eq!(cookie.attr("Path").as_deref(), Some("/"));
    assert!(!cookie.has_attr("Secure"), "no Secure over plain HTTP");
    assert!(cookie.attr("Domain").is_none());
    let rows = session_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let hash = hex::encode(Sha256::digest(cookie.value.as_bytes()));
    assert_eq!(rows[0].0, hash);
    assert_ne!(rows[0].0, cookie.value);
    let first = client.cookie.clone().unwrap();

    let page = client.page("/settings/api-keys").await;
    assert_eq!(page.status(), 200);
    assert_console_headers(page.headers());

    // Signing in again rotates: the old id is gone server-side.
    let again = client.sign_in("ann@test.example", PASSWORD).await;
    assert_eq!(again.status(), 303);
    let second = client.cookie.clone().unwrap();
    assert_ne!(first, second);
    assert_eq!(session_rows(&app).await.len(), 1);
    let mut stale = ConsoleClient::new(&app);
    stale.cookie = Some(first);
    assert_eq!(stale.page("/settings/api-keys").await.status(), 303);

    // Sign-out needs the CSRF token, then deletes the session server-side.
    let refused = client.post_form("/signout", &[("_csrf", "nope")]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(session_rows(&app).await.len(), 1);
    let out = client.post_form("/signout", &[]).await;
    assert_eq!(out.status(), 303);
    let cleared = session_cookie(out.headers()).expect("cookie cleared");
    assert_eq!(cleared.attr("Max-Age").as_deref(), Some("0"));
    assert!(session_rows(&app).await.is_empty());
    // The old cookie no longer works anywhere.
    assert_eq!(client.page("/settings/api-keys").await.status(), 303);
    let resp = client.json(Method::GET, KEYS, None).await;
    expect_problem(resp, 401, "SESSION_REQUIRED").await;

    let kinds: Vec<String> = audit::list(
        app.svc.db.reader(),
        &AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.kind)
    .collect();
    for kind in [
        "console_sign_in_failed",
        "console_signed_in",
        "console_signed_out",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} audited: {kinds:?}");
    }
}

async fn https_console_uses_a_host_prefixed_secure_cookie(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(std::sync::Arc::new(|s| {
                s.public_url = "https://console.test".into();
            })),
            ..TestOptions::default()
        },
    )
    .await;
    app.user_with_password("tls@test.example", PASSWORD).await;
    let mut client = ConsoleClient::new(&app);
    client.origin = "https://console.test".into();
    let resp = client.sign_in("tls@test.example", PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let cookie = session_cookie(resp.headers()).expect("cookie");
    assert_eq!(cookie.name, "__Host-kash_session");
    assert!(cookie.has_attr("Secure"));
    assert!(cookie.has_attr("HttpOnly"));
    assert_eq!(cookie.attr("SameSite").as_deref(), Some("Lax"));
    assert_eq!(cookie.attr("Path").as_deref(), Some("/"));
    assert!(cookie.attr("Domain").is_none());
    // The plain name is not accepted in HTTPS mode.
    let mut plain = ConsoleClient::new(&app);
    plain.cookie = Some(format!("kash_session={}", cookie.value));
    assert_eq!(plain.page("/settings/api-keys").await.status(), 303);
    assert_eq!(client.page("/settings/api-keys").await.status(), 200);
}

async fn every_state_change_needs_the_token_and_our_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, client) = signed_in(&app, "csrf@test.example").await;
    let form = [("name", "bot"), ("scopes", "markets:read")];

    // Form posts: no token, a wrong token, another origin, no origin at all.
    let no_token = client
        .http
        .post(client.url("/settings/api-keys"))
        .header("cookie", client.cookie.clone().unwrap())
        .header(ORIGIN, &client.origin)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    assert_console_headers(no_token.headers());
    let wrong = client
        .post_form("/settings/api-keys", &[("name", "bot"), ("_csrf", "AAAA")])
        .await;
    assert_eq!(wrong.status(), 403);
    let mut foreign = ConsoleClient::new(&app);
    foreign.cookie = client.cookie.clone();
    foreign.csrf = client.csrf.clone();
    foreign.origin = "https://evil.example".into();
    assert_eq!(
        foreign
            .post_form("/settings/api-keys", &form)
            .await
            .status(),
        403
    );
    let token = client.csrf.clone().unwrap();
    let no_origin = client
        .http
        .post(client.url("/settings/api-keys"))
        .header("cookie", client.cookie.clone().unwrap())
        .form(&[
            ("name", "bot"),
            ("scopes", "markets:read"),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    assert_eq!(key_count(&app, &user).await, 0, "nothing was created");

    // A same-origin Referer stands in for a missing Origin.
    let referred = client
        .http
        .post(client.url("/settings/api-keys"))
        .header("cookie", client.cookie.clone().unwrap())
        .header(REFERER, client.url("/settings/api-keys/new"))
        .form(&[
            ("name", "bot"),
            ("scopes", "markets:read"),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(referred.status(), 303);
    assert_eq!(key_count(&app, &user).await, 1);

    // JSON: no token, a token from another session, another origin.
    let body = json!({ "name": "json", "scopes": ["markets:read"] });
    let mut tokenless = ConsoleClient::new(&app);
    tokenless.cookie = client.cookie.clone();
    let resp = tokenless.json(Method::POST, KEYS, Some(body.clone())).await;
    let problem = expect_problem(resp, 403, "CSRF_CHECK_FAILED").await;
    assert_eq!(problem["instance"], KEYS);
    let (_, other) = signed_in(&app, "other@test.example").await;
    let mut mixed = ConsoleClient::new(&app);
    mixed.cookie = client.cookie.clone();
    mixed.csrf = other.csrf.clone();
    expect_problem(
        mixed.json(Method::POST, KEYS, Some(body.clone())).await,
        403,
        "CSRF_CHECK_FAILED",
    )
    .await;
    let resp = foreign.json(Method::POST, KEYS, Some(body.clone())).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    expect_problem(resp, 403, "CSRF_CHECK_FAILED").await;
    let id = kash_service::keys::list(&app.svc, Some(&kash_core::owner::Owner::User(user.clone())))
        .await
        .unwrap()[0]
        .id
        .clone();
    expect_problem(
        tokenless
            .json(Method::DELETE, &format!("{KEYS}/{id}"), None)
            .await,
        403,
        "CSRF_CHECK_FAILED",
    )
    .await;
    expect_problem(
        tokenless
            .json(
                Method::PATCH,
                &format!("{KEYS}/{id}"),
                Some(json!({"name": "x"})),
            )
            .await,
        403,
        "CSRF_CHECK_FAILED",
    )
    .await;
    assert_eq!(key_count(&app, &user).await, 1, "nothing else was created");
    // Reads need no token.
    assert_eq!(tokenless.json(Method::GET, KEYS, None).await.status(), 200);

    // Sign-in itself refuses a foreign origin.
    let mut outsider = ConsoleClient::new(&app);
    outsider.origin = "https://evil.example".into();
    assert_eq!(
        outsider
            .sign_in("csrf@test.example", PASSWORD)
            .await
            .status(),
        403
    );
}

async fn sessions_expire_when_idle_and_after_seven_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, client) = signed_in(&app, "idle@test.example").await;
    // Activity keeps a session alive: 11 h 59 min twice is nearly a day.
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(11 * 60 + 59));
        assert_eq!(client.page("/settings/api-keys").await.status(), 200);
    }
    // Twelve idle hours end it, server-side.
    app.clock.advance(Duration::hours(12));
    assert_eq!(client.page("/settings/api-keys").await.status(), 303);
    expect_problem(
        client.json(Method::GET, KEYS, None).await,
        401,
        "SESSION_REQUIRED",
    )
    .await;
    assert!(session_rows(&app).await.is_empty(), "expired row deleted");

    // However active, a session ends 7 days after sign-in.
    let mut client = ConsoleClient::new(&app);
    assert_eq!(
        client.sign_in("idle@test.example", PASSWORD).await.status(),
        303
    );
    for _ in 0..15 {
        app.clock.advance(Duration::hours(11));
        assert_eq!(client.page("/settings/api-keys").await.status(), 200);
    }
    // 165 h so far; 7 d = 168 h.
    app.clock.advance(Duration::hours(4));
    assert_eq!(client.page("/settings/api-keys").await.status(), 303);
}

async fn sign_in_failures_block_an_ip_and_an_account(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            trusted_proxies: Some("127.0.0.1/32,::1".into()),
            tweak: Some(std::sync::Arc::new(|s| {
                s.signin_max_failures = 3;
            })),
            ..TestOptions::default()
        },
    )
    .await;
    app.user_with_password("victim@test.example", PASSWORD)
        .await;
    app.user_with_password("bystander@test.example", PASSWORD)
        .await;
    let attempt = |ip: &'static str, email: &'static str, password: &'static str| {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = app.url("/signin");
        let origin = app.base.clone();
        async move {
            http.post(url)
                .header("X-Forwarded-For", ip)
                .header(ORIGIN, origin)
                .form(&[("email", email), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };

    // Per IP: four failures on four different accounts (so no account counter trips) …
    for email in ["a@x.example", "b@x.example", "c@x.example", "d@x.example"] {
        assert_eq!(attempt("198.51.100.1", email, "guess").await.status(), 200);
    }
    // … block that IP even with the right password; another IP signs in.
    let blocked = attempt("198.51.100.1", "bystander@test.example", PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    let retry: u64 = blocked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(blocked
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-ins"));
    assert_eq!(
        attempt("198.51.100.2", "bystander@test.example", PASSWORD)
            .await
            .status(),
        303
    );

    // Per account: four failures from four IPs block that account from a fresh IP.
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        assert_eq!(
            attempt(ip, "victim@test.example", "guess").await.status(),
            200
        );
    }
    assert_eq!(
        attempt("203.0.113.9", "victim@test.example", PASSWORD)
            .await
            .status(),
        429
    );
    // The same fresh IP is not blocked for another account.
    assert_eq!(
        attempt("203.0.113.9", "bystander@test.example", PASSWORD)
            .await
            .status(),
        303
    );
    // After the block (15 min) the right password works again.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        attempt("203.0.113.9", "victim@test.example", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        attempt("198.51.100.1", "bystander@test.example", PASSWORD)
            .await
            .status(),
        303
    );
}

/// With Redis, a fleet shares the sign-in counters, the per-session limit and the sessions.
async fn a_fleet_shares_counters_and_sessions(backend: Backend) {
    let first = TestApp::spawn_with(
        backend,
        TestOptions {
            redis: true,
            tweak: Some(std::sync::Arc::new(|s| {
                s.signin_max_failures = 2;
            })),
            ..TestOptions::default()
        },
    )
    .await;
    let second = first.another_instance().await;
    first
        .user_with_password("fleet@test.example", PASSWORD)
        .await;
    let mut on_first = ConsoleClient::new(&first);
    for _ in 0..3 {
        assert_eq!(
            on_first
                .sign_in("fleet@test.example", "guess")
                .await
                .status(),
            200
        );
    }
    // Three failures on one instance block the account (and this IP) on the other.
    let mut on_second = ConsoleClient::new(&second);
    assert_eq!(
        on_second
            .sign_in("fleet@test.example", PASSWORD)
            .await
            .status(),
        429
    );
    // A session made on one instance works on the other, and its budget is shared.
    let other = TestApp::spawn_with(
        backend,
        TestOptions {
            redis: true,
            ..TestOptions::default()
        },
    )
    .await;
    let other_second = other.another_instance().await;
    let (_, mut client) = signed_in(&other, "shared@test.example").await;
    for _ in 0..30 {
        assert_eq!(client.json(Method::GET, KEYS, None).await.status(), 200);
    }
    client.base = other_second.base.clone();
    client.origin = other_second.base.clone();
    for _ in 0..30 {
        assert_eq!(client.json(Method::GET, KEYS, None).await.status(), 200);
    }
    expect_problem(
        client.json(Method::GET, KEYS, None).await,
        429,
        "RATE_LIMIT_EXCEEDED",
    )
    .await;
}

async fn json_key_flow_with_v1_and_audit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, client) = signed_in(&app, "flow@test.example").await;
    let resp = client
        .json(
            Method::POST,
            KEYS,
            Some(json!({ "name": "bot", "scopes": ["markets:read", "auth:manage"] })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_console_headers(resp.headers());
    assert!(resp.headers().get("x-ratelimit-limit").is_some());
    let created: Value = resp.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["apiKey"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("kash_test_") && key.len() == 42);
    assert_eq!(
        created["apiKey"]["tier"], "free",
        "the owner's self-serve tier"
    );
    assert_eq!(created["apiKey"]["limits"]["rateLimitPerMinute"], 60);
    assert_eq!(
        created["apiKey"]["limits"]["perTradeLimitUsdc"],
        "500000000"
    );
    assert_eq!(created["apiKey"]["status"], "active");
    assert!(created.get("webhookSecret").is_none());

    // The plaintext works on /v1 and is never listed again.
    assert_eq!(app.get("/v1/account/usage", &key).await.status(), 200);
    let list = client.json(Method::GET, KEYS, None).await;
    let text = list.text().await.unwrap();
    assert!(!text.contains(&key));
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["apiKeys"][0]["id"], id.as_str());
    assert!(listed["apiKeys"][0].get("key").is_none());

    // Revoke: the next /v1 call is API_KEY_REVOKED; revoking again changes nothing.
    let resp = client
        .json(Method::DELETE, &format!("{KEYS}/{id}"), None)
        .await;
    assert_eq!(resp.status(), 200);
    let revoked: Value = resp.json().await.unwrap();
    assert_eq!(revoked["apiKey"]["status"], "revoked");
    assert_eq!(revoked["changed"], true);
    expect_problem(
        app.get("/v1/account/usage", &key).await,
        401,
        "API_KEY_REVOKED",
    )
    .await;
    let again: Value = client
        .json(Method::DELETE, &format!("{KEYS}/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["changed"], false);

    // Audited with the console user as the actor, never with the plaintext.
    let entries = audit::list(
        app.svc.db.reader(),
        &AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    let actor = format!("console:{user}");
    for kind in ["key_issued", "key_revoked"] {
        assert!(
            entries
                .iter()
                .any(|e| e.kind == kind && e.actor.as_deref() == Some(actor.as_str())),
            "{kind} by {actor}"
        );
    }
    assert!(!format!("{entries:?}").contains(&key));
}

async fn json_routes_validate_like_kash_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, client) = signed_in(&app, "rules@test.example").await;
    let create = |body: Value| client.json(Method::POST, KEYS, Some(body));

    let bad = expect_problem(
        create(json!({ "name": "x", "scopes": ["markets:read", "nope"] })).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(bad["issues"][0]["path"], "scopes");
    let bad = expect_problem(
        create(json!({ "name": "x", "webhookUrl": "ftp://example.com/hook" })).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(bad["issues"][0]["path"], "webhookUrl");
    let bad = expect_problem(
        create(json!({ "name": "x", "expiresAt": "2001-01-01T00:00:00Z", "ipAllowlist": "10.0.0.0/33" }))
            .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    let paths: Vec<&str> = bad["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"expiresAt") && paths.contains(&"ipAllowlist"),
        "{paths:?}"
    );
    expect_problem(
        create(json!({ "organizationId": "not-a-uuid" })).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;

    // A key without a webhook; the first URL creates a secret, shown in that response only.
    let created: Value = create(json!({ "name": "hooks" }))
        .await
        .json()
        .await
        .unwrap();
    let id = created["apiKey"]["id"].as_str().unwrap().to_string();
    let path = format!("{KEYS}/{id}");
    let patch = |body: Value| client.json(Method::PATCH, &path, Some(body));
    let resp = patch(json!({ "webhookUrl": "http://127.0.0.1:9/first" })).await;
    assert_eq!(resp.status(), 200);
    let first: Value = resp.json().await.unwrap();
    assert!(first["webhookSecret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(first["apiKey"]["webhookUrl"], "http://127.0.0.1:9/first");

    // An invalid URL: 400 naming webhookUrl, and nothing changed (not even the name).
    let bad = expect_problem(
        patch(json!({ "name": "renamed", "webhookUrl": "not a url" })).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(bad["issues"][0]["path"], "webhookUrl");
    let record = kash_service::keys::get(&app.svc, &id).await.unwrap();
    assert_eq!(record.name, "hooks");
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/first")
    );

    // Another URL within the hour: 429 with Retry-After; other fields still editable.
    let resp = patch(json!({ "webhookUrl": "http://127.0.0.1:9/second" })).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    expect_problem(resp, 429, "RATE_LIMIT_EXCEEDED").await;
    let renamed: Value = patch(json!({ "name": "renamed", "ipAllowlist": "10.1.2.3/16" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["apiKey"]["name"], "renamed");
    assert_eq!(renamed["apiKey"]["ipAllowlist"], "10.1.0.0/16");
    assert!(renamed.get("webhookSecret").is_none());
    app.clock.advance(Duration::minutes(61));
    let moved: Value =
        patch(json!({ "webhookUrl": "http://127.0.0.1:9/second", "ipAllowlist": null }))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(moved["apiKey"]["webhookUrl"], "http://127.0.0.1:9/second");
    assert!(moved["apiKey"]["ipAllowlist"].is_null());
    assert!(moved.get("webhookSecret").is_none(), "the secret stays");

    // The 5-key cap: four more pass, the sixth is refused.
    for n in 0..4 {
        assert_eq!(
            create(json!({ "name": format!("k{n}") })).await.status(),
            201
        );
    }
    let capped = expect_problem(
        create(json!({ "name": "sixth" })).await,
        409,
        "ACTIVE_KEY_LIMIT_REACHED",
    )
    .await;
    assert_eq!(capped["maxActiveKeys"], 5);

    // Someone else's key does not exist for you.
    let (_, stranger) = signed_in(&app, "stranger@test.example").await;
    for method in [Method::PATCH, Method::DELETE] {
        expect_problem(
            stranger
                .json(method, &path, Some(json!({ "name": "mine" })))
                .await,
            404,
            "RESOURCE_NOT_FOUND",
        )
        .await;
    }
    assert_eq!(
        kash_service::keys::get(&app.svc, &id).await.unwrap().name,
        "renamed"
    );
    // Malformed JSON is a validation problem, never a 500.
    let raw = client
        .http
        .post(client.url(KEYS))
        .header("cookie", client.cookie.clone().unwrap())
        .header(ORIGIN, &client.origin)
        .header("X-CSRF-Token", client.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    expect_problem(raw, 400, "VALIDATION_FAILED").await;
}

async fn sixty_requests_a_minute_per_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, client) = signed_in(&app, "busy@test.example").await;
    for n in 0..60 {
        let resp = client.json(Method::GET, KEYS, None).await;
        assert_eq!(resp.status(), 200, "request {n}");
        assert_eq!(resp.headers()["x-ratelimit-limit"], "60");
    }
    let refused = client.json(Method::GET, KEYS, None).await;
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    expect_problem(refused, 429, "RATE_LIMIT_EXCEEDED").await;
    // Writes share the session's budget.
    expect_problem(
        client
            .json(Method::POST, KEYS, Some(json!({ "name": "x" })))
            .await,
        429,
        "RATE_LIMIT_EXCEEDED",
    )
    .await;
    // Another session (even of the same user) has its own minute.
    let mut second = ConsoleClient::new(&app);
    assert_eq!(
        second.sign_in("busy@test.example", PASSWORD).await.status(),
        303
    );
    assert_eq!(second.json(Method::GET, KEYS, None).await.status(), 200);
    // A minute later the first session is served again.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(client.json(Method::GET, KEYS, None).await.status(), 200);
}

async fn roles_decide_who_manages_org_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    let (owner, owner_client) = signed_in(&app, "owner@acme.example").await;
    let (admin, admin_client) = signed_in(&app, "admin@acme.example").await;
    let (member, member_client) = signed_in(&app, "member@acme.example").await;
    let (_, outsider) = signed_in(&app, "outsider@test.example").await;
    for (user, role) in [(&owner, "owner"), (&admin, "admin"), (&member, "member")] {
        kash_service::orgs::add_member(&app.svc, &org, user, role, "test")
            .await
            .unwrap();
    }
    kash_service::keys::set_tier(&app.svc, &Owner::Org(org.clone()), Tier::Developer, "test")
        .await
        .unwrap();
    let body = json!({ "name": "org bot", "organizationId": org });

    // A member is refused (403) on the JSON route, the form and the page; an outsider sees
    // nothing (404).
    let refused = expect_problem(
        member_client
            .json(Method::POST, KEYS, Some(body.clone()))
            .await,
        403,
        "ROLE_NOT_PERMITTED",
    )
    .await;
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("owners and admins"));
    let form = member_client
        .post_form(
            "/settings/api-keys",
            &[
                ("name", "org bot"),
                ("organizationId", &org),
                ("scopes", "markets:read"),
            ],
        )
        .await;
    assert_eq!(form.status(), 403);
    assert_console_headers(form.headers());
    assert_eq!(
        member_client
            .page(&format!("/settings/api-keys?org={org}"))
            .await
            .status(),
        403
    );
    expect_problem(
        member_client
            .json(Method::GET, &format!("{KEYS}?organizationId={org}"), None)
            .await,
        403,
        "ROLE_NOT_PERMITTED",
    )
    .await;
    expect_problem(
        outsider.json(Method::POST, KEYS, Some(body.clone())).await,
        404,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    assert_eq!(
        outsider
            .page(&format!("/settings/api-keys?org={org}"))
            .await
            .status(),
        404
    );

    // Owners and admins issue at the org's self-serve tier.
    let resp = admin_client
        .json(Method::POST, KEYS, Some(body.clone()))
        .await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    assert_eq!(issued["apiKey"]["ownerKind"], "org");
    assert_eq!(issued["apiKey"]["ownerId"], org.as_str());
    assert_eq!(issued["apiKey"]["tier"], "developer");
    let id = issued["apiKey"]["id"].as_str().unwrap().to_string();
    let page = owner_client
        .page(&format!("/settings/api-keys?org={org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("org bot"));

    // The member cannot edit or revoke it either; the owner can.
    for method in [Method::PATCH, Method::DELETE] {
        expect_problem(
            member_client
                .json(
                    method,
                    &format!("{KEYS}/{id}"),
                    Some(json!({ "name": "x" })),
                )
                .await,
            403,
            "ROLE_NOT_PERMITTED",
        )
        .await;
    }
    let listed: Value = owner_client
        .json(Method::GET, KEYS, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["apiKeys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id.as_str()));
    assert_eq!(
        owner_client
            .json(Method::DELETE, &format!("{KEYS}/{id}"), None)
            .await
            .status(),
        200
    );

    // Personal keys follow the user's tier.
    kash_service::keys::set_tier(
        &app.svc,
        &Owner::User(member.clone()),
        Tier::Developer,
        "test",
    )
    .await
    .unwrap();
    let mine: Value = member_client
        .json(Method::POST, KEYS, Some(json!({ "name": "mine" })))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["apiKey"]["tier"], "developer");
    assert_eq!(mine["apiKey"]["ownerKind"], "user");
}

async fn form_flow_shows_the_key_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, client) = signed_in(&app, "forms@test.example").await;
    let empty = client
        .page("/settings/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No active keys"), "empty state");

    // Validation errors come back on the form, values kept, nothing created.
    let resp = client
        .post_form(
            "/settings/api-keys",
            &[
                ("name", "hooked"),
                ("scopes", "auth:manage"),
                ("webhookUrl", "ftp://nope"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("Webhook URL") && body.contains("value=\"hooked\""),
        "{body}"
    );
    assert_eq!(key_count(&app, &user).await, 0);

    let resp = client
        .post_form(
            "/settings/api-keys",
            &[
                ("name", "hooked"),
                ("scopes", "auth:manage"),
                ("scopes", "markets:read"),
                ("webhookUrl", "http://127.0.0.1:9/hook"),
                ("expiresAt", "2099-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/settings/api-keys/created");
    let shown = client.page("/settings/api-keys/created").await;
    assert_console_headers(shown.headers());
    let shown = shown.text().await.unwrap();
    let at = shown.find("kash_test_").expect("plaintext shown");
    let key = shown[at..at + 42].to_string();
    assert!(shown.contains("whsec_"), "webhook secret shown with it");
    assert_eq!(app.get("/v1/account/usage", &key).await.status(), 200);
    // Reload: gone for good.
    let again = client
        .page("/settings/api-keys/created")
        .await
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&key) && !again.contains("whsec_"));
    assert!(again.contains("Already shown"));
    let list = client
        .page("/settings/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(&key));
    assert!(list.contains("hooked") && list.contains("2099-01-01 00:00 UTC"));
    let stored =
        kash_service::keys::list(&app.svc, Some(&kash_core::owner::Owner::User(user.clone())))
            .await
            .unwrap();
    let id = stored[0].id.clone();
    assert_eq!(stored[0].scopes, vec!["markets:read", "auth:manage"]);

    // Edit, then revoke through the confirmation page.
    let edit = client
        .page(&format!("/settings/api-keys/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        edit.contains("Requests (24 h)"),
        "per-key usage on the edit page"
    );
    let saved = client
        .post_form(
            &format!("/settings/api-keys/{id}"),
            &[
                ("name", "renamed"),
                ("ipAllowlist", ""),
                ("webhookUrl", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let list = client
        .page("/settings/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Saved “renamed”."));
    let cooldown = client
        .post_form(
            &format!("/settings/api-keys/{id}"),
            &[
                ("name", "renamed"),
                ("webhookUrl", "http://127.0.0.1:9/other"),
            ],
        )
        .await;
    assert_eq!(cooldown.status(), 429);
    assert!(cooldown.headers().get("retry-after").is_some());
    let confirm = client
        .page(&format!("/settings/api-keys/{id}/revoke"))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Revoke renamed?"));
    assert!(csrf_in(&confirm).is_some());
    let revoked = client
        .post_form(&format!("/settings/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    expect_problem(
        app.get("/v1/account/usage", &key).await,
        401,
        "API_KEY_REVOKED",
    )
    .await;
    // A revoked key cannot be edited.
    assert_eq!(
        client
            .page(&format!("/settings/api-keys/{id}/edit"))
            .await
            .status(),
        400
    );
}

async fn signup_is_closed_unless_opened(backend: Backend) {
    let closed = TestApp::spawn(backend).await;
    let client = ConsoleClient::new(&closed);
    assert_eq!(client.page("/signup").await.status(), 404);
    assert_eq!(
        client
            .post_form(
                "/signup",
                &[("email", "new@test.example"), ("password", PASSWORD)]
            )
            .await
            .status(),
        404
    );
    let open = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(std::sync::Arc::new(|s| s.signup_open = true)),
            ..TestOptions::default()
        },
    )
    .await;
    let client = ConsoleClient::new(&open);
    assert_eq!(client.page("/signup").await.status(), 200);
    let short = client
        .post_form(
            "/signup",
            &[("email", "new@test.example"), ("password", "short")],
        )
        .await;
    assert_eq!(short.status(), 400);
    let made = client
        .post_form(
            "/signup",
            &[("email", "new@test.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(made.status(), 303);
    assert!(session_cookie(made.headers()).is_some());
    let mut again = ConsoleClient::new(&open);
    assert_eq!(
        again.sign_in("new@test.example", PASSWORD).await.status(),
        303
    );
}

async fn openapi_describes_the_console_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    for method in ["get", "post"] {
        assert!(paths[KEYS][method].is_object(), "{method} {KEYS}");
    }
    for method in ["patch", "delete"] {
        assert!(
            paths["/api/account/api-keys/{id}"][method].is_object(),
            "{method}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["ConsoleSession"].is_object());
    // Assets are served by us, hashed, with a long cache.
    let page = ConsoleClient::new(&app)
        .page("/signin")
        .await
        .text()
        .await
        .unwrap();
    let at = page.find("/assets/console.").unwrap();
    let href = &page[at..at + page[at..].find('"').unwrap()];
    let css = app.http.get(app.url(href)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

/// "Send test" on the edit page posts one signed `webhook.ping` to the saved URL and shows the
/// receiver's answer; it needs the CSRF token, stores no event, and a key without a URL has no
/// button.
async fn send_test_pings_the_saved_webhook_url(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, mut client) = signed_in(&app, "pinger@test.example").await;
    let receiver = kash_testkit::receiver::Receiver::with_script(std::sync::Arc::new(
        |name: &str, _| match name {
            "down" => kash_testkit::receiver::Reply::Status(503),
            _ => kash_testkit::receiver::Reply::Status(204),
        },
    ))
    .await;
    let created = client
        .json(Method::POST, KEYS, Some(json!({"name": "hooked", "scopes": ["markets:read"], "webhookUrl": receiver.url("up")})))
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["apiKey"]["id"].as_str().unwrap().to_string();
    let secret = created["webhookSecret"].as_str().unwrap().to_string();
    client.refresh_csrf().await;

    let edit = client
        .page(&format!("/settings/api-keys/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains("Send test"), "the button is on the edit page");
    let path = format!("/settings/api-keys/{id}/test-webhook");
    let refused = client.post_form(&path, &[("_csrf", "nope")]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(receiver.count(), 0, "no ping without the token");

    let answer = client.post_form(&path, &[]).await;
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("The receiver accepted the ping: HTTP 204"),
        "{page}"
    );
    let hits = receiver.hits_for("up");
    assert_eq!(hits.len(), 1);
    let ping = hits[0].json();
    assert_eq!(ping["type"], "webhook.ping");
    assert_eq!(ping["data"]["apiKeyId"], id.as_str());
    // Signed with the key's secret like every delivery.
    let header = hits[0].header("x-kash-signature").to_string();
    assert!(
        kash_client::webhooks::verify(
            &header,
            &hits[0].body,
            &[secret.as_str()],
            hits[0].signed_at()
        )
        .is_ok(),
        "signature {header}"
    );
    // Not an event: nothing is listed.
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events")
        .fetch_one(app.svc.db.reader())
        .await
        .unwrap();
    assert_eq!(events, 0);

    // A failing receiver is reported as such.
    kash_service::keys::update(
        &app.svc,
        &id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(receiver.url("down")),
            ..Default::default()
        },
        "operator:test",
        false,
    )
    .await
    .unwrap();
    let page = client.post_form(&path, &[]).await.text().await.unwrap();
    assert!(page.contains("did not accept the ping: HTTP 503"), "{page}");

    // No URL, no button; a post anyway is told there is nothing to test.
    let bare = client
        .json(
            Method::POST,
            KEYS,
            Some(json!({"name": "bare", "scopes": ["markets:read"]})),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let bare_id = bare["apiKey"]["id"].as_str().unwrap().to_string();
    client.refresh_csrf().await;
    let edit = client
        .page(&format!("/settings/api-keys/{bare_id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!edit.contains("Send test"));
    let answer = client
        .post_form(&format!("/settings/api-keys/{bare_id}/test-webhook"), &[])
        .await;
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("no webhook URL"));
    let _ = user;
}

backend_tests!(
    sign_in_rotates_and_sign_out_deletes,
    send_test_pings_the_saved_webhook_url,
    https_console_uses_a_host_prefixed_secure_cookie,
    every_state_change_needs_the_token_and_our_origin,
    sessions_expire_when_idle_and_after_seven_days,
    sign_in_failures_block_an_ip_and_an_account,
    a_fleet_shares_counters_and_sessions,
    json_key_flow_with_v1_and_audit,
    json_routes_validate_like_kash_admin,
    sixty_requests_a_minute_per_session,
    roles_decide_who_manages_org_keys,
    form_flow_shows_the_key_once,
    signup_is_closed_unless_opened,
    openapi_describes_the_console_routes,
);
