//! The Identity Toolkit error envelope (spec §6.1) and the one mapping from domain errors.
//!
//! Business errors are HTTP 400 without `status`, reason `invalid`; clients split
//! `error.message` on `" : "` into code and detail. Transport-level errors (bad JSON, missing
//! key, bad bearer, unknown route) carry a gRPC-style `status` as Google's front end does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::{DomainError, FactorKind};

#[derive(Debug)]
pub enum ItError {
    Domain(DomainError),
    /// A business error: `CODE` or `CODE : detail`.
    Invalid(String),
    /// A malformed request: 400 `INVALID_ARGUMENT`.
    BadRequest {
        message: String,
        reason: &'static str,
    },
    PayloadTooLarge {
        limit: usize,
    },
    MissingApiKey,
    NotFound,
    NotImplemented,
}

impl ItError {
    pub fn code(code: &str) -> Self {
        ItError::Invalid(code.to_owned())
    }

    pub fn with_detail(code: &str, detail: &str) -> Self {
        ItError::Invalid(format!("{code} : {detail}"))
    }
}

impl From<DomainError> for ItError {
    fn from(e: DomainError) -> Self {
        ItError::Domain(e)
    }
}

/// The parts of one error response.
struct Envelope {
    http: StatusCode,
    message: String,
    reason: &'static str,
    status: Option<&'static str>,
}

impl Envelope {
    fn business(message: impl Into<String>) -> Self {
        Envelope {
            http: StatusCode::BAD_REQUEST,
            message: message.into(),
            reason: "invalid",
            status: None,
        }
    }

    fn transport(
        http: StatusCode,
        status: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Envelope {
            http,
            message: message.into(),
            reason,
            status: Some(status),
        }
    }
}

