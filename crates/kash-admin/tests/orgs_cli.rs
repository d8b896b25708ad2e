//! The organization commands of §7 (and the membership commands) as operators run them: the
//! real `kash-admin` binary against the database of a running server, `--json` outputs, exit
//! codes, validation, the last-owner rule, audit entries, and effects visible on the public
//! API within a second.

use std::time::Duration;

use kash_store::audit::{self, AuditFilter};
use kash_testkit::{backend_tests, eventually, Backend, CliOutput, TestApp};
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
    assert!(!out.stderr.trim().is_empty());
    body
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

async fn public_status(app: &TestApp, path: &str) -> u16 {
    app.http
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn update_suspend_and_activate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = ok_json(
        &app,
        &["orgs", "create", "--name", "Acme", "--slug", "acme"],
    )
    .await;
    let id = org["id"].as_str().unwrap().to_string();
    assert_eq!(org["revenueShareBps"], 5000);
    let updated = ok_json(
        &app,
        &[
            "orgs",
            "update",
            "--org",
            "acme",
            "--display-name",
            "Acme Inc",
            "--tagline",
            "Everything",
            "--color",
            "#a1b2c3",
            "--contact-email",
            "ops@acme.example",
            "--frame-ancestors",
            "https://blog.example,http://localhost:3000",
        ],
    )
    .await;
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["displayName"], "Acme Inc");
    assert_eq!(updated["colorPrimary"], "#A1B2C3");
    assert_eq!(
        updated["frameAncestors"],
        json!(["https://blog.example", "http://localhost:3000"])
    );
    // Every bad field is reported at once; nothing changes.
    let long = "x".repeat(141);
    let refused = fails(
        &app,
        &[
            "orgs",
            "update",
            "--org",
            &id,
            "--tagline",
            &long,
            "--color",
            "red",
            "--contact-email",
            "nope",
            "--status",
            "closed",
            "--frame-ancestors",
            "ftp://x",
        ],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let paths: Vec<&str> = refused["error"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "tagline",
            "colorPrimary",
            "contactEmail",
            "status",
            "frameAncestors"
        ]
    );
    let shown = ok_json(&app, &["orgs", "show", "--org", &id]).await;
    assert_eq!(shown["tagline"], "Everything");
    // Clearing an optional field.
    let cleared = ok_json(&app, &["orgs", "update", "--org", &id, "--tagline", ""]).await;
    assert_eq!(cleared["tagline"], Value::Null);
    fails(
        &app,
        &["orgs", "update", "--org", "nobody", "--tagline", "x"],
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    // Suspension reaches the running server's public API within a second, and back.
    assert_eq!(public_status(&app, "/api/organizations/acme").await, 200);
    let suspended = ok_json(&app, &["orgs", "suspend", "--org", "acme"]).await;
    assert_eq!(suspended["status"], "suspended");
    assert!(
        eventually(Duration::from_secs(1), || async {
            public_status(&app, "/api/organizations/acme").await == 404
        })
        .await
    );
    ok_json(&app, &["orgs", "activate", "--org", &id]).await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            public_status(&app, "/api/organizations/acme").await == 200
        })
        .await
    );
    // Every --org takes the slug as well as the id.
    let cap = ok_json(
        &app,
        &["orgs", "set-key-cap", "--org", "acme", "--max-active", "3"],
    )
    .await;
    assert_eq!(cap["id"], id.as_str());
    let tier = ok_json(
        &app,
        &["orgs", "set-tier", "--org", "acme", "--tier", "developer"],
    )
    .await;
    assert_eq!(tier["id"], id.as_str());
    let listed = ok_json(&app, &["orgs", "list"]).await;
    assert_eq!(listed["organizations"][0]["slug"], "acme");
    let kinds = audit_kinds(&app).await;
    for kind in [
        "org_created",
        "org_updated",
        "org_suspended",
        "org_reactivated",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} not audited: {kinds:?}"
        );
    }
}

