//! A realm is one namespace of users. Identity Toolkit addresses it as a project id plus an
//! optional tenant id; ZITADEL (later) as an organization id. One realm row carries both.

use crate::{MfaConfig, RealmId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm {
    pub id: RealmId,
    pub project_id: String,
    /// `None` for the project's own (default) realm.
    pub tenant_id: Option<String>,
    /// The ZITADEL organization id that addresses this realm.
    pub org_id: Option<String>,
    /// A tenant's `displayName`.
    pub display_name: Option<String>,
    pub mfa: MfaConfig,
}
