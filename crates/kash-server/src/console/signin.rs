//! Sign-in, sign-out and (when the operator opens it) sign-up.
//!
//! Failed sign-ins are counted per client IP and per account, each in its own counter of the
//! shared limiter store (so the counts hold across a fleet), apart from the `/v1` lockout:
//! more than `KASH_SIGNIN_MAX_FAILURES` within the window blocks that IP, or that account,
//! from signing in for `KASH_SIGNIN_LOCKOUT_SECS`. The page never says which part was wrong.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use kash_service::console::{self, account_label};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::session;
use super::views::{layout, notice, page, problem_notice, text_field};
use super::{field, form_fields, internal_page, redirect, safe_next};
use crate::http::body::RawBody;
use crate::http::client_ip;
use crate::limiter::guarded::Guarded;
use crate::limiter::LockoutPolicy;
use crate::state::AppState;

const GENERIC_FAILURE: &str = "The email or password is incorrect.";

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

fn signin_view(
    state: &AppState,
    email: &str,
    next: &str,
    message: Option<(&str, &str)>,
) -> maud::Markup {
    layout(
        "Sign in",
        None,
        html! {
            div.narrow {
                div.card.auth-card {
                    h1 { "Sign in" }
                    @if let Some((kind, text)) = message { (notice(kind, text)) }
                    form.stack method="post" action="/signin" {
                        input type="hidden" name="next" value=(next);
                        (text_field("email", "Email", "email", email, None, None, true, "username"))
                        (text_field("password", "Password", "password", "", None, None, true, "current-password"))
                        div.form-actions { button type="submit" { "Sign in" } }
                    }
                    p.foot {
                        @if state.svc.settings.signup_open {
                            "No account yet? " a href="/signup" { "Create one" } "."
                        } @else {
                            "Accounts are created by the operator of this server."
                        }
                    }
                }
            }
        },
    )
}

pub async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    match session::current(&state, &headers).await {
        Ok(Some(_)) => redirect(&next),
        Ok(None) => {
            let message = q
                .signed_out
                .is_some()
                .then_some(("ok", "You have signed out."));
            page(StatusCode::OK, signin_view(&state, "", &next, message))
        }
        Err(e) => internal_page(e, None),
    }
}

fn policy(state: &AppState) -> LockoutPolicy {
    let s = &state.svc.settings;
    LockoutPolicy {
        max_failures: s.signin_max_failures,
        window_ms: (s.signin_window_secs * 1000) as i64,
        lock_ms: (s.signin_lockout_secs * 1000) as i64,
    }
}

/// The two counters a sign-in attempt is checked against. The account is hashed so emails do
/// not appear as limiter keys (in Redis, for instance).
fn counters(ip: &str, account: &str) -> [String; 2] {
    [
        format!("console-signin-ip:{ip}"),
        format!(
            "console-signin-account:{}",
            hex::encode(Sha256::digest(account.as_bytes()))
        ),
    ]
}

fn cross_origin_page() -> Response {
    super::views::error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was not submitted from a page of this console. Reload the page and try again.",
        None,
    )
}

pub async fn signin(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(raw): Extension<RawBody>,
) -> Response {
    // No session exists yet, so there is no token to check; the origin check stops a foreign
    // page from signing a visitor into an account of its choosing.
    if !session::same_origin(&state, &headers) {
        return cross_origin_page();
    }
    let fields = form_fields(&raw);
    let email = field(&fields, "email")
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = field(&fields, "password").unwrap_or_default().to_string();
    let next = safe_next(field(&fields, "next"));
    let client = client_ip::resolve(peer, &headers, &state.svc.settings.trusted_proxies);
    let ip = client.to_string();
    let account = account_label(&email);
    let now = state.svc.now_ms();
    let keys = counters(&ip, &account);

    let mut blocked_until = None;
    for key in &keys {
        match state.limiter.call(now, |s| s.locked_until(key, now)).await {
            Err(_) => {
                return super::views::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again shortly",
                    "Sign-in is briefly unavailable. Please try again in a moment.",
                    None,
                )
            }
            Ok(Guarded::Answer(Some(until))) => {
                blocked_until = Some(blocked_until.map_or(until, |b: i64| b.max(until)))
            }
            Ok(_) => {}
        }
    }
    if let Some(until) = blocked_until {
        let _ = console::audit_failure(&state.svc, &account, &ip, true).await;
        let secs = ((until - now).max(1) as u64).div_ceil(1000);
        let minutes = secs.div_ceil(60);
        let text = format!(
            "Too many failed sign-ins. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            signin_view(&state, &email, &next, Some(("error", &text))),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }

    let user = match console::check_password(&state.svc, &email, &password).await {
        Ok(user) => user,
        Err(e) => return internal_page(e.into(), None),
    };
    let Some(user) = user else {
        let policy = policy(&state);
        for key in &keys {
            // A limiter failure here must not turn a wrong password into an error page.
            let _ = state
                .limiter
                .call(now, |s| s.record_failure(key, policy, now))
                .await;
        }
        let _ = console::audit_failure(&state.svc, &account, &ip, false).await;
        return page(
            StatusCode::OK,
            signin_view(&state, &email, &next, Some(("error", GENERIC_FAILURE))),
        );
    };
    let previous = session::token_from(&state, &headers);
    let info = session::client_info(&headers, client);
    match console::start(&state.svc, &user.id, previous.as_deref(), &info).await {
        Ok(new_session) => {
            let mut response = redirect(&next);
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(&state, &new_session),
            );
            response
        }
        Err(e) => internal_page(e.into(), None),
    }
}

pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(raw): Extension<RawBody>,
) -> Response {
    let signed_in = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return internal_page(e, None),
    };
    let Some(signed_in) = signed_in else {
        let mut response = redirect("/signin");
        response
            .headers_mut()
            .append(header::SET_COOKIE, session::clear_cookie(&state));
        return response;
    };
    let fields = form_fields(&raw);
    if let Err(refusal) = session::check_csrf(&state, &headers, &signed_in, field(&fields, "_csrf"))
    {
        return super::csrf_page(refusal, Some(&signed_in));
    }
    if let Err(e) = console::end(&state.svc, &signed_in.session).await {
        return internal_page(e.into(), Some(&signed_in));
    }
    let mut response = redirect("/signin?signed_out=1");
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&state));
    response
}

fn signup_view(email: &str, problem: Option<&kash_core::Problem>) -> maud::Markup {
    let issues = problem.map(|p| p.issues.as_slice()).unwrap_or_default();
    layout(
        "Create an account",
        None,
        html! {
            div.narrow {
                div.card.auth-card {
                    h1 { "Create an account" }
                    @if let Some(p) = problem { (problem_notice(&p.detail, &p.issues)) }
                    form.stack method="post" action="/signup" {
                        (text_field("email", "Email", "email", email, None,
                            super::views::issue_for(issues, "email"), true, "username"))
                        (text_field("password", "Password", "password", "", Some("At least 8 characters."),
                            super::views::issue_for(issues, "password"), true, "new-password"))
                        div.form-actions { button type="submit" { "Create account" } }
                    }
                    p.foot { "Already have an account? " a href="/signin" { "Sign in" } "." }
                }
            }
        },
    )
}

fn signup_closed() -> Response {
    super::views::error_page(
        StatusCode::NOT_FOUND,
        "Sign-up is closed",
        "Accounts on this server are created by its operator.",
        None,
    )
}

pub async fn signup_page(State(state): State<AppState>) -> Response {
    if !state.svc.settings.signup_open {
        return signup_closed();
    }
    page(StatusCode::OK, signup_view("", None))
}

pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(raw): Extension<RawBody>,
) -> Response {
    if !state.svc.settings.signup_open {
        return signup_closed();
    }
    if !session::same_origin(&state, &headers) {
        return cross_origin_page();
    }
    let fields = form_fields(&raw);
    let email = field(&fields, "email")
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = field(&fields, "password").unwrap_or_default().to_string();
    let user = match kash_service::users::create(
        &state.svc,
        &email,
        None,
        Some(&password),
        "console:signup",
    )
    .await
    {
        Ok(user) => user,
        Err(kash_service::ServiceError::Problem(p)) => {
            return page(StatusCode::BAD_REQUEST, signup_view(&email, Some(&p)))
        }
        Err(e) => return internal_page(e.into(), None),
    };
    let ip = client_ip::resolve(peer, &headers, &state.svc.settings.trusted_proxies);
    let info = session::client_info(&headers, ip);
    let previous = session::token_from(&state, &headers);
    match console::start(&state.svc, &user.id, previous.as_deref(), &info).await {
        Ok(new_session) => {
            let mut response = redirect("/settings/api-keys");
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(&state, &new_session),
            );
            response
        }
        Err(e) => internal_page(e.into(), None),
    }
}
