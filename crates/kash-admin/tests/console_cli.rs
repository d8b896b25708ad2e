//! The operator commands the console depends on, run as the real binary against the database of
//! a running server: `users set-password --password-stdin` (the user can then sign in; their
//! sessions end on a change), `users set-tier` and `orgs set-tier` (the tier the console issues
//! keys at).

use kash_testkit::console::ConsoleClient;
use kash_testkit::{backend_tests, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = env!("CARGO_BIN_EXE_kash-admin");

async fn set_password_lets_a_user_sign_in_and_ends_old_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app
        .run_cli(
            ADMIN,
            &["users", "create", "--email", "ops@test.example", "--json"],
        )
        .await
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // No password yet: sign-in fails like any wrong password.
    let mut client = ConsoleClient::new(&app);
    assert_eq!(
        client
            .sign_in("ops@test.example", "first password")
            .await
            .status(),
        200
    );

    let out = app
        .run_cli_stdin(
            ADMIN,
            &[
                "users",
                "set-password",
                "--user",
                &user,
                "--password-stdin",
                "--json",
            ],
            "first password\n",
        )
        .await
        .ok();
    assert!(!out.stdout.contains("first password"), "never echoed");
    assert_eq!(out.json()["passwordSet"], true);
    assert_eq!(out.json()["sessionsEnded"], 0);
    assert_eq!(
        client
            .sign_in("ops@test.example", "first password")
            .await
            .status(),
        303
    );
    assert_eq!(client.page("/settings/api-keys").await.status(), 200);
    // Stored as argon2id (m = 19 MiB, t = 2, p = 1), never in clear.
    let stored: Option<String> =
        kash_store::sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(&user)
            .fetch_one(app.svc.db.reader())
            .await
            .unwrap();
    let stored = stored.unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );

    // A new password ends every session and replaces the old password.
    let out = app
        .run_cli_stdin(
            ADMIN,
            &[
                "users",
                "set-password",
                "--user",
                &user,
                "--password-stdin",
                "--json",
            ],
            "second password",
        )
        .await
        .ok();
    assert_eq!(out.json()["sessionsEnded"], 1);
    assert_eq!(client.page("/settings/api-keys").await.status(), 303);
    let mut fresh = ConsoleClient::new(&app);
    assert_eq!(
        fresh
            .sign_in("ops@test.example", "first password")
            .await
            .status(),
        200
    );
    assert_eq!(
        fresh
            .sign_in("ops@test.example", "second password")
            .await
            .status(),
        303
    );

    // Refusals: too short (usage, 2), not a UUID (2), unknown user (1); the human line too.
    let short = app
        .run_cli_stdin(
            ADMIN,
            &["users", "set-password", "--user", &user, "--password-stdin"],
            "short",
        )
        .await;
    assert_eq!(short.code, 2, "{short:?}");
    assert!(short.stderr.contains("password"), "{short:?}");
    let bad = app
        .run_cli_stdin(
            ADMIN,
            &[
                "users",
                "set-password",
                "--user",
                "nope",
                "--password-stdin",
            ],
            "long enough password",
        )
        .await;
    assert_eq!(bad.code, 2);
    let unknown = app
        .run_cli_stdin(
            ADMIN,
            &[
                "users",
                "set-password",
                "--user",
                "00000000-0000-4000-8000-000000000000",
                "--password-stdin",
                "--json",
            ],
            "long enough password",
        )
        .await;
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.json()["error"]["code"], "RESOURCE_NOT_FOUND");
    // The flag is required: a password is never taken from the command line.
    let missing = app
        .run_cli(ADMIN, &["users", "set-password", "--user", &user])
        .await;
    assert_eq!(missing.code, 2);
    let human = app
        .run_cli_stdin(
            ADMIN,
            &["users", "set-password", "--user", &user, "--password-stdin"],
            "third password",
        )
        .await
        .ok();
    assert!(human.stdout.contains("password set for user"));
}

async fn set_tier_decides_the_console_tier(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app
        .user_with_password("tiers@test.example", "a fine password")
        .await;
    let org = app.org("tiered").await;
    kash_service::orgs::add_member(&app.svc, &org, &user, "owner", "test")
        .await
        .unwrap();
    let out = app
        .run_cli(
            ADMIN,
            &[
                "users",
                "set-tier",
                "--user",
                &user,
                "--tier",
                "developer",
                "--json",
            ],
        )
        .await
        .ok();
    assert_eq!(out.json(), json!({ "id": user, "tier": "developer" }));
    let out = app
        .run_cli(
            ADMIN,
            &[
                "orgs",
                "set-tier",
                "--org",
                &org,
                "--tier",
                "enterprise",
                "--json",
            ],
        )
        .await
        .ok();
    assert_eq!(out.json()["tier"], "enterprise");

    let mut client = ConsoleClient::new(&app);
    assert_eq!(
        client
            .sign_in("tiers@test.example", "a fine password")
            .await
            .status(),
        303
    );
    let personal: Value = client
        .json(
            Method::POST,
            "/api/account/api-keys",
            Some(json!({ "name": "p" })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(personal["apiKey"]["tier"], "developer");
    assert_eq!(personal["apiKey"]["limits"]["rateLimitPerMinute"], 300);
    let orgs: Value = client
        .json(
            Method::POST,
            "/api/account/api-keys",
            Some(json!({ "name": "o", "organizationId": org })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orgs["apiKey"]["tier"], "enterprise");
    // Enterprise defaults include trading scopes.
    assert!(orgs["apiKey"]["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("trades:write")));

    // Refusals: an unknown tier is a usage error; an unknown owner is not found.
    let bad = app
        .run_cli(
            ADMIN,
            &["users", "set-tier", "--user", &user, "--tier", "gold"],
        )
        .await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--tier"), "{bad:?}");
    let unknown = app
        .run_cli(
            ADMIN,
            &[
                "orgs",
                "set-tier",
                "--org",
                "00000000-0000-4000-8000-000000000000",
                "--tier",
                "free",
            ],
        )
        .await;
    assert_eq!(unknown.code, 1);
    let human = app
        .run_cli(
            ADMIN,
            &["orgs", "set-tier", "--org", &org, "--tier", "free"],
        )
        .await
        .ok();
    assert!(human.stdout.contains("tier free"));
}

backend_tests!(
    set_password_lets_a_user_sign_in_and_ends_old_sessions,
    set_tier_decides_the_console_tier,
);
