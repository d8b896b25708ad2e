//! `kash webhooks verify`: checks a delivery's `X-Kash-Signature` against the raw body.

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kash_client::webhooks::{verify_within, VerifyError, WebhookEvent};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum WebhooksCmd {
    /// Verify a webhook delivery (exit 0 valid, 1 invalid).
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// File holding the raw request body exactly as received; `-` or absent reads stdin.
    #[arg(long = "body", value_name = "FILE")]
    body: Option<String>,
    /// The X-Kash-Signature header value (`t=…,v1=…`).
    #[arg(long, env = "KASH_WEBHOOK_SIGNATURE")]
    header: String,
    /// A webhook secret (`whsec_…`); repeat it (or comma-separate it) to accept the previous
    /// secret during a rotation.
    #[arg(
        long = "secret",
        env = "KASH_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true,
        required = true
    )]
    secrets: Vec<String>,
    /// Largest accepted distance between the signature's `t` and now, in seconds.
    #[arg(long, default_value_t = 300)]
    tolerance: u64,
    /// Verify as of this Unix time in milliseconds instead of now (replaying stored deliveries).
    #[arg(long, hide = true)]
    now_ms: Option<i64>,
}

fn read_body(path: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    match path {
        None | Some("-") => {
            std::io::stdin().read_to_end(&mut body)?;
        }
        Some(p) => body = std::fs::read(p)?,
    }
    Ok(body)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn fail(
    json_out: bool,
    quiet: bool,
    code: &str,
    reason: &str,
    message: String,
    suggestion: &str,
) -> ExitCode {
    if !quiet || !json_out {
        eprintln!("kash: {message}");
    }
    if json_out {
        let doc = json!({
            "ok": false,
            "valid": false,
            "reason": reason,
            "error": {
                "code": code,
                "message": message,
                "recoverable": false,
                "suggestion": suggestion,
                "docsUrl": null,
                "requestId": null,
                "actions": [{
                    "type": "check_input",
                    "description": suggestion,
                    "field": if reason == "mismatch" { "secret" } else { "header" },
                }],
            }
        });
        println!("{doc}");
    }
    ExitCode::from(1)
}

pub fn run(cmd: WebhooksCmd, json_out: bool, quiet: bool) -> ExitCode {
    let WebhooksCmd::Verify(args) = cmd;
    let body = match read_body(args.body.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                json_out,
                quiet,
                "INPUT_UNREADABLE",
                "input",
                format!("cannot read the body: {e}"),
                "pass --body FILE or pipe the raw body on stdin",
            )
        }
    };
    let secrets: Vec<&str> = args
        .secrets
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return fail(
            json_out,
            quiet,
            "VALIDATION_FAILED",
            "input",
            "no webhook secret given".into(),
            "pass --secret whsec_… or set KASH_WEBHOOK_SECRET",
        );
    }
    let tolerance_ms = i64::try_from(args.tolerance.saturating_mul(1000)).unwrap_or(i64::MAX);
    let now = args.now_ms.unwrap_or_else(now_ms);
    match verify_within(&args.header, &body, &secrets, now, tolerance_ms) {
        Ok(t) => {
            let event: Option<WebhookEvent> = serde_json::from_slice(&body).ok();
            let summary = match &event {
                Some(e) => format!("valid: {} {} signed at t={t}", e.event_type, e.id),
                None => format!("valid: signed at t={t}"),
            };
            if json_out {
                if !quiet {
                    eprintln!("{summary}");
                }
                let doc = json!({
                    "valid": true,
                    "t": t,
                    "ageMs": now - t,
                    "event": event.map(|e| json!({
                        "id": e.id, "type": e.event_type, "apiVersion": e.api_version, "createdAt": e.created_at,
                    })),
                });
                println!("{doc}");
            } else {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            let suggestion = match err {
                VerifyError::Malformed => "pass the X-Kash-Signature header value exactly as received (t=…,v1=…)",
                VerifyError::Stale => "the delivery is older (or newer) than the tolerance; check your clock or raise --tolerance",
                VerifyError::Mismatch => "use the raw body bytes as received and the key's current (and previous) webhook secret",
                VerifyError::Body(_) => "the body is not a webhook event",
            };
            fail(
                json_out,
                quiet,
                "WEBHOOK_SIGNATURE_INVALID",
                err.reason(),
                format!("invalid: {err}"),
                suggestion,
            )
        }
    }
}
