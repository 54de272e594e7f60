//! Wire shapes of the Identity Toolkit v1 accounts API, as the discovery document and the
//! Firebase SDKs define them. Requests deny unknown fields; fields that clients send but
//! Tessera has no use for (app-verification tokens, legacy ids) are accepted and ignored.

use serde::{Deserialize, Serialize};
use tessera_core::{Factor, User};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::extract::int64;
use super::mfa_wire::{MfaEnrollment, MfaEnrollmentInput, MfaInfoInput};
use crate::service::{FirstFactorOutcome, Session};

/// A field accepted for compatibility and never read: reCAPTCHA and client-instance fields.
type Ignored = Option<IgnoredValue>;

/// Any JSON value, discarded.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(from = "serde::de::IgnoredAny")]
pub struct IgnoredValue {}

impl From<serde::de::IgnoredAny> for IgnoredValue {
    fn from(_: serde::de::IgnoredAny) -> Self {
        IgnoredValue {}
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    /// End users: links the email and password to this token's user (the JS SDK's
    /// `linkWithCredential` of an anonymous user) instead of creating one. An
    /// administrator's create names no user by token and leaves it aside.
    pub id_token: Option<String>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    /// Tokens are always returned, as current Firebase clients expect.
    #[serde(rename = "returnSecureToken")]
    pub _return_secure_token: Ignored,
    /// Admin only.
    pub local_id: Option<String>,
    /// Admin only.
    pub email_verified: Option<bool>,
    /// Admin only.
    pub phone_number: Option<String>,
    /// Admin only.
    pub disabled: Option<bool>,
    /// Admin only: phone second factors to enrol with the account.
    pub mfa_info: Option<Vec<MfaEnrollmentInput>>,
    #[serde(rename = "captchaChallenge")]
    pub _captcha_challenge: Ignored,
    #[serde(rename = "captchaResponse")]
    pub _captcha_response: Ignored,
    #[serde(rename = "clientType")]
    pub _client_type: Ignored,
    #[serde(rename = "recaptchaVersion")]
    pub _recaptcha_version: Ignored,
    #[serde(rename = "instanceId")]
    pub _instance_id: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWithPasswordRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(rename = "returnSecureToken")]
    pub _return_secure_token: Ignored,
    #[serde(rename = "captchaChallenge")]
    pub _captcha_challenge: Ignored,
    #[serde(rename = "captchaResponse")]
    pub _captcha_response: Ignored,
    #[serde(rename = "clientType")]
    pub _client_type: Ignored,
    #[serde(rename = "recaptchaVersion")]
    pub _recaptcha_version: Ignored,
    #[serde(rename = "instanceId")]
    pub _instance_id: Ignored,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LookupRequest {
    pub id_token: Option<String>,
    pub local_id: Option<Vec<String>>,
    pub email: Option<Vec<String>>,
    pub phone_number: Option<Vec<String>>,
    /// Provider identities; Tessera's providers are `password` (email) and `phone`.
    pub federated_user_id: Option<Vec<FederatedUserIdentifier>>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedUserIdentifier {
    pub provider_id: Option<String>,
    pub raw_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRequest {
    pub id_token: Option<String>,
    /// The code of an emailed link that verifies or changes the address (`sendOobCode`).
    pub oob_code: Option<String>,
    pub local_id: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    /// `DISPLAY_NAME`, `PHOTO_URL`, `EMAIL`, `PASSWORD`, `PHONE_NUMBER`.
    pub delete_attribute: Option<Vec<String>>,
    /// Provider ids to unlink; `phone` clears the phone number.
    pub delete_provider: Option<Vec<String>>,
    /// Administrators only: an account at an identity provider to link.
    pub link_provider_user_info: Option<ProviderUserInfoInput>,
    pub return_secure_token: Option<bool>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    /// Admin only.
    pub email_verified: Option<bool>,
    /// Admin only.
    pub disable_user: Option<bool>,
    /// Admin only.
    pub phone_number: Option<String>,
    /// Admin only: a JSON object, as a string, of custom claims.
    pub custom_attributes: Option<String>,
    /// Admin only: Unix seconds; tokens issued earlier are revoked.
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub valid_since: Option<i64>,
    /// Admin only: replaces every second factor; `{}` removes them all.
    pub mfa: Option<MfaInfoInput>,
    #[serde(rename = "captchaChallenge")]
    pub _captcha_challenge: Ignored,
    #[serde(rename = "captchaResponse")]
    pub _captcha_response: Ignored,
    #[serde(rename = "instanceId")]
    pub _instance_id: Ignored,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteRequest {
    pub id_token: Option<String>,
    pub local_id: Option<String>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRequest {
    pub return_user_info: Option<bool>,
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub offset: Option<i64>,
    /// `USER_ID` (default), `NAME`, `CREATED_AT`, `LAST_LOGIN_AT`, `USER_EMAIL`.
    pub sort_by: Option<String>,
    /// `ASC` (default) or `DESC`.
    pub order: Option<String>,
    pub expression: Option<Vec<SqlExpression>>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlExpression {
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchCreateRequest {
    pub users: Option<Vec<ImportedUser>>,
    pub tenant_id: Option<String>,
    /// Replace the user a `localId` already names, instead of reporting it.
    pub allow_overwrite: Option<bool>,
    /// How the users' `passwordHash`es were made, with the parameters below that the
    /// algorithm takes.
    pub hash_algorithm: Option<String>,
    /// Base64; the HMACs' key and Firebase scrypt's signer key.
    pub signer_key: Option<String>,
    /// Base64; Firebase scrypt's.
    pub salt_separator: Option<String>,
    pub rounds: Option<i64>,
    /// Firebase scrypt's log₂ N; standard scrypt's N when `cpuMemCost` is absent.
    pub memory_cost: Option<i64>,
    pub cpu_mem_cost: Option<i64>,
    pub parallelization: Option<i64>,
    pub block_size: Option<i64>,
    pub dk_len: Option<i64>,
    pub password_hash_order: Option<String>,
    pub argon2_parameters: Option<Argon2Parameters>,
    /// Refuse the whole request when two of its users share an email or an identity.
    pub sanity_check: Option<bool>,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

/// Identity Toolkit's `Argon2Parameters`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Argon2Parameters {
    pub hash_length_bytes: Option<i64>,
    /// `ARGON2_D`, `ARGON2_ID`, `ARGON2_I`.
    pub hash_type: Option<String>,
    pub parallelism: Option<i64>,
    pub iterations: Option<i64>,
    pub memory_cost_kib: Option<i64>,
    /// `VERSION_10` or `VERSION_13` (the default).
    pub version: Option<String>,
    /// Base64.
    pub associated_data: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportedUser {
    pub local_id: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    pub phone_number: Option<String>,
    pub disabled: Option<bool>,
    pub raw_password: Option<String>,
    pub mfa_info: Option<Vec<MfaEnrollmentInput>>,
    /// Base64, made by the request's `hashAlgorithm` from the password and `salt`.
    pub password_hash: Option<String>,
    /// Base64.
    pub salt: Option<String>,
    pub custom_attributes: Option<String>,
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub last_login_at: Option<i64>,
    /// The tenant comes from the request path; one given here must be that one.
    pub tenant_id: Option<String>,
    /// Accounts at identity providers; `password` and `phone` entries are the user's
    /// address and number, and are skipped.
    pub provider_user_info: Option<Vec<ProviderUserInfoInput>>,
}

/// An account at an identity provider given by an administrator: imported
/// (`providerUserInfo`) or linked (`linkProviderUserInfo`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderUserInfoInput {
    pub provider_id: Option<String>,
    pub raw_id: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    pub screen_name: Option<String>,
    #[serde(rename = "federatedId")]
    pub _federated_id: Ignored,
    #[serde(rename = "phoneNumber")]
    pub _phone_number: Ignored,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchDeleteRequest {
    pub local_ids: Option<Vec<String>>,
    pub force: Option<bool>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct BatchGetParams {
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[param(value_type = Option<String>)]
    pub max_results: Option<i64>,
    pub next_page_token: Option<String>,
}

// ----- responses -----

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderUserInfo {
    pub provider_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federated_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
}

/// `GoogleCloudIdentitytoolkitV1UserInfo`, the user record of lookup, query and batchGet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub local_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    pub disabled: bool,
    pub provider_user_info: Vec<ProviderUserInfo>,
    /// Whether the user has signed in by email link; left out when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub email_link_signin: bool,
    /// Milliseconds since the epoch, as a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_updated_at: Option<i64>,
    /// Seconds since the epoch, as a string.
    pub valid_since: String,
    /// Milliseconds since the epoch, as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<String>,
    /// Milliseconds since the epoch, as a string.
    pub created_at: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Ready second factors only; an enrolment in progress is not shown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mfa_info: Vec<MfaEnrollment>,
}

pub fn provider_user_info(user: &User) -> Vec<ProviderUserInfo> {
    let mut providers = Vec::new();
    let password = user.password_hash.is_some() || user.email_link_sign_in;
    if let (Some(email), true) = (&user.email, password) {
        providers.push(ProviderUserInfo {
            provider_id: "password".to_owned(),
            raw_id: Some(email.to_string()),
            federated_id: Some(email.to_string()),
            email: Some(email.to_string()),
            phone_number: None,
            display_name: user.display_name.clone(),
            photo_url: user.photo_url.clone(),
            screen_name: None,
        });
    }
    if let Some(phone) = &user.phone_number {
        providers.push(ProviderUserInfo {
            provider_id: "phone".to_owned(),
            raw_id: Some(phone.clone()),
            federated_id: None,
            email: None,
            phone_number: Some(phone.clone()),
            display_name: None,
            photo_url: None,
            screen_name: None,
        });
    }
    // `federatedId` is the provider's id of the account here, as Firebase answers it.
    providers.extend(user.identities.iter().map(|identity| ProviderUserInfo {
        provider_id: identity.provider_id.clone(),
        raw_id: Some(identity.raw_id.clone()),
        federated_id: Some(identity.raw_id.clone()),
        email: identity.email.clone(),
        phone_number: None,
        display_name: identity.display_name.clone(),
        photo_url: identity.photo_url.clone(),
        screen_name: identity.screen_name.clone(),
    }));
    providers
}

fn millis(t: time::OffsetDateTime) -> i64 {
    tessera_core::clock::unix_millis(t)
}

impl UserInfo {
    pub fn new(user: &User, tenant_id: Option<&str>, factors: &[Factor]) -> Self {
        UserInfo {
            local_id: user.id.to_string(),
            email: user.email.as_ref().map(ToString::to_string),
            email_verified: user.email_verified,
            display_name: user.display_name.clone(),
            photo_url: user.photo_url.clone(),
            phone_number: user.phone_number.clone(),
            disabled: !user.is_active(),
            provider_user_info: provider_user_info(user),
            email_link_signin: user.email_link_sign_in,
            password_updated_at: user.password_updated_at.map(millis),
            valid_since: user.valid_since.unix_timestamp().to_string(),
            last_login_at: user.last_login_at.map(|t| millis(t).to_string()),
            created_at: millis(user.created_at).to_string(),
            last_refresh_at: user.last_refresh_at.and_then(|t| t.format(&Rfc3339).ok()),
            custom_attributes: user.custom_attributes.clone(),
            tenant_id: tenant_id.map(str::to_owned),
            mfa_info: factors
                .iter()
                .map(|f| MfaEnrollment::new(f, false))
                .collect(),
        }
    }
}

/// The token triple that several responses share.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

impl From<Option<Session>> for Tokens {
    fn from(session: Option<Session>) -> Self {
        match session {
            Some(s) => Tokens {
                id_token: Some(s.id_token),
                refresh_token: Some(s.refresh_token),
                expires_in: Some(s.expires_in.to_string()),
            },
            None => Tokens::default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpResponse {
    pub kind: &'static str,
    pub local_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(flatten)]
    pub tokens: Tokens,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInWithPasswordResponse {
    pub kind: &'static str,
    pub local_id: String,
    pub email: String,
    pub display_name: String,
    pub registered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_picture: Option<String>,
    #[serde(flatten)]
    pub outcome: FirstFactorReply,
}

/// What a first-factor sign-in answers: tokens, or, when a second factor is required, the
/// pending credential and the factors that can complete the sign-in.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstFactorReply {
    #[serde(flatten)]
    pub tokens: Tokens,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_pending_credential: Option<String>,
    /// Phone numbers masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mfa_info: Vec<MfaEnrollment>,
}

impl From<FirstFactorOutcome> for FirstFactorReply {
    fn from(outcome: FirstFactorOutcome) -> Self {
        match outcome {
            FirstFactorOutcome::Session(session) => FirstFactorReply {
                tokens: Some(session).into(),
                ..FirstFactorReply::default()
            },
            FirstFactorOutcome::SecondFactorRequired {
                pending_credential,
                factors,
            } => FirstFactorReply {
                tokens: Tokens::default(),
                mfa_pending_credential: Some(pending_credential),
                mfa_info: factors
                    .iter()
                    .map(|f| MfaEnrollment::new(f, true))
                    .collect(),
            },
        }
    }
}

/// `accounts:createAuthUri` (the JS SDK's `fetchSignInMethodsForEmail`): how an address can
/// sign in. Only the address form is served; `providerId` (sign-in with an identity provider)
/// is refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAuthUriRequest {
    pub identifier: Option<String>,
    pub continue_uri: Option<String>,
    pub session_id: Option<String>,
    pub provider_id: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(rename = "appId")]
    pub _app_id: Ignored,
    #[serde(rename = "authFlowType")]
    pub _auth_flow_type: Ignored,
    #[serde(rename = "clientId")]
    pub _client_id: Ignored,
    #[serde(rename = "context")]
    pub _context: Ignored,
    #[serde(rename = "customParameter")]
    pub _custom_parameter: Ignored,
    #[serde(rename = "hostedDomain")]
    pub _hosted_domain: Ignored,
    #[serde(rename = "oauthConsumerKey")]
    pub _oauth_consumer_key: Ignored,
    #[serde(rename = "oauthScope")]
    pub _oauth_scope: Ignored,
    #[serde(rename = "openidRealm")]
    pub _openid_realm: Ignored,
    #[serde(rename = "otaApp")]
    pub _ota_app: Ignored,
    #[serde(rename = "tenantProjectNumber")]
    pub _tenant_project_number: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthUriResponse {
    pub kind: &'static str,
    pub session_id: String,
    /// Left out, with the two lists, under the realm's email privacy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_providers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signin_methods: Option<Vec<String>>,
}

/// `accounts:signInWithEmailLink`: the address a sign-in link was sent to and its code; with
/// an ID token, the address becomes that user's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWithEmailLinkRequest {
    pub email: Option<String>,
    pub oob_code: Option<String>,
    pub id_token: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(rename = "returnSecureToken")]
    pub _return_secure_token: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInWithEmailLinkResponse {
    pub kind: &'static str,
    pub email: String,
    pub local_id: String,
    pub is_new_user: bool,
    #[serde(flatten)]
    pub outcome: FirstFactorReply,
}

/// `projects/{p}:createSessionCookie`: a session cookie for an ID token's session.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionCookieRequest {
    pub id_token: Option<String>,
    /// Seconds, 300 to 1,209,600 (two weeks, the default).
    #[serde(default, deserialize_with = "int64::deserialize")]
    #[schema(value_type = Option<String>)]
    pub valid_duration: Option<i64>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionCookieResponse {
    pub session_cookie: String,
}

/// `accounts:signInWithCustomToken`: the Admin SDKs' custom token, for its `uid`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWithCustomTokenRequest {
    pub token: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(rename = "returnSecureToken")]
    pub _return_secure_token: Ignored,
    #[serde(rename = "instanceId")]
    pub _instance_id: Ignored,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInWithCustomTokenResponse {
    pub kind: &'static str,
    pub is_new_user: bool,
    #[serde(flatten)]
    pub tokens: Tokens,
}

/// `GET v1/projects` (v3 `getProjectConfig`): what a client SDK reads of its project. Tessera
/// has no project numbers: `projectId` is the project's id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectInfo {
    pub project_id: String,
    pub authorized_domains: Vec<String>,
}

/// `accounts:signInWithPhoneNumber`: a code of `sendVerificationCode`, signing in (or up),
/// or, with `idToken`, putting the number on the caller's account.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWithPhoneNumberRequest {
    pub session_info: Option<String>,
    pub code: Option<String>,
    pub id_token: Option<String>,
    pub tenant_id: Option<String>,
    /// `SIGN_UP_OR_IN` (the default), `REAUTH` (the account must exist) or `UPDATE`.
    pub operation: Option<String>,
    /// A temporary proof of the number (given when a link found it taken), with
    /// `phoneNumber`, instead of a code.
    pub temporary_proof: Option<String>,
    pub phone_number: Option<String>,
    #[serde(rename = "verificationProof")]
    pub _verification_proof: Ignored,
}

/// A session, or, when a link found the number taken, a temporary proof to sign in to the
/// account that has it (which the JS SDK turns into `auth/account-exists-with-different-credential`
/// carrying the credential).
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInWithPhoneNumberResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    pub phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_new_user: Option<bool>,
    #[serde(flatten)]
    pub tokens: Tokens,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_proof: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_proof_expires_in: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupResponse {
    pub kind: &'static str,
    /// Omitted, not empty, when nothing matched (the Node Admin SDK relies on it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResponse {
    pub kind: &'static str,
    pub local_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    pub email_verified: bool,
    pub provider_user_info: Vec<ProviderUserInfo>,
    #[serde(flatten)]
    pub tokens: Tokens,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindOnly {
    pub kind: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    pub records_count: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_info: Vec<UserInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndexedError {
    pub index: usize,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCreateResponse {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error: Vec<IndexedError>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchDeleteError {
    pub index: usize,
    pub local_id: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDeleteResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<BatchDeleteError>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetResponse {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// securetoken `v1/token` request: form-encoded or JSON, snake_case or camelCase.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub refresh_token: Option<String>,
    /// Deprecated authorization-code grant; ignored.
    #[serde(rename = "code")]
    pub _code: Ignored,
}

/// securetoken `v1/token` response, snake_case on the wire.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: String,
    pub token_type: &'static str,
    pub refresh_token: String,
    pub id_token: String,
    pub user_id: String,
    pub project_id: String,
}

/// `accounts:sendOobCode`: an emailed link that verifies the address (`VERIFY_EMAIL`, by ID
/// token), changes it (`VERIFY_AND_CHANGE_EMAIL`, to `newEmail`) or resets the password
/// (`PASSWORD_RESET`, by email). An administrator may name the user by `email` and get the
/// link back (`returnOobLink`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendOobCodeRequest {
    pub request_type: Option<String>,
    pub email: Option<String>,
    pub id_token: Option<String>,
    pub new_email: Option<String>,
    pub continue_url: Option<String>,
    pub return_oob_link: Option<bool>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    /// Apps' own handling of the link, which Tessera leaves to the action handler.
    #[serde(rename = "canHandleCodeInApp")]
    pub _can_handle_code_in_app: Ignored,
    #[serde(rename = "iOSBundleId")]
    pub _ios_bundle_id: Ignored,
    #[serde(rename = "iOSAppStoreId")]
    pub _ios_app_store_id: Ignored,
    #[serde(rename = "androidPackageName")]
    pub _android_package_name: Ignored,
    #[serde(rename = "androidInstallApp")]
    pub _android_install_app: Ignored,
    #[serde(rename = "androidMinimumVersion")]
    pub _android_minimum_version: Ignored,
    #[serde(rename = "dynamicLinkDomain")]
    pub _dynamic_link_domain: Ignored,
    #[serde(rename = "linkDomain")]
    pub _link_domain: Ignored,
    #[serde(rename = "captchaResp")]
    pub _captcha_resp: Ignored,
    #[serde(rename = "clientType")]
    pub _client_type: Ignored,
    #[serde(rename = "recaptchaVersion")]
    pub _recaptcha_version: Ignored,
    #[serde(rename = "userIp")]
    pub _user_ip: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOobCodeResponse {
    pub kind: &'static str,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oob_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oob_link: Option<String>,
}

/// `accounts:resetPassword`: with `newPassword`, a password-reset link's code sets the
/// password; without, any link's code is only checked (the SDKs' `checkActionCode`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub oob_code: Option<String>,
    pub new_password: Option<String>,
    pub tenant_id: Option<String>,
    pub target_project_id: Option<String>,
    #[serde(rename = "email")]
    pub _email: Ignored,
    #[serde(rename = "oldPassword")]
    pub _old_password: Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordResponse {
    pub kind: &'static str,
    pub request_type: &'static str,
    /// Not for a sign-in link: whoever opens it must know the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
    /// The factor a `REVERT_SECOND_FACTOR_ADDITION` code removes (the JS SDK's
    /// `checkActionCode` requires it), its phone number masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_info: Option<super::mfa_wire::MfaEnrollment>,
}

/// `accounts:signInWithIdp` (v3 `verifyAssertion`): a credential of an identity provider, as
/// the query of `requestUri` and the form `postBody` (`providerId`, `id_token`,
/// `access_token`), to sign in with or, with `idToken`, to link.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInWithIdpRequest {
    pub request_uri: Option<String>,
    pub post_body: Option<String>,
    pub id_token: Option<String>,
    pub tenant_id: Option<String>,
    /// With it, a refusal is a 200 answer carrying the credential and `errorMessage`, from
    /// which the JS SDK rebuilds the credential for its error.
    pub return_idp_credential: Option<bool>,
    #[serde(rename = "returnSecureToken")]
    pub _return_secure_token: Ignored,
    #[serde(rename = "returnRefreshToken")]
    pub _return_refresh_token: Ignored,
    /// `false` (a re-authentication): the account's user must exist.
    pub auto_create: Option<bool>,
    #[serde(rename = "sessionId")]
    pub _session_id: Ignored,
    #[serde(rename = "pendingToken")]
    pub _pending_token: Ignored,
    #[serde(rename = "pendingIdToken")]
    pub _pending_id_token: Ignored,
    #[serde(rename = "delegatedProjectNumber")]
    pub _delegated_project_number: Ignored,
    /// v3 `verifyAssertion` only.
    #[serde(rename = "instanceId")]
    pub _instance_id: Ignored,
    /// v3 `verifyAssertion` only.
    #[serde(rename = "tenantProjectNumber")]
    pub _tenant_project_number: Ignored,
}

/// What the provider said of the account, then the outcome: a session, a pending sign-in,
/// `needConfirmation`, or (with `returnIdpCredential`) `errorMessage`.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInWithIdpResponse {
    pub kind: &'static str,
    pub context: &'static str,
    pub provider_id: String,
    pub federated_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    /// The provider's profile, a JSON object as a string (the JS SDK's
    /// `getAdditionalUserInfo().profile`).
    pub raw_user_info: String,
    pub oauth_access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_new_user: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_recycled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_confirmation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_provider: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(flatten)]
    pub outcome: FirstFactorReply,
}
