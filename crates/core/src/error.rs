//! The one error type of the domain and service layers. Each dialect maps it once, to its
//! own wire format (Identity Toolkit's `{"error":{...}}`, ZITADEL's status codes).
//! Variants name what went wrong in domain terms; they carry no wire text.

use thiserror::Error;

use crate::contact::ContactKind;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    #[error("the realm's project does not exist")]
    ProjectNotFound,
    #[error("the tenant does not exist")]
    TenantNotFound,
    #[error("no user has that email address")]
    EmailNotFound,
    #[error("the password is wrong")]
    InvalidPassword,
    #[error("the user does not exist")]
    UserNotFound,
    #[error("the user is disabled")]
    UserDisabled,
    #[error("the email address is taken")]
    EmailExists,
    #[error("the user id is taken")]
    DuplicateUserId,
    #[error("the username is taken in the organization")]
    UsernameExists,
    #[error("the phone number is taken")]
    PhoneNumberExists,
    #[error("the id token is malformed, forged or for another project")]
    InvalidIdToken,
    #[error("the token was revoked or has expired")]
    TokenExpired,
    #[error("the refresh token is unknown")]
    InvalidRefreshToken,
    #[error("the API key is not valid")]
    InvalidApiKey,
    #[error("the admin credential is not valid")]
    AdminUnauthenticated,
    #[error("the request's tenant differs from the token's")]
    TenantIdMismatch,
    #[error("the phone number is already a second factor of this user")]
    SecondFactorExists,
    #[error("the user has the maximum number of second factors")]
    SecondFactorLimitExceeded,
    #[error("MFA, or this kind of factor, is disabled for the realm")]
    FactorKindDisabled(crate::FactorKind),
    #[error("the session's first factor cannot be combined with MFA")]
    UnsupportedFirstFactor,
    #[error("a user with second factors cannot sign in with a phone number alone")]
    PhoneOfMfaUser,
    #[error("signing in with a phone number is not enabled for this project")]
    PhoneSignInDisabled,
    #[error("the account at the identity provider is another user's")]
    IdentityLinked,
    #[error("the user has no such account at an identity provider")]
    IdentityNotFound,
    #[error("the user already has an account at that identity provider")]
    ProviderAlreadyLinked,
    /// In production, a provider not among the configured `identity_providers`.
    #[error("no identity provider of that id is configured")]
    IdpNotConfigured,
    #[error("the temporary proof of a phone number is invalid or has expired")]
    InvalidTemporaryProof,
    #[error("second factors need a verified email address")]
    UnverifiedEmail,
    #[error("no such enrolment session")]
    InvalidSessionInfo,
    #[error("the enrolment or sign-in session has expired or is used up")]
    SessionExpired,
    #[error("the code is wrong")]
    InvalidCode,
    #[error("no such second factor")]
    FactorNotFound,
    #[error("the pending sign-in is unknown, used or expired")]
    InvalidPendingCredential,
    #[error("this factor cannot be used this way")]
    FactorKindUnsupported,
    #[error("the app verification (reCAPTCHA, Play Integrity, …) failed")]
    AppVerificationFailed,
    #[error("the phone number or email address behind the factor is not verified")]
    ContactNotVerified,
    #[error("the organization does not exist")]
    OrgNotFound,
    #[error("an organization of that id exists")]
    OrgExists,
    #[error("the factor is already ready")]
    FactorAlreadyReady,
    /// A batch deletion of an enabled user without force, or a reactivation of an active one.
    #[error("the user is not disabled")]
    NotDisabled,
    #[error("the user is already disabled")]
    AlreadyDisabled,
    #[error("the user has no password to check")]
    NoPassword,
    #[error("only an active user can be locked")]
    NotActive,
    #[error("the user is not locked")]
    NotLocked,
    #[error("a set of recovery codes must hold 1 to 10")]
    RecoveryCodeCountInvalid,
    #[error("the user would hold more than 10 recovery codes")]
    TooManyRecoveryCodes,
    #[error("the user has no recovery codes")]
    NoRecoveryCodes,
    #[error("the recovery code is wrong or used")]
    InvalidRecoveryCode,
    #[error("no metadata entries or keys were given")]
    NoMetadata,
    #[error("a metadata key or value is empty or too long")]
    MetadataInvalid,
    #[error("a metadata key to remove is empty")]
    MetadataKeyMissing,
    #[error("the user has no metadata of a given key")]
    MetadataNotFound,
    #[error("a machine user of that name exists in the organization")]
    MachineUserExists,
    #[error("the verification code is wrong, expired or used up")]
    InvalidVerificationCode,
    #[error("no verification code was sent")]
    VerificationCodeNotFound,
    #[error("the user can sign in already: a password, a passkey or an identity provider")]
    AlreadyInitialized,
    #[error("the user has no phone number")]
    ContactNotFound,
    #[error("the action code is wrong, used, or for something else")]
    InvalidOobCode,
    #[error("the action code has expired")]
    ExpiredOobCode,
    #[error("the sign-in link was sent to another address")]
    EmailLinkMismatch,
    #[error("the address has no account or the password is wrong (which, is not told)")]
    InvalidLoginCredentials,
    #[error("the user already has that {}, or awaits its code", .0.as_str())]
    ContactNotChanged(ContactKind),
    #[error("the login session does not exist")]
    SessionNotFound,
    #[error("the login session has expired")]
    LoginSessionExpired,
    #[error("the login session has no user yet, or a check names another user")]
    SessionUserMismatch,
    #[error("the login session changed while the request was being handled")]
    SessionChanged,
    #[error("the code is empty")]
    EmptyCode,
    #[error("the TOTP code's time step was used before")]
    CodeReused,
    #[error("a code was asked for a kind of factor the user does not have")]
    OtpChallengeUnavailable(crate::FactorKind),
    #[error("a code was checked for a kind of factor the user does not have")]
    OtpFactorMissing,
    #[error("the WebAuthn credential or assertion is malformed or does not verify")]
    InvalidCredential,
    #[error("the security key's sign counter did not move forward: it may be cloned")]
    SecurityKeyCloned,
    #[error("the security key did not verify its user, and the challenge asked it to")]
    UserNotVerified,
    #[error("the user has no security key or passkey to answer a WebAuthn challenge with")]
    NoWebAuthnCredential,
    #[error("too many codes were sent to this destination, country, address or realm")]
    TooManyRequests,
    /// The factor is soft-locked after failed codes, or the user or client address has used
    /// up its failed verifications for now: the code is not even compared.
    #[error("too many failed verifications: the factor, user or address is locked for now")]
    TooManyAttempts,
    /// A text the database cannot store, such as one holding NUL (PostgreSQL's data
    /// exceptions): the caller's input, so a 4xx, never an internal error.
    #[error("a value holds a character or size the database cannot store")]
    UnstorableValue,
    #[error("the database is unavailable")]
    Unavailable,
    /// Detail is logged where it happens; it never reaches a client.
    #[error("internal error")]
    Internal,
}

