//! The `kash-server` binary as the README uses it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const SERVER: &str = env!("CARGO_BIN_EXE_kash-server");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(SERVER);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn demo_starts_on_sqlite_with_zero_setup_and_prints_a_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = command(dir.path())
        .arg("--demo")
        .env("KASH_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    let mut password = None;
    let mut curl = None;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
    {
        if let Some(at) = line.find("kash_test_") {
            key.get_or_insert_with(|| line[at..at + 42].to_string());
        }
        if let Some(at) = line.find("password (shown once) ") {
            let rest = &line[at + "password (shown once) ".len()..];
            password = rest.split_whitespace().next().map(str::to_string);
        }
        if line.trim_start().starts_with("curl ") {
            curl = Some(line.trim().to_string());
            break;
        }
    }
    let key = key.expect("a key on stdout");
    let curl = curl.expect("a curl line on stdout");
    assert!(
        curl.contains(&key) && curl.contains(&format!("127.0.0.1:{port}/v1/")),
        "{curl}"
    );
    // The default database was created in ./kash-data.
    assert!(dir.path().join("kash-data/kash.db").exists());
    let http = reqwest::Client::new();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(resp) = http
            .get(format!("http://127.0.0.1:{port}/v1/account/usage"))
            .header("X-API-Key", &key)
            .send()
            .await
        {
            assert_eq!(resp.status(), 200);
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the demo server never answered");
    // Markets with 2–8 outcomes and some trading history.
    let markets: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/v1/markets"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = markets["data"].as_array().unwrap();
    assert!(list.len() >= 4, "{markets}");
    let counts: Vec<u64> = list
        .iter()
        .map(|m| m["outcomeCount"].as_u64().unwrap())
        .collect();
    assert!(counts.contains(&2) && counts.contains(&8), "{counts:?}");
    for m in list {
        let preds: serde_json::Value = http
            .get(format!(
                "http://127.0.0.1:{port}/v1/markets/{}/predictions",
                m["id"].as_str().unwrap()
            ))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !preds["data"].as_array().unwrap().is_empty(),
            "no history in {}",
            m["id"]
        );
    }
    let portfolio: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/v1/portfolio"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(portfolio["portfolio"]["usdcBalance"], "10000000000");
    // The organization data of §8 that needs no markets: `acme`, two partners, three threads
    // (one upcoming) and 30 days of renders from three sources.
    let api = |path: String| {
        let http = http.clone();
        async move {
            let resp = http
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    let acme = api("/api/organizations/acme".into()).await;
    assert_eq!(acme["organization"]["slug"], "acme");
    assert_eq!(acme["organization"]["colorPrimary"], "#E4572E");
    let partners = api("/api/organizations/acme/partners".into()).await;
    assert_eq!(partners["pagination"]["total"], 2);
    let threads = api("/api/organizations/acme/threads?status=all".into()).await;
    assert_eq!(threads["pagination"]["total"], 3);
    let upcoming = api("/api/organizations/acme/threads?status=upcoming".into()).await;
    assert_eq!(upcoming["pagination"]["total"], 1);
    // Twelve markets with 2–8 outcomes across the threads, the first in four chapters, and 30
    // days of trading in them.
    let markets = api("/api/organizations/acme/markets?limit=100".into()).await;
    assert_eq!(markets["pagination"]["total"], 12, "{markets}");
    let counts: Vec<usize> = markets["markets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outcomes"].as_array().unwrap().len())
        .collect();
    assert!(counts.contains(&2) && counts.contains(&8), "{counts:?}");
    let traded = markets["markets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["tradeCount"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(traded >= 6, "{markets}");
    let rockets = threads["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Rocket season")
        .expect("the chaptered thread")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let chapters = api(format!("/api/threads/{rockets}/chapters")).await;
    assert_eq!(
        chapters["chapters"].as_array().unwrap().len(),
        4,
        "{chapters}"
    );
    // The demo user's console password, printed once, signs in.
    let password = password.expect("a console password on stdout");
    assert!(password.len() >= 16, "{password}");
    let console = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = format!("http://127.0.0.1:{port}");
    let signed_in = console
        .post(format!("{origin}/signin"))
        .header("Origin", &origin)
        .form(&[
            ("email", "demo@kash.example"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert!(signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("kash_session=")));
    // SIGTERM stops it gracefully with status 0.
    let pid = child.id().unwrap() as i32;
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn print_config_redacts_secrets_and_bad_settings_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .arg("--print-config")
        .env("KASH_PEPPER", "pepper-value-that-must-not-be-printed")
        .env(
            "KASH_DATABASE_URL",
            "postgres://kash:hunter2@db.internal/kash",
        )
        .env("KASH_REDIS_URL", "redis://:redispass@cache:6379")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for secret in [
        "pepper-value-that-must-not-be-printed",
        "hunter2",
        "redispass",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("chain_id = 31337"), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:8080\""), "{text}");
    let bad = command(dir.path())
        .arg("--print-config")
        .env("KASH_CHAIN_ID", "9500000")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let live_without_pepper = command(dir.path())
        .env("KASH_ENVIRONMENT", "live")
        .env("KASH_LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .await
        .unwrap();
    assert_eq!(live_without_pepper.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&live_without_pepper.stderr)
        .contains("KASH_PEPPER is required in live"));
    let unknown_flag = command(dir.path())
        .arg("--frobnicate")
        .output()
        .await
        .unwrap();
    assert_eq!(unknown_flag.status.code(), Some(2));
}

/// Garbage input over real sockets gets a precise 4xx problem (never a 500, never a dropped
/// connection), and the plaintext key never reaches a log line — even at the most verbose log
/// level and when a client puts the key where it does not belong.
#[tokio::test]
async fn garbage_input_gets_4xx_and_keys_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = command(dir.path())
        .arg("--demo")
        .env("KASH_LISTEN", format!("127.0.0.1:{port}"))
        .env("KASH_LOG", "trace")
        .env("KASH_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
    {
        if let Some(at) = line.find("kash_test_") {
            key.get_or_insert_with(|| line[at..at + 42].to_string());
        }
        if line.trim_start().starts_with("curl ") {
            break;
        }
    }
    let key = key.expect("a key on stdout");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/v1/ready")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server never answered");

    let problem = |resp: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(resp.status(), status, "expected {code}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{code}"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], code);
    };
    // A 32 KiB key header, a non-UTF-8 key header, a key with a trailing byte.
    let huge = format!("kash_test_{}", "A".repeat(32 * 1024));
    for value in [
        reqwest::header::HeaderValue::from_str(&huge).unwrap(),
        reqwest::header::HeaderValue::from_bytes(b"kash_test_\xff\xfe\x80abc").unwrap(),
        reqwest::header::HeaderValue::from_str(&format!("{key}x")).unwrap(),
    ] {
        let resp = http
            .get(format!("{base}/v1/account/usage"))
            .header("X-API-Key", value)
            .send()
            .await
            .unwrap();
        problem(resp, 401, "API_KEY_MALFORMED").await;
    }
    // 10 MB bodies, with and without a declared length.
    let ten_mb = vec![b'{'; 10 * 1024 * 1024];
    let resp = http
        .post(format!("{base}/v1/auth/api-keys/me/webhook-secret/rotate"))
        .header("X-API-Key", &key)
        .header("content-type", "application/json")
        .body(ten_mb.clone())
        .send()
        .await
        .unwrap();
    problem(resp, 413, "PAYLOAD_TOO_LARGE").await;
    // The key in places it does not belong: the path, the query, another header, a body.
    for path in [
        format!("/v1/{key}"),
        format!("/v1/account/usage?apiKey={key}"),
    ] {
        let resp = http
            .get(format!("{base}{path}"))
            .header("X-API-Key", &key)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success() || resp.status() == 404, "{path}");
    }
    let resp = http
        .post(format!("{base}/v1/webhooks/events/{key}/redeliver"))
        .header("X-API-Key", &key)
        .header("content-type", "application/json")
        .body(format!("{{\"key\":\"{key}\"}}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());

    let pid = child.id().unwrap() as i32;
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let finished: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "request finished")
        .collect();
    assert!(finished.len() >= 7, "one access line per request: {logs}");
    assert!(
        finished
            .iter()
            .all(|l| l["status"].as_u64().is_some_and(|s| s < 500)),
        "{logs}"
    );
    // The key went into a path, a query, headers and a body: every log line holds it redacted.
    assert!(
        finished
            .iter()
            .any(|l| l.to_string().contains("/v1/kash_test_[REDACTED]")),
        "{logs}"
    );
    let secret = &key["kash_test_".len()..];
    assert!(!logs.contains(secret), "the key reached the logs");
}
