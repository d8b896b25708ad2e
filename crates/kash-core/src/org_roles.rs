//! Organization roles and what each may do (`organizations-embeds-portal.md` §1). One table, so
//! the operator CLI, the console and the public routes can never disagree about a permission.

use std::fmt;
use std::str::FromStr;

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

impl OrgRole {
    pub const ALL: [OrgRole; 3] = [OrgRole::Owner, OrgRole::Admin, OrgRole::Member];

    pub const fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not owner, admin or member"))
    }
}

/// The rows of the permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgPermission {
    /// View dashboard, analytics, embeds, earnings, revenue events.
    ViewData,
    /// Propose markets, manage threads/chapters, manage partners.
    ManageContent,
    /// Issue/edit/revoke org-scoped API keys, edit branding and frame ancestors.
    ManageKeysAndBranding,
    /// Add/remove members, change roles.
    ManageMembers,
}

impl OrgPermission {
    pub const ALL: [OrgPermission; 4] = [
        OrgPermission::ViewData,
        OrgPermission::ManageContent,
        OrgPermission::ManageKeysAndBranding,
        OrgPermission::ManageMembers,
    ];
}

/// Whether `role` holds `permission`.
pub const fn allows(role: OrgRole, permission: OrgPermission) -> bool {
    match permission {
        OrgPermission::ViewData => true,
        OrgPermission::ManageContent | OrgPermission::ManageKeysAndBranding => {
            matches!(role, OrgRole::Owner | OrgRole::Admin)
        }
        OrgPermission::ManageMembers => matches!(role, OrgRole::Owner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's table, row by row (owner, admin, member).
    #[test]
    fn the_permission_table() {
        let table = [
            (OrgPermission::ViewData, [true, true, true]),
            (OrgPermission::ManageContent, [true, true, false]),
            (OrgPermission::ManageKeysAndBranding, [true, true, false]),
            (OrgPermission::ManageMembers, [true, false, false]),
        ];
        assert_eq!(table.len(), OrgPermission::ALL.len());
        for (permission, expected) in table {
            for (role, want) in OrgRole::ALL.into_iter().zip(expected) {
                assert_eq!(allows(role, permission), want, "{role} / {permission:?}");
            }
        }
    }

    #[test]
    fn roles_round_trip() {
        for role in OrgRole::ALL {
            assert_eq!(role.as_str().parse::<OrgRole>(), Ok(role));
        }
        assert!("Owner".parse::<OrgRole>().is_err());
    }
}
