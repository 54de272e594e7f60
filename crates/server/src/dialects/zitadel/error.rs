//! ZITADEL's error shape (spec §2): a gRPC code, `"<message> (<ID>)"`, and one
//! `zitadel.v1.ErrorDetail`. Domain errors are mapped per operation, because ZITADEL gives the
//! same condition different IDs in different commands.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::contact::ContactKind;
use tessera_core::{DomainError, FactorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

impl Code {
    fn http(self) -> StatusCode {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZitadelError {
    pub code: Code,
    pub message: &'static str,
    pub id: &'static str,
}

/// The operation an error came from; it picks ZITADEL's ID for the condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    RegisterTotp,
    VerifyTotp,
    RemoveTotp,
    AddOtpSms,
    AddOtpEmail,
    RemoveOtpSms,
    RemoveOtpEmail,
    /// Session service checks and challenges.
    Session,
    /// Security-key registration and removal.
    U2f,
    /// Passkey registration and removal.
    Passkey,
    ResendEmailCode,
    ResendPhoneCode,
    VerifyEmail,
    VerifyPhone,
    Read,
    /// Metadata of several keys at once (v2, and v1's bulk calls).
    Metadata,
    /// v1's metadata calls of one key.
    MetadataKey,
    /// An organization's metadata set in bulk.
    OrgMetadata,
    /// An organization's metadata of one key.
    OrgMetadataKey,
    /// An organization's metadata removed in bulk.
    OrgMetadataRemoval,
    CreateInvite,
    ResendInvite,
    VerifyInvite,
}

const fn err(code: Code, message: &'static str, id: &'static str) -> ZitadelError {
    ZitadelError { code, message, id }
}

pub const UNAUTHENTICATED: ZitadelError =
    err(Code::Unauthenticated, "Errors.Token.Invalid", "AUTH-7fs1e");
/// `x-zitadel-orgid` names no organization: ZITADEL's authorization refuses it before anything
/// else, and clients match the text (`Organisation doesn't exist (AUTH-Bs7Ds)`).
pub const UNKNOWN_ORG: ZitadelError = err(
    Code::PermissionDenied,
    "Organisation doesn't exist",
    "AUTH-Bs7Ds",
);
pub const PERMISSION_DENIED: ZitadelError = err(
    Code::PermissionDenied,
    "No matching permissions found",
    "AUTH-5mWD2",
);
pub const UNIMPLEMENTED: ZitadelError = err(
    Code::Unimplemented,
    "Errors.Method.NotImplemented",
    "TESSERA-RPC01",
);
pub const INVALID_EMAIL: ZitadelError =
    err(Code::InvalidArgument, "Email is invalid", "EMAIL-599BI");
pub const INVALID_PHONE: ZitadelError =
    err(Code::InvalidArgument, "Phone is invalid", "PHONE-so0wa");
pub const PASSWORD_TOO_SHORT: ZitadelError = err(
    Code::InvalidArgument,
    "Password is too short",
    "DOMAIN-HuJf6",
);
pub const INVALID_ORG: ZitadelError = err(
    Code::InvalidArgument,
    "Organisation is invalid",
    "ORG-deLle",
);
/// `AddOrganization` with an existing user as admin: Tessera keeps no organization members.
/// A refusal of this request, not of the method (which `Unimplemented` would say).
pub const ORG_MEMBERS_UNSUPPORTED: ZitadelError = err(
    Code::FailedPrecondition,
    "Organization members are not supported: name each admin as a new human user",
    "TESSERA-ORG01",
);
pub const USER_ID_MISSING: ZitadelError =
    err(Code::InvalidArgument, "User ID missing", "COMMAND-5M0sd");
pub const USERNAME_EMPTY: ZitadelError = err(Code::InvalidArgument, "ID missing", "COMMAND-2N9fs");
pub const USERNAME_NOT_CHANGED: ZitadelError = err(
    Code::FailedPrecondition,
    "Username not changed",
    "COMMAND-6m9gs",
);
pub const GIVEN_NAME_EMPTY: ZitadelError = err(
    Code::InvalidArgument,
    "Given name in profile is empty",
    "PROFILE-RF5z2",
);
pub const FAMILY_NAME_EMPTY: ZitadelError = err(
    Code::InvalidArgument,
    "Family name in profile is empty",
    "PROFILE-DSUkN",
);
/// Adding a human (v2 `AddHumanUser`, v1 `AddHumanUser`) checks the names in a command of
/// its own, with IDs of its own.
pub const ADD_GIVEN_NAME_EMPTY: ZitadelError = err(
    Code::InvalidArgument,
    "Given name in profile is empty",
    "USER-UCej2",
);
pub const ADD_FAMILY_NAME_EMPTY: ZitadelError = err(
    Code::InvalidArgument,
    "Family name in profile is empty",
    "USER-4hB7d",
);
pub const EMAIL_NOT_CHANGED: ZitadelError = err(
    Code::FailedPrecondition,
    "Email not changed",
    "COMMAND-Uch5e",
);
pub const PHONE_NOT_CHANGED: ZitadelError = err(
    Code::FailedPrecondition,
    "Phone not changed",
    "COMMAND-Uch5e",
);
pub const IDP_LINK_INVALID: ZitadelError = err(
    Code::InvalidArgument,
    "The link names no identity provider or no external user",
    "TESSERA-IDP03",
);
/// ZITADEL's answer to a `hashed_password` it cannot read, when adding a user and when
/// changing one.
const HASH_NOT_SUPPORTED_TEXT: &str = "Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets";
pub const HASH_NOT_SUPPORTED: ZitadelError =
    err(Code::InvalidArgument, HASH_NOT_SUPPORTED_TEXT, "USER-JDk4t");
pub const HASH_NOT_SUPPORTED_ON_CHANGE: ZitadelError = err(
    Code::InvalidArgument,
    HASH_NOT_SUPPORTED_TEXT,
    "USER-oz74onzvqr",
);
/// ZITADEL's request validation refuses a passkey without a name (1 to 200 characters), in
/// v2 and in auth v1.
pub const PASSKEY_NAME_INVALID: ZitadelError = err(
    Code::InvalidArgument,
    "invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be between 1 and 200 runes, inclusive",
    "TESSERA-PKY01",
);
pub const TOKEN_NAME_INVALID: ZitadelError = err(
    Code::InvalidArgument,
    "invalid WebAuthNVerification.TokenName: value length must be between 1 and 200 runes, inclusive",
    "TESSERA-PKY01",
);
/// The same validation of a security key's name, in v2 and in auth v1.
pub const U2F_NAME_INVALID: ZitadelError = err(
    Code::InvalidArgument,
    "invalid VerifyU2FRegistrationRequest.TokenName: value length must be between 1 and 200 runes, inclusive",
    "TESSERA-WAN03",
);
pub const U2F_TOKEN_NAME_INVALID: ZitadelError = err(
    Code::InvalidArgument,
    "invalid WebAuthNVerification.TokenName: value length must be between 1 and 200 runes, inclusive",
    "TESSERA-WAN03",
);

/// ZITADEL's request validation of a WebAuthn credential's name: 1 to 200 characters.
pub fn check_name(name: &str, refusal: ZitadelError) -> Result<(), ZitadelError> {
    if (1..=200).contains(&name.chars().count()) {
        Ok(())
    } else {
        Err(refusal)
    }
}
pub const BAD_BODY: ZitadelError = err(
    Code::InvalidArgument,
    "Errors.Request.Invalid",
    "TESSERA-REQ01",
);
/// v2's `PaginationRequest` asking for more than ZITADEL's most (1000) at once.
pub const LIMIT_EXCEEDED: ZitadelError =
    err(Code::InvalidArgument, "Limit exceeded", "QUERY-4M0fs");
/// GetOrgMetadata of a key the organization has no entry of.
pub const ORG_METADATA_NOT_FOUND: ZitadelError =
    err(Code::NotFound, "Metadata not found", "QUERY-Rph32");
/// GetUserMetadata of a key the user has no entry of.
pub const METADATA_NOT_FOUND: ZitadelError =
    err(Code::NotFound, "Metadata not found", "QUERY-Rgh32");
/// ListSessions' refusals of a query: one that sets nothing, an empty creator id, a user agent
/// query with no fingerprint id (the caller's own, which Tessera's tokens do not carry), and a
/// comparison method ZITADEL does not define.
pub const SESSION_QUERY_UNSET: ZitadelError =
    err(Code::InvalidArgument, "List.Query.Invalid", "GRPC-Sfefs");
pub const SESSION_CREATOR_UNSET: ZitadelError =
    err(Code::InvalidArgument, "List.Query.Invalid", "GRPC-x8n24uh");
pub const SESSION_AGENT_UNSET: ZitadelError =
    err(Code::InvalidArgument, "List.Query.Invalid", "GRPC-x8n23uh");
pub const SESSION_COMPARISON: ZitadelError = err(
    Code::InvalidArgument,
    "List.Query.InvalidComparisonMethod",
    "GRPC-Dwigt",
);
const NOT_FOUND_OTP: &str = "Multifactor OTP (OneTimePassword) doesn't exist";
const ALREADY_SET_UP: &str = "Multifactor OTP (OneTimePassword) is already set up";
const NOT_READY: &str = "Multifactor OTP (OneTimePassword) isn't ready";

impl ZitadelError {
    /// The status message: `"<message> (<ID>)"`.
    pub fn text(&self) -> String {
        format!("{} ({})", self.message, self.id)
    }

    pub fn from_domain(op: Op, e: DomainError) -> Self {
        use DomainError::*;
        match (e, op) {
            (UserNotFound, Op::RegisterTotp) => err(
                Code::FailedPrecondition,
                "User could not be found",
                "COMMAND-SqyJz",
            ),
            (OtpChallengeUnavailable(FactorKind::EmailOtp), _) => {
                err(Code::FailedPrecondition, NOT_READY, "COMMAND-JKLJ3")
            }
            (OtpChallengeUnavailable(_), _) => {
                err(Code::FailedPrecondition, NOT_READY, "COMMAND-BJ2g3")
            }
            (OtpFactorMissing, _) => err(Code::FailedPrecondition, NOT_READY, "COMMAND-d2r52"),
            (InvalidVerificationCode, Op::Passkey) => {
                err(Code::InvalidArgument, "Code is invalid", "COMMAND-Eeb2a")
            }
            (FactorNotFound, Op::U2f | Op::Passkey) => err(
                Code::NotFound,
                "WebAuthN Token could not be found",
                "COMMAND-2M9ds",
            ),
            (InvalidCredential, _) => err(
                Code::InvalidArgument,
                "Error on parse credential data",
                "WEBAU-sl9dr",
            ),
            (UserNotVerified, _) => err(
                Code::InvalidArgument,
                "The security key did not verify the user",
                "TESSERA-WAN02",
            ),
            // Clients read this id as "the user has no passkeys" (ZITADEL wraps go-webauthn's
            // "Found no credentials for user" in it).
            (NoWebAuthnCredential, _) => {
                err(Code::Internal, "WebAuthN begin login failed", "WEBAU-4G8sw")
            }
            (SecurityKeyCloned, _) => err(
                Code::FailedPrecondition,
                "The security key's sign counter did not advance: it may be cloned",
                "TESSERA-WAN01",
            ),
            (FactorNotFound, Op::Session) => {
                err(Code::FailedPrecondition, NOT_READY, "COMMAND-3Mif9s")
            }
            (VerificationCodeNotFound, Op::ResendEmailCode) => err(
                Code::FailedPrecondition,
                "Code is empty",
                "EMAIL-5w5ilin4yt",
            ),
            (VerificationCodeNotFound, Op::ResendPhoneCode) => err(
                Code::FailedPrecondition,
                "Code is empty",
                "PHONE-5xrra88eq8",
            ),
            (VerificationCodeNotFound, Op::Session) => {
                err(Code::FailedPrecondition, "Code not found", "COMMAND-S34gh")
            }
            (UserDisabled, Op::Session) => err(
                Code::FailedPrecondition,
                "User is not active",
                "COMMAND-vgDIu",
            ),
            (InvalidPassword | InvalidLoginCredentials, _) => err(
                Code::InvalidArgument,
                "Password is invalid",
                "COMMAND-3M0fs",
            ),
            (EmptyCode, _) => err(Code::InvalidArgument, "Code is empty", "COMMAND-SJl2g"),
            (SessionNotFound, _) => err(Code::NotFound, "Session not found", "QUERY-SJ84j"),
            (LoginSessionExpired, _) => err(
                Code::FailedPrecondition,
                "Session has expired",
                "COMMAND-Hkl3d",
            ),
            (SessionUserMismatch, _) => err(
                Code::InvalidArgument,
                "The session has no user checked, or the check names another user",
                "TESSERA-SES02",
            ),
            (SessionChanged, _) => err(
                Code::Aborted,
                "The session changed while the request was handled; retry",
                "TESSERA-SES01",
            ),
            // ZITADEL's commands wrap every failed check of the code, none pending included,
            // in one error, which clients match by its id.
            (
                InvalidVerificationCode | VerificationCodeNotFound,
                Op::VerifyEmail | Op::VerifyPhone,
            ) => err(Code::InvalidArgument, "Code is invalid", "COMMAND-eis9R"),
            (UserNotFound, Op::VerifyEmail) => {
                err(Code::NotFound, "Email not found", "COMMAND-ieJ2e")
            }
            (UserNotFound, Op::VerifyPhone) => {
                err(Code::NotFound, "Phone not found", "COMMAND-ieJ2e")
            }
            (UserNotFound, Op::CreateInvite) => err(
                Code::FailedPrecondition,
                "User could not be found",
                "COMMAND-Wgvn4",
            ),
            (UserNotFound, Op::ResendInvite) => err(
                Code::FailedPrecondition,
                "User could not be found",
                "COMMAND-H3b2a",
            ),
            (UserNotFound, Op::VerifyInvite) => err(
                Code::FailedPrecondition,
                "User could not be found",
                "COMMAND-F5g2h",
            ),
            (AlreadyInitialized, Op::ResendInvite) => err(
                Code::FailedPrecondition,
                "User is already initialized",
                "COMMAND-Gg42s",
            ),
            (AlreadyInitialized, _) => err(
                Code::FailedPrecondition,
                "User is already initialized",
                "COMMAND-EF34g",
            ),
            (VerificationCodeNotFound, Op::ResendInvite) => {
                err(Code::FailedPrecondition, "Code not found", "COMMAND-Wr3gq")
            }
            // ZITADEL checks a code against no invitation as against a wrong one.
            (VerificationCodeNotFound | InvalidVerificationCode, Op::VerifyInvite) => {
                err(Code::InvalidArgument, "Code is invalid", "COMMAND-Wgn4q")
            }
            (UserNotFound, Op::Metadata | Op::MetadataKey) => err(
                Code::FailedPrecondition,
                "User could not be found",
                "COMMAND-uXHNj",
            ),
            (UserNotFound, _) => err(Code::NotFound, "User could not be found", "COMMAND-SqyJz"),
            (NoMetadata, Op::OrgMetadataRemoval) => err(
                Code::FailedPrecondition,
                "Metadata list is empty",
                "META-9mw2d",
            ),
            (MetadataInvalid, Op::OrgMetadata | Op::OrgMetadataKey) => {
                err(Code::InvalidArgument, "Metadata is invalid", "META-2ml0f")
            }
            (MetadataKeyMissing, Op::OrgMetadataKey) => {
                err(Code::InvalidArgument, "Metadata is invalid", "META-2n0f1")
            }
            (MetadataKeyMissing, Op::OrgMetadataRemoval) => err(
                Code::InvalidArgument,
                "Metadata is invalid",
                "COMMAND-m19ds",
            ),
            (MetadataNotFound, Op::OrgMetadataKey) => {
                err(Code::NotFound, "Metadata not found", "META-mcnw3")
            }
            (MetadataNotFound, Op::OrgMetadataRemoval) => err(
                Code::NotFound,
                "One or more keys do not exist",
                "META-2npds",
            ),
            (NoMetadata, _) => err(
                Code::FailedPrecondition,
                "Metadata list is empty",
                "META-9mm2d",
            ),
            (MetadataInvalid, _) => err(Code::InvalidArgument, "Metadata is invalid", "META-2m00f"),
            (MetadataKeyMissing, Op::MetadataKey) => {
                err(Code::InvalidArgument, "Metadata is invalid", "META-2n0fs")
            }
            (MetadataKeyMissing, _) => err(
                Code::InvalidArgument,
                "Metadata is invalid",
                "COMMAND-m29ds",
            ),
            (MetadataNotFound, Op::MetadataKey) => {
                err(Code::NotFound, "Metadata not found", "META-ncnw3")
            }
            (MetadataNotFound, _) => err(
                Code::NotFound,
                "One or more keys do not exist",
                "META-2nnds",
            ),
            (SecondFactorExists, Op::AddOtpSms) => {
                err(Code::AlreadyExists, ALREADY_SET_UP, "COMMAND-Ad3g2")
            }
            (SecondFactorExists, Op::AddOtpEmail) => {
                err(Code::AlreadyExists, ALREADY_SET_UP, "COMMAND-MKL2s")
            }
            (ContactNotVerified, Op::AddOtpEmail) => {
                err(Code::FailedPrecondition, NOT_READY, "COMMAND-KLJ2d")
            }
            (ContactNotVerified, _) => err(Code::FailedPrecondition, NOT_READY, "COMMAND-Q54j2"),
            (SecondFactorExists, _) => err(
                Code::AlreadyExists,
                "Multifactor OTP (OneTimePassword) is already set up",
                "COMMAND-do9se",
            ),
            (FactorNotFound, Op::VerifyTotp) => {
                err(Code::NotFound, NOT_FOUND_OTP, "COMMAND-3Mif9s")
            }
            (FactorNotFound, Op::RemoveOtpSms) => {
                err(Code::NotFound, NOT_FOUND_OTP, "COMMAND-Sr3h3")
            }
            (FactorNotFound, Op::RemoveOtpEmail) => {
                err(Code::NotFound, NOT_FOUND_OTP, "COMMAND-b312D")
            }
            (FactorNotFound, _) => err(Code::NotFound, NOT_FOUND_OTP, "COMMAND-Hd9sd"),
            (FactorAlreadyReady, _) => err(
                Code::FailedPrecondition,
                "Errors.Users.MFA.OTP.AlreadyReady",
                "COMMAND-qx4ls",
            ),
            (InvalidCode, _) => err(Code::InvalidArgument, "Invalid code", "EVENT-8isk2"),
            (CodeReused, _) => err(
                Code::InvalidArgument,
                "Errors.User.MFA.OTP.Reused",
                "TOTP-Auw0a",
            ),
            (SecondFactorLimitExceeded, _) => err(
                Code::ResourceExhausted,
                "Maximum number of second factors reached",
                "TESSERA-MFA05",
            ),
            (EmailExists | DuplicateUserId | UsernameExists, _) => {
                err(Code::AlreadyExists, "User already exists", "COMMAND-k2unb")
            }
            (PhoneNumberExists, _) => err(
                Code::AlreadyExists,
                "Phone number is already in use",
                "TESSERA-PHN01",
            ),
            (IdentityLinked, _) => err(
                Code::AlreadyExists,
                "The external user is linked to another user",
                "TESSERA-IDP01",
            ),
            (ProviderAlreadyLinked, _) => err(
                Code::AlreadyExists,
                "The user already has a link to this identity provider",
                "TESSERA-IDP04",
            ),
            (IdentityNotFound, _) => err(
                Code::NotFound,
                "The user has no such link to an identity provider",
                "TESSERA-IDP02",
            ),
            (VerificationCodeNotFound, _) => {
                err(Code::FailedPrecondition, "Code not found", "COMMAND-2M9fs")
            }
            (InvalidVerificationCode | InvalidOobCode | EmailLinkMismatch, _) => {
                err(Code::InvalidArgument, "Code is invalid", "CODE-woT0xc")
            }
            (ExpiredOobCode, _) => err(Code::FailedPrecondition, "Code is expired", "CODE-QvUQ4P"),
            // A user Firebase made without an address, asked for a link by email.
            (EmailNotFound, _) => err(Code::NotFound, "Email not found", "TESSERA-EML01"),
            (ContactNotFound, _) => err(Code::NotFound, "Phone not found", "COMMAND-ieJ2e"),
            (ContactNotChanged(ContactKind::Email), _) => EMAIL_NOT_CHANGED,
            (ContactNotChanged(ContactKind::Phone), _) => PHONE_NOT_CHANGED,
            (TooManyRequests, _) => err(
                Code::ResourceExhausted,
                "Too many codes were sent, try again later",
                "TESSERA-LIM01",
            ),
            // ZITADEL's lockout policy locks the whole user for good (`Errors.User.Locked`,
            // FailedPrecondition); Tessera's soft lock is per factor and passes, so it says
            // "later" the way its delivery limits do.
            (TooManyAttempts, _) => err(
                Code::ResourceExhausted,
                "Too many failed attempts, try again later",
                "TESSERA-LIM02",
            ),
            (AlreadyDisabled, _) => err(
                Code::FailedPrecondition,
                "User already inactive",
                "COMMAND-5M0sf",
            ),
            (NotDisabled, _) => err(
                Code::FailedPrecondition,
                "User is not inactive",
                "COMMAND-6M0sf",
            ),
            // ZITADEL answers the keys it has no English text for as they are.
            (RecoveryCodeCountInvalid, _) => err(
                Code::InvalidArgument,
                "Errors.User.RecoveryCodes.CountInvalid",
                "COMMAND-7c0nx",
            ),
            (TooManyRecoveryCodes, _) => err(
                Code::AlreadyExists,
                "Maximum number of recovery codes exceeded",
                "COMMAND-8f2k9",
            ),
            (NoRecoveryCodes, Op::Session) => err(
                Code::InvalidArgument,
                "Errors.User.RecoveryCodes.NotReady",
                "COMMAND-84rgg",
            ),
            (NoRecoveryCodes, _) => err(
                Code::InvalidArgument,
                "Errors.User.RecoveryCodes.NotAdded",
                "COMMAND-84rgg",
            ),
            (InvalidRecoveryCode, _) => err(
                Code::InvalidArgument,
                "Invalid recovery code provided",
                "DOMAIN-6uvh0",
            ),
            (NotActive, _) => err(
                Code::FailedPrecondition,
                "User is not active or initial",
                "COMMAND-3NN8v",
            ),
            (NotLocked, _) => err(
                Code::FailedPrecondition,
                "User is not locked",
                "COMMAND-4M0ds",
            ),
            (NoPassword, _) => err(
                Code::FailedPrecondition,
                "Password is empty",
                "COMMAND-Fds3s",
            ),
            // A tenant is an organization seen from the Identity Toolkit.
            (OrgExists, _) => err(
                Code::AlreadyExists,
                "Organisation's name or id already taken",
                "ORG-laho2n",
            ),
            (OrgNotFound | TenantNotFound, _) => {
                err(Code::NotFound, "Organisation not found", "COMMAND-55M9f")
            }
            (AdminUnauthenticated | InvalidIdToken | TokenExpired | UserDisabled, _) => {
                UNAUTHENTICATED
            }
            (Unavailable, _) => err(Code::Unavailable, "Errors.Internal", "TESSERA-DB001"),
            (UnstorableValue, _) => err(
                Code::InvalidArgument,
                "A value holds a character or size that cannot be stored",
                "TESSERA-REQ02",
            ),
            _ => err(Code::Internal, "Errors.Internal", "TESSERA-INT01"),
        }
    }
}

/// grpc-gateway's answer, as ZITADEL configures it, to a request no route takes: a path it
/// does not serve is `NotFound`, a method its path does not take `Unimplemented` with the
/// HTTP status kept (405). Neither carries a ZITADEL error ID.
pub fn unrouted(status: StatusCode) -> Response {
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => Code::Unimplemented,
        _ => Code::NotFound,
    };
    let message = status.canonical_reason().unwrap_or_default();
    let body = json!({"code": code as i32, "message": message, "details": []});
    (status, Json(body)).into_response()
}

impl IntoResponse for ZitadelError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code as i32,
            "message": self.text(),
            "details": [{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": self.id, "message": self.message}],
        });
        (self.code.http(), Json(body)).into_response()
    }
}