/// A failure of the storage adapter, as the service layer sees it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("unique constraint violated: {0:?}")]
    Conflict(Unique),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A delivery limit (per destination, country, IP or realm) is used up; nothing was written.
    #[error("delivery limit reached: {0}")]
    LimitExceeded(String),
    /// The database refused a value itself (PostgreSQL's SQLSTATE class 22, "data exception",
    /// e.g. NUL in text); nothing was written.
    #[error("value refused by the database: {0}")]
    Unstorable(String),
    /// The row a write belongs to was deleted meanwhile, e.g. a tenant deleted on another
    /// node within the second that node still kept it; nothing was written.
    #[error("deleted meanwhile: {0:?}")]
    Gone(Parent),
    #[error("database error: {0}")]
    Internal(String),
}

/// Which row a write referred to when it was gone (`StoreError::Gone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Realm,
    User,
    /// Another row (a factor, a challenge, a machine user), or an engine that does not say.
    Other,
}

/// Which uniqueness rule a write broke; the store names it from the constraint, so the
/// service never needs a racy "does it exist?" read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    UserId,
    Email,
    PhoneNumber,
    /// A second ready factor with the same phone number, a second OTP Email factor, or a
    /// second factor of one id of one user.
    Factor,
    /// A second machine user of one name in an organization.
    MachineUsername,
    /// A second user of one username in an organization.
    Username,
    /// A second organization of one id.
    OrgId,
    /// A second unfinished TOTP enrolment of one user, inserted by a concurrent start; the
    /// store runs the start again, which replaces the other one.
    UnfinishedTotp,
    /// A second user of one account at an identity provider in a realm.
    Identity,
    Other,
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(Unique::UserId) => DomainError::DuplicateUserId,
            StoreError::Conflict(Unique::Email) => DomainError::EmailExists,
            StoreError::Conflict(Unique::PhoneNumber) => DomainError::PhoneNumberExists,
            StoreError::Conflict(Unique::Factor) => DomainError::SecondFactorExists,
            StoreError::Conflict(Unique::MachineUsername) => DomainError::MachineUserExists,
            StoreError::Conflict(Unique::Username) => DomainError::UsernameExists,
            StoreError::Conflict(Unique::OrgId) => DomainError::OrgExists,
            StoreError::Conflict(Unique::Identity) => DomainError::IdentityLinked,
            // The store logs its failures with full detail where they happen.
            StoreError::Unavailable(_) => DomainError::Unavailable,
            StoreError::LimitExceeded(_) => DomainError::TooManyRequests,
            StoreError::Unstorable(_) => DomainError::UnstorableValue,
            // Only tenants can be deleted, so a realm that is gone was one.
            StoreError::Gone(Parent::Realm) => DomainError::TenantNotFound,
            StoreError::Gone(Parent::User) => DomainError::UserNotFound,
            StoreError::Conflict(Unique::Other | Unique::UnfinishedTotp)
            | StoreError::Gone(Parent::Other)
            | StoreError::Internal(_) => DomainError::Internal,
        }
    }
}
