//! Helpers shared by the webhook tests: fast workers, keys with a webhook URL, events
//! produced exactly as the trade code produces them (`outbox::insert_event`), and the
//! independent Python verifier.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use kash_core::ids::{id_text, new_id};
use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, IssuedKey, LimitOverrides};
use kash_store::outbox::{insert_event, NewEvent};
use kash_store::webhooks::EventRow;
use kash_testkit::{Backend, TestApp, TestOptions};
use serde_json::json;

pub const EVENT_TYPES: [&str; 4] = [
    "trade.confirmation-required",
    "trade.completed",
    "trade.failed",
    "trade.rejected",
];

/// A server whose worker polls every 20 ms and gives up on a request after `timeout_ms`.
pub async fn spawn_fast(backend: Backend, timeout_ms: u64) -> TestApp {
    spawn_tweaked(backend, timeout_ms, true).await
}

pub async fn spawn_tweaked(backend: Backend, timeout_ms: u64, allow_private: bool) -> TestApp {
    TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(Arc::new(move |s| {
                s.webhook_poll_ms = 20;
                s.webhook_timeout_ms = timeout_ms;
                s.webhook_allow_private = allow_private;
                // The signature tests send many refused requests from one IP on purpose.
                s.lockout_max_failures = 1_000;
            })),
            ..TestOptions::default()
        },
    )
    .await
}

/// A new user's all-scope key, with `url` as its webhook when given.
pub async fn hook_key(app: &TestApp, url: Option<String>) -> IssuedKey {
    hook_key_scoped(app, url, None).await
}

pub async fn hook_key_scoped(
    app: &TestApp,
    url: Option<String>,
    scopes: Option<&str>,
) -> IssuedKey {
    let email = format!(
        "w{}@test.example",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let user = app.user(&email).await;
    app.issue(IssueRequest {
        owner: Owner::User(user),
        tier: Tier::Enterprise,
        scopes: Some(
            ScopeSet::parse_list(scopes.unwrap_or(
                "markets:read,markets:quote,portfolio:read,trades:read,trades:write,webhooks:manage,auth:manage",
            ))
            .expect("scopes"),
        ),
        name: None,
        ip_allowlist: None,
        webhook_url: url,
        expires_at: None,
        limits: LimitOverrides::default(),
    })
    .await
}

/// The `data` of a `trade.*` event, as `webhooks.md` lists its members.
pub fn trade_data(event_type: &str, trade_id: &str) -> serde_json::Value {
    let mut data = json!({
        "tradeId": trade_id,
        "marketId": "7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10",
        "outcomeIndex": 0,
        "amount": "12.5",
        "side": "buy",
        "metadata": {},
    });
    let extra = match event_type {
        "trade.confirmation-required" => json!({
            "status": "pending_confirmation",
            "confirmationExpiresAt": "2026-05-02T12:40:56.789Z",
        }),
        "trade.completed" => json!({
            "status": "completed",
            "txHash": format!("0x{}", "ab".repeat(32)),
            "tokensOut": "24390243902439024390",
        }),
        "trade.failed" => json!({
            "status": "failed", "errorCode": "INSUFFICIENT_BALANCE", "errorMessage": "balance too low",
        }),
        _ => json!({
            "status": "rejected", "errorCode": "confirmation_expired", "errorMessage": "confirmation window lapsed",
        }),
    };
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            d.insert(k.clone(), v.clone());
        }
    }
    data
}

/// Records one event for `key_id` as a trade would (in its own transaction); returns its id.
pub async fn emit(app: &TestApp, key_id: &str, event_type: &str, deliverable: bool) -> String {
    let id = id_text(&new_id());
    let trade = id_text(&new_id());
    let mut tx = app.svc.db.begin().await.expect("begin");
    insert_event(
        &mut *tx,
        &NewEvent {
            id: &id,
            api_key_id: key_id,
            event_type,
            api_version: "2026-04-29",
            trade_id: Some(&trade),
            data: trade_data(event_type, &trade),
            created_at_ms: app.now_ms(),
            deliverable,
        },
    )
    .await
    .expect("insert event");
    tx.commit().await.expect("commit");
    id
}

pub async fn event(app: &TestApp, id: &str) -> EventRow {
    kash_store::webhooks::get_event(app.svc.db.reader(), id)
        .await
        .expect("read event")
        .expect("event exists")
}

