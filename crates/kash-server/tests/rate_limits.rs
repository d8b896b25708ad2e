//! Per-owner request quotas over real HTTP: shared between an owner's keys, separate between
//! owners, consistent headers, the Redis store shared by two instances, and the fail-closed
//! breaker when the store is down.

use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp, TestOptions};

const USAGE: &str = "/v1/account/usage";

fn header(resp: &reqwest::Response, name: &str) -> i64 {
    resp.headers()[name].to_str().unwrap().parse().unwrap()
}

/// `n` successful reads, checking the countdown.
async fn spend(app: &TestApp, key: &str, n: usize, limit: i64, already: i64) {
    for i in 0..n as i64 {
        let resp = app.get(USAGE, key).await;
        assert_eq!(resp.status(), 200, "request {} of {limit}", already + i + 1);
        assert_eq!(header(&resp, "x-ratelimit-limit"), limit);
        assert_eq!(
            header(&resp, "x-ratelimit-remaining"),
            limit - already - i - 1
        );
    }
}

async fn free_key_gets_429_on_the_61st_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("free@test.example").await;
    let key = app
        .key_with(Owner::User(user), Tier::Free, Some("auth:manage"))
        .await;
    spend(&app, &key.key, 60, 60, 0).await;
    let now_secs = app.now_ms() / 1000;
    let resp = app.get(USAGE, &key.key).await;
    assert_eq!(header(&resp, "x-ratelimit-limit"), 60);
    assert_eq!(header(&resp, "x-ratelimit-remaining"), 0);
    let reset = header(&resp, "x-ratelimit-reset");
    let retry = header(&resp, "retry-after");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert!(
        reset >= now_secs && reset <= now_secs + 61,
        "reset {reset} vs now {now_secs}"
    );
    assert!(
        reset >= now_secs + retry - 1,
        "full again no sooner than the first slot frees"
    );
    assert_eq!(resp.headers()["ratelimit-policy"], "\"read\";q=60;w=60");
    assert!(resp.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"read\";r=0;t="));
    let body = expect_problem(resp, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(body["title"], "Too Many Requests");
    // Rejections are counted for the key's usage.
    app.clock.advance(chrono::Duration::seconds(61));
    let usage: serde_json::Value = app.get(USAGE, &key.key).await.json().await.unwrap();
    assert_eq!(usage["data"]["auth"]["24h"]["rateLimitRejections"], 1);
    assert_eq!(usage["data"]["requests"]["24h"], 62);
}

async fn keys_of_one_owner_share_a_quota(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("share@test.example").await;
    let a = app
        .key_with(Owner::User(user.clone()), Tier::Free, Some("auth:manage"))
        .await;
    let b = app
        .key_with(Owner::User(user), Tier::Free, Some("auth:manage"))
        .await;
    spend(&app, &a.key, 30, 60, 0).await;
    spend(&app, &b.key, 30, 60, 30).await;
    expect_problem(app.get(USAGE, &a.key).await, 429, "RATE_LIMIT_EXCEEDED").await;
    expect_problem(app.get(USAGE, &b.key).await, 429, "RATE_LIMIT_EXCEEDED").await;
    // Another user is untouched.
    let other = app.user("other@test.example").await;
    let c = app
        .key_with(Owner::User(other), Tier::Free, Some("auth:manage"))
        .await;
    spend(&app, &c.key, 1, 60, 0).await;
    // Organizations are owners of their own.
    let org = app.org("acme").await;
    let d = app
        .key_with(Owner::Org(org), Tier::Free, Some("auth:manage"))
        .await;
    spend(&app, &d.key, 1, 60, 0).await;
}

