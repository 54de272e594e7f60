//! Passkeys: WebAuthn credentials that verify the user as well as prove the key (ZITADEL's
//! passwordless method). A passkey signs a user in on its own, so it is no second factor: it
//! is kept apart from [`Factor`](crate::Factor), and no listing of second factors, no factor
//! limit and no MFA rule sees it.

use time::{Duration, OffsetDateTime};

use crate::{FactorId, FactorKey, FactorState, RealmId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct Passkey {
    pub realm: RealmId,
    pub user: UserId,
    pub id: FactorId,
    /// `NotReady` while the registration ceremony is open, then `Ready`; a removed passkey
    /// is deleted.
    pub state: FactorState,
    pub name: Option<String>,
    /// The WebAuthn library's state as JSON, opaque here: the open registration ceremony,
    /// then the credential (public key, sign counter).
    pub credential: String,
    pub created_at: OffsetDateTime,
}

/// How long a registration code works (ZITADEL's `PasswordlessInitCode` expiry).
pub const PASSKEY_CODE_LIFETIME: Duration = Duration::hours(1);

/// A code that lets its holder start a passkey registration for `user` without being signed
/// in (ZITADEL's `CreatePasskeyRegistrationLink`). The store keeps only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyCode {
    pub realm: RealmId,
    pub user: UserId,
    /// Named by the caller beside the code.
    pub id: String,
    pub hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

impl Passkey {
    pub fn key(&self) -> FactorKey {
        FactorKey {
            realm: self.realm.clone(),
            user: self.user.clone(),
            id: self.id.clone(),
        }
    }
}