/// Waits until the event has `status` (and returns it).
pub async fn wait_status(app: &TestApp, id: &str, status: &str) -> EventRow {
    let limit = Duration::from_secs(30);
    let started = std::time::Instant::now();
    loop {
        let e = event(app, id).await;
        if e.status == status {
            return e;
        }
        assert!(
            started.elapsed() < limit,
            "event {id} never reached {status}: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the event has made `n` attempts in total.
pub async fn wait_attempts(app: &TestApp, id: &str, n: i64) -> EventRow {
    let limit = Duration::from_secs(30);
    let started = std::time::Instant::now();
    loop {
        let e = event(app, id).await;
        if e.attempts >= n && (e.last_failure_code.is_some() || e.status == "delivered") {
            return e;
        }
        assert!(
            started.elapsed() < limit,
            "event {id} never reached {n} attempts: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Moves the test clock to `at_ms` (or just past it).
pub fn advance_to(app: &TestApp, at_ms: i64) {
    let delta = at_ms - app.now_ms() + 5;
    if delta > 0 {
        app.clock.advance(chrono::Duration::milliseconds(delta));
    }
}

/// An independent verifier: a few lines of Python's `hmac`, given `(header, body, secret)`
/// triples; returns one verdict per triple.
pub fn python_verify(cases: &[(String, Vec<u8>, String)], now_ms: i64) -> Vec<bool> {
    const SCRIPT: &str = r#"
import hmac, hashlib, json, sys
cases = json.load(sys.stdin)
out = []
for c in cases:
    parts = [p.split("=", 1) for p in c["header"].split(",")]
    t = next(v for k, v in parts if k == "t")
    sigs = [v for k, v in parts if k == "v1"]
    body = bytes.fromhex(c["body"])
    mac = hmac.new(c["secret"].encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(c["now"] - int(t)) <= 300000
    out.append(fresh and any(hmac.compare_digest(mac, s) for s in sigs))
print(json.dumps(out))
"#;
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(h, b, s)| json!({"header": h, "body": hex::encode(b), "secret": s, "now": now_ms}))
        .collect();
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is required by the tests");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(serde_json::to_string(&input).expect("json").as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("python ran");
    assert!(out.status.success(), "python verifier failed");
    serde_json::from_slice(&out.stdout).expect("python verdicts")
}

/// A POST to `path` with `body` and the given signature header bytes.
pub async fn signed_post(
    app: &TestApp,
    path: &str,
    key: &str,
    body: &str,
    signature: Option<&[u8]>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(path))
        .header("X-API-Key", key)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(sig) = signature {
        req = req.header(
            "X-Kash-Signature",
            reqwest::header::HeaderValue::from_bytes(sig).expect("header bytes"),
        );
    }
    req.send().await.expect("request")
}

/// The API-key scheme: HMAC(key, `<t>.<METHOD>.<path>.<body>`).
pub fn key_signature(key: &str, t: i64, path: &str, body: &str) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(kash_core::signature::request_digest(
            key,
            t,
            "POST",
            path,
            body.as_bytes()
        ))
    )
}

/// Every way a signature header can be bad gets `401 REQUEST_SIGNATURE_INVALID` with the
/// right `signatureReason`, never a 500. Route-agnostic: give any `/v1` POST and a body it
/// accepts (`webhook_secret` is the key's, if it has one). Sends ~20 refused requests: the
/// server's lockout must allow that many (see `spawn_tweaked`).
pub async fn assert_signature_refusals(
    app: &TestApp,
    path: &str,
    key: &str,
    body: &str,
    webhook_secret: Option<&str>,
) {
    let now = app.now_ms();
    let good = key_signature(key, now, path, body);
    let v1 = good
        .split_once(",v1=")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let long = format!("t={now},v1={}", "a".repeat(10 * 1024));
    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        (format!("t=abc,v1={v1}").into_bytes(), "malformed"),
        (format!("t={now}").into_bytes(), "malformed"),
        (format!("t={now},v2={v1}").into_bytes(), "malformed"),
        (
            format!("t={now},v1=zz{}", &v1[2..]).into_bytes(),
            "malformed",
        ),
        (format!("t={now},v1=abcd").into_bytes(), "malformed"),
        (b"garbage".to_vec(), "malformed"),
        (b"".to_vec(), "malformed"),
        (format!("t=1.5,v1={v1}").into_bytes(), "malformed"),
        (
            format!("t=99999999999999999999999,v1={v1}").into_bytes(),
            "malformed",
        ),
        (long.into_bytes(), "malformed"),
        (vec![b't', b'=', 0xff, 0xfe, b',', b'v'], "malformed"),
        (
            key_signature(key, now - 6 * 60_000, path, body).into_bytes(),
            "stale",
        ),
        (
            key_signature(key, now + 6 * 60_000, path, body).into_bytes(),
            "stale",
        ),
        (
            key_signature("kash_test_wrongwrongwrongwrongwrongwron", now, path, body).into_bytes(),
            "mismatch",
        ),
        (
            key_signature(key, now, "/v1/other", body).into_bytes(),
            "mismatch",
        ),
        (
            key_signature(key, now, path, "{\"tampered\":true}").into_bytes(),
            "mismatch",
        ),
        (
            kash_core::signature::webhook_header(&["whsec_not_this_keys"], now, body.as_bytes())
                .into_bytes(),
            "mismatch",
        ),
    ];
    if let Some(secret) = webhook_secret {
        // The right secret over another body.
        cases.push((
            kash_core::signature::webhook_header(&[secret], now, b"{}x").into_bytes(),
            "mismatch",
        ));
    }
    for (header, reason) in cases {
        let shown = String::from_utf8_lossy(&header)
            .chars()
            .take(60)
            .collect::<String>();
        let resp = signed_post(app, path, key, body, Some(&header)).await;
        if resp.status() != 401 {
            let st = resp.status();
            panic!("{shown}: {st} {}", resp.text().await.unwrap_or_default());
        }
        let problem = kash_testkit::expect_problem(resp, 401, "REQUEST_SIGNATURE_INVALID").await;
        assert_eq!(problem["signatureReason"], reason, "{shown}");
    }
}