async fn the_quota_is_the_highest_active_key_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("mixed@test.example").await;
    let free = app
        .key_with(Owner::User(user.clone()), Tier::Free, Some("auth:manage"))
        .await;
    let developer = app
        .key_with(Owner::User(user), Tier::Developer, Some("auth:manage"))
        .await;
    let resp = app.get(USAGE, &free.key).await;
    assert_eq!(header(&resp, "x-ratelimit-limit"), 300);
    // Revoking the larger key shrinks the owner's quota back.
    kash_service::keys::revoke(&app.svc, &developer.id, "test")
        .await
        .unwrap();
    let resp = app.get(USAGE, &free.key).await;
    assert_eq!(header(&resp, "x-ratelimit-limit"), 60);
}

async fn redis_shares_the_count_between_instances(backend: Backend) {
    let options = TestOptions {
        redis: true,
        ..TestOptions::default()
    };
    let first = TestApp::spawn_with(backend, options).await;
    let second = first.another_instance().await;
    let user = first.user("fleet@test.example").await;
    let key = first
        .key_with(Owner::User(user), Tier::Free, Some("auth:manage"))
        .await;
    spend(&first, &key.key, 30, 60, 0).await;
    spend(&second, &key.key, 30, 60, 30).await;
    expect_problem(first.get(USAGE, &key.key).await, 429, "RATE_LIMIT_EXCEEDED").await;
    expect_problem(
        second.get(USAGE, &key.key).await,
        429,
        "RATE_LIMIT_EXCEEDED",
    )
    .await;
}

async fn lockouts_are_shared_through_redis(backend: Backend) {
    let options = TestOptions {
        redis: true,
        trusted_proxies: Some("127.0.0.1/32".into()),
        ..TestOptions::default()
    };
    let first = TestApp::spawn_with(backend, options).await;
    let second = first.another_instance().await;
    let (_, good) = first.user_with_key(Tier::Enterprise).await;
    for i in 0..21 {
        let app = if i % 2 == 0 { &first } else { &second };
        let resp = app
            .http
            .get(app.url(USAGE))
            .header("X-Forwarded-For", "192.0.2.50")
            .header("X-API-Key", format!("kash_test_{i:0>32}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    for app in [&first, &second] {
        let resp = app
            .http
            .get(app.url(USAGE))
            .header("X-Forwarded-For", "192.0.2.50")
            .header("X-API-Key", &good)
            .send()
            .await
            .unwrap();
        expect_problem(resp, 429, "IP_LOCKED_OUT").await;
    }
}

async fn an_unreachable_limiter_fails_closed_then_breaks(backend: Backend) {
    let options = TestOptions {
        redis_url: Some("redis://127.0.0.1:1".into()),
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let (_, key) = app.user_with_key(Tier::Enterprise).await;
    // Every call fails (the lockout check is the first), so the request is refused...
    let resp = app.get(USAGE, &key).await;
    assert!(resp.headers().get("x-ratelimit-limit").is_none());
    assert_eq!(resp.headers()["retry-after"], "1");
    expect_problem(resp, 503, "RATE_LIMIT_UNAVAILABLE").await;
    // ...until ten consecutive failures open the breaker; then requests are served unmetered.
    let mut refused = 1;
    loop {
        let resp = app.get(USAGE, &key).await;
        if resp.status() == 200 {
            assert!(resp.headers().get("x-ratelimit-limit").is_none());
            break;
        }
        expect_problem(resp, 503, "RATE_LIMIT_UNAVAILABLE").await;
        refused += 1;
        assert!(
            refused <= 10,
            "breaker did not open after {refused} refusals"
        );
    }
    assert_eq!(refused, 10, "ten consecutive failures open the breaker");
    // Readiness tells the operator.
    let ready = app.http.get(app.url("/v1/ready")).send().await.unwrap();
    expect_problem(ready, 503, "DEPENDENCY_UNAVAILABLE").await;
}

backend_tests!(
    free_key_gets_429_on_the_61st_request,
    keys_of_one_owner_share_a_quota,
    the_quota_is_the_highest_active_key_limit,
    redis_shares_the_count_between_instances,
    lockouts_are_shared_through_redis,
    an_unreachable_limiter_fails_closed_then_breaks,
);
