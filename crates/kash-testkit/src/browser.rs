//! A real headless Chromium for tests, driven over W3C WebDriver through the system
//! `chromedriver` (Debian's `chromium` and `chromium-driver` packages; `.ci/run` installs them).
//!
//! The client is a few plain HTTP calls with `reqwest` rather than a WebDriver crate: the
//! protocol is small, and this keeps the test build light. Each [`Browser`] starts its own
//! `chromedriver` on a free port with a fresh profile directory and stops it on drop.
//!
//! Chromium runs with background networking, component updates, sync and QUIC off: without
//! those flags it keeps trying to reach Google's services, which this machine cannot reach.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

/// The key W3C WebDriver uses for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromedriver_path() -> PathBuf {
    std::env::var_os("KASH_TEST_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn chromium_path() -> PathBuf {
    std::env::var_os("KASH_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where tests save screenshots: `artifacts/screenshots/` at the workspace root (gitignored).
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../artifacts/screenshots")
        .to_path_buf()
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Panics with a clear message when
    /// either program is missing: the browser tests are part of the suite, not optional.
    pub async fn launch() -> Browser {
        let driver_bin = chromedriver_path();
        let chromium = chromium_path();
        for (what, path) in [("chromedriver", &driver_bin), ("chromium", &chromium)] {
            assert!(
                path.exists(),
                "{what} not found at {} — install Debian's `chromium` and `chromium-driver` \
                 (see .ci/run) or set KASH_TEST_CHROMEDRIVER / KASH_TEST_CHROMIUM",
                path.display()
            );
        }
        let port = free_port();
        // Its own process group, so Chromium and every helper process it forks can be stopped
        // together: killing chromedriver alone would orphan them.
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile directory");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let driver_url = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(resp) = http.get(format!("{driver_url}/status")).send().await {
                let status: Value = resp.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-extensions".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": args,
                    }
                }
            }
        });
        let resp: Value = http
            .post(format!("{driver_url}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("new session body");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {resp}"))
            .to_string();
        Browser {
            http,
            base: format!("{driver_url}/session/{session}"),
            driver,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "webdriver {method} {path} failed ({status}): {value}"
        );
        value["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 10 s) until the current URL satisfies `expected` and the document has
    /// loaded, and returns the URL. A click on a submit button returns before the navigation
    /// it starts has finished, so every step after one waits here.
    pub async fn wait_url(&self, what: &str, expected: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            last = self.current_url().await;
            if expected(&last) {
                let ready = self.execute("return document.readyState;", vec![]).await;
                if ready == "complete" {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the browser never reached {what}; it is at {last}");
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn title(&self) -> String {
        self.get("/title")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        self.find_all(css).await.into_iter().next()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.try_find(css)
            .await
            .unwrap_or_else(|| panic!("no element matches `{css}`"))
    }

    pub async fn click(&self, el: &Element) {
        self.post(&format!("/element/{}/click", el.0), json!({}))
            .await;
    }

    /// Clears a field and types `text` into it.
    pub async fn fill(&self, el: &Element, text: &str) {
        self.post(&format!("/element/{}/clear", el.0), json!({}))
            .await;
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text }))
            .await;
    }

    pub async fn text(&self, el: &Element) -> String {
        self.get(&format!("/element/{}/text", el.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", el.0))
            .await
            .as_str()
            .map(str::to_string)
    }

    /// Switches WebDriver into a frame element, whatever its origin (the protocol is not bound
    /// by the same-origin policy, so a test can read what a framed page shows).
    pub async fn enter_frame(&self, frame: &Element) {
        self.post("/frame", json!({ "id": { ELEMENT_KEY: frame.0 } }))
            .await;
    }

    /// Back to the top-level document.
    pub async fn leave_frames(&self) {
        self.post("/frame", json!({ "id": null })).await;
    }

    /// Runs a synchronous script and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The cookies the browser holds for the current page.
    pub async fn cookies(&self) -> Vec<Value> {
        self.get("/cookie")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Makes the viewport exactly `width` × `height` CSS pixels (mobile emulation below 600).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600
            }),
        )
        .await;
    }

    /// Every URL the current page loaded (the document itself and its resources).
    pub async fn loaded_urls(&self) -> Vec<String> {
        let value = self
            .execute(
                "return [location.href].concat(performance.getEntriesByType('resource').map(function (e) { return e.name; }));",
                vec![],
            )
            .await;
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a full-page PNG at `width` px to `artifacts/screenshots/<name>-<width>.png`
    /// (the viewport grows to the page's height for the shot) and returns its path.
    pub async fn screenshot(&self, name: &str, width: u32) -> PathBuf {
        self.viewport(width, 800).await;
        let height = self
            .execute(
                "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);",
                vec![],
            )
            .await
            .as_u64()
            .unwrap_or(800)
            .clamp(400, 6000) as u32;
        self.viewport(width, height).await;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        self.viewport(1280, 900).await;
        path
    }

    /// The horizontal overflow of the page at the current viewport (0 when nothing sticks
    /// out): a page that reads well at 375 px has none.
    pub async fn horizontal_overflow(&self) -> i64 {
        self.execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .as_i64()
        .unwrap_or(0)
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
        // Drop stops whatever is left of the process group.
    }

    /// Stops chromedriver and every process of its group (Chromium and its helpers).
    fn stop_group(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also on a failed assertion: never leave a browser behind.
        self.stop_group();
    }
}
