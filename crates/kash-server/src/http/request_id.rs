//! Request ids, the version headers every response carries, and the request span.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::http::version::{self, ServedVersion};

/// Per-request facts set by the outermost layer.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: String,
    pub started: Instant,
}

/// An incoming `X-Request-ID` is echoed when it is 1–128 characters of `[A-Za-z0-9._:-]`;
/// anything else is replaced, so a client cannot inject text into our logs.
fn valid_incoming(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-request-id")?.to_str().ok()?;
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| value.to_string())
}

/// The trace id of a well-formed W3C `traceparent`, recorded on the request span.
fn trace_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(version, 2)
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace != "00000000000000000000000000000000")
        .then(|| trace.to_ascii_lowercase())
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let request_id =
        valid_incoming(req.headers()).unwrap_or_else(|| format!("req_{}", ulid::Ulid::new()));
    let trace = trace_id(req.headers()).unwrap_or_default();
    let started = Instant::now();
    req.extensions_mut().insert(RequestContext {
        request_id: request_id.clone(),
        started,
    });
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        trace_id = %trace,
        status = tracing::field::Empty,
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("status", status);
    // One access-log line per request, inside the span, so it carries the request id, method
    // and path (keys in a path are redacted by the log writer).
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_us = started.elapsed().as_micros() as u64,
            "request finished"
        )
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    let served = response
        .extensions()
        .get::<ServedVersion>()
        .map(|v| v.0)
        .unwrap_or(version::CURRENT);
    version::apply_headers(response.headers_mut(), served);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_ids() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123_x:y.z"));
        assert_eq!(valid_incoming(&h).as_deref(), Some("abc-123_x:y.z"));
        h.insert("x-request-id", HeaderValue::from_static("bad id"));
        assert_eq!(valid_incoming(&h), None);
    }

    #[test]
    fn traceparent() {
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(
            trace_id(&h).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        h.insert("traceparent", HeaderValue::from_static("garbage"));
        assert_eq!(trace_id(&h), None);
    }
}
