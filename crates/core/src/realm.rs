//! A realm is one namespace of users. Identity Toolkit addresses it as a project id plus an
//! optional tenant id; ZITADEL (later) as an organization id. One realm row carries both.

use time::OffsetDateTime;

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
    /// Where this realm's login pages use security keys; the server's settings when `None`.
    pub relying_party: Option<RelyingParty>,
    /// Email enumeration protection (Identity Platform's `enableImprovedEmailPrivacy`): a
    /// failed password sign-in does not say whether the address has an account, and a
    /// password reset for an unknown address is answered as for a known one.
    pub improved_email_privacy: bool,
    /// Whether end users may sign in, and up, with a phone number and a texted code
    /// (Identity Platform's `signIn.phoneNumber.enabled`; off unless enabled, as there). A
    /// tenant follows its project's setting.
    pub phone_sign_in: bool,
    /// When the realm was made: ZITADEL's creation date of the organization.
    pub created_at: OffsetDateTime,
}

/// A realm's WebAuthn relying party: its id (a domain) and the origins its pages are served
/// from (any port).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelyingParty {
    pub id: String,
    pub origins: Vec<String>,
}
