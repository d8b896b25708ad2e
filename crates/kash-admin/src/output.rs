//! How every command reports: a human line (or table) by default, one JSON document with
//! `--json`; failures in one line on stderr (and as JSON on stdout with `--json`).

use kash_core::{ErrorCode, Problem};
use kash_service::ServiceError;
use serde::Serialize;
use serde_json::json;

/// A failed command and the exit status it maps to.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or values: exit 2.
    Usage(Problem),
    /// Anything else: exit 1.
    Other(Problem),
    /// Exit 1, the outcome already printed (a test ping the receiver did not accept).
    Silent,
}

impl Failure {
    pub fn usage(path: &str, message: impl Into<String>) -> Self {
        Failure::Usage(Problem::invalid(path, message))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Other(_) | Failure::Silent => 1,
        }
    }

    fn problem(&self) -> Option<&Problem> {
        match self {
            Failure::Usage(p) | Failure::Other(p) => Some(p),
            Failure::Silent => None,
        }
    }

    pub fn report(&self, json_output: bool) {
        let Some(p) = self.problem() else {
            return;
        };
        eprintln!("kash-admin: {}", one_line(p));
        if json_output {
            let body = json!({
                "ok": false,
                "error": {
                    "code": p.code.as_str(),
                    "message": p.detail,
                    "issues": p.issues,
                }
            });
            println!("{body}");
        }
    }
}

fn one_line(p: &Problem) -> String {
    if p.issues.len() > 1 {
        let parts: Vec<String> = p
            .issues
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect();
        format!("{} ({})", parts.join("; "), p.code)
    } else {
        format!("{} ({})", p.detail, p.code)
    }
}

impl From<Problem> for Failure {
    fn from(p: Problem) -> Self {
        if p.code == ErrorCode::ValidationFailed {
            Failure::Usage(p)
        } else {
            Failure::Other(p)
        }
    }
}

impl From<ServiceError> for Failure {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Problem(p) => p.into(),
            ServiceError::Store(e) => Failure::Other(Problem::new(
                ErrorCode::InternalError,
                format!("database: {e}"),
            )),
        }
    }
}

impl From<kash_store::StoreError> for Failure {
    fn from(err: kash_store::StoreError) -> Self {
        ServiceError::from(err).into()
    }
}

pub type CmdResult = Result<(), Failure>;

/// Prints `value` as JSON, or `human` otherwise.
pub fn emit<T: Serialize>(
    json_output: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> CmdResult {
    if json_output {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                return Err(Failure::Other(Problem::new(
                    ErrorCode::InternalError,
                    format!("cannot render JSON: {e}"),
                )))
            }
        }
    } else {
        println!("{}", human());
    }
    Ok(())
}
