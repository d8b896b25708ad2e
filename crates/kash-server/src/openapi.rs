//! The OpenAPI 3.1 document, generated from the handlers' annotations and the router itself
//! (utoipa-axum), so a route cannot exist without being described.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// RFC 9457 problem details, as every error is sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemSchema {
    /// `https://docs.kash.bot/developer-docs/api-errors/<CODE>` (base configurable).
    #[serde(rename = "type")]
    pub type_url: String,
    pub title: String,
    pub status: u16,
    /// Stable machine id; see the error catalogue.
    pub code: String,
    pub detail: String,
    pub instance: String,
    pub request_id: String,
    /// Validation failures: every bad field.
    pub issues: Option<Vec<IssueSchema>>,
}

#[derive(Serialize, ToSchema)]
pub struct IssueSchema {
    pub path: String,
    pub message: String,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ApiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        // The console's JSON routes: the session cookie (`__Host-kash_session` over HTTPS),
        // plus `X-CSRF-Token` on every state change.
        components.add_security_scheme(
            "ConsoleSession",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kash_session"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kash-compatible prediction-market API",
        description = "Wire-compatible with the Kash REST API. Errors are RFC 9457 problem details (application/problem+json) whose `code` is listed in the error catalogue.",
        version = "2026-08-19"
    ),
    components(schemas(ProblemSchema, IssueSchema)),
    modifiers(&Security),
    tags(
        (name = "infra", description = "Health, readiness, documents and metrics"),
        (name = "account", description = "The calling key's account"),
        (name = "console", description = "The web console's JSON routes (session cookie + CSRF token; 60 requests/min per session)"),
        (name = "organizations", description = "Organization data for organization-scoped keys (portfolio:read)"),
        (name = "public", description = "The anonymous Embed API: no key, CORS *, per-IP limits per route, errors as {error, message, code}, offset pagination"),
    )
)]
pub struct ApiDoc;
