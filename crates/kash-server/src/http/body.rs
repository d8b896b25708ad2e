//! Request bodies: at most 64 KiB (`413 PAYLOAD_TOO_LARGE`), read once and kept as bytes so the
//! signed-body check and the handler see the same raw body.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use kash_core::{ErrorCode, Issue, Problem};
use serde::de::DeserializeOwned;

use crate::http::problem::ApiError;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The raw request body (empty for bodiless requests).
#[derive(Clone, Debug, Default)]
pub struct RawBody(pub Bytes);

/// How much of an oversized body is read and discarded before the `413` goes out. A client
/// that is still sending when the server answers and closes would see a connection reset
/// instead of the problem; draining a bounded amount lets ordinary clients read the answer
/// without letting a huge upload hold the server.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(2);

async fn too_large(body: Body) -> Response {
    let mut body = body;
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    let mut resp = ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
    )
    .into_response();
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}

pub async fn limit(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (mut parts, mut body) = req.into_parts();
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return too_large(body).await;
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return ApiError::from(Problem::invalid(
                "body",
                "the request body could not be read",
            ))
            .into_response();
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > MAX_BODY_BYTES {
                return too_large(body).await;
            }
            buf.extend_from_slice(data);
        }
    }
    let bytes = buf.freeze();
    parts.extensions.insert(RawBody(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A JSON body, parsed from [`RawBody`]. A parse failure is `400 VALIDATION_FAILED` naming the
/// field (or `body` for malformed JSON). Unknown fields are ignored.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts
            .extensions
            .get::<RawBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        parse_json(&raw).map(ApiJson).map_err(ApiError::from)
    }
}

pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    let text = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        raw
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            Problem::validation(vec![Issue::new("body", format!("malformed JSON: {inner}"))])
        } else {
            Problem::validation(vec![Issue::new(path, inner.to_string())])
        }
    })
}
