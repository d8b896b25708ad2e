//! Validation of the profile fields organizations, partners and threads share: slugs, colours,
//! taglines, `https:` URLs, e-mail addresses and frame ancestors. Each check returns the
//! normalised value or pushes an [`Issue`] naming the field, so one request reports every bad
//! field at once.

use std::sync::OnceLock;

use kash_core::Issue;
use regex::Regex;

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|_| unreachable!("valid pattern")))
}

/// The organization and partner slug pattern of §1.
pub fn is_slug(text: &str) -> bool {
    static SLUG: OnceLock<Regex> = OnceLock::new();
    regex(&SLUG, r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$").is_match(text)
}

pub fn slug(field: &str, text: &str, issues: &mut Vec<Issue>) -> String {
    if !is_slug(text) {
        issues.push(Issue::new(
            field,
            "must be 1 to 40 lowercase letters, digits or inner hyphens",
        ));
    }
    text.to_string()
}

/// Trimmed text of 1..=`max` characters.
pub fn required_text(field: &str, text: &str, max: usize, issues: &mut Vec<Issue>) -> String {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max {
        issues.push(Issue::new(field, format!("must be 1 to {max} characters")));
    }
    t.to_string()
}

/// Optional text of at most `max` characters; empty clears it.
pub fn optional_text(
    field: &str,
    text: Option<&str>,
    max: usize,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    if t.chars().count() > max {
        issues.push(Issue::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Some(t.to_string())
}

/// `#RRGGBB`, stored upper-case.
pub fn color(field: &str, text: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    static COLOR: OnceLock<Regex> = OnceLock::new();
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    if !regex(&COLOR, r"^#[0-9A-Fa-f]{6}$").is_match(t) {
        issues.push(Issue::new(field, "must be a colour #RRGGBB"));
    }
    Some(t.to_ascii_uppercase())
}

/// A user-supplied link: an absolute `https:` URL with a host, no credentials, ≤ 2048 bytes.
pub fn https_url(field: &str, text: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    let ok = t.len() <= 2048
        && url::Url::parse(t).is_ok_and(|u| {
            u.scheme() == "https"
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
        });
    if !ok {
        issues.push(Issue::new(field, "must be an https:// URL"));
    }
    Some(t.to_string())
}

pub fn email(field: &str, text: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() > 254 || !regex(&EMAIL, r"^[^@\s]+@[^@\s]+\.[^@\s]+$").is_match(t) {
        issues.push(Issue::new(field, "must be an e-mail address"));
    }
    Some(t.to_string())
}

pub const MAX_FRAME_ANCESTORS: usize = 20;

/// A comma list of origins allowed to frame the organization's embeds (`https://host[:port]`,
/// or `http:` for localhost during development). Empty clears the list (any site may frame).
/// Returned as the stored JSON list.
pub fn frame_ancestors(field: &str, text: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    let items: Vec<&str> = text?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return None;
    }
    if items.len() > MAX_FRAME_ANCESTORS {
        issues.push(Issue::new(
            field,
            format!("at most {MAX_FRAME_ANCESTORS} origins"),
        ));
    }
    let mut origins = Vec::new();
    for item in items {
        match origin(item) {
            Some(o) => {
                if !origins.contains(&o) {
                    origins.push(o);
                }
            }
            None => issues.push(Issue::new(
                field,
                format!("`{item}` is not an origin such as https://example.com"),
            )),
        }
    }
    serde_json::to_string(&origins).ok()
}

fn origin(text: &str) -> Option<String> {
    let u = url::Url::parse(text).ok()?;
    let host = u.host_str()?;
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && local);
    let bare = (u.path().is_empty() || u.path() == "/")
        && u.query().is_none()
        && u.fragment().is_none()
        && u.username().is_empty()
        && u.password().is_none();
    if !scheme_ok || !bare {
        return None;
    }
    Some(u.origin().ascii_serialization())
}

/// A comma list of tags: trimmed, lower-cased, 1–40 characters each, at most 20, deduplicated.
pub fn tags(field: &str, text: &str, issues: &mut Vec<Issue>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in text.split(',').map(|t| t.trim().to_lowercase()) {
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > 40 {
            issues.push(Issue::new(field, "each tag must be at most 40 characters"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > 20 {
        issues.push(Issue::new(field, "at most 20 tags"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https() {
        let mut issues = Vec::new();
        assert_eq!(
            https_url("u", Some(" https://a.example/x "), &mut issues).as_deref(),
            Some("https://a.example/x")
        );
        assert!(issues.is_empty());
        for bad in [
            "http://a.example",
            "javascript:alert(1)",
            "https://user:pw@a.example",
            "ftp://a.example",
            "nope",
        ] {
            let mut issues = Vec::new();
            https_url("u", Some(bad), &mut issues);
            assert_eq!(issues.len(), 1, "{bad}");
        }
    }

    #[test]
    fn colors_and_origins() {
        let mut issues = Vec::new();
        assert_eq!(
            color("c", Some("#a1b2c3"), &mut issues).as_deref(),
            Some("#A1B2C3")
        );
        color("c", Some("red"), &mut issues);
        color("c", Some("#12345"), &mut issues);
        assert_eq!(issues.len(), 2);
        let mut issues = Vec::new();
        let stored = frame_ancestors(
            "f",
            Some("https://a.example, https://a.example/, http://localhost:3000"),
            &mut issues,
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            stored.as_deref(),
            Some(r#"["https://a.example","http://localhost:3000"]"#)
        );
        for bad in [
            "http://a.example",
            "https://a.example/path",
            "*",
            "a.example",
        ] {
            let mut issues = Vec::new();
            frame_ancestors("f", Some(bad), &mut issues);
            assert_eq!(issues.len(), 1, "{bad}");
        }
    }
}
