//! Step 9: a `/v1` POST carrying `X-Kash-Signature` must be signed (`webhooks.md`, "Signed
//! request bodies"): with the API key over `<t>.<METHOD>.<path>.<body>`, or with the key's
//! webhook secret over `<t>.<body>` (the current secret, or the previous one during its 7-day
//! overlap after a rotation).

use axum::http::request::Parts;
use axum::http::Method;
use axum::response::Response;
use kash_core::signature::{self, Refusal};
use kash_core::{ErrorCode, Problem};

use super::{audit, Attempt, Authed};
use crate::http::body::RawBody;
use crate::state::AppState;

pub(crate) async fn check(
    state: &AppState,
    attempt: &Attempt,
    req: &Parts,
    authed: &Authed,
) -> Result<(), Response> {
    if req.method != Method::POST {
        return Ok(());
    }
    let Some(header) = req.headers.get("x-kash-signature") else {
        return Ok(());
    };
    let body = req
        .extensions
        .get::<RawBody>()
        .map(|b| b.0.clone())
        .unwrap_or_default();
    let mut secrets = webhook_secrets(state, authed);
    if !secrets.is_empty() {
        // During the 7-day overlap after a rotation the previous secret still signs.
        match kash_service::webhooks::previous_secret(&state.svc, &authed.key.id, attempt.now_ms)
            .await
        {
            Ok(Some(previous)) => secrets.push(previous),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(key_id = %authed.key.id, error = %err, "previous webhook secret unavailable; checking the current one only")
            }
        }
    }
    let verdict = match header.to_str() {
        Err(_) => Err(Refusal::Malformed),
        Ok(text) => signature::parse(text).and_then(|sig| {
            let mut expected = Vec::with_capacity(3);
            if let Some(key) = req.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
                expected.push(signature::request_digest(
                    key.trim(),
                    sig.t,
                    req.method.as_str(),
                    req.uri.path(),
                    &body,
                ));
            }
            for secret in &secrets {
                expected.push(signature::webhook_digest(secret, sig.t, &body));
            }
            signature::check(&sig, attempt.now_ms, &expected)
        }),
    };
    match verdict {
        Ok(()) => Ok(()),
        Err(reason) => {
            let detail = match reason {
                Refusal::Malformed => {
                    "the X-Kash-Signature header is malformed (expected t=<unix-ms>,v1=<hex>)"
                }
                Refusal::Stale => "the X-Kash-Signature timestamp is more than 5 minutes from now",
                Refusal::Mismatch => "no v1 signature matches this request",
            };
            let problem = Problem::new(ErrorCode::RequestSignatureInvalid, detail)
                .with("signatureReason", reason.as_str());
            Err(audit::refuse(state, attempt, problem, Some(&authed.key.id)).await)
        }
    }
}

/// The key's webhook secret(s) able to sign requests. A secret that cannot be opened (wrong
/// `KASH_SECRETS_KEY`) signs nothing, which fails closed as a mismatch.
fn webhook_secrets(state: &AppState, authed: &Authed) -> Vec<String> {
    authed
        .key
        .webhook_secret_enc
        .iter()
        .filter_map(|sealed| match state.svc.secrets.secret_box.open(sealed) {
            Ok(secret) => Some(secret),
            Err(err) => {
                tracing::error!(key_id = %authed.key.id, error = %err, "webhook secret cannot be opened");
                None
            }
        })
        .collect()
}
