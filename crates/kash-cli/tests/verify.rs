//! `kash webhooks verify`: exit 0 valid, 1 invalid; `--json`; body from a file or stdin;
//! secrets from flags or `KASH_WEBHOOK_SECRET`.

use std::io::Write;
use std::process::{Command, Stdio};

use kash_client::webhooks::sign;
use serde_json::Value;

const BODY: &str = r#"{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","type":"trade.completed","apiVersion":"2026-08-19","createdAt":"2026-05-02T12:39:56.789Z","data":{"tradeId":"7c9e6679-7425-40de-944b-e07fc1f90ae7","status":"completed"}}"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn kash(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kash"));
    cmd.args(args)
        .env_remove("KASH_WEBHOOK_SECRET")
        .env_remove("KASH_WEBHOOK_SIGNATURE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run kash");
    if let Some(mut input) = child.stdin.take() {
        // A usage error may end the process before it reads its input; that is not a failure.
        match input.write_all(stdin.unwrap_or("").as_bytes()) {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.expect("stdin"),
        }
    }
    let out = child.wait_with_output().expect("kash ran");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn valid_deliveries_exit_zero() {
    let header = sign(&["whsec_new", "whsec_old"], now_ms(), BODY.as_bytes());
    // stdin, one secret, human output.
    let (code, out, _) = kash(
        &[
            "webhooks",
            "verify",
            "--header",
            &header,
            "--secret",
            "whsec_old",
        ],
        &[],
        Some(BODY),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("valid: trade.completed 0f8fad5b"), "{out}");
    // A file, the secret from the environment, JSON output.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("body.json");
    std::fs::write(&path, BODY).expect("write");
    let (code, out, _) = kash(
        &[
            "webhooks",
            "verify",
            "--header",
            &header,
            "--body",
            path.to_str().unwrap_or(""),
            "--json",
            "--quiet",
        ],
        &[("KASH_WEBHOOK_SECRET", "whsec_x,whsec_new")],
        None,
    );
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["event"]["type"], "trade.completed");
    assert_eq!(doc["event"]["id"], "0f8fad5b-d9cb-469f-a165-70867728950e");
}

#[test]
fn invalid_deliveries_exit_one_with_a_reason() {
    let now = now_ms();
    let header = sign(&["whsec_new"], now, BODY.as_bytes());
    let old = sign(&["whsec_new"], now - 10 * 60_000, BODY.as_bytes());
    for (args, reason) in [
        (
            vec!["--header", header.as_str(), "--secret", "whsec_wrong"],
            "mismatch",
        ),
        (
            vec!["--header", old.as_str(), "--secret", "whsec_new"],
            "stale",
        ),
        (
            vec!["--header", "t=abc,v1=00", "--secret", "whsec_new"],
            "malformed",
        ),
    ] {
        let mut full = vec!["webhooks", "verify", "--json"];
        full.extend(args);
        let (code, out, err) = kash(&full, &[], Some(BODY));
        assert_eq!(code, 1, "{reason}");
        let doc: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["reason"], reason);
        assert_eq!(doc["error"]["code"], "WEBHOOK_SIGNATURE_INVALID");
        assert!(doc["error"]["actions"][0]["type"] == "check_input");
        assert!(err.starts_with("kash: invalid"), "{err}");
    }
    // A tampered body.
    let (code, _, _) = kash(
        &[
            "webhooks",
            "verify",
            "--header",
            &header,
            "--secret",
            "whsec_new",
        ],
        &[],
        Some(&BODY.replace("12", "13").replace("completed", "failed")),
    );
    assert_eq!(code, 1);
    // A wider tolerance accepts the 10-minute-old signature.
    let (code, _, _) = kash(
        &[
            "webhooks",
            "verify",
            "--header",
            &old,
            "--secret",
            "whsec_new",
            "--tolerance",
            "900",
        ],
        &[],
        Some(BODY),
    );
    assert_eq!(code, 0);
    // Usage errors exit 1, help exits 0.
    let (code, _, _) = kash(
        &["webhooks", "verify", "--header", &header],
        &[],
        Some(BODY),
    );
    assert_eq!(code, 1);
    let (code, out, _) = kash(&["webhooks", "verify", "--help"], &[], None);
    assert_eq!(code, 0);
    assert!(out.contains("--tolerance"));
}
