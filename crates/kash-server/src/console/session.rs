//! The session cookie, the signed-in user, and the CSRF checks every state change passes.

use axum::http::{header, HeaderMap, HeaderValue};
use kash_service::console::{self, ClientInfo, Session};
use kash_store::users::UserRecord;

use crate::http::problem::ApiError;
use crate::state::AppState;

/// `__Host-` binds the cookie to our exact origin over HTTPS (no `Domain`, `Path=/`, `Secure`);
/// browsers refuse that prefix without `Secure`, so plain-HTTP localhost uses the bare name.
pub const SECURE_COOKIE: &str = "__Host-kash_session";
pub const PLAIN_COOKIE: &str = "kash_session";

/// The form field that carries the CSRF token (the JSON routes use `X-CSRF-Token`).
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether the console is served over HTTPS: decided by `KASH_PUBLIC_URL`, the address people
/// use (a TLS-terminating proxy in front makes the socket plain HTTP).
pub fn is_https(state: &AppState) -> bool {
    state.svc.settings.public_url.starts_with("https://")
}

pub fn cookie_name(state: &AppState) -> &'static str {
    if is_https(state) {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The session token in the request's cookies, if any.
pub fn token_from(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        // A token is 43 base64url characters; anything else cannot be ours.
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if is_https(state) { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` for a new session (the browser keeps it for the absolute lifetime; the server
/// enforces idle expiry itself).
pub fn set_cookie(state: &AppState, session: &Session) -> HeaderValue {
    cookie(state, &session.token, console::ABSOLUTE_MS / 1000)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    cookie(state, "", 0)
}

/// A signed-in user and the session they came with.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub user: UserRecord,
    pub csrf: String,
}

impl SignedIn {
    /// Who the audit log names for console actions.
    pub fn actor(&self) -> String {
        format!("console:{}", self.user.id)
    }
}

/// The signed-in user of a request, if its cookie names a live session.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
    let Some(token) = token_from(state, headers) else {
        return Ok(None);
    };
    let Some(session) = console::resolve(&state.svc, &token).await? else {
        return Ok(None);
    };
    let Some(user) = kash_store::users::get(state.svc.db.reader(), &session.record.user_id).await?
    else {
        return Ok(None);
    };
    let csrf = console::csrf_token(&state.svc, &session.token);
    Ok(Some(SignedIn {
        session,
        user,
        csrf,
    }))
}

pub fn client_info(headers: &HeaderMap, ip: std::net::IpAddr) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The origins this console answers on: the configured public URL's, and the one the request
/// was addressed to (`Host`) with the public URL's scheme (a local run reached by another name).
fn our_origins(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    let public = &state.svc.settings.public_url;
    let mut origins = Vec::new();
    if let Ok(url) = url::Url::parse(public) {
        origins.push(url.origin().ascii_serialization());
    }
    let scheme = if is_https(state) { "https" } else { "http" };
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        if let Ok(url) = url::Url::parse(&format!("{scheme}://{host}/")) {
            origins.push(url.origin().ascii_serialization());
        }
    }
    origins
}

/// Where the request says it comes from: `Origin`, else the origin of `Referer`.
fn source_origin(headers: &HeaderMap) -> Option<String> {
    let parse = |text: &str| {
        url::Url::parse(text)
            .ok()
            .map(|u| u.origin())
            .filter(|o| o.is_tuple())
            .map(|o| o.ascii_serialization())
    };
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => parse(origin),
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse),
    }
}

/// True when `Origin` (or, without it, `Referer`) is this console. A request with neither is
/// refused: every browser we support sends one of them on a form post.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    match source_origin(headers) {
        Some(source) => our_origins(state, headers).contains(&source),
        None => false,
    }
}

/// Why a state change was refused (the caller renders it as a page or a problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    CrossOrigin,
    BadToken,
}

impl CsrfRefusal {
    pub fn detail(self) -> &'static str {
        match self {
            CsrfRefusal::CrossOrigin => {
                "this request did not come from a page of this console (Origin/Referer)"
            }
            CsrfRefusal::BadToken => "the CSRF token is missing or does not match this session",
        }
    }
}

/// Both CSRF defences: a same-origin source and the session's token.
pub fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    submitted: Option<&str>,
) -> Result<(), CsrfRefusal> {
    if !same_origin(state, headers) {
        return Err(CsrfRefusal::CrossOrigin);
    }
    match submitted {
        Some(token) if console::csrf_matches(&state.svc, &signed_in.session.token, token) => Ok(()),
        _ => Err(CsrfRefusal::BadToken),
    }
}
