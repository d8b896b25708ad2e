//! Outbound webhook requests (deliveries and test pings) behind the SSRF guard.
//!
//! The guard runs inside the HTTP client's DNS resolver: the host is resolved once, every
//! address is checked, and the connection is made to those checked addresses, so there is no
//! second resolution an attacker's DNS could answer differently. IP-literal hosts never reach a
//! resolver and are checked before the request. Redirects are never followed and no proxy
//! from the environment is used (it would connect on our behalf to unchecked addresses).

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use super::schedule::{classify_status, FailureCode};
use crate::ssrf::is_blocked;

/// `User-Agent` of every outbound webhook request.
pub const USER_AGENT_VALUE: &str = concat!("Kash-Webhook-Delivery/", env!("CARGO_PKG_VERSION"));

/// How much of a response body is read (the rest is dropped with the connection).
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// A destination the guard refused.
#[derive(Debug)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl StdError for Blocked {}

#[derive(Debug, Clone)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?
                .collect();
            if addrs.is_empty() {
                return Err(format!("host `{host}` does not resolve").into());
            }
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| is_blocked(a.ip())) {
                    return Err(Box::new(Blocked(format!(
                        "`{host}` resolves to {}, which webhooks may not reach",
                        bad.ip()
                    ))) as Box<dyn StdError + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// What one request produced.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub status_code: Option<u16>,
    /// `None` when delivered (2xx).
    pub failure: Option<FailureCode>,
    /// `Retry-After` of a 429/503, in milliseconds from now.
    pub retry_after_ms: Option<i64>,
    /// A short human explanation of a failure (never a secret).
    pub error_message: Option<String>,
    /// The start of the response body (test pings show it).
    pub body: String,
    pub elapsed: Duration,
}

impl SendOutcome {
    fn failed(code: FailureCode, message: String, elapsed: Duration) -> Self {
        SendOutcome {
            status_code: None,
            failure: Some(code),
            retry_after_ms: None,
            error_message: Some(message),
            body: String::new(),
            elapsed,
        }
    }
}

/// The HTTP client for webhooks. Cheap to clone; connections are pooled.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Sender, reqwest::Error> {
        // Idle connections are kept per host: many keys may share one receiver host, and
        // reopening connections would cost more than the idle sockets.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(Sender {
            client,
            allow_private,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Checks what can be checked before connecting: syntax, scheme, and an IP-literal host
    /// (which never reaches the resolver).
    fn precheck(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the URL is not http(s)".into());
        }
        if self.allow_private {
            return Ok(parsed);
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("the URL has no host".into()),
        };
        if let Some(ip) = literal.filter(|ip| is_blocked(*ip)) {
            return Err(format!("{ip} is an address webhooks may not reach"));
        }
        Ok(parsed)
    }

    /// POSTs `body` with the webhook headers and classifies the result.
    pub async fn post(
        &self,
        url: &str,
        event_id: &str,
        api_version: &str,
        signature: &str,
        body: bytes::Bytes,
    ) -> SendOutcome {
        let started = std::time::Instant::now();
        let target = match self.precheck(url) {
            Ok(u) => u,
            Err(message) => {
                return SendOutcome::failed(
                    FailureCode::UrlValidationFailed,
                    message,
                    started.elapsed(),
                )
            }
        };
        let mut headers = HeaderMap::with_capacity(5);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        for (name, value) in [
            ("x-kash-signature", signature),
            ("x-kash-event-id", event_id),
            ("x-kash-api-version", api_version),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        let response = self
            .client
            .post(target)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let mut response = match response {
            Ok(r) => r,
            Err(err) => return self.transport_failure(&err, started.elapsed()),
        };
        let status = response.status().as_u16();
        let retry_after_ms = match status {
            429 | 503 => response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
            _ => None,
        };
        // Read a bounded start of the body (lets the connection be reused when it is short).
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_RESPONSE_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    // The status arrived; a body cut short (or too slow) does not change it,
                    // except that a timeout while reading means the receiver did not answer.
                    if err.is_timeout() {
                        return self.transport_failure(&err, started.elapsed());
                    }
                    break;
                }
            }
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let failure = classify_status(status);
        let error_message = failure.map(|_| {
            let snippet: String = body.chars().filter(|c| !c.is_control()).take(200).collect();
            if snippet.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {snippet}")
            }
        });
        SendOutcome {
            status_code: Some(status),
            failure,
            retry_after_ms,
            error_message,
            body,
            elapsed: started.elapsed(),
        }
    }

    fn transport_failure(&self, err: &reqwest::Error, elapsed: Duration) -> SendOutcome {
        if err.is_timeout() {
            return SendOutcome::failed(
                FailureCode::Timeout,
                format!("no response within {} ms", self.timeout.as_millis()),
                elapsed,
            );
        }
        let mut source: Option<&(dyn StdError + 'static)> = Some(err);
        while let Some(e) = source {
            if let Some(blocked) = e.downcast_ref::<Blocked>() {
                return SendOutcome::failed(
                    FailureCode::UrlValidationFailed,
                    blocked.0.clone(),
                    elapsed,
                );
            }
            source = e.source();
        }
        SendOutcome::failed(FailureCode::Network, describe(err), elapsed)
    }
}

/// The innermost cause of a transport error, without the URL (which may carry a token).
fn describe(err: &reqwest::Error) -> String {
    let mut last = err.without_url_ref().to_string();
    let mut source = err.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    let what = if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{what}: {last}")
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date, as milliseconds from now.
pub fn parse_retry_after(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(secs.max(0).saturating_mul(1000));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.timestamp_millis() - chrono::Utc::now().timestamp_millis()).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(120_000));
        assert_eq!(parse_retry_after("-5"), Some(0));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(100))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let ms = parse_retry_after(&later).unwrap();
        assert!((95_000..=100_000).contains(&ms), "{ms}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test]
    async fn guard_refuses_private_targets() {
        let sender = Sender::new(Duration::from_secs(2), false).unwrap();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:9/hook",
            "http://localhost:9/hook",
            "http://169.254.169.254/latest",
            "http://[::ffff:10.0.0.1]/",
        ] {
            let out = sender.post(url, "e", "v", "t=1,v1=00", "{}".into()).await;
            assert_eq!(
                out.failure,
                Some(FailureCode::UrlValidationFailed),
                "{url}: {out:?}"
            );
        }
    }
}
