//! The HTTP client.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiProblem, Error};

/// A successful response: status, headers and the decoded body.
#[derive(Debug, Clone)]
pub struct ApiResponse<T> {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: T,
}

impl<T> ApiResponse<T> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
    }
}

#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: Option<String>,
    api_version: Option<String>,
    timeout: Duration,
    sign_requests: bool,
    user_agent: String,
}

impl ClientBuilder {
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sends `X-Kash-Api-Version` (absent: the server's current version).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Signs every POST body with the API key (`X-Kash-Signature`, Kash's current scheme).
    pub fn sign_requests(mut self, on: bool) -> Self {
        self.sign_requests = on;
        self
    }

    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(self.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base_url: self.base_url.trim_end_matches('/').to_string(),
            api_key: self.api_key,
            api_version: self.api_version,
            sign_requests: self.sign_requests,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    api_version: Option<String>,
    sign_requests: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The `X-Kash-Signature` value for a request signed with the API key:
/// `t=<ms>,v1=HMAC(key, "<t>.<METHOD>.<path>.<body>")`.
pub fn request_signature(
    api_key: &str,
    t_ms: i64,
    method: &str,
    path: &str,
    body: &[u8],
) -> String {
    let digest = kash_core::signature::request_digest(api_key, t_ms, method, path, body);
    format!("t={t_ms},v1={}", hex::encode(digest))
}

impl Client {
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: None,
            api_version: None,
            timeout: Duration::from_secs(35),
            sign_requests: false,
            user_agent: format!("kash-client-rust/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Any request; `path` starts with `/`. Problems become [`Error::Api`].
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        extra_headers: &[(&str, &str)],
    ) -> Result<ApiResponse<T>, Error> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .query(query);
        if let Some(key) = &self.api_key {
            req = req.header("X-API-Key", key);
        }
        if let Some(version) = &self.api_version {
            req = req.header("X-Kash-Api-Version", version);
        }
        for (name, value) in extra_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::Config(format!("header {name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Error::Config(format!("header value: {e}")))?;
            req = req.header(name, value);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| Error::Config(e.to_string()))?;
            if self.sign_requests && method == Method::POST {
                if let Some(key) = &self.api_key {
                    let sig = request_signature(key, now_ms(), method.as_str(), path, &bytes);
                    req = req.header("X-Kash-Signature", sig);
                }
            }
            req = req.header("content-type", "application/json").body(bytes);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Error::Network(e.to_string()))?;
        if status >= 400 {
            return Err(Error::Api(Box::new(problem(status, &headers, &bytes))));
        }
        let body = if bytes.is_empty() {
            serde_json::from_value(Value::Null)
        } else {
            serde_json::from_slice(&bytes)
        }
        .map_err(|e| Error::Decode {
            status,
            message: e.to_string(),
        })?;
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<ApiResponse<T>, Error> {
        self.request(Method::GET, path, query, None, &[]).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        extra_headers: &[(&str, &str)],
    ) -> Result<ApiResponse<T>, Error> {
        self.request(Method::POST, path, &[], Some(body), extra_headers)
            .await
    }

    /// `GET /v1/health` (no key needed).
    pub async fn health(&self) -> Result<Value, Error> {
        Ok(self.get("/v1/health", &[]).await?.body)
    }

    /// `GET /v1/account/usage` — the calling key's usage.
    pub async fn usage(&self) -> Result<Value, Error> {
        Ok(self.get::<Value>("/v1/account/usage", &[]).await?.body["data"].clone())
    }
}

fn problem(status: u16, headers: &HeaderMap, bytes: &[u8]) -> ApiProblem {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    ApiProblem {
        status,
        code: text("code").unwrap_or_else(|| format!("HTTP_{status}")),
        title: text("title").unwrap_or_default(),
        detail: text("detail")
            .unwrap_or_else(|| String::from_utf8_lossy(bytes).chars().take(200).collect()),
        docs_url: text("type"),
        request_id: text("requestId").or_else(|| {
            headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }),
        retry_after_secs: headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok()),
        body,
    }
}
