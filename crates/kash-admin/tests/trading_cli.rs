//! The trading commands of `kash-admin` (real binary, same database as a running server):
//! `accounts credit|debit`, `markets create|freeze|cancel|resolve`, and `ledger check`, which
//! exits non-zero as soon as any invariant breaks.

use kash_testkit::{backend_tests, expect_problem, Backend, CliOutput, TestApp};
use serde_json::json;

const ADMIN: &str = env!("CARGO_BIN_EXE_kash-admin");

async fn admin(app: &TestApp, args: &[&str]) -> CliOutput {
    app.run_cli(ADMIN, args).await
}

async fn operator_funds_trades_settles_and_checks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = admin(
        &app,
        &["users", "create", "--email", "op@test.example", "--json"],
    )
    .await
    .ok()
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    // Deposits, a withdrawal, and a refused overdraft.
    let out = admin(
        &app,
        &[
            "accounts", "credit", "--user", &user, "--usdc", "250.5", "--json",
        ],
    )
    .await
    .ok();
    assert_eq!(out.json()["balanceUsdc"], "250500000");
    let out = admin(
        &app,
        &[
            "accounts", "debit", "--user", &user, "--usdc", "0.5", "--json",
        ],
    )
    .await
    .ok();
    assert_eq!(out.json()["balanceUsdc"], "250000000");
    let out = admin(
        &app,
        &[
            "accounts", "debit", "--user", &user, "--usdc", "1000", "--json",
        ],
    )
    .await;
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["error"]["code"], "INSUFFICIENT_BALANCE");
    let out = admin(
        &app,
        &["accounts", "credit", "--user", &user, "--usdc", "1e3"],
    )
    .await;
    assert_eq!(out.code, 2);
    let out = admin(&app, &["accounts", "credit", "--usdc", "5"]).await;
    assert_eq!(out.code, 2, "a holder is required");
    admin(&app, &["accounts", "credit", "--org", &org, "--usdc", "30"])
        .await
        .ok();
    // An organization market paid from the org's balance, an operator market from the treasury.
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--title",
            "Rain tomorrow?",
            "--outcomes",
            "Yes,No",
            "--org",
            &org,
            "--seed-usdc",
            "25",
            "--json",
        ],
    )
    .await
    .ok();
    let org_market = out.json()["id"].as_str().unwrap().to_string();
    assert_eq!(out.json()["phase"], "ACTIVE");
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--title",
            "Too big",
            "--outcomes",
            "Yes,No",
            "--org",
            &org,
            "--seed-usdc",
            "25",
        ],
    )
    .await;
    assert_eq!(
        out.code, 1,
        "the org's balance no longer covers a seed: {out:?}"
    );
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--title",
            "Three",
            "--outcomes",
            "A,B,C",
            "--seed-usdc",
            "30",
            "--resolve-at",
            "2030-01-01T00:00:00Z",
            "--fee-bps",
            "200",
            "--sell-fee-bps",
            "0",
            "--json",
        ],
    )
    .await
    .ok();
    let op_market = out.json()["id"].as_str().unwrap().to_string();
    for bad in [
        vec!["markets", "create", "--title", "x", "--outcomes", "Only"],
        vec![
            "markets",
            "create",
            "--title",
            "x",
            "--outcomes",
            "A,B",
            "--seed-usdc",
            "19.999999",
        ],
        vec![
            "markets",
            "create",
            "--title",
            "x",
            "--outcomes",
            "A,B",
            "--fee-bps",
            "501",
        ],
        vec![
            "markets",
            "create",
            "--title",
            "x",
            "--outcomes",
            "A,B,C,D,E,F,G,H,I",
        ],
        vec![
            "markets",
            "create",
            "--title",
            "x",
            "--outcomes",
            "A,B",
            "--freeze-at",
            "tomorrow",
        ],
    ] {
        assert_eq!(admin(&app, &bad).await.code, 2, "{bad:?}");
    }
    // A trade through the API, then the lifecycle commands.
    let key = admin(
        &app,
        &[
            "api-keys", "issue", "--json", "--user", &user, "--tier", "mm",
        ],
    )
    .await
    .ok()
    .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .http
        .post(app.url("/v1/trades"))
        .header("X-API-Key", &key)
        .json(&json!({"marketId": org_market, "outcomeIndex": 0, "side": "buy", "amount": "10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = app
        .http
        .post(app.url("/v1/trades"))
        .header("X-API-Key", &key)
        .json(&json!({"marketId": op_market, "outcomeIndex": 2, "side": "buy", "amount": "3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let out = admin(&app, &["markets", "freeze", &org_market, "--json"])
        .await
        .ok();
    assert_eq!(out.json()["phase"], "FROZEN");
    let resp = app
        .http
        .post(app.url("/v1/trades"))
        .header("X-API-Key", &key)
        .json(&json!({"marketId": org_market, "outcomeIndex": 0, "side": "buy", "amount": "1"}))
        .send()
        .await
        .unwrap();
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    let out = admin(
        &app,
        &["markets", "resolve", &org_market, "--winner", "0", "--json"],
    )
    .await
    .ok();
    assert_eq!(out.json()["winningOutcomes"], json!([0]));
    assert_eq!(
        admin(&app, &["markets", "resolve", &org_market, "--winner", "1"])
            .await
            .code,
        1
    );
    assert_eq!(
        admin(&app, &["markets", "resolve", &op_market, "--winner", "3"])
            .await
            .code,
        2
    );
    assert_eq!(
        admin(&app, &["markets", "freeze", "not-a-uuid"]).await.code,
        2
    );
    let out = admin(&app, &["markets", "cancel", &op_market, "--json"])
        .await
        .ok();
    assert_eq!(out.json()["phase"], "CANCELLED");
    // Settlement runs in the server's worker; the books balance throughout.
    let settled = kash_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let a = kash_store::markets::get(app.svc.db.reader(), &org_market)
            .await
            .unwrap()
            .unwrap();
        let b = kash_store::markets::get(app.svc.db.reader(), &op_market)
            .await
            .unwrap()
            .unwrap();
        a.settled_at.is_some() && b.settled_at.is_some()
    })
    .await;
    assert!(settled);
    let out = admin(&app, &["ledger", "check", "--json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["balanced"], true);
    let out = admin(&app, &["ledger", "check"]).await.ok();
    assert!(out.stdout.contains("ledger balanced"));

    // Break the books behind the ledger's back: the check fails, naming the break.
    kash_store::sqlx::query(
        "UPDATE ledger_accounts SET balance_atomic = balance_atomic + 1 WHERE kind = 'user'",
    )
    .execute(app.svc.db.writer())
    .await
    .unwrap();
    let out = admin(&app, &["ledger", "check", "--json"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().next().map(|_| ()), Some(()));
    assert!(out.stdout.contains("entries sum to"), "{}", out.stdout);
    assert!(
        out.stdout.contains("balance identity broken") || out.stdout.contains("sum to 1"),
        "{}",
        out.stdout
    );
}

async fn unbalanced_postings_and_state_drift_are_caught(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--title",
            "M",
            "--outcomes",
            "Y,N",
            "--json",
        ],
    )
    .await
    .ok();
    let m = out.json()["id"].as_str().unwrap().to_string();
    admin(&app, &["ledger", "check"]).await.ok();
    // A market whose state no longer matches its ledger balance.
    kash_store::sqlx::query("UPDATE markets SET balance_atomic = balance_atomic - 1 WHERE id = $1")
        .bind(&m)
        .execute(app.svc.db.writer())
        .await
        .unwrap();
    let out = admin(&app, &["ledger", "check"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains(&format!("market {m}")),
        "{}",
        out.stdout
    );
}

/// `markets create` takes the §1 fields; `markets feature|unfeature` set the public flag.
async fn market_fields_and_the_featured_flag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    admin(
        &app,
        &["accounts", "credit", "--org", &org, "--usdc", "100"],
    )
    .await
    .ok();
    let thread = kash_service::threads::create(
        &app.svc,
        &org,
        &kash_service::threads::ThreadFields {
            title: Some("Season".into()),
            description: Some("d".into()),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--json",
            "--title",
            "Rain?",
            "--outcomes",
            "Yes,No",
            "--org",
            &org,
            "--category",
            "Weather",
            "--tags",
            "rain, Sky",
            "--thread",
            &thread,
            "--source-tweet-url",
            "https://twitter.com/a/status/1",
            "--chapter-id",
            "c1",
            "--chapter-title",
            "One",
            "--chapter-position",
            "1",
            "--chapter-total",
            "3",
        ],
    )
    .await
    .ok();
    let m = out.json();
    assert_eq!(m["category"], "weather");
    assert_eq!(m["tags"], json!(["rain", "sky"]));
    assert_eq!(m["threadId"], thread);
    assert_eq!(m["sourceTweetUrl"], "https://twitter.com/a/status/1");
    assert_eq!(m["chapterId"], "c1");
    assert_eq!(m["chapterPosition"], 1);
    assert_eq!(m["chapterTotal"], 3);
    assert_eq!(m["featured"], false);
    let id = m["id"].as_str().unwrap().to_string();
    let out = admin(&app, &["markets", "feature", &id, "--json"])
        .await
        .ok();
    assert_eq!(out.json()["featured"], true);
    let body: serde_json::Value = app
        .http
        .get(app.url("/api/markets/featured"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["markets"][0]["id"], id);
    assert_eq!(body["_meta"]["count"], 1);
    let out = admin(&app, &["markets", "unfeature", &id, "--json"])
        .await
        .ok();
    assert_eq!(out.json()["featured"], false);
    // A tweet on another host is refused (usage/validation: non-zero exit).
    let out = admin(
        &app,
        &[
            "markets",
            "create",
            "--title",
            "x",
            "--outcomes",
            "A,B",
            "--org",
            &org,
            "--source-tweet-url",
            "https://example.com/status/1",
        ],
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("sourceTweetUrl"), "{out:?}");
    let out = admin(
        &app,
        &["markets", "feature", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert_ne!(out.code, 0);
}

backend_tests!(
    market_fields_and_the_featured_flag,
    operator_funds_trades_settles_and_checks,
    unbalanced_postings_and_state_drift_are_caught
);
