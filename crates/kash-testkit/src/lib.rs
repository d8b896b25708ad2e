//! Test support. Every test gets its own database — a SQLite file in a temporary directory or a
//! freshly created PostgreSQL database — and its own server on an ephemeral port, so tests run
//! in parallel without seeing each other. [`backend_tests!`] runs a test on both back-ends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_core::time::{Clock, OffsetClock};
use kash_server::app::{self, Running};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::keys::{IssueRequest, IssuedKey, LimitOverrides};
use kash_service::Services;
use sqlx::Connection;

pub mod receiver;

pub use kash_server::Role;
pub use kash_store::Backend;

pub mod browser;
pub mod console;

/// Where the PostgreSQL tests create their databases (trust auth on this machine).
pub fn postgres_admin_url() -> String {
    std::env::var("KASH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

pub fn redis_url() -> String {
    std::env::var("KASH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// A database that exists for one test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

fn with_database(admin_url: &str, name: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => format!("{admin_url}/{name}"),
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => TestDb {
                backend,
                url: format!("sqlite://{}", dir.path().join("kash.db").display()),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("kt_{}", ulid::Ulid::new().to_string().to_lowercase());
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is required by the tests: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                TestDb {
                    backend,
                    url: with_database(&admin, &name),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own to clean up.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A change applied to the settings before a test server starts.
pub type SettingsTweak = Arc<dyn Fn(&mut Settings) + Send + Sync>;

/// How to start a test server.
#[derive(Clone, Default)]
pub struct TestOptions {
    /// Share rate limits and lockouts through Redis (a prefix unique to the test).
    pub redis: bool,
    /// Use this Redis URL instead (e.g. an unreachable one).
    pub redis_url: Option<String>,
    pub trusted_proxies: Option<String>,
    pub role: Option<Role>,
    /// Adjust the settings before start.
    pub tweak: Option<SettingsTweak>,
}

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub svc: Services,
    pub clock: OffsetClock,
    pub db: Arc<TestDb>,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    options: TestOptions,
    redis_prefix: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, TestOptions::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: TestOptions) -> TestApp {
        let db = Arc::new(TestDb::new(backend).await);
        let prefix = format!("kt:{}:", ulid::Ulid::new());
        Self::start(db, options, OffsetClock::new(), prefix).await
    }

    /// A second, independent server instance on the same database (and the same Redis
    /// namespace, when Redis is used): what a fleet looks like.
    pub async fn another_instance(&self) -> TestApp {
        Self::start(
            self.db.clone(),
            self.options.clone(),
            self.clock.clone(),
            self.redis_prefix.clone(),
        )
        .await
    }

    /// A new server (own clock, own limiter namespace) on an existing database, e.g. to
    /// restart with other settings.
    pub async fn start_on(db: Arc<TestDb>, options: TestOptions) -> TestApp {
        let prefix = format!("kt:{}:", ulid::Ulid::new());
        Self::start(db, options, OffsetClock::new(), prefix).await
    }

    /// The settings every process of this test uses (a CLI run included).
    pub fn settings_for(db: &TestDb, options: &TestOptions) -> Settings {
        let data_dir: PathBuf = db.dir.path().to_path_buf();
        let mut settings = Settings::resolve(&ConfigArgs {
            database_url: Some(db.url.clone()),
            data_dir: Some(data_dir),
            listen: Some("127.0.0.1:0".parse().expect("address")),
            pepper: Some("test-pepper-0123456789abcdef0123456789".into()),
            secrets_key: Some("test-secrets-key-0123456789abcdef012345".into()),
            webhook_allow_private: Some(true),
            trusted_proxies: options.trusted_proxies.clone(),
            db_max_connections: Some(8),
            ..ConfigArgs::default()
        })
        .expect("test settings");
        if let Some(url) = &options.redis_url {
            settings.redis_url = Some(url.clone());
        } else if options.redis {
            settings.redis_url = Some(redis_url());
        }
        if let Some(tweak) = &options.tweak {
            tweak(&mut settings);
        }
        settings
    }

    async fn start(
        db: Arc<TestDb>,
        options: TestOptions,
        clock: OffsetClock,
        prefix: String,
    ) -> TestApp {
        let settings = Self::settings_for(&db, &options);
        let svc = Services::open(settings, Arc::new(clock.clone()))
            .await
            .expect("open services");
        let store: Arc<dyn kash_server::limiter::LimiterStore> = match &svc.settings.redis_url {
            Some(url) => Arc::new(
                kash_server::limiter::redis::RedisStore::new(url, &prefix).expect("redis store"),
            ),
            None => Arc::new(kash_server::limiter::memory::MemoryStore::new()),
        };
        let state = app::build_state(svc.clone(), store).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let running = app::start(state, listener, options.role.unwrap_or_default())
            .await
            .expect("start");
        let addr = running.addr;
        TestApp {
            base: format!("http://{addr}"),
            addr,
            svc,
            clock,
            db,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("http client"),
            running: Some(running),
            options,
            redis_prefix: prefix,
        }
    }

    /// The environment a CLI process needs to work on this test's database with the same
    /// secrets as the server.
    pub fn cli_env(&self) -> Vec<(String, String)> {
        let s = &self.svc.settings;
        let mut env = vec![
            ("KASH_DATABASE_URL".to_string(), s.database_url.clone()),
            (
                "KASH_DATA_DIR".to_string(),
                s.data_dir.display().to_string(),
            ),
            ("KASH_WEBHOOK_ALLOW_PRIVATE".to_string(), "true".to_string()),
        ];
        if let Some(p) = &s.pepper {
            env.push(("KASH_PEPPER".into(), p.clone()));
        }
        if let Some(k) = &s.secrets_key {
            env.push(("KASH_SECRETS_KEY".into(), k.clone()));
        }
        env
    }

    /// Runs a CLI binary with [`Self::cli_env`] and returns its output.
    pub async fn run_cli(&self, binary: &str, args: &[&str]) -> CliOutput {
        let mut cmd = tokio::process::Command::new(binary);
        cmd.args(args).env_clear();
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        cmd.envs(self.cli_env());
        let out = cmd.output().await.expect("run CLI");
        CliOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a CLI binary like [`Self::run_cli`], writing `stdin` to its standard input.
    pub async fn run_cli_stdin(&self, binary: &str, args: &[&str], stdin: &str) -> CliOutput {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(binary);
        cmd.args(args)
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        cmd.envs(self.cli_env());
        let mut child = cmd.spawn().expect("run CLI");
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .await
                .expect("write stdin");
        }
        let out = child.wait_with_output().await.expect("CLI output");
        CliOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET with a key (and no other headers).
    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("X-API-Key", key)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully (flushes counters).
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub async fn user(&self, email: &str) -> String {
        kash_service::users::create(&self.svc, email, None, None, "test")
            .await
            .expect("create user")
            .id
    }

    /// A user who can sign in to the console with `password`.
    pub async fn user_with_password(&self, email: &str, password: &str) -> String {
        kash_service::users::create(&self.svc, email, None, Some(password), "test")
            .await
            .expect("create user")
            .id
    }

    pub async fn org(&self, slug: &str) -> String {
        kash_service::orgs::create(&self.svc, slug, slug, None, "test")
            .await
            .expect("create org")
            .id
    }

    /// Issues a key with every scope unless `scopes` says otherwise.
    pub async fn key_with(&self, owner: Owner, tier: Tier, scopes: Option<&str>) -> IssuedKey {
        self.issue(IssueRequest {
            owner,
            tier,
            scopes: Some(
                ScopeSet::parse_list(scopes.unwrap_or(
                    "markets:read,markets:quote,portfolio:read,trades:read,trades:write,webhooks:manage,auth:manage",
                ))
                .expect("scopes"),
            ),
            name: None,
            ip_allowlist: None,
            webhook_url: None,
            expires_at: None,
            limits: LimitOverrides::default(),
        })
        .await
    }

    pub async fn issue(&self, req: IssueRequest) -> IssuedKey {
        kash_service::keys::issue(&self.svc, req, "test")
            .await
            .expect("issue key")
    }

    /// A new user holding one all-scope key of `tier`: `(user id, key)`.
    pub async fn user_with_key(&self, tier: Tier) -> (String, String) {
        let email = format!(
            "u{}@test.example",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let user = self.user(&email).await;
        let key = self.key_with(Owner::User(user.clone()), tier, None).await;
        (user, key.key)
    }
}

/// What a CLI run printed.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// stdout as JSON (for `--json` runs).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }
}

/// Polls `probe` every 50 ms until it returns true or `within` has passed; returns whether it
/// did. For the spec's propagation bounds ("within 1 second").
pub async fn eventually<F, Fut>(within: std::time::Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if probe().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Asserts a problem response and returns its body.
pub async fn expect_problem(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status for {code}");
    let headers = resp.headers().clone();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "content type for {code}"
    );
    assert_eq!(
        headers
            .get("x-kash-error-code")
            .and_then(|v| v.to_str().ok()),
        Some(code)
    );
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .expect("x-request-id");
    let body: serde_json::Value = resp.json().await.expect("problem body");
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert_eq!(body["requestId"], request_id.as_str());
    assert_eq!(
        body["type"],
        format!("https://docs.kash.bot/developer-docs/api-errors/{code}")
    );
    let expected_title = kash_core::ErrorCode::parse(code)
        .expect("catalogued code")
        .title();
    assert_eq!(body["title"], expected_title);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(body["instance"]
        .as_str()
        .is_some_and(|i| i.starts_with('/')));
    body
}

/// Runs each named `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )+
        }
    };
}