async fn revenue_share_is_validated_and_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = ok_json(
        &app,
        &[
            "orgs",
            "create",
            "--name",
            "Acme",
            "--slug",
            "acme",
            "--revenue-share-bps",
            "2500",
        ],
    )
    .await;
    assert_eq!(org["revenueShareBps"], 2500);
    let set = ok_json(
        &app,
        &[
            "orgs",
            "set-revenue-share",
            "--org",
            "acme",
            "--bps",
            "4000",
            "--brackets",
            "0:3000,100000:4000,1000000:5000",
        ],
    )
    .await;
    assert_eq!(set["revenueShareBps"], 4000);
    assert_eq!(set["revenueBrackets"], "0:3000,100000:4000,1000000:5000");
    // Without --brackets they are kept; --clear-brackets removes them.
    let kept = ok_json(
        &app,
        &[
            "orgs",
            "set-revenue-share",
            "--org",
            "acme",
            "--bps",
            "4500",
        ],
    )
    .await;
    assert_eq!(kept["revenueBrackets"], "0:3000,100000:4000,1000000:5000");
    for (args, path) in [
        (vec!["--bps", "10001"], "bps"),
        (vec!["--bps", "100", "--brackets", "10:3000"], "brackets"),
        (
            vec!["--bps", "100", "--brackets", "0:3000,0:4000"],
            "brackets",
        ),
        (vec!["--bps", "100", "--brackets", "0:10001"], "brackets"),
        (vec!["--bps", "100", "--brackets", "0:3000;5:1"], "brackets"),
    ] {
        let mut all = vec!["orgs", "set-revenue-share", "--org", "acme"];
        all.extend(args);
        let body = fails(&app, &all, 2, "VALIDATION_FAILED").await;
        assert_eq!(body["error"]["issues"][0]["path"], path);
    }
    let unchanged = ok_json(&app, &["orgs", "show", "--org", "acme"]).await;
    assert_eq!(unchanged["revenueShareBps"], 4500);
    let cleared = ok_json(
        &app,
        &[
            "orgs",
            "set-revenue-share",
            "--org",
            "acme",
            "--bps",
            "5000",
            "--clear-brackets",
        ],
    )
    .await;
    assert_eq!(cleared["revenueBrackets"], Value::Null);
    // A usage error from clap itself is exit 2 as well.
    let out = admin(
        &app,
        &["orgs", "set-revenue-share", "--org", "acme", "--bps", "-5"],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        audit_kinds(&app)
            .await
            .iter()
            .filter(|k| *k == "org_revenue_share_set")
            .count()
            == 3
    );
}

