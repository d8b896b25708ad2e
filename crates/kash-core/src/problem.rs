//! A refusal, as the domain states it: a catalogue code, a human detail and the extension
//! members of `api.md` §2. The server renders it as `application/problem+json`; the CLIs print
//! it in one line.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ErrorCode;

/// One bad input, named by its path (`amount`, `metadata.note`, `query.limit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl Issue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: ErrorCode,
    /// Human text; never parsed by clients and never carrying internals.
    pub detail: String,
    pub issues: Vec<Issue>,
    /// Extension members sent at the top level of the problem body.
    pub extensions: Map<String, Value>,
    /// Seconds for `Retry-After`; the catalogue's fixed value applies when unset.
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Problem {
            code,
            detail: detail.into(),
            issues: Vec::new(),
            extensions: Map::new(),
            retry_after: code.fixed_retry_after(),
        }
    }

    /// `400 VALIDATION_FAILED` naming every bad field.
    pub fn validation(issues: Vec<Issue>) -> Self {
        let detail = match issues.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Problem {
            issues,
            ..Problem::new(ErrorCode::ValidationFailed, detail)
        }
    }

    /// `400 VALIDATION_FAILED` for one field.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem::validation(vec![Issue::new(path, message)])
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(ErrorCode::ResourceNotFound, detail)
    }

    /// Adds a top-level extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_string(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Problem {}
