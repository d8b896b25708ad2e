//! Market proposals (`organizations-embeds-portal.md` §1, §7) as operators run them: the real
//! `kash-admin` binary against the database of a running server. Approval pays the seed from
//! the organization's balance in the transaction that opens the market; refusals change
//! nothing; proposals never show on the `/api` or `/v1` market lists.

use kash_store::audit::{self, AuditFilter};
use kash_store::ledger::{self, kind};
use kash_testkit::{backend_tests, Backend, CliOutput, TestApp};
use serde_json::{json, Value};

const ADMIN: &str = env!("CARGO_BIN_EXE_kash-admin");

async fn admin(app: &TestApp, args: &[&str]) -> CliOutput {
    app.run_cli(ADMIN, args).await
}

async fn ok_json(app: &TestApp, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    admin(app, &all).await.ok().json()
}

/// A failing `--json` run: its exit code and error code.
async fn fails(app: &TestApp, args: &[&str], exit: i32, code: &str) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = admin(app, &all).await;
    assert_eq!(out.code, exit, "{args:?}: {out:?}");
    let body = out.json();
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

async fn org_balance(app: &TestApp, org: &str) -> i64 {
    let account = ledger::account_id(app.svc.db.reader(), kind::ORG, org)
        .await
        .unwrap()
        .unwrap();
    ledger::get_account(app.svc.db.reader(), &account)
        .await
        .unwrap()
        .unwrap()
        .balance_atomic
}

async fn market_rows(app: &TestApp) -> i64 {
    kash_store::sqlx::query_scalar("SELECT COUNT(*) FROM markets")
        .fetch_one(app.svc.db.reader())
        .await
        .unwrap()
}

