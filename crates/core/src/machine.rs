//! Machine users: the service accounts that call the ZITADEL dialect with personal access
//! tokens, and the roles that say what they may do. The roles carry ZITADEL's names; each
//! grants a fixed set of the permissions that ZITADEL's factor and user calls check.

use time::OffsetDateTime;

use crate::{RealmId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    UserRead,
    UserWrite,
    UserCredentialWrite,
    OrgCreate,
    /// Read and change an organization's own data (its metadata).
    OrgRead,
    OrgWrite,
    /// Create, check, read and delete login sessions (ZITADEL's `session.*`).
    Session,
    /// Read an organization's settings (ZITADEL's `policy.read`).
    PolicyRead,
    /// Read the instance's own settings (ZITADEL's `iam.policy.read`).
    InstancePolicyRead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, in every organization (ZITADEL's instance owner).
    IamOwner,
    /// Everything about the users of its own organization.
    OrgOwner,
    /// Reads, writes and manages the credentials of its organization's users.
    OrgUserManager,
    /// Reads its organization's users.
    OrgOwnerViewer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::IamOwner,
        Role::OrgOwner,
        Role::OrgUserManager,
        Role::OrgOwnerViewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::IamOwner => "IAM_OWNER",
            Role::OrgOwner => "ORG_OWNER",
            Role::OrgUserManager => "ORG_USER_MANAGER",
            Role::OrgOwnerViewer => "ORG_OWNER_VIEWER",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::IamOwner => true,
            Role::OrgOwner => !matches!(permission, OrgCreate | InstancePolicyRead),
            Role::OrgUserManager => {
                matches!(
                    permission,
                    UserRead | UserWrite | UserCredentialWrite | OrgRead | PolicyRead
                )
            }
            Role::OrgOwnerViewer => matches!(permission, UserRead | OrgRead | PolicyRead),
        }
    }

    /// The role may act in organizations other than its own (`x-zitadel-orgid`).
    pub fn spans_instance(self) -> bool {
        self == Role::IamOwner
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MachineUser {
    pub id: UserId,
    pub realm: RealmId,
    pub username: String,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("iam_owner"), None);
    }

    #[test]
    fn only_the_instance_owner_creates_organizations() {
        for role in Role::ALL {
            assert_eq!(role.grants(Permission::OrgCreate), role == Role::IamOwner);
            assert_eq!(
                role.grants(Permission::InstancePolicyRead),
                role == Role::IamOwner
            );
            assert!(role.grants(Permission::PolicyRead));
        }
        assert!(!Role::OrgOwnerViewer.grants(Permission::UserCredentialWrite));
        assert!(Role::OrgUserManager.grants(Permission::UserCredentialWrite));
    }

    #[test]
    fn every_role_reads_its_organization_and_only_owners_change_it() {
        for role in Role::ALL {
            assert!(role.grants(Permission::OrgRead));
            assert_eq!(
                role.grants(Permission::OrgWrite),
                matches!(role, Role::IamOwner | Role::OrgOwner)
            );
        }
    }
}
