//! Markup of the Settings → API Keys pages.

use kash_core::scope::{Scope, ScopeSet};
use kash_core::Problem;
use kash_service::keys::KeyView;
use kash_service::webhooks::PingResult;
use kash_store::keys::ApiKeyRecord;
use maud::{html, Markup};

use super::access::ManagedOwner;
use super::session::SignedIn;
use super::views::{
    csrf_field, dot, issue_for, layout, notice, problem_notice, text_field, when, when_opt,
};
use crate::routes::account::Usage;

/// One key as the list shows it.
pub struct KeyRow {
    pub record: ApiKeyRecord,
    pub view: KeyView,
    pub usage: Option<Usage>,
}

/// `?org=<id>` for an organization's pages, nothing for personal keys.
pub fn org_query(owner: &ManagedOwner) -> String {
    owner
        .org_id()
        .map(|id| format!("?org={id}"))
        .unwrap_or_default()
}

fn scope_help(scope: Scope) -> &'static str {
    match scope {
        Scope::MarketsRead => "list and read markets",
        Scope::MarketsQuote => "price quotes",
        Scope::PortfolioRead => "balances and positions",
        Scope::TradesRead => "read trades and traces",
        Scope::TradesWrite => "place and confirm trades",
        Scope::WebhooksManage => "webhook events and redelivery",
        Scope::AuthManage => "usage and secret rotation",
    }
}