async fn ledger_balanced(app: &TestApp) {
    let out = admin(app, &["ledger", "check", "--json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["balanced"], true);
}

async fn public_ids(app: &TestApp) -> Vec<String> {
    let body: Value = app
        .http
        .get(app.url("/api/markets?status=all"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["markets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn v1_ids(app: &TestApp, key: &str) -> Vec<String> {
    let body: Value = app
        .http
        .get(app.url("/v1/markets"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    audit::list(
        app.svc.db.reader(),
        &AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.kind)
    .collect()
}

fn propose_args<'a>(org: &'a str, title: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "markets",
        "propose",
        "--org",
        org,
        "--title",
        title,
        "--outcomes",
        "Yes, No",
        "--seed-usdc",
        seed,
    ]
}

async fn approve_debits_the_seed_and_refusals_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    let user = ok_json(&app, &["users", "create", "--email", "t@test.example"]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = ok_json(
        &app,
        &["api-keys", "issue", "--user", &user, "--tier", "mm"],
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    ok_json(&app, &["accounts", "credit", "--org", &org, "--usdc", "30"]).await;

    let mut args = propose_args("acme", "Rain tomorrow?", "25");
    args.extend([
        "--description",
        "Will it rain?",
        "--resolution-sources",
        "Met office report",
        "--freeze-at",
        "2030-01-01T00:00:00Z",
        "--resolve-at",
        "2030-01-02T00:00:00Z",
        "--category",
        "Weather",
        "--tags",
        "rain,sky",
    ]);
    let p = ok_json(&app, &args).await;
    assert_eq!(p["state"], "proposed");
    assert_eq!(p["organizationId"], org.as_str());
    assert_eq!(p["outcomes"], json!(["Yes", "No"]));
    assert_eq!(p["seedUsdc"], "25000000");
    assert_eq!(p["resolutionSources"], "Met office report");
    assert_eq!(p["category"], "weather");
    assert_eq!(p["tags"], json!(["rain", "sky"]));
    assert_eq!(p["marketId"], Value::Null);
    let first = p["id"].as_str().unwrap().to_string();
    let second = ok_json(&app, &propose_args(&org, "Snow?", "20")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Filing moves no money and opens nothing; proposals are on no market list.
    assert_eq!(org_balance(&app, &org).await, 30_000_000);
    assert_eq!(market_rows(&app).await, 0);
    assert!(public_ids(&app).await.is_empty());
    assert!(v1_ids(&app, &key).await.is_empty());
    let listed = ok_json(
        &app,
        &[
            "markets",
            "proposals",
            "--org",
            "acme",
            "--state",
            "proposed",
        ],
    )
    .await;
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["proposals"][0]["id"], second.as_str());

    // Approve: exactly the seed leaves the org's balance; the market opens with the fields.
    let approved = ok_json(&app, &["markets", "approve", &first]).await;
    assert_eq!(approved["state"], "live");
    let market = approved["market"]["id"].as_str().unwrap().to_string();
    assert_eq!(approved["marketId"], market.as_str());
    assert_eq!(approved["market"]["phase"], "ACTIVE");
    assert_eq!(approved["market"]["seedUsdc"], "25000000");
    assert_eq!(approved["market"]["category"], "weather");
    assert_eq!(approved["market"]["tags"], json!(["rain", "sky"]));
    assert_eq!(approved["market"]["organizationId"], org.as_str());
    assert_eq!(approved["market"]["freezeAt"], "2030-01-01T00:00:00.000Z");
    assert_eq!(org_balance(&app, &org).await, 5_000_000);
    ledger_balanced(&app).await;
    assert_eq!(public_ids(&app).await, vec![market.clone()]);
    assert_eq!(v1_ids(&app, &key).await, vec![market.clone()]);

    // A second approval is refused, naming the state; nothing moves.
    let again = fails(
        &app,
        &["markets", "approve", &first],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let text = again.to_string();
    assert!(text.contains("is live"), "{text}");
    assert_eq!(org_balance(&app, &org).await, 5_000_000);
    assert_eq!(market_rows(&app).await, 1);

    // Short balance: INSUFFICIENT_BALANCE, and nothing changes.
    fails(
        &app,
        &["markets", "approve", &second],
        1,
        "INSUFFICIENT_BALANCE",
    )
    .await;
    assert_eq!(org_balance(&app, &org).await, 5_000_000);
    assert_eq!(market_rows(&app).await, 1);
    let still = ok_json(&app, &["markets", "proposals", "--state", "proposed"]).await;
    assert_eq!(still["count"], 1);
    assert_eq!(still["proposals"][0]["id"], second.as_str());
    assert_eq!(still["proposals"][0]["marketId"], Value::Null);
    ledger_balanced(&app).await;

    // Reject records the reason; a rejected proposal can be neither approved nor re-rejected.
    fails(
        &app,
        &["markets", "reject", &second, "--reason", "  "],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let rejected = ok_json(
        &app,
        &[
            "markets",
            "reject",
            &second,
            "--reason",
            "Duplicate of Rain",
        ],
    )
    .await;
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["rejectionReason"], "Duplicate of Rain");
    assert!(rejected["decidedAt"].is_string());
    fails(
        &app,
        &["markets", "approve", &second],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    fails(
        &app,
        &["markets", "reject", &second, "--reason", "x"],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    fails(
        &app,
        &["markets", "reject", &first, "--reason", "x"],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let listed = ok_json(&app, &["markets", "proposals", "--state", "rejected"]).await;
    assert_eq!(listed["count"], 1);
    assert_eq!(
        listed["proposals"][0]["rejectionReason"],
        "Duplicate of Rain"
    );
    assert_eq!(
        ok_json(&app, &["markets", "proposals", "--state", "live"]).await["count"],
        1
    );
    assert_eq!(ok_json(&app, &["markets", "proposals"]).await["count"], 2);
    fails(
        &app,
        &["markets", "proposals", "--state", "bogus"],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    fails(
        &app,
        &["markets", "approve", "00000000-0000-4000-8000-000000000000"],
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    assert_eq!(org_balance(&app, &org).await, 5_000_000);
    ledger_balanced(&app).await;
    let kinds = audit_kinds(&app).await;
    for k in [
        "market_proposed",
        "market_proposal_approved",
        "market_created",
        "market_proposal_rejected",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} not audited: {kinds:?}");
    }
}

async fn validation_and_suspended_organizations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    let other = app.org("other").await;
    ok_json(
        &app,
        &["accounts", "credit", "--org", &org, "--usdc", "100"],
    )
    .await;
    let thread = kash_service::threads::create(
        &app.svc,
        &other,
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
    // The market checks of `markets create` apply when filing.
    let mut one = propose_args(&org, "x", "20");
    one[7] = "Only";
    fails(&app, &one, 2, "VALIDATION_FAILED").await;
    fails(
        &app,
        &propose_args(&org, "x", "19.999999"),
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let mut foreign = propose_args(&org, "x", "20");
    foreign.extend(["--thread", &thread]);
    let body = fails(&app, &foreign, 2, "VALIDATION_FAILED").await;
    assert!(body.to_string().contains("threadId"), "{body}");
    let mut tweet = propose_args(&org, "x", "20");
    tweet.extend(["--source-tweet-url", "https://example.com/s/1"]);
    fails(&app, &tweet, 2, "VALIDATION_FAILED").await;
    fails(
        &app,
        &propose_args("nobody", "x", "20"),
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    assert_eq!(
        ok_json(&app, &["markets", "proposals"]).await["count"],
        0,
        "a refused proposal is not stored"
    );
    // A suspended organization's proposals cannot be approved; nothing moves.
    let id = ok_json(&app, &propose_args(&org, "Rain?", "40")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok_json(&app, &["orgs", "suspend", "--org", &org]).await;
    let body = fails(&app, &["markets", "approve", &id], 2, "VALIDATION_FAILED").await;
    assert!(body.to_string().contains("suspended"), "{body}");
    assert_eq!(org_balance(&app, &org).await, 100_000_000);
    assert_eq!(market_rows(&app).await, 0);
    ok_json(&app, &["orgs", "activate", "--org", &org]).await;
    let approved = ok_json(&app, &["markets", "approve", &id]).await;
    assert_eq!(approved["state"], "live");
    assert_eq!(org_balance(&app, &org).await, 60_000_000);
    ledger_balanced(&app).await;
    // Human output names the proposal and its state.
    let out = admin(&app, &["markets", "proposals", "--org", &org])
        .await
        .ok();
    assert!(
        out.stdout.contains(&format!("proposal {id}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("is live"), "{}", out.stdout);
}

/// Two operators approving the same proposal at once: one market opens, one seed is paid.
async fn concurrent_approvals_open_one_market(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    ok_json(
        &app,
        &["accounts", "credit", "--org", &org, "--usdc", "100"],
    )
    .await;
    let id = ok_json(&app, &propose_args(&org, "Rain?", "30")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let args = ["markets", "approve", id.as_str(), "--json"];
    let (a, b) = tokio::join!(admin(&app, &args), admin(&app, &args));
    let mut codes = [a.code, b.code];
    codes.sort_unstable();
    assert_eq!(codes, [0, 2], "{a:?} {b:?}");
    assert_eq!(market_rows(&app).await, 1);
    assert_eq!(org_balance(&app, &org).await, 70_000_000);
    ledger_balanced(&app).await;
}

backend_tests!(
    approve_debits_the_seed_and_refusals_change_nothing,
    concurrent_approvals_open_one_market,
    validation_and_suspended_organizations
);