fn domain_envelope(e: &DomainError) -> Envelope {
    use DomainError::*;
    match e {
        ProjectNotFound => Envelope::business("PROJECT_NOT_FOUND"),
        TenantNotFound => Envelope::business("TENANT_NOT_FOUND"),
        OrgNotFound => Envelope::business("PROJECT_NOT_FOUND"),
        ContactNotVerified => Envelope::business("OPERATION_NOT_ALLOWED"),
        FactorAlreadyReady => Envelope::business("SECOND_FACTOR_EXISTS"),
        EmailNotFound => Envelope::business("EMAIL_NOT_FOUND"),
        InvalidOobCode => Envelope::business("INVALID_OOB_CODE"),
        ExpiredOobCode => Envelope::business("EXPIRED_OOB_CODE"),
        EmailLinkMismatch => Envelope::business(
            "INVALID_EMAIL : The email provided does not match the sign-in email address.",
        ),
        InvalidPassword => Envelope::business("INVALID_PASSWORD"),
        InvalidLoginCredentials => Envelope::business("INVALID_LOGIN_CREDENTIALS"),
        UserNotFound => Envelope::business("USER_NOT_FOUND"),
        UserDisabled => Envelope::business("USER_DISABLED"),
        EmailExists => Envelope::business("EMAIL_EXISTS"),
        DuplicateUserId => Envelope::business("DUPLICATE_LOCAL_ID"),
        PhoneNumberExists => Envelope::business("PHONE_NUMBER_EXISTS"),
        InvalidIdToken => Envelope::business("INVALID_ID_TOKEN"),
        TokenExpired => Envelope::business("TOKEN_EXPIRED"),
        InvalidRefreshToken => Envelope::business("INVALID_REFRESH_TOKEN"),
        TenantIdMismatch => Envelope::business("TENANT_ID_MISMATCH"),
        SecondFactorExists => Envelope::business(
            "SECOND_FACTOR_EXISTS : Phone number already enrolled as second factor for this account.",
        ),
        SecondFactorLimitExceeded => Envelope::business("SECOND_FACTOR_LIMIT_EXCEEDED"),
        FactorKindDisabled(FactorKind::SmsOtp) => {
            Envelope::business("OPERATION_NOT_ALLOWED : SMS based MFA not enabled.")
        }
        FactorKindDisabled(FactorKind::Totp) => {
            Envelope::business("OPERATION_NOT_ALLOWED : TOTP based MFA not enabled.")
        }
        FactorKindDisabled(_) => Envelope::business("OPERATION_NOT_ALLOWED"),
        UnsupportedFirstFactor => Envelope::business(
            "UNSUPPORTED_FIRST_FACTOR : MFA is not available for the given first factor.",
        ),
        PhoneOfMfaUser => Envelope::business(
            "UNSUPPORTED_FIRST_FACTOR : A phone number cannot be set as a first factor on an SMS based MFA user.",
        ),
        PhoneSignInDisabled => Envelope::business("OPERATION_NOT_ALLOWED"),
        InvalidTemporaryProof => Envelope::business("INVALID_TEMPORARY_PROOF"),
        IdentityLinked => Envelope::business("FEDERATED_USER_ID_ALREADY_LINKED"),
        IdpNotConfigured => Envelope::business(
            "OPERATION_NOT_ALLOWED : The identity provider configuration is not found.",
        ),
        UnverifiedEmail => Envelope::business(
            "UNVERIFIED_EMAIL : Need to verify email first before enrolling second factors.",
        ),
        InvalidSessionInfo => Envelope::business("INVALID_SESSION_INFO"),
        SessionExpired => Envelope::business("SESSION_EXPIRED"),
        InvalidCode | CodeReused => Envelope::business("INVALID_CODE"),
        FactorNotFound => Envelope::business("MFA_ENROLLMENT_NOT_FOUND"),
        InvalidPendingCredential => Envelope::business("INVALID_MFA_PENDING_CREDENTIAL"),
        FactorKindUnsupported => {
            Envelope::business("INVALID_ARGUMENT : MFA provider not supported!")
        }
        AppVerificationFailed => Envelope::business("INVALID_APP_CREDENTIAL"),
        TooManyRequests | TooManyAttempts => Envelope::business("TOO_MANY_ATTEMPTS_TRY_LATER"),
        UnstorableValue => Envelope::business(
            "INVALID_ARGUMENT : A value holds a character or size that cannot be stored.",
        ),
        NotDisabled => {
            Envelope::business("NOT_DISABLED : Disable the account before batch deletion.")
        }
        InvalidApiKey => Envelope::transport(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "badRequest",
            "API key not valid. Please pass a valid API key.",
        ),
        AdminUnauthenticated => Envelope::transport(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ),
        Unavailable => Envelope::transport(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "backendError",
            "The service is currently unavailable.",
        ),
        // ZITADEL-only conditions; no Identity Toolkit call reaches them.
        MachineUserExists
        | AlreadyDisabled
        | NoPassword
        | NotActive
        | NotLocked
        | RecoveryCodeCountInvalid
        | TooManyRecoveryCodes
        | NoRecoveryCodes
        | InvalidRecoveryCode
        | NoMetadata
        | MetadataInvalid
        | MetadataKeyMissing
        | MetadataNotFound
        | OrgExists
        | UsernameExists
        | InvalidVerificationCode
        | VerificationCodeNotFound
        | AlreadyInitialized
        | ContactNotFound
        | ContactNotChanged(_)
        | IdentityNotFound
        | ProviderAlreadyLinked
        | SessionNotFound
        | LoginSessionExpired
        | SessionUserMismatch
        | SessionChanged
        | EmptyCode
        | InvalidCredential
        | SecurityKeyCloned
        | UserNotVerified
        | NoWebAuthnCredential
        | OtpChallengeUnavailable(_)
        | OtpFactorMissing
        | Internal => Envelope::transport(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "backendError",
            "Internal error encountered.",
        ),
    }
}

impl ItError {
    /// The `error.message` text, also used for per-item errors of batch calls.
    pub fn message(&self) -> String {
        self.envelope().message
    }

    fn envelope(&self) -> Envelope {
        match self {
            ItError::Domain(e) => domain_envelope(e),
            ItError::Invalid(message) => Envelope::business(message.clone()),
            ItError::BadRequest { message, reason } => Envelope::transport(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                reason,
                message.clone(),
            ),
            ItError::PayloadTooLarge { limit } => Envelope::transport(
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_ARGUMENT",
                "badRequest",
                format!("Request payload size exceeds the limit: {limit} bytes."),
            ),
            ItError::MissingApiKey => Envelope::transport(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                "forbidden",
                "The request is missing a valid API key.",
            ),
            ItError::NotFound => {
                Envelope::transport(StatusCode::NOT_FOUND, "NOT_FOUND", "notFound", "Not Found")
            }
            ItError::NotImplemented => Envelope::transport(
                StatusCode::NOT_IMPLEMENTED,
                "UNIMPLEMENTED",
                "unimplemented",
                "Not Implemented",
            ),
        }
    }
}

impl IntoResponse for ItError {
    fn into_response(self) -> Response {
        let Envelope {
            http,
            message,
            reason,
            status,
        } = self.envelope();
        let mut error = json!({
            "code": http.as_u16(),
            "message": message,
            "errors": [{"message": message, "reason": reason, "domain": "global"}],
        });
        if let Some(status) = status {
            error["status"] = json!(status);
        }
        (http, Json(json!({ "error": error }))).into_response()
    }
}
