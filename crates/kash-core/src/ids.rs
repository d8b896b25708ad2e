//! Identifiers. Every id on the wire is a lowercase hyphenated UUID (Kash's SDK validates them
//! as UUIDs); anything else in a path is simply an unknown resource.

use uuid::Uuid;

/// Parses a path or body id. Only the 36-character hyphenated form is accepted (either case):
/// braced, URN and simple forms are not ids on this API.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(text).ok()
}

/// A fresh random id, as used for every new resource.
pub fn new_id() -> Uuid {
    Uuid::new_v4()
}

/// The canonical text of an id: lowercase and hyphenated.
pub fn id_text(id: &Uuid) -> String {
    id.as_hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyphenated_uuids_parse() {
        let id = new_id();
        let text = id_text(&id);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(parse_uuid(&text), Some(id));
        assert_eq!(parse_uuid(&text.to_uppercase()), Some(id));
        assert_eq!(parse_uuid(&id.simple().to_string()), None);
        assert_eq!(parse_uuid(&format!("{{{text}}}")), None);
        assert_eq!(parse_uuid("not-a-uuid"), None);
        assert_eq!(parse_uuid(""), None);
    }
}
