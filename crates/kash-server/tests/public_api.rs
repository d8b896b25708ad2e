//! The anonymous Embed API (`/api/*`) over real HTTP: its infrastructure (no key, CORS,
//! preflights, per-IP limits in the limiter store, the error shape, offset pagination) and
//! the routes that need no markets — organizations, partners and threads — with every
//! parameter's bounds, on SQLite and PostgreSQL.

use chrono::Duration;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::orgs::OrgUpdate;
use kash_service::partners::PartnerFields;
use kash_service::threads::ThreadFields;
use kash_testkit::{backend_tests, eventually, expect_problem, Backend, TestApp, TestOptions};
use serde_json::{json, Value};

fn behind_proxy() -> TestOptions {
    TestOptions {
        trusted_proxies: Some("127.0.0.1/32,::1".into()),
        ..TestOptions::default()
    }
}

async fn get_from(app: &TestApp, path: &str, ip: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("X-Forwarded-For", ip)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

/// Asserts an `/api` error: status, JSON `{error, message, code}`, CORS.
async fn expect_api_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for {code}");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

struct World {
    org: String,
    other_org: String,
    partner: String,
    inactive_partner: String,
    /// active (no times), upcoming, closed, active with partner
    threads: Vec<String>,
}

async fn thread(app: &TestApp, org: &str, f: ThreadFields) -> String {
    kash_service::threads::create(&app.svc, org, &f, "test")
        .await
        .unwrap()
        .id
}

async fn world(app: &TestApp) -> World {
    let org = app.org("acme").await;
    let other_org = app.org("globex").await;
    kash_service::orgs::update(
        &app.svc,
        &org,
        &OrgUpdate {
            display_name: Some("Acme".into()),
            tagline: Some("We make everything".into()),
            color_primary: Some("#12ab34".into()),
            contact_email: Some("ops@acme.example".into()),
            ..OrgUpdate::default()
        },
        "test",
    )
    .await
    .unwrap();
    let partner = |name: &str, slug: &str, status: Option<&str>| PartnerFields {
        name: Some(name.into()),
        slug: Some(slug.into()),
        website_url: Some(format!("https://{slug}.example")),
        status: status.map(str::to_string),
        ..PartnerFields::default()
    };
    let p =
        kash_service::partners::create(&app.svc, &org, &partner("Rocket", "rocket", None), "test")
            .await
            .unwrap()
            .id;
    // Distinct creation times, so "oldest first" has one answer (equal times tie by id).
    app.clock.advance(Duration::seconds(1));
    let inactive = kash_service::partners::create(
        &app.svc,
        &org,
        &partner("Old", "old", Some("inactive")),
        "test",
    )
    .await
    .unwrap()
    .id;
    let now = app.now_ms();
    let iso = |ms: i64| kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(ms));
    let hour = 3_600_000;
    let mut threads = Vec::new();
    threads.push(
        thread(
            app,
            &org,
            ThreadFields {
                title: Some("Always on".into()),
                description: Some("# Heading\n<script>x</script>".into()),
                category: Some("sports".into()),
                tags: Some("a,b".into()),
                ..ThreadFields::default()
            },
        )
        .await,
    );
    app.clock.advance(Duration::seconds(1));
    threads.push(
        thread(
            app,
            &org,
            ThreadFields {
                title: Some("Later".into()),
                tags: Some("c".into()),
                start_time: Some(iso(now + 10 * hour)),
                end_time: Some(iso(now + 20 * hour)),
                ..ThreadFields::default()
            },
        )
        .await,
    );
    app.clock.advance(Duration::seconds(1));
    threads.push(
        thread(
            app,
            &org,
            ThreadFields {
                title: Some("Over".into()),
                start_time: Some(iso(now - 20 * hour)),
                end_time: Some(iso(now - 10 * hour)),
                ..ThreadFields::default()
            },
        )
        .await,
    );
    app.clock.advance(Duration::seconds(1));
    threads.push(
        thread(
            app,
            &org,
            ThreadFields {
                title: Some("Partnered".into()),
                partner_id: Some(p.clone()),
                category: Some("sports".into()),
                tags: Some("b,z".into()),
                start_time: Some(iso(now - hour)),
                ..ThreadFields::default()
            },
        )
        .await,
    );
    app.clock.advance(Duration::seconds(1));
    // Another organization's thread, for scoping.
    thread(
        app,
        &other_org,
        ThreadFields {
            title: Some("Globex thread".into()),
            ..ThreadFields::default()
        },
    )
    .await;
    World {
        org,
        other_org,
        partner: p,
        inactive_partner: inactive,
        threads,
    }
}

