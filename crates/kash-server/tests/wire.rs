//! Wire conventions of `api.md` §1–§2 over real HTTP: request ids, version headers, problems
//! for unknown routes, wrong methods and oversized bodies, the infrastructure routes and the
//! offline docs.

use kash_core::tier::Tier;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp};
use regex::Regex;

async fn request_ids_are_echoed_or_generated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.user_with_key(Tier::Enterprise).await;
    let resp = app
        .http
        .get(app.url("/v1/account/usage"))
        .header("X-API-Key", &key)
        .header("X-Request-ID", "client-req:42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "client-req:42.a_b");
    assert_eq!(resp.headers()["cache-control"], "private, no-cache");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["_meta"]["requestId"], "client-req:42.a_b");
    let ts = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(ts.is_match(body["_meta"]["timestamp"].as_str().unwrap()));
    assert!(ts.is_match(body["data"]["generatedAt"].as_str().unwrap()));
    let uuid =
        Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").unwrap();
    assert!(uuid.is_match(body["data"]["apiKeyId"].as_str().unwrap()));

    let generated = Regex::new(r"^req_[0-9A-HJKMNP-TV-Z]{26}$").unwrap();
    for bad in ["has space", "x".repeat(129).as_str(), "semi;colon"] {
        let resp = app
            .http
            .get(app.url("/v1/health"))
            .header("X-Request-ID", bad)
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(generated.is_match(&id), "{bad:?} replaced by {id}");
    }
    // A traceparent is accepted (and never breaks a request, valid or not).
    for tp in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "garbage",
    ] {
        let resp = app
            .http
            .get(app.url("/v1/health"))
            .header("traceparent", tp)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

async fn unknown_routes_wrong_methods_and_big_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.http.get(app.url("/v1/nope")).send().await.unwrap();
    assert_eq!(resp.headers()["x-api-version"], "2026-08-19");
    let body = expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    assert_eq!(body["instance"], "/v1/nope");
    let resp = app
        .http
        .delete(app.url("/v1/account/usage"))
        .send()
        .await
        .unwrap();
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET"), "{allow}");
    expect_problem(resp, 405, "METHOD_NOT_ALLOWED").await;
    let big = "x".repeat(64 * 1024 + 1);
    let resp = app
        .http
        .post(app.url("/v1/account/usage"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    expect_problem(resp, 413, "PAYLOAD_TOO_LARGE").await;
    // Without a Content-Length (chunked) the limit holds as well.
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let resp = app
        .http
        .post(app.url("/v1/account/usage"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    expect_problem(resp, 413, "PAYLOAD_TOO_LARGE").await;
}

async fn health_ready_and_metrics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health: serde_json::Value = app
        .http
        .get(app.url("/v1/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "kash-server");
    assert!(health["version"].is_string());
    let ready = app.http.get(app.url("/v1/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let (_, key) = app.user_with_key(Tier::Enterprise).await;
    assert_eq!(app.get("/v1/account/usage", &key).await.status(), 200);
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "kash_http_requests_total{method=\"GET\",route=\"/v1/account/usage\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("kash_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("kash_limiter_decisions_total{decision=\"allowed\"}"));
}

async fn openapi_documents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: serde_json::Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/account/usage",
        "/v1/health",
        "/v1/ready",
        "/v1/openapi/index.json",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["ApiKey"].is_object());
    let index: serde_json::Value = app
        .http
        .get(app.url("/v1/openapi/index.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(index["current"], "2026-08-19");
    assert_eq!(index["versions"][0]["status"], "current");
    assert_eq!(index["versions"][1]["version"], "2026-04-29");
    assert_eq!(index["versions"][1]["status"], "supported");
    assert!(index["versions"][1]["sunset"].is_null());
    for v in ["2026-08-19", "2026-04-29"] {
        let snapshot: serde_json::Value = app
            .http
            .get(app.url(&format!("/v1/openapi/{v}.json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(snapshot["info"]["version"], v);
    }
    let missing = app
        .http
        .get(app.url("/v1/openapi/2020-01-01.json"))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 404, "RESOURCE_NOT_FOUND").await;
}

/// The docs page and every asset it loads come from this server: it works offline.
async fn docs_page_needs_no_internet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.http.get(app.url("/v1/docs/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let refs = Regex::new(r#"(?:src|href)="([^"]+)""#).unwrap();
    let mut assets = Vec::new();
    for cap in refs.captures_iter(&html) {
        let target = &cap[1];
        assert!(
            !target.starts_with("http") && !target.starts_with("//"),
            "external asset {target}"
        );
        assets.push(target.to_string());
    }
    assert!(!assets.is_empty());
    for asset in assets {
        let url = app.url(&format!("/v1/docs/{}", asset.trim_start_matches("./")));
        let resp = app.http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let text = resp.text().await.unwrap_or_default();
        assert!(
            !text.contains("cdn.jsdelivr") && !text.contains("unpkg.com"),
            "{url} loads from a CDN"
        );
    }
    let init = app
        .http
        .get(app.url("/v1/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/v1/openapi.json"), "{init}");
}

/// Weak ETags over real HTTP (`api.md` §1): a repeat with `If-None-Match` gets `304` and no
/// body, still through the limiter; the tag is per key, so another key's tag never matches.
async fn etags_and_not_modified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, key) = app.user_with_key(Tier::Enterprise).await;
    let get = |key: String, tag: Option<String>| {
        let mut req = app
            .http
            .get(app.url("/v1/webhooks/events"))
            .header("X-API-Key", key);
        if let Some(tag) = tag {
            req = req.header("If-None-Match", tag);
        }
        req.send()
    };
    let first = get(key.clone(), None).await.unwrap();
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        Regex::new(r#"^W/"[0-9a-f]{32}"$"#).unwrap().is_match(&tag),
        "{tag}"
    );

    let again = get(key.clone(), Some(tag.clone())).await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert!(again.headers().contains_key("x-ratelimit-remaining"));
    assert!(again.headers().contains_key("x-request-id"));
    assert!(again.bytes().await.unwrap().is_empty());

    // A list of candidates, the strong form of the same opaque tag, and `*` all match.
    let strong = tag.trim_start_matches("W/").to_string();
    for candidate in [format!("\"nope\", {tag}"), strong, "*".to_string()] {
        let resp = get(key.clone(), Some(candidate.clone())).await.unwrap();
        assert_eq!(resp.status(), 304, "{candidate}");
    }
    let stale = get(key.clone(), Some("W/\"0123\"".into())).await.unwrap();
    assert_eq!(stale.status(), 200);

    // Same body for a second key of the same owner, but its own tag.
    let other = app
        .key_with(kash_core::owner::Owner::User(user), Tier::Enterprise, None)
        .await;
    let resp = get(other.key.clone(), Some(tag.clone())).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_ne!(resp.headers()["etag"].to_str().unwrap(), tag);
}

backend_tests!(
    etags_and_not_modified,
    request_ids_are_echoed_or_generated,
    unknown_routes_wrong_methods_and_big_bodies,
    health_ready_and_metrics,
    openapi_documents,
    docs_page_needs_no_internet,
);
