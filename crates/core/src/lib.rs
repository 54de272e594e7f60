//! Tessera's domain: what a realm, a user and a credential are, which changes are legal,
//! and the port (`Store`) through which the service layer persists them.
//!
//! This crate does no I/O. It knows nothing of HTTP, of the JSON shapes of a dialect,
//! of SQL or of sockets; everything here can be tested with plain values.

pub mod challenge;
pub mod clock;
pub mod contact;
pub mod delivery;
pub mod email;
pub mod error;
pub mod factor;
pub mod ids;
pub mod lockout;
pub mod login_session;
pub mod machine;
pub mod metadata;
pub mod mfa;
pub mod oob;
pub mod passkey;
pub mod phone;
pub mod realm;
pub mod store;
pub mod totp;
pub mod user;

#[cfg(test)]
mod parser_properties;

pub use clock::{Clock, ManualClock, SystemClock};
pub use email::EmailAddress;
pub use error::DomainError;
pub use error::{StoreError, Unique};
pub use factor::{Factor, FactorData, FactorId, FactorKey, FactorKind, FactorState, SecondFactor};
pub use ids::{RealmId, UserId};
pub use machine::{MachineUser, Permission, Role};
pub use mfa::MfaConfig;
pub use passkey::{Passkey, PasskeyCode};
pub use phone::PhoneNumber;
pub use realm::{Realm, RelyingParty};
pub use store::Store;
pub use user::{
    AccountState, Gender, Identity, NewUser, Password, Profile, ProfilePatch, User, UserPatch,
};
