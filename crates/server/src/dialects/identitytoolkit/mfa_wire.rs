//! Wire shapes of the v2 MFA API (`mfaEnrollment`, `mfaSignIn`) and of `MfaEnrollment`, the
//! element of `mfaInfo` that lookups, sign-ins and the Admin SDKs exchange.
//!
//! Clients tell a factor's kind by key presence: `phoneInfo` means phone, `totpInfo` (always
//! the empty object) means TOTP — so exactly one of them is ever written.

use serde::{Deserialize, Serialize};
use tessera_core::{Factor, FactorData, PhoneNumber};
use time::OffsetDateTime;
use time::macros::format_description;
use utoipa::ToSchema;

use super::wire::IgnoredValue;

/// `{}` — the TOTP marker in `mfaInfo`, and the empty request/response infos.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// RFC 3339 with milliseconds and `Z`, as Firebase writes `enrolledAt`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

pub fn parse_timestamp(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()
}

/// `+16505550165` → `+*******0165`: every digit but the last four hidden.
pub fn obfuscate(phone: &PhoneNumber) -> String {
    let digits = phone.as_str().bytes().filter(u8::is_ascii_digit).count();
    let mut seen = 0;
    phone
        .as_str()
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen + 4 > digits { c } else { '*' }
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaEnrollment {
    pub mfa_enrollment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub enrolled_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unobfuscated_phone_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_info: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_info: Option<EmailInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailInfo {
    pub email_address: String,
}

impl MfaEnrollment {
    /// The full view (lookups); `masked` hides phone digits (first-factor sign-in hints).
    pub fn new(factor: &Factor, masked: bool) -> Self {
        let (phone_info, unobfuscated_phone_info, totp_info, email_info) = match &factor.data {
            FactorData::SmsOtp { phone } if masked => (Some(obfuscate(phone)), None, None, None),
            FactorData::SmsOtp { phone } => {
                (Some(phone.to_string()), Some(phone.to_string()), None, None)
            }
            FactorData::Totp { .. } => (None, None, Some(Empty {}), None),
            FactorData::EmailOtp { email } => (
                None,
                None,
                None,
                Some(EmailInfo {
                    email_address: email.to_string(),
                }),
            ),
            // Not shown to Identity Toolkit clients (see `Service::ready_factors`' callers).
            FactorData::WebAuthn { .. } => (None, None, None, None),
        };
        MfaEnrollment {
            mfa_enrollment_id: factor.id.to_string(),
            display_name: factor.display_name.clone(),
            enrolled_at: timestamp(factor.enrolled_at.unwrap_or(factor.created_at)),
            phone_info,
            unobfuscated_phone_info,
            totp_info,
            email_info,
        }
    }
}

/// An enrollment as an administrator sends it (`mfaInfo[]`, `mfa.enrollments[]`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaEnrollmentInput {
    pub mfa_enrollment_id: Option<String>,
    pub display_name: Option<String>,
    pub phone_info: Option<String>,
    pub totp_info: Option<Empty>,
    /// RFC 3339.
    pub enrolled_at: Option<String>,
    #[serde(rename = "unobfuscatedPhoneInfo")]
    pub _unobfuscated_phone_info: Option<IgnoredValue>,
}

/// `accounts:update`'s `mfa`: `{}` clears every factor.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaInfoInput {
    pub enrollments: Option<Vec<MfaEnrollmentInput>>,
}

// ----- mfaEnrollment -----

/// Phone info of `mfaEnrollment:start` and `mfaSignIn:start`, with the app-verification
/// evidence of every platform.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneRequestInfo {
    pub phone_number: Option<String>,
    pub recaptcha_token: Option<String>,
    pub captcha_response: Option<String>,
    pub client_type: Option<String>,
    pub recaptcha_version: Option<String>,
    pub safety_net_token: Option<String>,
    pub play_integrity_token: Option<String>,
    pub ios_receipt: Option<String>,
    pub ios_secret: Option<String>,
    pub auto_retrieval_info: Option<AutoRetrievalInfo>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoRetrievalInfo {
    #[serde(rename = "appSignatureHash")]
    pub _app_signature_hash: Option<IgnoredValue>,
}

impl PhoneRequestInfo {
    /// Which verification fields arrived, by wire name.
    pub fn evidence(&self) -> crate::service::AppEvidence {
        let fields: [(&'static str, bool); 9] = [
            ("recaptchaToken", self.recaptcha_token.is_some()),
            ("captchaResponse", self.captcha_response.is_some()),
            ("clientType", self.client_type.is_some()),
            ("recaptchaVersion", self.recaptcha_version.is_some()),
            ("safetyNetToken", self.safety_net_token.is_some()),
            ("playIntegrityToken", self.play_integrity_token.is_some()),
            ("iosReceipt", self.ios_receipt.is_some()),
            ("iosSecret", self.ios_secret.is_some()),
            ("autoRetrievalInfo", self.auto_retrieval_info.is_some()),
        ];
        crate::service::AppEvidence {
            present: fields
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(name, _)| name)
                .collect(),
        }
    }
}

