//! The README's "Try it" commands, run as written (with the demo's key and this test server's
//! address) against a server seeded by `--demo`'s seeding. A command that fails (curl `-f`:
//! any HTTP error) fails the test.

use kash_testkit::{Backend, TestApp};

fn try_it_block(readme: &str) -> String {
    let section = readme.split("## Try it").nth(1).expect("a Try it section");
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_string()
}

#[tokio::test]
async fn the_readme_try_it_commands_work() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let seeded = kash_service::demo::seed(&app.svc).await.expect("demo seed");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README");
    let block = try_it_block(&readme);
    assert!(block.contains("/v1/trades"), "{block}");
    let base = app.url("");
    let script = format!(
        "set -euo pipefail\n{}",
        block.replace("http://127.0.0.1:8080", base.trim_end_matches('/'))
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("KEY", &seeded.key)
        .current_dir(dir.path())
        .output()
        .await
        .expect("bash");
    assert!(
        out.status.success(),
        "README commands failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"tokensOut\""),
        "the quote and the trade ran: {stdout}"
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("openapi.json")).expect("saved"))
            .expect("OpenAPI JSON");
    assert!(spec["paths"]["/v1/trades"].is_object());
    // The trade the README placed is the demo user's newest.
    let trades: serde_json::Value = app
        .get("/v1/trades", &seeded.key)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(trades["data"][0]["amount"], "5", "{trades}");
    assert_eq!(trades["data"][0]["status"], "completed", "{trades}");
}