fn ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

async fn json_ok(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    resp.json().await.unwrap()
}

async fn infrastructure_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    // Anonymous; a key, even a malformed one, is ignored.
    let resp = app
        .http
        .get(app.url("/api/organizations/acme"))
        .header("X-API-Key", "kash_test_not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["x-ratelimit-limit"], "100");
    assert_eq!(h["x-ratelimit-remaining"], "99");
    let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    let now = app.now_ms();
    assert!(
        reset > now && reset <= now + 61_000,
        "reset {reset} must be Unix ms within the minute (now {now})"
    );
    assert!(h.contains_key("x-request-id"));
    // Preflight.
    let pre = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/embeds/renders"))
        .header("Origin", "https://blog.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert_eq!(pre.headers()["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        pre.headers()["access-control-allow-headers"],
        "Content-Type"
    );
    // Errors in the /api shape, with CORS and the rate-limit headers.
    let resp = get(&app, "/api/nope/nothing").await;
    assert!(resp.headers().contains_key("x-ratelimit-limit"));
    expect_api_error(resp, 404, "NOT_FOUND").await;
    let resp = app
        .http
        .delete(app.url(&format!("/api/organizations/{}", w.org)))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("allow"));
    expect_api_error(resp, 405, "METHOD_NOT_ALLOWED").await;
    let resp = app
        .http
        .post(app.url("/api/embeds/renders"))
        .body(vec![b'x'; 70 * 1024])
        .send()
        .await
        .unwrap();
    expect_api_error(resp, 413, "PAYLOAD_TOO_LARGE").await;
    // The console's JSON routes keep their own rules: session auth, problems, no CORS.
    let resp = get(&app, "/api/account/api-keys").await;
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
    assert!(!resp.headers().contains_key("x-ratelimit-limit"));
    expect_problem(resp, 401, "SESSION_REQUIRED").await;
    let pre = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/account/api-keys"))
        .send()
        .await
        .unwrap();
    assert!(!pre.headers().contains_key("access-control-allow-origin"));
}