async fn membership_changes_keep_an_owner_and_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = ok_json(
        &app,
        &["orgs", "create", "--name", "Acme", "--slug", "acme"],
    )
    .await;
    let org = org["id"].as_str().unwrap().to_string();
    let alice = app.user("alice@test.example").await;
    let bob = app.user("bob@test.example").await;
    ok_json(
        &app,
        &[
            "orgs",
            "add-member",
            "--org",
            &org,
            "--user",
            &alice,
            "--role",
            "owner",
        ],
    )
    .await;
    ok_json(
        &app,
        &[
            "orgs",
            "add-member",
            "--org",
            "acme",
            "--user",
            &bob,
            "--role",
            "member",
        ],
    )
    .await;
    fails(
        &app,
        &[
            "orgs",
            "add-member",
            "--org",
            "nope",
            "--user",
            &bob,
            "--role",
            "member",
        ],
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    // The only owner can be neither demoted nor removed: 409, exit 1.
    let body = fails(
        &app,
        &[
            "orgs", "set-role", "--org", &org, "--user", &alice, "--role", "admin",
        ],
        1,
        "LAST_OWNER_REQUIRED",
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("owner"));
    fails(
        &app,
        &["orgs", "remove-member", "--org", &org, "--user", &alice],
        1,
        "LAST_OWNER_REQUIRED",
    )
    .await;
    fails(
        &app,
        &[
            "orgs",
            "add-member",
            "--org",
            &org,
            "--user",
            &alice,
            "--role",
            "member",
        ],
        1,
        "LAST_OWNER_REQUIRED",
    )
    .await;
    // With a second owner, the first may go.
    let promoted = ok_json(
        &app,
        &[
            "orgs", "set-role", "--org", &org, "--user", &bob, "--role", "owner",
        ],
    )
    .await;
    assert_eq!(promoted["role"], "owner");
    ok_json(
        &app,
        &[
            "orgs", "set-role", "--org", &org, "--user", &alice, "--role", "admin",
        ],
    )
    .await;
    let removed = ok_json(
        &app,
        &["orgs", "remove-member", "--org", "acme", "--user", &alice],
    )
    .await;
    assert_eq!(removed["removed"], true);
    let members = ok_json(&app, &["orgs", "members", "--org", &org]).await;
    assert_eq!(
        members["members"],
        json!([{"organizationId": org, "userId": bob, "role": "owner"}])
    );
    fails(
        &app,
        &["orgs", "remove-member", "--org", &org, "--user", &alice],
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    fails(
        &app,
        &[
            "orgs", "set-role", "--org", &org, "--user", &bob, "--role", "boss",
        ],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    fails(
        &app,
        &[
            "orgs",
            "set-role",
            "--org",
            &org,
            "--user",
            "not-a-uuid",
            "--role",
            "admin",
        ],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let kinds = audit_kinds(&app).await;
    for (kind, n) in [
        ("membership_added", 2),
        ("membership_role_changed", 2),
        ("membership_removed", 1),
    ] {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            n,
            "{kind}: {kinds:?}"
        );
    }
}

async fn partners_and_threads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = ok_json(
        &app,
        &["orgs", "create", "--name", "Acme", "--slug", "acme"],
    )
    .await;
    let org = org["id"].as_str().unwrap().to_string();
    let other = ok_json(
        &app,
        &["orgs", "create", "--name", "Globex", "--slug", "globex"],
    )
    .await;
    let partner = ok_json(
        &app,
        &[
            "partners",
            "create",
            "--org",
            "acme",
            "--name",
            "Rocket Review",
            "--slug",
            "rocket",
            "--website-url",
            "https://rocket.example",
            "--logo-url",
            "https://cdn.example/r.png",
            "--tagline",
            "Launch coverage",
            "--color",
            "#000000",
        ],
    )
    .await;
    let pid = partner["id"].as_str().unwrap().to_string();
    assert_eq!(partner["organizationId"], org.as_str());
    assert_eq!(partner["status"], "active");
    // https only; slugs unique per organization (another org may reuse it).
    for url_flag in ["--website-url", "--logo-url"] {
        let body = fails(
            &app,
            &[
                "partners",
                "create",
                "--org",
                "acme",
                "--name",
                "X",
                "--slug",
                "x",
                url_flag,
                "http://x.example",
            ],
            2,
            "VALIDATION_FAILED",
        )
        .await;
        assert!(body["error"]["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("https"));
    }
    fails(
        &app,
        &[
            "partners", "create", "--org", "acme", "--name", "Dup", "--slug", "rocket",
        ],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    fails(
        &app,
        &[
            "partners", "create", "--org", "acme", "--name", "Bad", "--slug", "Bad Slug",
        ],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    ok_json(
        &app,
        &[
            "partners", "create", "--org", "globex", "--name", "Rocket", "--slug", "rocket",
        ],
    )
    .await;
    let updated = ok_json(
        &app,
        &[
            "partners",
            "update",
            &pid,
            "--status",
            "inactive",
            "--tagline",
            "",
        ],
    )
    .await;
    assert_eq!(updated["status"], "inactive");
    assert_eq!(updated["tagline"], Value::Null);
    assert_eq!(updated["websiteUrl"], "https://rocket.example");
    fails(
        &app,
        &["partners", "update", &pid, "--status", "gone"],
        2,
        "VALIDATION_FAILED",
    )
    .await;
    let user = app.user("curator@test.example").await;
    ok_json(
        &app,
        &["partners", "add-member", "--partner", &pid, "--user", &user],
    )
    .await;
    let shown = ok_json(&app, &["partners", "show", &pid]).await;
    assert_eq!(shown["memberUserIds"], json!([user]));
    let listed = ok_json(&app, &["partners", "list", "--org", "acme"]).await;
    assert_eq!(listed["partners"].as_array().unwrap().len(), 1);

    let thread = ok_json(
        &app,
        &[
            "threads",
            "create",
            "--org",
            "acme",
            "--title",
            "Rocket season",
            "--partner",
            &pid,
            "--description",
            "**bold** <b>raw</b>",
            "--category",
            "Launches",
            "--tags",
            "Space, rockets,space",
            "--start-time",
            "2030-01-01T00:00:00Z",
            "--end-time",
            "2030-02-01T00:00:00Z",
            "--image",
            "https://cdn.example/t.png",
        ],
    )
    .await;
    let tid = thread["id"].as_str().unwrap().to_string();
    assert_eq!(thread["status"], "upcoming");
    assert_eq!(thread["category"], "launches");
    assert_eq!(thread["tags"], json!(["space", "rockets"]));
    assert_eq!(thread["description"], "**bold** <b>raw</b>");
    assert_eq!(thread["partnerId"], pid.as_str());
    // Bad times, an end before the start, a partner of another organization, http images.
    let other_partner = ok_json(&app, &["partners", "list", "--org", "globex"]).await["partners"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (args, path) in [
        (vec!["--start-time", "tomorrow"], "startTime"),
        (
            vec![
                "--start-time",
                "2030-02-01T00:00:00Z",
                "--end-time",
                "2030-01-01T00:00:00Z",
            ],
            "endTime",
        ),
        (vec!["--partner", other_partner.as_str()], "partnerId"),
        (vec!["--image", "http://cdn.example/t.png"], "image"),
    ] {
        let mut all = vec!["threads", "create", "--org", "acme", "--title", "T"];
        all.extend(args);
        let body = fails(&app, &all, 2, "VALIDATION_FAILED").await;
        assert_eq!(body["error"]["issues"][0]["path"], path);
    }
    let closed = ok_json(
        &app,
        &[
            "threads",
            "update",
            &tid,
            "--start-time",
            "",
            "--end-time",
            "2020-01-01T00:00:00Z",
        ],
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["startTime"], Value::Null);
    let listed = ok_json(&app, &["threads", "list", "--org", &org]).await;
    assert_eq!(listed["threads"][0]["id"], tid.as_str());
    // Visible on the running server's public API.
    let body: Value = app
        .http
        .get(app.url(&format!("/api/threads/{tid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["thread"]["status"], "closed");
    assert_eq!(body["thread"]["tags"], json!(["space", "rockets"]));
    fails(
        &app,
        &["threads", "show", "00000000-0000-4000-8000-000000000000"],
        1,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    let _ = other;
    let kinds = audit_kinds(&app).await;
    for kind in [
        "partner_created",
        "partner_updated",
        "partner_member_added",
        "thread_created",
        "thread_updated",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not audited");
    }
}

backend_tests!(
    update_suspend_and_activate,
    revenue_share_is_validated_and_stored,
    membership_changes_keep_an_owner_and_are_audited,
    partners_and_threads,
);

/// `KASH_DEFAULT_REVENUE_SHARE_BPS` sets the rate of organizations created without one; an
/// out-of-range value is a configuration error (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_revenue_share_is_an_operator_setting() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let run = |bps: &'static str, slug: &'static str| {
        let env = app.cli_env();
        async move {
            let mut cmd = tokio::process::Command::new(ADMIN);
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(env)
                .env("KASH_DEFAULT_REVENUE_SHARE_BPS", bps)
                .args(["orgs", "create", "--name", slug, "--slug", slug, "--json"]);
            cmd.output().await.unwrap()
        }
    };
    let out = run("2500", "quarter").await;
    assert!(out.status.success(), "{out:?}");
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["revenueShareBps"], 2500);
    let out = run("10001", "toomuch").await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Without the setting the contract's default applies.
    let default = ok_json(&app, &["orgs", "create", "--name", "D", "--slug", "d"]).await;
    assert_eq!(default["revenueShareBps"], 5000);
}
