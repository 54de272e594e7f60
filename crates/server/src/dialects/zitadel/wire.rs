//! ZITADEL's JSON (protojson as grpc-gateway writes it): lowerCamelCase, enums by name, 64-bit
//! integers as strings, empty fields omitted, and `{}` for an empty message in a oneof.

use serde::{Deserialize, Serialize};
use tessera_core::{Factor, FactorKind, FactorState, Realm};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Empty {}

/// `zitadel.v1.ObjectDetails` / `zitadel.object.v2.Details`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// uint64, as a string.
    pub sequence: String,
    pub change_date: String,
    pub resource_owner: String,
}

impl Details {
    pub fn new(realm: &Realm, at: OffsetDateTime) -> Self {
        Details {
            sequence: tessera_core::clock::unix_millis(at).to_string(),
            change_date: at.format(&Rfc3339).unwrap_or_default(),
            resource_owner: realm.org_id.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct U2f {
    pub id: String,
    pub name: String,
}

/// `zitadel.user.v1.AuthFactor` (v2's has the same layout): a state and exactly one type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthFactor {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u2f: Option<U2f>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_sms: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_email: Option<Empty>,
}

pub fn state_name(state: FactorState) -> &'static str {
    match state {
        FactorState::NotReady => "AUTH_FACTOR_STATE_NOT_READY",
        FactorState::Ready => "AUTH_FACTOR_STATE_READY",
        FactorState::Removed => "AUTH_FACTOR_STATE_REMOVED",
    }
}

impl AuthFactor {
    pub fn new(factor: &Factor) -> Self {
        let kind = factor.kind();
        AuthFactor {
            state: state_name(factor.state),
            otp: (kind == FactorKind::Totp).then_some(Empty {}),
            u2f: None,
            otp_sms: (kind == FactorKind::SmsOtp).then_some(Empty {}),
            otp_email: (kind == FactorKind::EmailOtp).then_some(Empty {}),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorList {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<AuthFactor>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetailsResponse {
    pub details: Details,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterTotpResponse {
    pub details: Details,
    /// The `otpauth://` URI for a QR code.
    pub uri: String,
    /// Base32, without padding.
    pub secret: String,
}

/// `AddMyAuthFactorOTPResponse` (auth v1 calls the URI `url`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddMyOtpResponse {
    pub url: String,
    pub secret: String,
    pub details: Details,
}

/// `VerifyTOTPRegistrationRequest`. The user comes from the path; other fields (a repeated
/// `userId`) are discarded, as ZITADEL's protojson does.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VerifyTotpRequest {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListDetails {
    /// uint64, as a string.
    pub total_result: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethodTypes {
    pub details: ListDetails,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_method_types: Vec<&'static str>,
}