/// `accounts:sendVerificationCode`: a code for signing in with a phone number. Google's
/// message of its own, with the fields of the second-factor calls' phone info and the tenant.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendVerificationCodeRequest {
    pub tenant_id: Option<String>,
    pub phone_number: Option<String>,
    pub recaptcha_token: Option<String>,
    pub captcha_response: Option<String>,
    pub client_type: Option<String>,
    pub recaptcha_version: Option<String>,
    pub safety_net_token: Option<String>,
    pub play_integrity_token: Option<String>,
    pub ios_receipt: Option<String>,
    pub ios_secret: Option<String>,
    pub auto_retrieval_info: Option<AutoRetrievalInfo>,
}

impl SendVerificationCodeRequest {
    /// The tenant, and the rest as the second-factor calls' phone info.
    pub fn into_parts(self) -> (Option<String>, PhoneRequestInfo) {
        let phone = PhoneRequestInfo {
            phone_number: self.phone_number,
            recaptcha_token: self.recaptcha_token,
            captcha_response: self.captcha_response,
            client_type: self.client_type,
            recaptcha_version: self.recaptcha_version,
            safety_net_token: self.safety_net_token,
            play_integrity_token: self.play_integrity_token,
            ios_receipt: self.ios_receipt,
            ios_secret: self.ios_secret,
            auto_retrieval_info: self.auto_retrieval_info,
        };
        (self.tenant_id, phone)
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartEnrollmentRequest {
    pub id_token: Option<String>,
    pub tenant_id: Option<String>,
    pub phone_enrollment_info: Option<PhoneRequestInfo>,
    pub totp_enrollment_info: Option<Empty>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub session_info: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpSessionInfo {
    pub shared_secret_key: String,
    pub verification_code_length: u8,
    pub hashing_algorithm: &'static str,
    pub period_sec: u64,
    pub session_info: String,
    pub finalize_enrollment_time: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartEnrollmentResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_session_info: Option<SessionInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_session_info: Option<TotpSessionInfo>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneVerificationInfo {
    pub session_info: Option<String>,
    pub code: Option<String>,
    /// Accepted in full or obfuscated form (iOS sends the hint back); the session already
    /// names the phone, so it is not compared.
    #[serde(rename = "phoneNumber")]
    pub _phone_number: Option<IgnoredValue>,
    /// Android's instant-verification proof. Tessera never issues the temporary proofs it
    /// stands for, so it is accepted and ignored: the session and its code are what is checked.
    #[serde(rename = "androidVerificationProof")]
    pub _android_verification_proof: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpVerificationInfo {
    pub session_info: Option<String>,
    pub verification_code: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinalizeEnrollmentRequest {
    pub id_token: Option<String>,
    pub display_name: Option<String>,
    pub tenant_id: Option<String>,
    pub phone_verification_info: Option<PhoneVerificationInfo>,
    pub totp_verification_info: Option<TotpVerificationInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneAuthInfo {
    pub phone_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeResponse {
    pub id_token: String,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_auth_info: Option<PhoneAuthInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_auth_info: Option<Empty>,
}

impl FinalizeResponse {
    /// Tokens only, as sign-in answers carry them.
    pub fn tokens(session: crate::service::Session) -> Self {
        FinalizeResponse {
            id_token: session.id_token,
            refresh_token: session.refresh_token,
            phone_auth_info: None,
            totp_auth_info: None,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawRequest {
    pub id_token: Option<String>,
    pub mfa_enrollment_id: Option<String>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawResponse {
    pub id_token: String,
    pub refresh_token: String,
}

// ----- mfaSignIn -----

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartSignInRequest {
    pub mfa_pending_credential: Option<String>,
    pub mfa_enrollment_id: Option<String>,
    pub tenant_id: Option<String>,
    pub phone_sign_in_info: Option<PhoneRequestInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartSignInResponse {
    pub phone_response_info: SessionInfo,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpSignInInfo {
    pub verification_code: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinalizeSignInRequest {
    pub mfa_pending_credential: Option<String>,
    pub mfa_enrollment_id: Option<String>,
    pub tenant_id: Option<String>,
    pub phone_verification_info: Option<PhoneVerificationInfo>,
    pub totp_verification_info: Option<TotpSignInInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_keeps_the_last_four_digits() {
        let phone = PhoneNumber::parse("+16505550165").map(|p| obfuscate(&p));
        assert_eq!(phone.as_deref(), Some("+*******0165"));
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(timestamp(t), "2026-11-18T11:06:40.123Z");
    }
}