async fn per_ip_limits_and_the_429(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy()).await;
    let w = world(&app).await;
    let path = format!("/api/organizations/{}", w.org);
    for i in 0..100 {
        let resp = get_from(&app, &path, "198.51.100.7").await;
        assert_eq!(resp.status(), 200, "request {}", i + 1);
        assert_eq!(
            resp.headers()["x-ratelimit-remaining"],
            (99 - i).to_string().as_str()
        );
    }
    let refused = get_from(&app, &path, "198.51.100.7").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    assert_eq!(refused.headers()["x-ratelimit-limit"], "100");
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "Too many requests",
            "message": "Rate limit of 100 requests per minute exceeded",
            "code": "RATE_LIMIT_EXCEEDED",
            "retryAfter": retry,
        })
    );
    // Another IP, and another route for the same IP, are unaffected.
    assert_eq!(get_from(&app, &path, "198.51.100.8").await.status(), 200);
    let partners = format!("/api/organizations/{}/partners", w.org);
    assert_eq!(
        get_from(&app, &partners, "198.51.100.7").await.status(),
        200
    );
    // GET /api/threads is 50/min.
    for _ in 0..50 {
        assert_eq!(
            get_from(&app, "/api/threads", "203.0.113.1").await.status(),
            200
        );
    }
    let refused = get_from(&app, "/api/threads", "203.0.113.1").await;
    let body = expect_api_error(refused, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(
        body["message"],
        "Rate limit of 50 requests per minute exceeded"
    );
    // POST /api/embeds/* is 200/min; refused requests count too (the limiter runs first).
    for _ in 0..200 {
        let resp = app
            .http
            .post(app.url("/api/embeds/renders"))
            .header("X-Forwarded-For", "203.0.113.2")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
    }
    let refused = app
        .http
        .post(app.url("/api/embeds/renders"))
        .header("X-Forwarded-For", "203.0.113.2")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body = expect_api_error(refused, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(
        body["message"],
        "Rate limit of 200 requests per minute exceeded"
    );
    // The window is one minute.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(get_from(&app, &path, "198.51.100.7").await.status(), 200);
}

async fn limits_are_shared_through_redis(backend: Backend) {
    let first = TestApp::spawn_with(
        backend,
        TestOptions {
            redis: true,
            ..behind_proxy()
        },
    )
    .await;
    let second = first.another_instance().await;
    for i in 0..50 {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            get_from(app, "/api/threads", "192.0.2.44").await.status(),
            200
        );
    }
    for app in [&first, &second] {
        expect_api_error(
            get_from(app, "/api/threads", "192.0.2.44").await,
            429,
            "RATE_LIMIT_EXCEEDED",
        )
        .await;
    }
    assert_eq!(
        get_from(&second, "/api/threads", "192.0.2.45")
            .await
            .status(),
        200
    );
}

async fn the_rate_scale_setting_raises_every_limit(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(std::sync::Arc::new(|s| s.public_api_rate_scale = 10)),
            ..TestOptions::default()
        },
    )
    .await;
    let resp = get(&app, "/api/threads").await;
    assert_eq!(resp.headers()["x-ratelimit-limit"], "500");
}

