//! The ZITADEL dialect (spec `zitadel.md`): the auth-factor calls of the user service v2,
//! management v1 and auth v1, over the same store as Identity Toolkit, on every transport
//! ZITADEL serves: REST (grpc-gateway mapping), Connect (JSON and binary), gRPC and gRPC-web.
//!
//! `services` is the table of RPCs; `factors` implements them; `rpc` is what they run with;
//! `gateway`, `connect` and `grpc` are the transports.

mod auth;
pub(crate) mod codec;
mod connect;
mod details;
mod error;
mod factors;
mod gateway;
mod grpc;
mod idp_links;
mod lifecycle;
mod metadata;
mod passkeys;
mod profiles;
mod recovery;
mod rpc;
mod search;
mod services;
mod session_list;
mod sessions;
pub(crate) mod timestamp;
mod updates;
mod users;
mod v2beta;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use error::{ZitadelError, unrouted};
pub use grpc::{dispatcher as grpc_dispatcher, routes as grpc_routes};
pub use services::METHODS;

use crate::service::Service;
use gateway::Gateway;
use gateway::Verb::*;

/// The REST routes, each naming its RPC (spec §4–§6).
fn gateway() -> Gateway {
    Gateway::new()
        .route(
            Post,
            "/v2/users/{user_id}/passkeys",
            "RegisterPasskey",
            passkeys::register_passkey,
        )
        .route(
            Post,
            "/v2/users/{user_id}/passkeys/registration_link",
            "CreatePasskeyRegistrationLink",
            passkeys::create_passkey_registration_link,
        )
        .route(
            Post,
            "/v2/users/{user_id}/passkeys/_search",
            "ListPasskeys",
            passkeys::list_passkeys,
        )
        .route(
            Post,
            "/v2/users/{user_id}/passkeys/{passkey_id}",
            "VerifyPasskeyRegistration",
            passkeys::verify_passkey_registration,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/passkeys/{passkey_id}",
            "RemovePasskey",
            passkeys::remove_passkey,
        )
        .route(
            Post,
            "/v2/users/{user_id}/u2f",
            "RegisterU2F",
            factors::register_u2f,
        )
        .route(
            Post,
            "/v2/users/{user_id}/u2f/{u2f_id}",
            "VerifyU2FRegistration",
            factors::verify_u2f_registration,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/u2f/{u2f_id}",
            "RemoveU2F",
            factors::remove_u2f,
        )
        .route(
            Post,
            "/management/v1/users/{user_id}/passwordless/_search",
            "ListHumanPasswordless",
            passkeys::list_human_passwordless,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/passwordless/{token_id}",
            "RemoveHumanPasswordless",
            passkeys::remove_human_passwordless,
        )
        .route(
            Post,
            "/management/v1/users/{user_id}/passwordless/_link",
            "AddPasswordlessRegistration",
            passkeys::add_passwordless_registration,
        )
        .route(
            Post,
            "/management/v1/users/{user_id}/passwordless/_send_link",
            "SendPasswordlessRegistration",
            passkeys::send_passwordless_registration,
        )
        .route(
            Post,
            "/auth/v1/users/me/passwordless/_link",
            "AddMyPasswordlessLink",
            passkeys::add_my_passwordless_link,
        )
        .route(
            Post,
            "/auth/v1/users/me/passwordless/_send_link",
            "SendMyPasswordlessLink",
            passkeys::send_my_passwordless_link,
        )
        .route(
            Post,
            "/auth/v1/users/me/metadata/_search",
            "ListMyMetadata",
            metadata::list_my_metadata,
        )
        .route(
            Get,
            "/auth/v1/users/me/metadata/{key}",
            "GetMyMetadata",
            metadata::get_my_metadata,
        )
        .route(
            Post,
            "/auth/v1/users/me/passwordless/_search",
            "ListMyPasswordless",
            passkeys::list_my_passwordless,
        )
        .route(
            Post,
            "/auth/v1/users/me/passwordless",
            "AddMyPasswordless",
            passkeys::add_my_passwordless,
        )
        .route(
            Post,
            "/auth/v1/users/me/passwordless/_verify",
            "VerifyMyPasswordless",
            passkeys::verify_my_passwordless,
        )
        .route(
            Delete,
            "/auth/v1/users/me/passwordless/{token_id}",
            "RemoveMyPasswordless",
            passkeys::remove_my_passwordless,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/auth_factors/u2f/{token_id}",
            "RemoveHumanAuthFactorU2F",
            factors::remove_human_u2f,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/u2f",
            "AddMyAuthFactorU2F",
            factors::add_my_u2f,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/u2f/_verify",
            "VerifyMyAuthFactorU2F",
            factors::verify_my_u2f,
        )
        .route(
            Delete,
            "/auth/v1/users/me/auth_factors/u2f/{token_id}",
            "RemoveMyAuthFactorU2F",
            factors::remove_my_u2f,
        )
        .route(
            Create,
            "/v2/users/human",
            "AddHumanUser",
            users::add_human_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/email",
            "SetEmail",
            users::set_email,
        )
        .route(
            Post,
            "/v2/users/{user_id}/email/verify",
            "VerifyEmail",
            users::verify_email,
        )
        .route(
            Post,
            "/v2/users/{user_id}/email/resend",
            "ResendEmailCode",
            users::resend_email_code,
        )
        .route(
            Post,
            "/v2/users/{user_id}/phone/resend",
            "ResendPhoneCode",
            users::resend_phone_code,
        )
        .route(
            Post,
            "/v2/users/{user_id}/phone",
            "SetPhone",
            users::set_phone,
        )
        .route(
            Post,
            "/v2/users/{user_id}/phone/verify",
            "VerifyPhone",
            users::verify_phone,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/phone",
            "RemovePhone",
            users::remove_phone,
        )
        .route(
            Get,
            "/v2/users/{user_id}",
            "GetUserByID",
            profiles::get_user_by_id,
        )
        .route(
            Delete,
            "/v2/users/{user_id}",
            "DeleteUser",
            users::delete_user,
        )
        .route(Post, "/v2/users", "ListUsers", search::list_users)
        .route(
            Post,
            "/v2/users/{user_id}/recovery_codes",
            "GenerateRecoveryCodes",
            recovery::generate_recovery_codes,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/recovery_codes",
            "RemoveRecoveryCodes",
            recovery::remove_recovery_codes,
        )
        .route(
            Get,
            "/management/v1/users/{id}",
            "GetUserByID",
            profiles::get_user_by_id_v1,
        )
        .route(
            Delete,
            "/management/v1/users/{id}",
            "RemoveUser",
            users::remove_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/deactivate",
            "DeactivateUser",
            lifecycle::deactivate_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/reactivate",
            "ReactivateUser",
            lifecycle::reactivate_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/password",
            "SetPassword",
            updates::set_password,
        )
        .route(
            Post,
            "/v2/users/{user_id}/password_reset",
            "PasswordReset",
            updates::password_reset,
        )
        .route(
            Put,
            "/v2/users/human/{user_id}",
            "UpdateHumanUser",
            updates::update_human_user,
        )
        .route(
            Put,
            "/management/v1/users/{user_id}/username",
            "UpdateUserName",
            updates::update_user_name,
        )
        .route(
            Put,
            "/management/v1/users/{user_id}/profile",
            "UpdateHumanProfile",
            updates::update_human_profile,
        )
        .route(
            Put,
            "/management/v1/users/{user_id}/email",
            "UpdateHumanEmail",
            updates::update_human_email,
        )
        .route(
            Post,
            "/management/v1/users/{user_id}/password",
            "SetHumanPassword",
            updates::set_human_password,
        )
        .route(
            Post,
            "/management/v1/users/{id}/_deactivate",
            "DeactivateUser",
            lifecycle::deactivate_user_v1,
        )
        .route(
            Post,
            "/management/v1/users/{id}/_reactivate",
            "ReactivateUser",
            lifecycle::reactivate_user_v1,
        )
        .route(
            Post,
            "/management/v1/users/{id}/_lock",
            "LockUser",
            lifecycle::lock_user_v1,
        )
        .route(
            Post,
            "/management/v1/users/{id}/_unlock",
            "UnlockUser",
            lifecycle::unlock_user_v1,
        )
        .route(
            Post,
            "/v2/users/{user_id}/lock",
            "LockUser",
            lifecycle::lock_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/unlock",
            "UnlockUser",
            lifecycle::unlock_user,
        )
        .route(
            Create,
            "/v2/organizations",
            "AddOrganization",
            users::add_organization,
        )
        .route(Post, "/management/v1/orgs", "AddOrg", users::add_org)
        .route(
            Create,
            "/v2/sessions",
            "CreateSession",
            sessions::create_session,
        )
        .route(
            Patch,
            "/v2/sessions/{session_id}",
            "SetSession",
            sessions::set_session,
        )
        .route(
            Get,
            "/v2/sessions/{session_id}",
            "GetSession",
            sessions::get_session,
        )
        .route(
            Delete,
            "/v2/sessions/{session_id}",
            "DeleteSession",
            sessions::delete_session,
        )
        .route(
            Post,
            "/v2/sessions/search",
            "ListSessions",
            session_list::list_sessions,
        )
        .route(
            Post,
            "/management/v1/users/human",
            "AddHumanUser",
            users::add_human_user_v1,
        )
        .route(
            Post,
            "/management/v1/users/human/_import",
            "ImportHumanUser",
            users::import_human_user,
        )
        .route(
            Post,
            "/v2/users/{user_id}/totp",
            "RegisterTOTP",
            factors::register_totp,
        )
        .route(
            Post,
            "/v2/users/{user_id}/totp/verify",
            "VerifyTOTPRegistration",
            factors::verify_totp_registration,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/totp",
            "RemoveTOTP",
            factors::remove_totp,
        )
        .route(
            Post,
            "/v2/users/{user_id}/otp_sms",
            "AddOTPSMS",
            factors::add_otp_sms,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/otp_sms",
            "RemoveOTPSMS",
            factors::remove_otp_sms,
        )
        .route(
            Post,
            "/v2/users/{user_id}/otp_email",
            "AddOTPEmail",
            factors::add_otp_email,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/otp_email",
            "RemoveOTPEmail",
            factors::remove_otp_email,
        )
        .route(
            Post,
            "/v2/users/{user_id}/links",
            "AddIDPLink",
            idp_links::add_idp_link,
        )
        .route(
            Search,
            "/v2/users/{user_id}/links/_search",
            "ListIDPLinks",
            idp_links::list_idp_links,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/links/{idp_id}/{linked_user_id}",
            "RemoveIDPLink",
            idp_links::remove_idp_link,
        )
        .route(
            Post,
            "/v2/users/{user_id}/metadata",
            "SetUserMetadata",
            metadata::set_user_metadata,
        )
        .route(
            Post,
            "/v2/users/{user_id}/metadata/search",
            "ListUserMetadata",
            metadata::list_user_metadata,
        )
        .route(
            Delete,
            "/v2/users/{user_id}/metadata",
            "DeleteUserMetadata",
            metadata::delete_user_metadata,
        )
        .route(
            Post,
            "/management/v1/users/{id}/metadata/_bulk",
            "BulkSetUserMetadata",
            metadata::bulk_set_user_metadata,
        )
        .route(
            DeleteWhole,
            "/management/v1/users/{id}/metadata/_bulk",
            "BulkRemoveUserMetadata",
            metadata::bulk_remove_user_metadata,
        )
        .route(
            Post,
            "/management/v1/users/{id}/metadata/_search",
            "ListUserMetadata",
            metadata::list_user_metadata_v1,
        )
        .route(
            Post,
            "/management/v1/users/{id}/metadata/{key}",
            "SetUserMetadata",
            metadata::set_user_metadata_v1,
        )
        .route(
            Get,
            "/management/v1/users/{id}/metadata/{key}",
            "GetUserMetadata",
            metadata::get_user_metadata,
        )
        .route(
            Delete,
            "/management/v1/users/{id}/metadata/{key}",
            "RemoveUserMetadata",
            metadata::remove_user_metadata,
        )
        .route(
            Search,
            "/v2/users/{user_id}/authentication_factors/_search",
            "ListAuthenticationFactors",
            factors::list_authentication_factors,
        )
        .route(
            Get,
            "/v2/users/{user_id}/authentication_methods",
            "ListAuthenticationMethodTypes",
            factors::list_authentication_method_types,
        )
        .route(
            Search,
            "/management/v1/users/{user_id}/auth_factors/_search",
            "ListHumanAuthFactors",
            factors::list_human_auth_factors,
        )
        .route(
            Search,
            "/management/v1/users/{user_id}/idps/_search",
            "ListHumanLinkedIDPs",
            idp_links::list_human_linked_idps,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/idps/{idp_id}/{linked_user_id}",
            "RemoveHumanLinkedIDP",
            idp_links::remove_human_linked_idp,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/auth_factors/otp",
            "RemoveHumanAuthFactorOTP",
            factors::remove_human_otp,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/auth_factors/otp_sms",
            "RemoveHumanAuthFactorOTPSMS",
            factors::remove_human_otp_sms,
        )
        .route(
            Delete,
            "/management/v1/users/{user_id}/auth_factors/otp_email",
            "RemoveHumanAuthFactorOTPEmail",
            factors::remove_human_otp_email,
        )
        .route(
            Search,
            "/auth/v1/users/me/auth_factors/_search",
            "ListMyAuthFactors",
            factors::list_my_auth_factors,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/otp",
            "AddMyAuthFactorOTP",
            factors::add_my_otp,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/otp/_verify",
            "VerifyMyAuthFactorOTP",
            factors::verify_my_otp,
        )
        .route(
            Delete,
            "/auth/v1/users/me/auth_factors/otp",
            "RemoveMyAuthFactorOTP",
            factors::remove_my_otp,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/otp_sms",
            "AddMyAuthFactorOTPSMS",
            factors::add_my_otp_sms,
        )
        .route(
            Delete,
            "/auth/v1/users/me/auth_factors/otp_sms",
            "RemoveMyAuthFactorOTPSMS",
            factors::remove_my_otp_sms,
        )
        .route(
            Post,
            "/auth/v1/users/me/auth_factors/otp_email",
            "AddMyAuthFactorOTPEmail",
            factors::add_my_otp_email,
        )
        .route(
            Delete,
            "/auth/v1/users/me/auth_factors/otp_email",
            "RemoveMyAuthFactorOTPEmail",
            factors::remove_my_otp_email,
        )
}

