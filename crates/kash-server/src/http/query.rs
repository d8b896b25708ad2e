//! Query strings, parsed leniently (unknown parameters are ignored) and validated by the
//! handler, so every bad parameter is answered with a precise `VALIDATION_FAILED` naming it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use kash_core::ids::{id_text, parse_uuid};
use kash_core::Issue;

use crate::http::cursor;
use crate::http::problem::ApiError;

#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        QueryParams(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, comma lists split (`status=a,b&status=c` → a, b, c).
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The page size (`cursor::parse_limit`); a bad value is added to `issues` and `default`
    /// stands in, so every bad parameter of a request is reported together.
    pub fn limit(&self, default: u32, issues: &mut Vec<Issue>) -> u32 {
        match cursor::parse_limit(self.get("limit"), default) {
            Ok(limit) => limit,
            Err(problem) => {
                issues.extend(problem.issues);
                default
            }
        }
    }

    /// An optional id filter (`marketId=`): absent or empty → `None`; not a UUID → an issue.
    pub fn uuid(&self, name: &str, what: &str, issues: &mut Vec<Issue>) -> Option<String> {
        let raw = self.get(name).map(str::trim).filter(|s| !s.is_empty())?;
        match parse_uuid(raw) {
            Some(id) => Some(id_text(&id)),
            None => {
                issues.push(Issue::new(name, format!("must be {what} id (UUID)")));
                None
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(QueryParams::parse(parts.uri.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let q = QueryParams::parse(Some("status=a,b&status=c&limit=5&x=%20y"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("x"), Some(" y"));
        assert_eq!(q.list("status"), vec!["a", "b", "c"]);
        assert_eq!(q.get("nope"), None);
    }
}
