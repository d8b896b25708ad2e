//! A webhook receiver on loopback for tests: records every request (headers, raw body, order)
//! under the path's last segment, answers as a script says, and notices overlapping requests
//! for one name (per-key FIFO means there must never be any).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, String),
    /// `302` to another path of this receiver.
    Redirect(String),
    /// Never answers (until the test ends).
    Hang,
    /// Answers after a delay.
    Delay(Duration, u16),
}

/// Decides the answer from the name and the 1-based number of this request for that name.
pub type Script = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Hit {
    pub name: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Order of arrival over the whole receiver.
    pub order: usize,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn event_id(&self) -> String {
        self.header("x-kash-event-id").to_string()
    }

    /// `t` of the signature header (the attempt's send time).
    pub fn signed_at(&self) -> i64 {
        self.header("x-kash-signature")
            .split(',')
            .find_map(|p| p.strip_prefix("t="))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
    per_name: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    overlaps: usize,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    script: Arc<Mutex<Script>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    _task: tokio::task::JoinHandle<()>,
}

async fn handle(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (reply, name_key) = {
        let mut inner = shared.inner.lock().expect("receiver lock");
        let n = {
            let count = inner.per_name.entry(name.clone()).or_insert(0);
            *count += 1;
            *count
        };
        let flying = inner.in_flight.entry(name.clone()).or_insert(0);
        *flying += 1;
        if *flying > 1 {
            inner.overlaps += 1;
        }
        let order = inner.hits.len();
        inner.hits.push(Hit {
            name: name.clone(),
            headers,
            body,
            order,
        });
        let script = shared.script.lock().expect("script lock").clone();
        (script(&name, n), name)
    };
    struct Done(Shared, String);
    impl Drop for Done {
        fn drop(&mut self) {
            if let Ok(mut inner) = self.0.inner.lock() {
                if let Some(n) = inner.in_flight.get_mut(&self.1) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }
    let _done = Done(shared.clone(), name_key);
    let status =
        |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply {
        Reply::Status(code) => (status(code), "ok").into_response(),
        Reply::RetryAfter(code, value) => {
            (status(code), [("retry-after", value)], "later").into_response()
        }
        Reply::Redirect(to) => (StatusCode::FOUND, [("location", to)], "moved").into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Reply::Delay(d, code) => {
            tokio::time::sleep(d).await;
            (status(code), "ok").into_response()
        }
    }
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Receiver {
        Self::with_script(Arc::new(|_, _| Reply::Status(200))).await
    }

    pub async fn with_script(script: Script) -> Receiver {
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner::default())),
            script: Arc::new(Mutex::new(script)),
        };
        let app = axum::Router::new()
            .route("/hook/{name}", axum::routing::post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            shared,
            _task: task,
        }
    }

    pub fn set_script(&self, script: Script) {
        *self.shared.script.lock().expect("script lock") = script;
    }

    /// `http://127.0.0.1:<port>/hook/<name>`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/hook/{name}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.inner.lock().expect("lock").hits.clone()
    }

    pub fn hits_for(&self, name: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.name == name).collect()
    }

    pub fn count(&self) -> usize {
        self.shared.inner.lock().expect("lock").hits.len()
    }

    pub fn count_for(&self, name: &str) -> usize {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .per_name
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Requests that arrived while another one for the same name was still open.
    pub fn overlaps(&self) -> usize {
        self.shared.inner.lock().expect("lock").overlaps
    }
}

/// Polls `check` until it holds; panics with `what` if it does not within `limit`. The limit
/// is a safety net against hanging tests, never the thing under test.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