/// Every parameter of every route: bad values are 400 INVALID_REQUEST naming the bound.
async fn bounds_table(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(std::sync::Arc::new(|s| s.public_api_rate_scale = 100)),
            ..TestOptions::default()
        },
    )
    .await;
    let w = world(&app).await;
    let org = &w.org;
    let partner = &w.partner;
    let thread = &w.threads[0];
    let thread_list_routes = [
        "/api/threads".to_string(),
        format!("/api/organizations/{org}/threads"),
        format!("/api/partners/{partner}/threads"),
    ];
    let mut cases: Vec<(String, &str)> = Vec::new();
    for base in &thread_list_routes {
        for (query, message) in [
            ("limit=0", "limit must be between 1 and 100"),
            ("limit=101", "limit must be between 1 and 100"),
            ("limit=abc", "limit must be between 1 and 100"),
            ("limit=1.5", "limit must be between 1 and 100"),
            ("offset=-1", "offset must be between 0 and 1000000000"),
            ("offset=x", "offset must be between 0 and 1000000000"),
            (
                "status=nope",
                "status must be one of active, upcoming, closed, all",
            ),
            (
                "sortBy=nope",
                "sortBy must be one of created_at, start_time, total_volume",
            ),
            ("sortOrder=sideways", "sortOrder must be one of asc, desc"),
        ] {
            cases.push((format!("{base}?{query}"), message));
        }
    }
    cases.push((
        format!("/api/threads?category={}", "c".repeat(101)),
        "category must be at most 100 characters without control characters",
    ));
    cases.push((
        "/api/threads?category=a%00b".to_string(),
        "category must be at most 100 characters without control characters",
    ));
    cases.push((
        "/api/threads?tags=a,b%00".to_string(),
        "tags must list at most 50 values of at most 100 characters without control characters",
    ));
    let partners = format!("/api/organizations/{org}/partners");
    for (query, message) in [
        ("limit=0", "limit must be between 1 and 100"),
        ("limit=101", "limit must be between 1 and 100"),
        ("offset=-1", "offset must be between 0 and 1000000000"),
        (
            "status=deleted",
            "status must be one of active, inactive, all",
        ),
    ] {
        cases.push((format!("{partners}?{query}"), message));
    }
    cases.push((
        format!("/api/threads/{thread}?includeMarkets=maybe"),
        "includeMarkets must be true or false",
    ));
    for (path, message) in &cases {
        let body = expect_api_error(get(&app, path).await, 400, "INVALID_REQUEST").await;
        assert_eq!(body["message"], *message, "{path}");
    }
    // Bounds themselves are accepted; unknown parameters are ignored.
    for path in [
        "/api/threads?limit=1&offset=0&status=all&sortOrder=asc&unknown=1".to_string(),
        "/api/threads?limit=100&offset=1000000000&sortBy=total_volume".to_string(),
        format!("/api/organizations/{org}/partners?limit=100&status=all&x=y"),
        format!("/api/organizations/{org}/threads?limit=100&sortBy=start_time"),
        format!("/api/threads/{thread}?includeMarkets=true&foo=bar"),
    ] {
        assert_eq!(get(&app, &path).await.status(), 200, "{path}");
    }
    // Unknown and malformed ids are 404 with the route's code.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (path, code) in [
        (format!("/api/organizations/{unknown}"), "NOT_FOUND"),
        ("/api/organizations/Not_A_Slug!".to_string(), "NOT_FOUND"),
        (
            format!("/api/organizations/{unknown}/partners"),
            "NOT_FOUND",
        ),
        (format!("/api/organizations/{unknown}/threads"), "NOT_FOUND"),
        (format!("/api/partners/{unknown}"), "NOT_FOUND"),
        ("/api/partners/42".to_string(), "NOT_FOUND"),
        (format!("/api/partners/{unknown}/threads"), "NOT_FOUND"),
        (format!("/api/threads/{unknown}"), "THREAD_NOT_FOUND"),
        ("/api/threads/not-a-uuid".to_string(), "THREAD_NOT_FOUND"),
    ] {
        expect_api_error(get(&app, &path).await, 404, code).await;
    }
    // Hostile input never produces a 500.
    for path in [
        "/api/threads?tags=%FF,'%20OR%201=1--",
        "/api/threads?category=%27;DROP%20TABLE%20threads;--",
        "/api/threads?limit=99999999999999999999999",
        "/api/organizations/%F0%9F%92%A5",
    ] {
        let status = get(&app, path).await.status().as_u16();
        assert!(status < 500, "{path}: {status}");
    }
}

async fn organizations_and_partners(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    for reference in [w.org.as_str(), "acme"] {
        let body = json_ok(get(&app, &format!("/api/organizations/{reference}")).await).await;
        let org = &body["organization"];
        assert_eq!(org["id"], w.org.as_str());
        assert_eq!(org["slug"], "acme");
        assert_eq!(org["displayName"], "Acme");
        assert_eq!(org["tagline"], "We make everything");
        assert_eq!(org["colorPrimary"], "#12AB34");
        assert_eq!(org["logoUrl"], Value::Null);
        assert_eq!(org["status"], "active");
        // Never credentials, balances, billing or contact details.
        let keys: Vec<&str> = org
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "colorPrimary",
                "displayName",
                "id",
                "logoUrl",
                "name",
                "slug",
                "status",
                "tagline"
            ]
        );
        assert!(body["_meta"]["requestedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
    }
    // Partners: active by default, oldest first, with paging.
    let base = format!("/api/organizations/{}/partners", w.org);
    let body = json_ok(get(&app, &base).await).await;
    assert_eq!(ids(&body, "partners"), vec![w.partner.clone()]);
    assert_eq!(
        body["pagination"],
        json!({"offset": 0, "limit": 50, "total": 1, "hasMore": false})
    );
    assert_eq!(body["_meta"]["organizationId"], w.org.as_str());
    let p = &body["partners"][0];
    assert_eq!(p["organizationId"], w.org.as_str());
    assert_eq!(p["websiteUrl"], "https://rocket.example");
    assert_eq!(p["status"], "active");
    let all = json_ok(get(&app, &format!("{base}?status=all&limit=1")).await).await;
    assert_eq!(ids(&all, "partners"), vec![w.partner.clone()]);
    assert_eq!(all["pagination"]["total"], 2);
    assert_eq!(all["pagination"]["hasMore"], true);
    let second = json_ok(get(&app, &format!("{base}?status=all&limit=1&offset=1")).await).await;
    assert_eq!(ids(&second, "partners"), vec![w.inactive_partner.clone()]);
    assert_eq!(second["pagination"]["hasMore"], false);
    let inactive = json_ok(get(&app, &format!("{base}?status=inactive")).await).await;
    assert_eq!(ids(&inactive, "partners"), vec![w.inactive_partner.clone()]);
    let beyond = json_ok(get(&app, &format!("{base}?status=all&offset=5")).await).await;
    assert_eq!(beyond["partners"], json!([]));
    assert_eq!(beyond["pagination"]["total"], 2);
    // One partner, and its threads.
    let one = json_ok(get(&app, &format!("/api/partners/{}", w.partner)).await).await;
    assert_eq!(one["partner"]["slug"], "rocket");
    let pt = json_ok(
        get(
            &app,
            &format!("/api/partners/{}/threads?status=all", w.partner),
        )
        .await,
    )
    .await;
    assert_eq!(ids(&pt, "threads"), vec![w.threads[3].clone()]);
    assert_eq!(pt["_meta"]["partnerId"], w.partner.as_str());
    // The other organization is unaffected by and invisible from this one.
    let other = json_ok(
        get(
            &app,
            &format!("/api/organizations/{}/partners?status=all", w.other_org),
        )
        .await,
    )
    .await;
    assert_eq!(other["partners"], json!([]));
}

