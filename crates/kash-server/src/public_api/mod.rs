//! The anonymous public Embed API (`/api/*`, `organizations-embeds-portal.md` §4): no key (an
//! `X-API-Key` is ignored), CORS `*`, per-client-IP limits per route in the same limiter store
//! as `/v1`, errors as `{error, message, code}` and offset pagination. The console's
//! `/api/account/*` routes share the prefix but none of these rules.

pub mod cors;
pub mod error;
pub mod limits;
pub mod params;

pub use error::PublicError;

/// Whether a path belongs to the anonymous API (and not to the console's JSON routes).
pub fn is_public_path(path: &str) -> bool {
    (path == "/api" || path.starts_with("/api/"))
        && path != "/api/account"
        && !path.starts_with("/api/account/")
}

/// Unknown paths under `/api`: the anonymous API's 404 (console paths keep their problem).
pub async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if is_public_path(uri.path()) {
        PublicError::not_found("no such route").into_response()
    } else {
        crate::http::fallback::not_found().await.into_response()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_paths() {
        for p in [
            "/api",
            "/api/threads",
            "/api/embeds/renders",
            "/api/accounts",
        ] {
            assert!(super::is_public_path(p), "{p}");
        }
        for p in [
            "/api/account",
            "/api/account/api-keys",
            "/v1/markets",
            "/apix",
        ] {
            assert!(!super::is_public_path(p), "{p}");
        }
    }
}
