//! The page frame and the pieces every console page shares. maud escapes every interpolated
//! value, so user-supplied text (key names, URLs) can never become markup.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kash_core::time::from_unix_ms;
use kash_core::Issue;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets;
use super::session::{SignedIn, CSRF_FIELD};

/// A complete HTML response.
pub fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        markup.into_string(),
    )
        .into_response()
}

/// The frame: header with the signed-in user and sign-out, then the page's content.
pub fn layout(title: &str, signed_in: Option<&SignedIn>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · Kash console" }
                link rel="stylesheet" href=(assets::css_path());
                script src=(assets::js_path()) defer {}
            }
            body {
                header.topbar {
                    div.topbar-inner {
                        a.brand href="/settings/api-keys" { "Kash " span { "console" } }
                        @if let Some(s) = signed_in {
                            span.who { (s.user.email) }
                            form method="post" action="/signout" {
                                (csrf_field(s))
                                button.btn-link.btn-small type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

pub fn csrf_field(s: &SignedIn) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(s.csrf); }
}

/// `2026-05-02 12:39 UTC`
pub fn when(ms: i64) -> String {
    from_unix_ms(ms).format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn when_opt(ms: Option<i64>, none: &str) -> String {
    ms.map(when).unwrap_or_else(|| none.to_string())
}

/// A notice box (`ok`, `error`, `warn`).
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class=(format!("notice {kind}")) role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// The message of a refused form, with every field issue listed.
pub fn problem_notice(detail: &str, issues: &[Issue]) -> Markup {
    html! {
        div.notice.error role="alert" {
            @if issues.is_empty() { (detail) } @else {
                "Please correct the following:"
                ul { @for i in issues { li { strong { (field_label(&i.path)) } ": " (i.message) } } }
            }
        }
    }
}

fn field_label(path: &str) -> &str {
    match path {
        "name" => "Name",
        "scopes" => "Scopes",
        "ipAllowlist" => "IP allowlist",
        "webhookUrl" => "Webhook URL",
        "expiresAt" => "Expiry",
        "email" => "Email",
        "password" => "Password",
        other => other,
    }
}

/// The issue message for one field, if any.
pub fn issue_for<'a>(issues: &'a [Issue], path: &str) -> Option<&'a str> {
    issues
        .iter()
        .find(|i| i.path == path)
        .map(|i| i.message.as_str())
}

/// A labelled text input with its help text and error.
#[allow(clippy::too_many_arguments)]
pub fn text_field(
    id: &str,
    label: &str,
    kind: &str,
    value: &str,
    help: Option<&str>,
    error: Option<&str>,
    required: bool,
    autocomplete: &str,
) -> Markup {
    let help_id = format!("{id}-help");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            input type=(kind) id=(id) name=(id) value=(value) required[required]
                autocomplete=(autocomplete) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[help.map(|_| help_id.as_str())];
            @if let Some(e) = error { span.err { (e) } }
            @if let Some(h) = help { small id=(help_id) { (h) } }
        }
    }
}

/// A full error page (403, 404, 429 …) inside the frame.
pub fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    signed_in: Option<&SignedIn>,
) -> Response {
    page(
        status,
        layout(
            title,
            signed_in,
            html! {
                div.card.empty {
                    h1 { (title) }
                    p { (message) }
                    p { a.btn.btn-secondary href="/settings/api-keys" { "Back to API keys" } }
                }
            },
        ),
    )
}

/// Inline SVG-free icon substitute; keeps pages free of external images.
pub fn dot() -> PreEscaped<&'static str> {
    PreEscaped("&middot;")
}
