//! The web console (`organizations-embeds-portal.md` §6): server-rendered pages for signing in
//! and for **Settings → API Keys**, plus the session guard of the JSON routes under
//! `/api/account/*` (`crate::routes::account_keys`).
//!
//! Every console response carries the console's security headers (never framable, no
//! sniffing, same-origin referrers, never cached); every state change passes both CSRF checks
//! (session token and same-origin `Origin`/`Referer`).

pub mod access;
pub use crate::pages::assets;
pub mod guard;
pub mod keys;
mod keys_views;
pub mod session;
pub mod signin;
pub mod views;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kash_core::ErrorCode;

use crate::http::body::RawBody;
use crate::http::problem::ApiError;
use crate::state::AppState;
use session::{CsrfRefusal, SignedIn};

/// Exactly the policy of §6: nothing from other origins, and never inside a frame.
pub const CONSOLE_CSP: &str = "default-src 'self'; frame-ancestors 'none'";

/// The console's pages (the JSON routes are mounted with the other `/api` routes).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin::signin_page).post(signin::signin))
        .route("/signout", post(signin::signout))
        .route("/signup", get(signin::signup_page).post(signin::signup))
        .route("/console", get(|| async { redirect("/settings/api-keys") }))
        .route(
            "/settings",
            get(|| async { redirect("/settings/api-keys") }),
        )
        .route("/settings/api-keys", get(keys::list).post(keys::create))
        .route("/settings/api-keys/new", get(keys::new_form))
        .route("/settings/api-keys/created", get(keys::created))
        .route(
            "/settings/api-keys/{id}",
            get(keys::show).post(keys::update),
        )
        .route("/settings/api-keys/{id}/edit", get(keys::edit_form))
        .route(
            "/settings/api-keys/{id}/test-webhook",
            post(keys::test_webhook),
        )
        .route(
            "/settings/api-keys/{id}/revoke",
            get(keys::revoke_confirm).post(keys::revoke),
        )
        .layer(from_fn(security_headers))
}

/// The console's static assets (hashed names, long cache).
pub fn assets_router() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(assets::serve))
}

/// Security headers of every console response, pages and JSON alike.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    // For browsers that predate `frame-ancestors`.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages carry CSRF tokens and, once, plaintext secrets: never store them anywhere.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `303 See Other` to a local path.
pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Where to go after sign-in: a local path only (never `//host` or a scheme), so the
/// parameter cannot send people elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.contains(['\r', '\n']) =>
        {
            n.to_string()
        }
        _ => "/settings/api-keys".to_string(),
    }
}

/// The fields of a urlencoded form body, in order (repeated names kept: checkboxes).
pub fn form_fields(raw: &RawBody) -> Vec<(String, String)> {
    parse_form(&raw.0)
}

fn parse_form(bytes: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a form field.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of a repeated form field.
pub fn fields_named<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The signed-in user, or a redirect to the sign-in page that comes back here afterwards.
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<SignedIn, Response> {
    match session::current(state, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            let here = uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/settings/api-keys");
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(redirect(&format!("/signin?next={next}")))
        }
        Err(e) => Err(internal_page(e, None)),
    }
}

/// A refused state change, as a page.
pub fn csrf_page(refusal: CsrfRefusal, signed_in: Option<&SignedIn>) -> Response {
    views::error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        &format!(
            "{}. Reload the page and try again.",
            capitalise(refusal.detail())
        ),
        signed_in,
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An error as a page: refusals show their detail; failures are logged and shown generically.
pub fn internal_page(err: ApiError, signed_in: Option<&SignedIn>) -> Response {
    let code = err.problem.code;
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match code {
        ErrorCode::ResourceNotFound => views::error_page(
            status,
            "Not found",
            "There is nothing here, or it belongs to someone else.",
            signed_in,
        ),
        ErrorCode::RoleNotPermitted => {
            views::error_page(status, "Not allowed", &err.problem.detail, signed_in)
        }
        _ if status.is_client_error() => {
            views::error_page(status, "Request refused", &err.problem.detail, signed_in)
        }
        _ => {
            if let Some(cause) = &err.cause {
                tracing::error!(
                    code = %code,
                    cause = %kash_core::apikey::redact_keys(cause),
                    "console request failed"
                );
            }
            views::error_page(
                status,
                "Something went wrong",
                "The request could not be completed. Please try again in a moment.",
                signed_in,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_local() {
        assert_eq!(
            safe_next(Some("/settings/api-keys?org=x")),
            "/settings/api-keys?org=x"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/settings/api-keys", "{bad}");
        }
        assert_eq!(safe_next(None), "/settings/api-keys");
    }

    #[test]
    fn forms_keep_repeated_fields() {
        let fields = parse_form(&Bytes::from_static(
            b"name=a+b&scopes=markets%3Aread&scopes=trades%3Aread",
        ));
        assert_eq!(field(&fields, "name"), Some("a b"));
        assert_eq!(
            fields_named(&fields, "scopes"),
            vec!["markets:read", "trades:read"]
        );
    }
}