fn owner_tabs(owners: &[ManagedOwner], current: &ManagedOwner) -> Markup {
    html! {
        @if owners.len() > 1 {
            nav aria-label="Key owner" {
                ul.tabs {
                    @for o in owners {
                        li {
                            a href=(format!("/settings/api-keys{}", org_query(o)))
                                aria-current=[(o.owner == current.owner).then_some("page")] {
                                (o.label)
                                @if let Some(role) = &o.role { " " span.role { "(" (role) ")" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn status_badge(status: &str) -> Markup {
    html! { span class=(format!("badge {status}")) { (status) } }
}

fn key_card(row: &KeyRow, current: &ManagedOwner) -> Markup {
    let v = &row.view;
    let r = &row.record;
    let active = v.status == "active";
    let _ = current;
    html! {
        article.card id=(format!("key-{}", v.id)) data-key-id=(v.id) {
            div.card-head {
                h3 { (v.name) }
                (status_badge(v.status))
                span.badge.tier { (v.tier) }
                @if active {
                    div.actions {
                        a.btn.btn-secondary.btn-small href=(format!("/settings/api-keys/{}/edit", v.id))
                            aria-label=(format!("Edit {}", v.name)) { "Edit" }
                        a.btn.btn-danger.btn-small href=(format!("/settings/api-keys/{}/revoke", v.id))
                            aria-label=(format!("Revoke {}", v.name)) { "Revoke" }
                    }
                }
            }
            dl.facts {
                div { dt { "Key" } dd.mono.hint { (v.hint) } }
                div { dt { "Created" } dd { (when(r.created_at)) } }
                div { dt { "Last used" } dd { (when_opt(r.last_used_at, "never")) } }
                @if let Some(at) = r.revoked_at {
                    div { dt { "Revoked" } dd { (when(at)) } }
                } @else {
                    div { dt { "Expires" } dd { (when_opt(r.expires_at, "never")) } }
                }
                div {
                    dt { "Scopes" }
                    dd { div.chips { @for s in &v.scopes { span.chip { (s) } } } }
                }
                div { dt { "IP allowlist" } dd.mono { (v.ip_allowlist.as_deref().unwrap_or("any address")) } }
                div { dt { "Webhook URL" } dd.mono { (v.webhook_url.as_deref().unwrap_or("none")) } }
                div {
                    dt { "Limits" }
                    dd {
                        (v.limits.rate_limit_per_minute) " req/min"
                        @if let Some(t) = &v.limits.per_trade_limit_usdc { " " (dot()) " " (usdc(t)) " per trade" }
                        @if let Some(d) = &v.limits.daily_spend_limit_usdc { " " (dot()) " " (usdc(d)) " per day" }
                    }
                }
            }
            @if let Some(u) = &row.usage {
                (usage_strip(u))
            }
        }
    }
}

fn usage_strip(u: &Usage) -> Markup {
    html! {
        div.usage aria-label="Usage in the last 24 hours" {
            div { strong { (u.requests.day) } "requests (24 h)" }
            div { strong { (u.auth.day.failures) } "auth failures (24 h)" }
            div { strong { (u.auth.day.rate_limit_rejections) } "rate-limited (24 h)" }
            div { strong { (u.trades.day.total) } "trades (24 h)" }
        }
    }
}

/// Atomic USDC string → `1,000 USDC` (whole units; the console shows caps, not balances).
fn usdc(atomic: &str) -> String {
    let Ok(value) = atomic.parse::<u128>() else {
        return format!("{atomic} (atomic USDC)");
    };
    let whole = value / 1_000_000;
    let frac = value % 1_000_000;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac == 0 {
        format!("{grouped} USDC")
    } else {
        let frac = format!("{frac:06}");
        format!("{grouped}.{} USDC", frac.trim_end_matches('0'))
    }
}

pub fn list_page(
    me: &SignedIn,
    owners: &[ManagedOwner],
    current: &ManagedOwner,
    rows: &[KeyRow],
    cap: i64,
    flash: Option<&str>,
) -> Markup {
    let (live, dead): (Vec<&KeyRow>, Vec<&KeyRow>) =
        rows.iter().partition(|r| r.view.status == "active");
    let new_href = format!("/settings/api-keys/new{}", org_query(current));
    layout(
        "API keys",
        Some(me),
        html! {
            div.crumbs { "Settings" }
            div.page-head {
                div {
                    h1 { "API keys" }
                    p.lead {
                        @if current.role.is_some() {
                            "Keys of " strong { (current.label) } ", issued at the "
                        } @else {
                            "Your personal keys, issued at the "
                        }
                        strong { (current.tier.as_str()) } " tier. "
                        (live.len()) " of " (cap) " active keys in use."
                    }
                }
                @if !live.is_empty() {
                    a.btn href=(new_href) { "Create key" }
                }
            }
            (owner_tabs(owners, current))
            @if let Some(text) = flash { (notice("ok", text)) }
            @if live.is_empty() {
                div.card.empty {
                    h2 { "No active keys" }
                    p { "Create a key to call the API from your own code. You will see the key once, right after creating it." }
                    a.btn href=(new_href) { "Create your first key" }
                }
            } @else {
                @for row in &live { (key_card(row, current)) }
            }
            @if !dead.is_empty() {
                details.revoked-list {
                    summary { "Revoked and expired keys (" (dead.len()) ")" }
                    @for row in &dead { (key_card(row, current)) }
                }
            }
        },
    )
}

/// Values of the create form, kept when it is shown again with errors.
#[derive(Debug, Clone, Default)]
pub struct NewKeyForm {
    pub name: String,
    pub scopes: Vec<String>,
    pub ip_allowlist: String,
    pub webhook_url: String,
    pub expires_at: String,
}

impl NewKeyForm {
    pub fn defaults(current: &ManagedOwner) -> Self {
        NewKeyForm {
            scopes: Scope::defaults_for(current.tier)
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            ..NewKeyForm::default()
        }
    }
}

pub fn new_page(
    me: &SignedIn,
    current: &ManagedOwner,
    form: &NewKeyForm,
    problem: Option<&Problem>,
) -> Markup {
    let issues = problem.map(|p| p.issues.as_slice()).unwrap_or_default();
    let back = format!("/settings/api-keys{}", org_query(current));
    let checked = ScopeSet::parse_list(&form.scopes.join(",")).unwrap_or_default();
    layout(
        "Create API key",
        Some(me),
        html! {
            div.crumbs { a href=(back) { "API keys" } " / new" }
            h1 { "Create an API key" }
            p.lead {
                "For " strong { (current.label) } " at the " strong { (current.tier.as_str()) }
                " tier. The key is shown once, right after you create it."
            }
            @if let Some(p) = problem { (problem_notice(&p.detail, &p.issues)) }
            div.card {
                form.stack method="post" action="/settings/api-keys" {
                    (csrf_field(me))
                    @if let Some(org) = current.org_id() { input type="hidden" name="organizationId" value=(org); }
                    (text_field("name", "Name", "text", &form.name, Some("So you can tell your keys apart, e.g. “trading bot”."),
                        issue_for(issues, "name"), true, "off"))
                    fieldset.field.invalid[issue_for(issues, "scopes").is_some()] {
                        legend { "Scopes" }
                        div.checks {
                            @for scope in Scope::ALL {
                                label {
                                    input type="checkbox" name="scopes" value=(scope.as_str()) checked[checked.contains(scope)];
                                    span { code { (scope.as_str()) } small.help { (scope_help(scope)) } }
                                }
                            }
                        }
                        @if let Some(e) = issue_for(issues, "scopes") { span.err { (e) } }
                    }
                    (text_field("ipAllowlist", "IP allowlist (optional)", "text", &form.ip_allowlist,
                        Some("Comma-separated addresses or CIDR ranges. Empty: any address."),
                        issue_for(issues, "ipAllowlist"), false, "off"))
                    (text_field("webhookUrl", "Webhook URL (optional)", "url", &form.webhook_url,
                        Some("Trade events are posted here, signed with a secret shown once."),
                        issue_for(issues, "webhookUrl"), false, "off"))
                    (text_field("expiresAt", "Expires (optional, UTC)", "datetime-local", &form.expires_at,
                        Some("Empty: the key never expires."),
                        issue_for(issues, "expiresAt"), false, "off"))
                    div.form-actions {
                        button type="submit" { "Create key" }
                        a.btn.btn-secondary href=(back) { "Cancel" }
                    }
                }
            }
        },
    )
}

/// What a just-issued key (or a new webhook secret) shows, once.
pub struct Revealed<'a> {
    pub key_id: &'a str,
    pub name: &'a str,
    pub key: Option<&'a str>,
    pub webhook_secret: Option<&'a str>,
}

pub fn created_page(me: &SignedIn, back: &str, revealed: Option<Revealed<'_>>) -> Markup {
    layout(
        "Key created",
        Some(me),
        html! {
            div.crumbs { a href=(back) { "API keys" } }
            @match revealed {
                Some(r) => {
                    h1 { @if r.key.is_some() { "Key created" } @else { "Webhook secret created" } }
                    (notice("warn", "Copy it now: this is the only time it is shown. We keep only a hash of the key and an encrypted copy of the secret."))
                    div.card {
                        h2.flush { (r.name) }
                        @if let Some(key) = r.key {
                            span.label { "API key" }
                            div.secret {
                                code id="plaintext-key" data-key-id=(r.key_id) { (key) }
                                button.btn-secondary type="button" data-copy="plaintext-key" { "Copy" }
                            }
                        }
                        @if let Some(secret) = r.webhook_secret {
                            span.label { "Webhook signing secret" }
                            div.secret {
                                code id="webhook-secret" { (secret) }
                                button.btn-secondary type="button" data-copy="webhook-secret" { "Copy" }
                            }
                        }
                        p.help { "Send the key in the " code { "X-API-Key" } " header." }
                        div.form-actions { a.btn href=(back) { "Done" } }
                    }
                }
                None => {
                    div.card.empty id="already-shown" {
                        h1 { "Already shown" }
                        p { "A key’s plaintext is shown once, right after it is created, and cannot be shown again. If you did not copy it, revoke that key and create a new one." }
                        a.btn href=(back) { "Back to API keys" }
                    }
                }
            }
        },
    )
}

/// Values of the edit form.
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    pub name: String,
    pub ip_allowlist: String,
    pub webhook_url: String,
}

pub fn edit_page(
    me: &SignedIn,
    current: &ManagedOwner,
    record: &ApiKeyRecord,
    form: &EditForm,
    usage: Option<&Usage>,
    problem: Option<&Problem>,
    ping: Option<&Result<PingResult, Problem>>,
) -> Markup {
    let issues = problem.map(|p| p.issues.as_slice()).unwrap_or_default();
    let back = format!("/settings/api-keys{}", org_query(current));
    layout(
        "Edit API key",
        Some(me),
        html! {
            div.crumbs { a href=(back) { "API keys" } " / edit" }
            h1 { "Edit " (record.name) }
            p.lead { span.hint { (record.hint) } " " (dot()) " " (record.tier) " tier " (dot()) " created " (when(record.created_at)) }
            @if let Some(p) = problem { (problem_notice(&p.detail, &p.issues)) }
            div.card {
                form.stack method="post" action=(format!("/settings/api-keys/{}", record.id)) {
                    (csrf_field(me))
                    (text_field("name", "Name", "text", &form.name, None, issue_for(issues, "name"), true, "off"))
                    (text_field("ipAllowlist", "IP allowlist", "text", &form.ip_allowlist,
                        Some("Comma-separated addresses or CIDR ranges. Empty: any address."),
                        issue_for(issues, "ipAllowlist"), false, "off"))
                    (text_field("webhookUrl", "Webhook URL", "url", &form.webhook_url,
                        Some("Empty removes the webhook. The URL can change once an hour."),
                        issue_for(issues, "webhookUrl"), false, "off"))
                    div.form-actions {
                        button type="submit" { "Save changes" }
                        a.btn.btn-secondary href=(back) { "Cancel" }
                    }
                }
            }
            @if let Some(outcome) = ping { (ping_notice(outcome)) }
            @if record.webhook_url.is_some() {
                h2 { "Webhook test" }
                div.card {
                    p.flush { "Sends one signed " code { "webhook.ping" } " to the saved URL and shows the answer. It is not an event: nothing is stored or retried." }
                    form method="post" action=(format!("/settings/api-keys/{}/test-webhook", record.id)) {
                        (csrf_field(me))
                        button.btn-secondary type="submit" { "Send test" }
                    }
                }
            }
            @if let Some(u) = usage {
                h2 { "Usage" }
                div.card {
                    dl.facts {
                        div { dt { "Requests (24 h)" } dd { (u.requests.day) } }
                        div { dt { "Auth failures (24 h)" } dd { (u.auth.day.failures) } }
                        div { dt { "Rate-limited (24 h)" } dd { (u.auth.day.rate_limit_rejections) } }
                        div { dt { "Trades (24 h / 7 d / 30 d)" } dd { (u.trades.day.total) " / " (u.trades.week.total) " / " (u.trades.month.total) } }
                        div { dt { "Webhooks delivered (7 d)" } dd { (u.webhooks.week.delivered) " of " (u.webhooks.week.emitted) } }
                        div { dt { "Last used" } dd { (when_opt(record.last_used_at, "never")) } }
                    }
                }
            }
            h2 { "Revoke" }
            div.card {
                p.flush { "Revoking stops the key at once, on every server. It cannot be undone." }
                a.btn.btn-danger href=(format!("/settings/api-keys/{}/revoke", record.id)) { "Revoke this key…" }
            }
        },
    )
}

/// What the receiver answered to a test ping (or why none was sent).
fn ping_notice(outcome: &Result<PingResult, Problem>) -> Markup {
    match outcome {
        Ok(r) if r.ok => notice(
            "ok",
            &format!(
                "The receiver accepted the ping: HTTP {} in {} ms.",
                r.status_code.unwrap_or_default(),
                r.duration_ms
            ),
        ),
        Ok(r) => {
            let answer = match (r.status_code, r.failure_code) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, Some(failure)) => failure.to_string(),
                (None, None) => "no answer".to_string(),
            };
            html! {
                div.notice.error role="alert" {
                    "The receiver did not accept the ping: " (answer) " after " (r.duration_ms) " ms."
                    @if let Some(message) = &r.error_message { br; (message) }
                    @if !r.response_body.is_empty() { pre.mono { (r.response_body) } }
                }
            }
        }
        Err(p) => notice("error", &p.detail),
    }
}

pub fn revoke_page(me: &SignedIn, current: &ManagedOwner, record: &ApiKeyRecord) -> Markup {
    let back = format!("/settings/api-keys{}", org_query(current));
    layout(
        "Revoke API key",
        Some(me),
        html! {
            div.crumbs { a href=(back) { "API keys" } " / revoke" }
            h1 { "Revoke " (record.name) "?" }
            div.card {
                p.flush {
                    "The key " span.hint { (record.hint) } " stops working immediately, on every server, and cannot be restored. "
                    "Anything that uses it will get " code { "API_KEY_REVOKED" } "."
                }
                form method="post" action=(format!("/settings/api-keys/{}/revoke", record.id)) {
                    (csrf_field(me))
                    div.form-actions {
                        button.btn-danger type="submit" { "Revoke key" }
                        a.btn.btn-secondary href=(back) { "Cancel" }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::usdc;

    #[test]
    fn usdc_display() {
        assert_eq!(usdc("1000000000"), "1,000 USDC");
        assert_eq!(usdc("500000000"), "500 USDC");
        assert_eq!(usdc("2500500000"), "2,500.5 USDC");
        assert_eq!(usdc("x"), "x (atomic USDC)");
    }
}