/// Whether a request for `path` that no route takes is ZITADEL's to refuse: the gateway's
/// REST prefixes and Connect's service paths. Of `/v2/`, Identity Toolkit has `accounts`,
/// `projects` and `recaptchaConfig`; the rest is ZITADEL's.
pub fn owns(path: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "/management/v1/",
        "/admin/v1/",
        "/auth/v1/",
        "/system/v1/",
        "/v2beta/",
        "/zitadel.",
    ];
    const IDENTITY_TOOLKIT: [&str; 3] = ["accounts", "projects", "recaptchaConfig"];
    match path.strip_prefix("/v2/") {
        Some(rest) => {
            let resource = rest.split(['/', ':']).next().unwrap_or_default();
            !IDENTITY_TOOLKIT.contains(&resource)
        }
        None => PREFIXES.iter().any(|prefix| path.starts_with(prefix)),
    }
}

/// REST and Connect. gRPC and gRPC-web are taken off before routing, by `grpc_dispatcher`.
pub fn router() -> Router<Arc<Service>> {
    let (rest, _) = gateway().into_parts();
    services::SERVICES.iter().fold(rest, |router, service| {
        router.route(&format!("/{service}/{{method}}"), post(connect::handler))
    })
}

/// The REST paths, for the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, paths) = gateway().into_parts();
    utoipa::openapi::OpenApiBuilder::new().paths(paths).build()
}
