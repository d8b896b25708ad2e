//! The `source` label of a render or click (§3): trimmed, lower-cased, at most 100 characters
//! from `[a-z0-9._:/-]`; missing or empty → `(direct)`; anything else → `(invalid)`. A label,
//! not an identity.

pub const DIRECT: &str = "(direct)";
pub const INVALID: &str = "(invalid)";
pub const MAX_LEN: usize = 100;

pub fn normalize(source: Option<&str>) -> String {
    let text = source.unwrap_or_default().trim().to_lowercase();
    if text.is_empty() {
        return DIRECT.to_string();
    }
    let ok = text.len() <= MAX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:/-".contains(&b));
    if ok {
        text
    } else {
        INVALID.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize(None), DIRECT);
        assert_eq!(normalize(Some("   ")), DIRECT);
        assert_eq!(
            normalize(Some(" Other-Site.example ")),
            "other-site.example"
        );
        assert_eq!(
            normalize(Some("https://news.example/a_b:c")),
            "https://news.example/a_b:c"
        );
        assert_eq!(normalize(Some("has space")), INVALID);
        assert_eq!(normalize(Some("émoji")), INVALID);
        assert_eq!(normalize(Some("a?b=c")), INVALID);
        assert_eq!(normalize(Some(&"a".repeat(100))), "a".repeat(100));
        assert_eq!(normalize(Some(&"a".repeat(101))), INVALID);
    }
}
