//! Weak ETags on every `GET` 200 (`api.md` §1): a hash of the body without `_meta`, together
//! with the calling key's id, so a tag never matches across keys. A matching `If-None-Match`
//! gets `304` with no body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::gate::Authed;
use crate::http::problem::ApiError;

/// The tag of a JSON body for a caller.
pub fn tag_for(body: &[u8], key_id: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(obj) = value.as_object_mut() {
        obj.remove("_meta");
    }
    let digest = Sha256::new()
        .chain_update(key_id.as_bytes())
        .chain_update([0u8])
        .chain_update(value.to_string().as_bytes())
        .finalize();
    Some(format!("W/\"{}\"", hex::encode(&digest[..16])))
}

/// Weak comparison against a list of tags or `*`.
pub fn matches(headers: &HeaderMap, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == opaque(tag))
}

pub async fn layer(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let key_id = req
        .extensions()
        .get::<Authed>()
        .map(|a| a.key.id.clone())
        .unwrap_or_default();
    let conditional = req.headers().clone();
    let response = next.run(req).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return ApiError::internal(format!("reading response body: {err}")).into_response()
        }
    };
    let Some(tag) = tag_for(&bytes, &key_id) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let Ok(tag_value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.insert(header::ETAG, tag_value);
    if matches(&conditional, &tag) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_ignore_meta_and_differ_per_key() {
        let a = br#"{"data":1,"_meta":{"requestId":"a"}}"#;
        let b = br#"{"data":1,"_meta":{"requestId":"b"}}"#;
        assert_eq!(tag_for(a, "k1"), tag_for(b, "k1"));
        assert_ne!(tag_for(a, "k1"), tag_for(a, "k2"));
        let tag = tag_for(a, "k1").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("W/\"x\", {tag}")).unwrap(),
        );
        assert!(matches(&h, &tag));
        let strong = tag.trim_start_matches("W/").to_string();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&strong).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"nope\""),
        );
        assert!(!matches(&h, &tag));
    }
}
