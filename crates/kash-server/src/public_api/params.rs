//! Query parameters of the anonymous API. Unknown parameters are ignored; a known one with a
//! bad value is `400 INVALID_REQUEST` whose message names it and its bound (never clamped).
//! An empty value (`?limit=`) counts as absent.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::PublicError;
use crate::http::query::QueryParams;

fn value<'a>(q: &'a QueryParams, name: &str) -> Option<&'a str> {
    q.get(name).map(str::trim).filter(|v| !v.is_empty())
}

/// An integer in `min..=max`, `default` when absent.
pub fn int(
    q: &QueryParams,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, PublicError> {
    let Some(text) = value(q, name) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(PublicError::invalid(format!(
            "{name} must be between {min} and {max}"
        ))),
    }
}

/// One of `allowed` (case-insensitive), `default` when absent.
pub fn choice(
    q: &QueryParams,
    name: &str,
    allowed: &[&'static str],
    default: &'static str,
) -> Result<&'static str, PublicError> {
    let Some(text) = value(q, name) else {
        return Ok(default);
    };
    let lower = text.to_ascii_lowercase();
    allowed
        .iter()
        .find(|a| **a == lower)
        .copied()
        .ok_or_else(|| {
            PublicError::invalid(format!("{name} must be one of {}", allowed.join(", ")))
        })
}

/// `true`/`false` (also `1`/`0`).
pub fn boolean(q: &QueryParams, name: &str, default: bool) -> Result<bool, PublicError> {
    match value(q, name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(PublicError::invalid(format!(
            "{name} must be true or false"
        ))),
    }
}

/// Free text such as a category: at most `max` characters, no control characters (which no
/// label contains, and PostgreSQL refuses NUL outright).
pub fn text(q: &QueryParams, name: &str, max: usize) -> Result<Option<String>, PublicError> {
    match value(q, name) {
        None => Ok(None),
        Some(t) if t.chars().count() <= max && !t.chars().any(char::is_control) => {
            Ok(Some(t.to_string()))
        }
        Some(_) => Err(PublicError::invalid(format!(
            "{name} must be at most {max} characters without control characters"
        ))),
    }
}

/// A comma list of at most `max_items` labels of at most `max_len` characters each.
pub fn list(
    q: &QueryParams,
    name: &str,
    max_items: usize,
    max_len: usize,
) -> Result<Vec<String>, PublicError> {
    let items: Vec<String> = q.list(name).into_iter().map(str::to_lowercase).collect();
    let bad = items.len() > max_items
        || items
            .iter()
            .any(|t| t.chars().count() > max_len || t.chars().any(char::is_control));
    if bad {
        return Err(PublicError::invalid(format!(
            "{name} must list at most {max_items} values of at most {max_len} characters without control characters"
        )));
    }
    Ok(items)
}

pub const MAX_OFFSET: i64 = 1_000_000_000;

/// `offset` and `limit` (bounds per route), and `sortOrder` where the route sorts.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

pub fn page(q: &QueryParams, default_limit: i64, max_limit: i64) -> Result<Page, PublicError> {
    Ok(Page {
        limit: int(q, "limit", default_limit, 1, max_limit)?,
        offset: int(q, "offset", 0, 0, MAX_OFFSET)?,
    })
}

/// `sortOrder=asc|desc` (default `desc`): whether descending.
pub fn descending(q: &QueryParams) -> Result<bool, PublicError> {
    Ok(choice(q, "sortOrder", &["asc", "desc"], "desc")? == "desc")
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub offset: i64,
    pub limit: i64,
    pub total: i64,
    pub has_more: bool,
}

impl Pagination {
    pub fn new(page: Page, total: i64, returned: usize) -> Self {
        Pagination {
            offset: page.offset,
            limit: page.limit,
            total,
            has_more: page.offset.saturating_add(returned as i64) < total,
        }
    }
}

/// ISO 8601 with milliseconds, as `_meta.requestedAt` and object times are written.
pub fn iso(t: DateTime<Utc>) -> String {
    kash_core::time::rfc3339_ms(t)
}

pub fn iso_ms(ms: i64) -> String {
    iso(kash_core::time::from_unix_ms(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_refused_not_clamped() {
        let q = QueryParams::parse(Some("limit=101&offset=-1&sortOrder=UP&x=1"));
        assert_eq!(
            page(&q, 20, 100).unwrap_err().message,
            "limit must be between 1 and 100"
        );
        let q = QueryParams::parse(Some("limit=&offset=-1"));
        assert_eq!(
            page(&q, 20, 100).unwrap_err().message,
            "offset must be between 0 and 1000000000"
        );
        let q = QueryParams::parse(Some("sortOrder=ASC"));
        assert!(!descending(&q).unwrap());
        let q = QueryParams::parse(Some("sortOrder=up"));
        assert_eq!(
            descending(&q).unwrap_err().message,
            "sortOrder must be one of asc, desc"
        );
        let page = |offset, limit| Page { offset, limit };
        assert!(Pagination::new(page(0, 2), 3, 2).has_more);
        assert!(!Pagination::new(page(2, 2), 3, 1).has_more);
    }
}
