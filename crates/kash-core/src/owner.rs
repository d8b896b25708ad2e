//! Who holds an API key, a balance or a quota: a user, or an organization (org-scoped keys).

use std::fmt;

/// Ids are canonical UUID text (see [`crate::ids`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    User(String),
    Org(String),
}

impl Owner {
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::User(_) => "user",
            Owner::Org(_) => "org",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Owner::User(id) | Owner::Org(id) => id,
        }
    }
}

/// `user:<id>` / `org:<id>`: the key of an owner's shared quota.
impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}
