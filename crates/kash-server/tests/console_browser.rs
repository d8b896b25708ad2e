//! The console in a real headless Chromium (scenario 10 of `organizations-embeds-portal.md` §9):
//! sign in, create a key and see its plaintext exactly once, use it on `/v1`, revoke it and
//! see `API_KEY_REVOKED`, sign out and find the old cookie dead. On SQLite the test also saves
//! screenshots of every console page at 1280 and 375 px to `artifacts/screenshots/`, and checks
//! that nothing overflows sideways at 375 px and that no page loads anything from another host.

use kash_testkit::browser::Browser;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp};

const PASSWORD: &str = "correct horse battery";

/// Both widths; at 375 px nothing may stick out sideways.
async fn shoot(b: &Browser, name: &str, save: bool) {
    // The CSP (`default-src 'self'`) blocks inline styles and scripts: a page must not need any.
    let inline = b
        .execute(
            "return document.querySelectorAll('[style], style, script:not([src])').length;",
            vec![],
        )
        .await;
    assert_eq!(inline, 0, "{name} carries inline style or script");
    b.viewport(375, 800).await;
    assert_eq!(
        b.horizontal_overflow().await,
        0,
        "{name} overflows at 375 px"
    );
    b.viewport(1280, 900).await;
    if save {
        for width in [1280, 375] {
            b.screenshot(name, width).await;
        }
    }
}

/// Every URL the page loaded is ours.
async fn only_our_host(b: &Browser, app: &TestApp) {
    let urls = b.loaded_urls().await;
    assert!(urls.len() >= 3, "document, CSS and JS: {urls:?}");
    for url in urls {
        assert!(url.starts_with(&app.base), "{url} is not from {}", app.base);
    }
}

