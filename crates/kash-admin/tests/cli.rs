//! `kash-admin` as operators use it: the real binary against the database of running servers.

use std::time::Duration;

use kash_testkit::{backend_tests, eventually, expect_problem, Backend, CliOutput, TestApp};

const ADMIN: &str = env!("CARGO_BIN_EXE_kash-admin");
const USAGE: &str = "/v1/account/usage";

async fn admin(app: &TestApp, args: &[&str]) -> CliOutput {
    app.run_cli(ADMIN, args).await
}

async fn new_user(app: &TestApp, email: &str) -> String {
    let out = admin(app, &["users", "create", "--email", email, "--json"])
        .await
        .ok();
    out.json()["id"].as_str().unwrap().to_string()
}

async fn issue(app: &TestApp, args: &[&str]) -> CliOutput {
    let mut all = vec!["api-keys", "issue", "--json"];
    all.extend_from_slice(args);
    admin(app, &all).await
}

async fn issued_key_works_at_once_and_revocation_reaches_every_instance(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = first.another_instance().await;
    let user = new_user(&first, "ops@test.example").await;
    let issued = issue(
        &first,
        &[
            "--user",
            &user,
            "--tier",
            "enterprise",
            "--scopes",
            "auth:manage",
        ],
    )
    .await
    .ok()
    .json();
    let key = issued["key"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();
    for app in [&first, &second] {
        assert_eq!(app.get(USAGE, &key).await.status(), 200);
    }
    let revoked = admin(&first, &["api-keys", "revoke", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(revoked["revoked"], true);
    for app in [&first, &second] {
        let refused = eventually(Duration::from_secs(1), || async {
            app.get(USAGE, &key).await.status() == 401
        })
        .await;
        assert!(refused, "revocation not seen within 1 s");
        expect_problem(app.get(USAGE, &key).await, 401, "API_KEY_REVOKED").await;
    }
    // Revoking again changes nothing and says so.
    let again = admin(&first, &["api-keys", "revoke", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(again["changed"], false);
}

async fn issuance_takes_every_option_and_prints_the_key_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = new_user(&app, "opts@test.example").await;
    let out = issue(
        &app,
        &[
            "--user",
            &user,
            "--tier",
            "developer",
            "--scopes",
            "markets:read,auth:manage",
            "--name",
            "bot 1",
            "--ip-allowlist",
            "127.0.0.1, 10.0.0.0/8",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--expires-at",
            "2099-01-01T00:00:00Z",
            "--rate-limit",
            "10",
            "--per-trade-cap",
            "12.5",
            "--daily-cap",
            "100",
            "--confirm-threshold",
            "50",
        ],
    )
    .await
    .ok();
    let json = out.json();
    let key = json["key"].as_str().unwrap();
    assert!(key.starts_with("kash_test_") && key.len() == 42);
    assert_eq!(json["tier"], "developer");
    assert_eq!(
        json["scopes"],
        serde_json::json!(["markets:read", "auth:manage"])
    );
    assert_eq!(
        json["limits"],
        serde_json::json!({
            "rateLimitPerMinute": 10,
            "perTradeLimitUsdc": "12500000",
            "dailySpendLimitUsdc": "100000000",
            "highValueTradeThresholdUsdc": "50000000",
        })
    );
    let secret = json["webhookSecret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() == 49);
    // The key works from the allowlisted address with its own rate limit.
    let resp = app.get(USAGE, key).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-ratelimit-limit"], "10");
    // Listings never show the plaintext or the secret.
    let list = admin(&app, &["api-keys", "list", "--user", &user, "--json"])
        .await
        .ok();
    assert!(!list.stdout.contains(key) && !list.stdout.contains(secret));
    let listed = &list.json()["data"][0];
    assert_eq!(listed["name"], "bot 1");
    assert_eq!(listed["ipAllowlist"], "127.0.0.1,10.0.0.0/8");
    assert_eq!(listed["status"], "active");
    assert_eq!(listed["expiresAt"], "2099-01-01T00:00:00.000Z");
    assert!(listed["hint"]
        .as_str()
        .unwrap()
        .ends_with(&key[key.len() - 4..]));
    // Human output shows the key once, with a warning.
    let human = admin(
        &app,
        &["api-keys", "issue", "--user", &user, "--tier", "free"],
    )
    .await
    .ok();
    assert_eq!(
        human.stdout.matches("kash_test_").count(),
        1,
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("shown only once"));
}

async fn the_active_key_cap(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = new_user(&app, "cap@test.example").await;
    for _ in 0..5 {
        issue(&app, &["--user", &user, "--tier", "free"]).await.ok();
    }
    let refused = issue(&app, &["--user", &user, "--tier", "free"]).await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("ACTIVE_KEY_LIMIT_REACHED"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.json()["error"]["code"], "ACTIVE_KEY_LIMIT_REACHED");
    admin(
        &app,
        &["users", "set-key-cap", "--user", &user, "--max-active", "6"],
    )
    .await
    .ok();
    issue(&app, &["--user", &user, "--tier", "free"]).await.ok();
    // Revoked keys free their slot.
    let keys = admin(&app, &["api-keys", "list", "--user", &user, "--json"])
        .await
        .ok()
        .json();
    let first = keys["data"][0]["id"].as_str().unwrap().to_string();
    admin(&app, &["api-keys", "revoke", &first]).await.ok();
    issue(&app, &["--user", &user, "--tier", "free"]).await.ok();

    // Organizations: members, org-scoped keys and their own cap.
    let org = admin(
        &app,
        &[
            "orgs", "create", "--name", "Acme", "--slug", "acme", "--json",
        ],
    )
    .await
    .ok()
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = admin(
        &app,
        &[
            "orgs",
            "add-member",
            "--org",
            &org,
            "--user",
            &user,
            "--role",
            "owner",
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(member["role"], "owner");
    admin(
        &app,
        &["orgs", "set-key-cap", "--org", &org, "--max-active", "1"],
    )
    .await
    .ok();
    let org_key = issue(
        &app,
        &[
            "--org",
            &org,
            "--tier",
            "enterprise",
            "--scopes",
            "auth:manage",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(
        app.get(USAGE, org_key["key"].as_str().unwrap())
            .await
            .status(),
        200
    );
    let refused = issue(&app, &["--org", &org, "--tier", "free"]).await;
    assert!(refused.stderr.contains("ACTIVE_KEY_LIMIT_REACHED"));
}

async fn exit_codes_and_one_line_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bad_uuid = admin(&app, &["api-keys", "revoke", "not-a-uuid"]).await;
    assert_eq!(bad_uuid.code, 2);
    assert_eq!(
        bad_uuid.stderr.trim().lines().count(),
        1,
        "{}",
        bad_uuid.stderr
    );
    assert_eq!(admin(&app, &["frobnicate"]).await.code, 2);
    assert_eq!(
        admin(&app, &["api-keys", "issue", "--tier", "free"])
            .await
            .code,
        2
    );
    let unknown = admin(
        &app,
        &["api-keys", "revoke", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("RESOURCE_NOT_FOUND"));
    let bad_email = admin(&app, &["users", "create", "--email", "nope", "--json"]).await;
    assert_eq!(bad_email.code, 2);
    assert_eq!(bad_email.json()["error"]["issues"][0]["path"], "email");
    new_user(&app, "dup@test.example").await;
    let dup = admin(&app, &["users", "create", "--email", "DUP@test.example"]).await;
    assert_eq!(dup.code, 2);
    assert!(dup.stderr.contains("already registered"));
    let bad_tier = admin(
        &app,
        &[
            "api-keys",
            "issue",
            "--user",
            "00000000-0000-4000-8000-000000000000",
            "--tier",
            "gold",
        ],
    )
    .await;
    assert_eq!(bad_tier.code, 2);
    let bad_flag = admin(&app, &["kill-switch", "set", "api-nope"]).await;
    assert_eq!(bad_flag.code, 2);
    assert!(bad_flag.stderr.contains("unknown flag"));
    let migrate = admin(&app, &["migrate", "--json"]).await.ok().json();
    assert_eq!(migrate["migrated"], true);
    assert_eq!(migrate["backend"], backend.as_str());
}

async fn kill_switches_updates_and_the_audit_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = new_user(&app, "audit@test.example").await;
    let issued = issue(
        &app,
        &[
            "--user",
            &user,
            "--tier",
            "enterprise",
            "--scopes",
            "auth:manage",
        ],
    )
    .await
    .ok()
    .json();
    let key = issued["key"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();

    admin(
        &app,
        &[
            "kill-switch",
            "set",
            "api-account-read",
            "--reason",
            "maintenance",
        ],
    )
    .await
    .ok();
    let off = eventually(Duration::from_secs(1), || async {
        app.get(USAGE, &key).await.status() == 503
    })
    .await;
    assert!(off, "kill switch not applied within 1 s");
    let listed = admin(&app, &["kill-switch", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(listed["on"][0]["flag"], "api-account-read");
    admin(&app, &["kill-switch", "clear", "api-account-read"])
        .await
        .ok();
    let on = eventually(Duration::from_secs(1), || async {
        app.get(USAGE, &key).await.status() == 200
    })
    .await;
    assert!(on, "kill switch not cleared within 1 s");

    let updated = admin(
        &app,
        &[
            "api-keys",
            "update",
            &id,
            "--name",
            "renamed",
            "--ip-allowlist",
            "10.0.0.0/8",
            "--webhook-url",
            "http://127.0.0.1:9/h",
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["ipAllowlist"], "10.0.0.0/8");
    assert_eq!(updated["webhookUrl"], "http://127.0.0.1:9/h");
    assert!(updated["webhookSecret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    // The allowlist applies at once: this test client is not in 10.0.0.0/8.
    expect_problem(app.get(USAGE, &key).await, 403, "IP_NOT_ALLOWED").await;
    let bad = admin(
        &app,
        &["api-keys", "update", &id, "--webhook-url", "ftp://x"],
    )
    .await;
    assert_eq!(bad.code, 2);

    let log = admin(&app, &["audit", "--key", &id, "--json"])
        .await
        .ok()
        .json();
    let kinds: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "key_issued",
        "allowlist_changed",
        "webhook_url_changed",
        "key_updated",
        "auth_failure",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(
        !log.to_string().contains(&key),
        "the audit log must never hold a plaintext key"
    );
    let failure = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "auth_failure")
        .unwrap();
    assert_eq!(failure["code"], "IP_NOT_ALLOWED");
    assert_eq!(failure["ip"], "127.0.0.1");
    let by_ip = admin(&app, &["audit", "--ip", "127.0.0.1", "--json"])
        .await
        .ok()
        .json();
    assert!(by_ip["count"].as_u64().unwrap() >= 1);
    let all = admin(&app, &["audit", "--json"]).await.ok().json();
    let kinds: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"kill_switch_set")
            && kinds.contains(&"kill_switch_cleared")
            && kinds.contains(&"user_created")
    );
    let human = admin(&app, &["audit", "--since", "2000-01-01T00:00:00Z"])
        .await
        .ok();
    assert!(human.stdout.contains("key_issued"));
}

backend_tests!(
    issued_key_works_at_once_and_revocation_reaches_every_instance,
    issuance_takes_every_option_and_prints_the_key_once,
    the_active_key_cap,
    exit_codes_and_one_line_failures,
    kill_switches_updates_and_the_audit_log,
);
