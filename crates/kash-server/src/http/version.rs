//! Dated API versions (`api.md` §1).

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use kash_core::{ErrorCode, Problem};
use serde_json::json;

/// The version served when a request names none.
pub const CURRENT: &str = "2026-08-19";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    Current,
    Supported,
    Deprecated,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Current => "current",
            VersionStatus::Supported => "supported",
            VersionStatus::Deprecated => "deprecated",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ApiVersion {
    pub version: &'static str,
    pub status: VersionStatus,
    /// Set when deprecated: 12 months after the deprecation (RFC 3339).
    pub sunset: Option<&'static str>,
}

/// Every published version, current first. Both are served identically today.
pub const VERSIONS: &[ApiVersion] = &[
    ApiVersion {
        version: CURRENT,
        status: VersionStatus::Current,
        sunset: None,
    },
    ApiVersion {
        version: "2026-04-29",
        status: VersionStatus::Supported,
        sunset: None,
    },
];

pub fn find(version: &str) -> Option<&'static ApiVersion> {
    VERSIONS.iter().find(|v| v.version == version)
}

/// The version a request is served in, kept in the response's extensions for the headers.
#[derive(Debug, Clone, Copy)]
pub struct ServedVersion(pub &'static str);

/// `X-Kash-Api-Version` absent → current; a known version → it; anything else (unknown,
/// future, sunset, several values) → `410 API_VERSION_UNSUPPORTED`.
pub fn negotiate(headers: &HeaderMap, now: DateTime<Utc>) -> Result<&'static str, Problem> {
    let values: Vec<&HeaderValue> = headers.get_all("x-kash-api-version").iter().collect();
    let requested = match values.as_slice() {
        [] => return Ok(CURRENT),
        [one] => one.to_str().unwrap_or("").trim().to_string(),
        many => many
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(","),
    };
    let sunset_passed = |v: &ApiVersion| {
        v.sunset
            .and_then(kash_core::time::parse_rfc3339)
            .is_some_and(|at| now >= at)
    };
    match find(&requested) {
        Some(v) if !sunset_passed(v) => Ok(v.version),
        _ => {
            let supported: Vec<&str> = VERSIONS
                .iter()
                .filter(|v| !sunset_passed(v))
                .map(|v| v.version)
                .collect();
            Err(Problem::new(
                ErrorCode::ApiVersionUnsupported,
                format!(
                    "API version `{}` is not supported; send one of {} or omit X-Kash-Api-Version for {CURRENT}",
                    requested.chars().take(64).collect::<String>(),
                    supported.join(", ")
                ),
            )
            .with("requested", json!(requested.chars().take(64).collect::<String>()))
            .with("supported", json!(supported))
            .with("current", json!(CURRENT)))
        }
    }
}

/// `X-Kash-Api-Version` and `X-API-Version` (Kash's SDK reads the latter), plus the
/// deprecation headers of a deprecated version.
pub fn apply_headers(headers: &mut HeaderMap, served: &'static str) {
    let value = HeaderValue::from_static(served);
    headers.insert("x-kash-api-version", value.clone());
    headers.insert("x-api-version", value);
    if let Some(v) = find(served).filter(|v| v.status == VersionStatus::Deprecated) {
        headers.insert("deprecation", HeaderValue::from_static("true"));
        if let Some(at) = v.sunset.and_then(kash_core::time::parse_rfc3339) {
            let http_date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            if let Ok(value) = HeaderValue::from_str(&http_date) {
                headers.insert("sunset", value);
            }
        }
        if let Ok(link) = HeaderValue::from_str("</v1/openapi/index.json>; rel=\"sunset\"") {
            headers.insert("link", link);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-kash-api-version", HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn negotiation() {
        let now = Utc::now();
        assert_eq!(negotiate(&with(&[]), now).unwrap(), CURRENT);
        assert_eq!(
            negotiate(&with(&["2026-04-29"]), now).unwrap(),
            "2026-04-29"
        );
        assert_eq!(
            negotiate(&with(&["2026-08-19"]), now).unwrap(),
            "2026-08-19"
        );
        for bad in [
            &["2026-05-02"][..],
            &["2099-01-01"],
            &["nope"],
            &["2026-04-29", "2026-08-19"],
            &["2026-04-29,2026-08-19"],
        ] {
            let p = negotiate(&with(bad), now).unwrap_err();
            assert_eq!(p.code, ErrorCode::ApiVersionUnsupported);
            assert_eq!(
                p.extensions["supported"],
                json!(["2026-08-19", "2026-04-29"])
            );
            assert_eq!(p.extensions["current"], json!("2026-08-19"));
        }
    }
}