async fn console_key_flow_in_a_real_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let save = backend == Backend::Sqlite;
    let user = app
        .user_with_password("browser@test.example", PASSWORD)
        .await;
    let org = app.org("acme").await;
    kash_service::orgs::add_member(&app.svc, &org, &user, "owner", "test")
        .await
        .unwrap();
    let b = Browser::launch().await;

    // A console page sends a signed-out visitor to sign in.
    b.goto(&app.url("/settings/api-keys")).await;
    b.wait_url("the sign-in page", |u| u.contains("/signin?next="))
        .await;
    // The stylesheet applied (an unstyled page would keep the browser's default margin).
    let margin = b
        .execute("return getComputedStyle(document.body).margin;", vec![])
        .await;
    assert_eq!(margin, "0px", "console.css is applied");
    shoot(&b, "console-signin", save).await;
    only_our_host(&b, &app).await;

    // A wrong password: the generic message.
    b.fill(&b.find("#email").await, "browser@test.example")
        .await;
    b.fill(&b.find("#password").await, "wrong password").await;
    b.click(&b.find("form[action='/signin'] button").await)
        .await;
    b.wait_url("the failed sign-in", |u| u.ends_with("/signin"))
        .await;
    assert!(b
        .source()
        .await
        .contains("The email or password is incorrect."));
    shoot(&b, "console-signin-failed", save).await;

    b.fill(&b.find("#password").await, PASSWORD).await;
    b.click(&b.find("form[action='/signin'] button").await)
        .await;
    b.wait_url("the keys page", |u| u.ends_with("/settings/api-keys"))
        .await;
    let cookies = b.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"] == "kash_session")
        .expect("session cookie");
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Lax");
    assert_eq!(session["path"], "/");
    let old_cookie = format!("kash_session={}", session["value"].as_str().unwrap());
    // HttpOnly: page scripts cannot read it.
    let visible = b.execute("return document.cookie;", vec![]).await;
    assert!(!visible
        .as_str()
        .unwrap_or_default()
        .contains("kash_session"));

    // Empty state, then the create form.
    assert!(b
        .text(&b.find(".empty").await)
        .await
        .contains("No active keys"));
    shoot(&b, "console-keys-empty", save).await;
    b.click(&b.find(".empty a.btn").await).await;
    b.wait_url("the create form", |u| u.ends_with("/settings/api-keys/new"))
        .await;
    shoot(&b, "console-key-new", save).await;
    // A URL the browser accepts but the server refuses: the form comes back with the error.
    b.fill(&b.find("#name").await, "Trading bot").await;
    b.fill(&b.find("#webhookUrl").await, "ftp://example.com/hook")
        .await;
    b.click(
        &b.find("form[action='/settings/api-keys'] button[type='submit']")
            .await,
    )
    .await;
    b.wait_url("the refused form", |u| u.ends_with("/settings/api-keys"))
        .await;
    assert!(b
        .text(&b.find(".notice.error").await)
        .await
        .contains("Webhook URL"));
    shoot(&b, "console-key-new-errors", save).await;
    b.click(&b.find("input[name='scopes'][value='auth:manage']").await)
        .await;
    b.fill(&b.find("#webhookUrl").await, "http://127.0.0.1:9/hook")
        .await;
    b.click(
        &b.find("form[action='/settings/api-keys'] button[type='submit']")
            .await,
    )
    .await;

    // The plaintext, once, with its copy button.
    b.wait_url("the created page", |u| {
        u.ends_with("/settings/api-keys/created")
    })
    .await;
    let key = b.text(&b.find("#plaintext-key").await).await;
    assert!(key.starts_with("kash_test_") && key.len() == 42, "{key}");
    assert!(b
        .text(&b.find("#webhook-secret").await)
        .await
        .starts_with("whsec_"));
    assert!(b
        .try_find("button[data-copy='plaintext-key']")
        .await
        .is_some());
    shoot(&b, "console-key-created", save).await;
    only_our_host(&b, &app).await;
    assert_eq!(app.get("/v1/account/usage", &key).await.status(), 200);

    // Reload: gone for good.
    b.refresh().await;
    b.wait_url("the created page", |u| {
        u.ends_with("/settings/api-keys/created")
    })
    .await;
    assert!(b.try_find("#plaintext-key").await.is_none());
    assert!(b.try_find("#already-shown").await.is_some());
    assert!(!b.source().await.contains(&key));
    shoot(&b, "console-key-already-shown", save).await;

    // The filled list (with usage), edit, revoke confirmation.
    b.goto(&app.url("/settings/api-keys")).await;
    b.wait_url("the keys page", |u| u.ends_with("/settings/api-keys"))
        .await;
    let card = b.text(&b.find("article.card").await).await;
    assert!(
        card.contains("Trading bot") && card.contains("auth:manage"),
        "{card}"
    );
    assert!(!b.source().await.contains(&key));
    shoot(&b, "console-keys-list", save).await;
    b.click(&b.find("article.card a[href$='/edit']").await)
        .await;
    b.wait_url("the edit page", |u| u.ends_with("/edit")).await;
    assert_eq!(
        b.attribute(&b.find("#name").await, "value")
            .await
            .as_deref(),
        Some("Trading bot")
    );
    shoot(&b, "console-key-edit", save).await;
    b.fill(&b.find("#name").await, "Trading bot v2").await;
    b.click(&b.find("form.stack button[type='submit']").await)
        .await;
    b.wait_url("the keys page", |u| u.ends_with("/settings/api-keys"))
        .await;
    assert!(b.source().await.contains("Saved “Trading bot v2”."));
    shoot(&b, "console-keys-saved", save).await;
    b.click(&b.find("article.card a[href$='/revoke']").await)
        .await;
    b.wait_url("the revoke page", |u| u.ends_with("/revoke"))
        .await;
    shoot(&b, "console-key-revoke", save).await;
    b.click(&b.find("button.btn-danger").await).await;
    b.wait_url("the keys page", |u| u.ends_with("/settings/api-keys"))
        .await;
    assert!(b.source().await.contains("Revoked “Trading bot v2”"));
    expect_problem(
        app.get("/v1/account/usage", &key).await,
        401,
        "API_KEY_REVOKED",
    )
    .await;
    shoot(&b, "console-keys-after-revoke", save).await;

    // The organization the user owns has its own tab and keys.
    b.click(&b.find(&format!("ul.tabs a[href$='?org={org}']")).await)
        .await;
    b.wait_url("the organization's keys", |u| {
        u.ends_with(&format!("?org={org}"))
    })
    .await;
    assert!(b.source().await.contains("Keys of"));
    shoot(&b, "console-keys-org", save).await;

    // Sign out: the session is deleted server-side, the old cookie is dead.
    b.click(&b.find("form[action='/signout'] button").await)
        .await;
    b.wait_url("the sign-in page", |u| u.contains("/signin?signed_out"))
        .await;
    assert!(b.source().await.contains("You have signed out."));
    let rows: i64 = kash_store::sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions")
        .fetch_one(app.svc.db.reader())
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let stale = http
        .get(app.url("/settings/api-keys"))
        .header("cookie", &old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 303);
    b.close().await;
}

/// Serves `html` at `/` from a second local origin, as a third-party site would.
async fn host_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

async fn console_pages_refuse_to_be_framed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The control frame (/v1/health sends no frame-ancestors) shows; the console does not.
    let host = host_page(format!(
        "<!doctype html><title>host</title>\
         <iframe id=control src=\"{0}/v1/health\"></iframe>\
         <iframe id=console src=\"{0}/signin\"></iframe>",
        app.base
    ))
    .await;
    let b = Browser::launch().await;
    b.goto(&host).await;
    b.wait_url("the host page", |u| u == host).await;
    let control = b.find("#control").await;
    b.enter_frame(&control).await;
    let mut shown = false;
    for _ in 0..100 {
        if b.source().await.contains("kash-server") {
            shown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(shown, "the control frame never loaded");
    b.leave_frames().await;
    let console = b.find("#console").await;
    b.enter_frame(&console).await;
    // Wait until the frame has settled on a document (blocked: Chromium's error page).
    let mut href = String::new();
    for _ in 0..100 {
        href = b
            .execute("return location.href;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if href != "about:blank" && !href.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !href.starts_with(&app.base),
        "the console loaded in a frame: {href}"
    );
    let framed = b.source().await;
    assert!(
        !framed.contains("name=\"password\"") && !framed.contains("Sign in"),
        "the sign-in page rendered inside a frame: {framed}"
    );
    b.leave_frames().await;
    b.close().await;
}

backend_tests!(
    console_key_flow_in_a_real_browser,
    console_pages_refuse_to_be_framed
);