async fn thread_lists_status_filters_sorting_and_paging(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let [always, later, over, partnered] = [0, 1, 2, 3].map(|i| w.threads[i].clone());
    // Default: active only, newest first (the other org's thread is active too).
    let body = json_ok(get(&app, "/api/threads").await).await;
    let listed = ids(&body, "threads");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[1..], [partnered.clone(), always.clone()]);
    assert_eq!(body["_meta"]["authenticated"], false);
    assert_eq!(body["pagination"]["limit"], 20);
    // Each status.
    for (status, expected) in [
        ("upcoming", vec![later.clone()]),
        ("closed", vec![over.clone()]),
    ] {
        let b = json_ok(get(&app, &format!("/api/threads?status={status}")).await).await;
        assert_eq!(ids(&b, "threads"), expected, "{status}");
        assert_eq!(b["threads"][0]["status"], status);
    }
    let all = json_ok(
        get(
            &app,
            &format!(
                "/api/organizations/{}/threads?status=all&sortOrder=asc",
                w.org
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        ids(&all, "threads"),
        vec![
            always.clone(),
            later.clone(),
            over.clone(),
            partnered.clone()
        ]
    );
    // Status is derived at read time: move the clock past `later`'s start.
    app.clock.advance(Duration::hours(11));
    let b = json_ok(get(&app, &format!("/api/threads/{later}")).await).await;
    assert_eq!(b["thread"]["status"], "active");
    app.clock.advance(Duration::hours(10));
    let b = json_ok(get(&app, &format!("/api/threads/{later}")).await).await;
    assert_eq!(b["thread"]["status"], "closed");
    app.clock.advance(Duration::hours(-21));
    // Category and any-match tags.
    let b = json_ok(
        get(
            &app,
            "/api/threads?status=all&category=sports&sortOrder=asc",
        )
        .await,
    )
    .await;
    assert_eq!(ids(&b, "threads"), vec![always.clone(), partnered.clone()]);
    let b = json_ok(get(&app, "/api/threads?status=all&tags=c,z&sortOrder=asc").await).await;
    assert_eq!(ids(&b, "threads"), vec![later.clone(), partnered.clone()]);
    let b = json_ok(get(&app, "/api/threads?status=all&tags=B").await).await;
    assert_eq!(ids(&b, "threads").len(), 2);
    // start_time sort: threads without a start come last in either direction.
    let b = json_ok(
        get(
            &app,
            &format!(
                "/api/organizations/{}/threads?status=all&sortBy=start_time&sortOrder=asc",
                w.org
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        ids(&b, "threads"),
        vec![
            over.clone(),
            partnered.clone(),
            later.clone(),
            always.clone()
        ]
    );
    let b = json_ok(
        get(
            &app,
            &format!(
                "/api/organizations/{}/threads?status=all&sortBy=start_time",
                w.org
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        ids(&b, "threads"),
        vec![
            later.clone(),
            partnered.clone(),
            over.clone(),
            always.clone()
        ]
    );
    // Pages never overlap and `hasMore` is right at every boundary.
    let mut seen = Vec::new();
    for offset in 0..5 {
        let b = json_ok(
            get(
                &app,
                &format!("/api/threads?status=all&limit=1&offset={offset}"),
            )
            .await,
        )
        .await;
        assert_eq!(b["pagination"]["total"], 5);
        assert_eq!(b["pagination"]["hasMore"], offset < 4, "offset {offset}");
        seen.extend(ids(&b, "threads"));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    let b = json_ok(get(&app, "/api/threads?status=all&limit=2&offset=4").await).await;
    assert_eq!(
        b["pagination"],
        json!({"offset": 4, "limit": 2, "total": 5, "hasMore": false})
    );
    // Units: /api/threads times in Unix seconds; the org list in ISO 8601, volume a string.
    let b = json_ok(get(&app, &format!("/api/threads/{later}")).await).await;
    let t = &b["thread"];
    assert!(t["startTime"].is_i64());
    assert_eq!(t["totalVolume"], 0);
    assert_eq!(t["marketCount"], 0);
    assert_eq!(t["participantCount"], 0);
    assert_eq!(t["tags"], json!(["c"]));
    assert!(t.get("image").is_some() && t.get("backgroundImage").is_some());
    assert!(b.get("markets").is_none());
    let b = json_ok(get(&app, &format!("/api/threads/{always}?includeMarkets=true")).await).await;
    assert_eq!(b["markets"], json!([]));
    assert_eq!(b["thread"]["description"], "# Heading\n<script>x</script>");
    assert_eq!(b["thread"]["startTime"], Value::Null);
    let b = json_ok(
        get(
            &app,
            &format!("/api/organizations/{}/threads?status=upcoming", w.org),
        )
        .await,
    )
    .await;
    let t = &b["threads"][0];
    assert!(t["startTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(t["totalVolume"], "0");
    assert_eq!(b["_meta"]["organizationId"], w.org.as_str());
}

async fn suspended_organizations_disappear_from_every_public_surface(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let surfaces = [
        format!("/api/organizations/{}", w.org),
        "/api/organizations/acme".to_string(),
        format!("/api/organizations/{}/partners", w.org),
        format!("/api/organizations/{}/threads", w.org),
        format!("/api/partners/{}", w.partner),
        format!("/api/partners/{}/threads", w.partner),
        format!("/api/threads/{}", w.threads[0]),
    ];
    for path in &surfaces {
        assert_eq!(get(&app, path).await.status(), 200, "{path}");
    }
    kash_service::orgs::update(
        &app.svc,
        &w.org,
        &OrgUpdate {
            status: Some("suspended".into()),
            ..OrgUpdate::default()
        },
        "test",
    )
    .await
    .unwrap();
    for path in &surfaces {
        let code = if path.starts_with("/api/threads/") {
            "THREAD_NOT_FOUND"
        } else {
            "NOT_FOUND"
        };
        expect_api_error(get(&app, path).await, 404, code).await;
    }
    let b = json_ok(get(&app, "/api/threads?status=all").await).await;
    assert_eq!(b["pagination"]["total"], 1, "only the other org's thread");
    // Its keys keep working on /v1.
    let key = app
        .key_with(
            Owner::Org(w.org.clone()),
            Tier::Free,
            Some("portfolio:read"),
        )
        .await;
    let me: Value = app
        .get("/v1/organizations/me", &key.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["organization"]["status"], "suspended");
    // Reactivated, it is back.
    kash_service::orgs::update(
        &app.svc,
        &w.org,
        &OrgUpdate {
            status: Some("active".into()),
            ..OrgUpdate::default()
        },
        "test",
    )
    .await
    .unwrap();
    assert!(
        eventually(std::time::Duration::from_secs(1), || async {
            get(&app, &surfaces[0]).await.status() == 200
        })
        .await
    );
}

async fn organization_me_for_org_keys_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    kash_service::orgs::set_revenue_share(
        &app.svc,
        &w.org,
        4000,
        &kash_service::orgs::BracketsChange::Set("0:3000,1000:4000".into()),
        "test",
    )
    .await
    .unwrap();
    let key = app
        .key_with(
            Owner::Org(w.org.clone()),
            Tier::Free,
            Some("portfolio:read"),
        )
        .await;
    let resp = app.get("/v1/organizations/me", &key.key).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "private, no-cache");
    assert!(resp.headers().contains_key("etag"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["organization"], body["data"]);
    let org = &body["organization"];
    assert_eq!(org["id"], w.org.as_str());
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["contactEmail"], "ops@acme.example");
    assert_eq!(org["revenueShareBps"], 4000);
    assert_eq!(
        org["revenueBrackets"],
        json!([{"thresholdUsdc": "0", "bps": 3000}, {"thresholdUsdc": "1000", "bps": 4000}])
    );
    assert_eq!(org["frameAncestors"], Value::Null);
    assert!(org["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(body["_meta"]["requestId"].is_string());
    // A user's key: the resource does not exist for it.
    let (_, user_key) = app.user_with_key(Tier::Free).await;
    for path in ["/v1/organizations/me", "/v1/organizations/me/embeds"] {
        expect_problem(app.get(path, &user_key).await, 404, "RESOURCE_NOT_FOUND").await;
    }
    // portfolio:read is required.
    let no_scope = app
        .key_with(Owner::Org(w.org.clone()), Tier::Free, Some("markets:read"))
        .await;
    expect_problem(
        app.get("/v1/organizations/me", &no_scope.key).await,
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    // Described in the OpenAPI document, with the /api routes.
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/organizations/me",
        "/v1/organizations/me/embeds",
        "/api/threads",
        "/api/threads/{id}",
        "/api/organizations/{id}",
        "/api/organizations/{id}/partners",
        "/api/organizations/{id}/threads",
        "/api/partners/{id}",
        "/api/partners/{id}/threads",
        "/api/embeds/renders",
        "/api/embeds/clicks",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

/// The limiter store down: `/api` fails closed like `/v1` (503, `Retry-After: 1`, no rate-limit
/// headers) until the shared breaker opens, then serves unmetered.
async fn an_unreachable_limiter_fails_closed_then_breaks(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            redis_url: Some("redis://127.0.0.1:1".into()),
            ..TestOptions::default()
        },
    )
    .await;
    let mut refused = 0;
    loop {
        let resp = get(&app, "/api/threads").await;
        assert!(resp.headers().get("x-ratelimit-limit").is_none());
        if resp.status() == 200 {
            break;
        }
        assert_eq!(resp.headers()["retry-after"], "1");
        let body = expect_api_error(resp, 503, "RATE_LIMIT_UNAVAILABLE").await;
        assert_eq!(body["error"], "Service unavailable");
        refused += 1;
        assert!(
            refused <= 10,
            "breaker did not open after {refused} refusals"
        );
    }
    assert_eq!(refused, 10, "ten consecutive failures open the breaker");
}

backend_tests!(
    an_unreachable_limiter_fails_closed_then_breaks,
    infrastructure_rules,
    per_ip_limits_and_the_429,
    limits_are_shared_through_redis,
    the_rate_scale_setting_raises_every_limit,
    bounds_table,
    organizations_and_partners,
    thread_lists_status_filters_sorting_and_paging,
    suspended_organizations_disappear_from_every_public_surface,
    organization_me_for_org_keys_only,
);
