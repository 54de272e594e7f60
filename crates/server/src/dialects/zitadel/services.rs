//! The one table of ZITADEL RPCs Tessera serves: for each, its service, its name on the wire,
//! its generated gRPC trait method, its messages and the function that implements it. The
//! gRPC services (tonic) and the Connect dispatcher are generated from this table, so a
//! method is added in one place; RPCs not listed answer `Unimplemented` on every transport.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use tonic::{Request, Response as GrpcResponse, Status};

use super::connect::{self, ConnectError};
use super::error::UNIMPLEMENTED;
use super::grpc::{Grpc, call};
use super::{
    factors, idp_links, invites, lifecycle, metadata, org_list, passkeys, policies, profiles,
    recovery, search, session_list, sessions, updates, users,
};
use crate::proto::zitadel::auth::v1::{self as auth, auth_service_server};
use crate::proto::zitadel::management::v1::{self as mgmt, management_service_server};
use crate::proto::zitadel::org::v2::{self as org, organization_service_server};
use crate::proto::zitadel::session::v2::{self as session, session_service_server};
use crate::proto::zitadel::settings::v2::{self as settings, settings_service_server};
use crate::proto::zitadel::user::v2::{self as user, user_service_server};
use crate::service::Service;

macro_rules! services {
    ($(
        $module:ident :: $service:ident = $full_name:literal {
            $( $method:literal => $rust:ident ( $req:ty ) -> $resp:ty = $rpc:path; )*
        }
    )*) => {
        $(
            #[tonic::async_trait]
            impl $module::$service for Grpc {
                $(
                    async fn $rust(&self, request: Request<$req>) -> Result<GrpcResponse<$resp>, Status> {
                        call(&self.0, request, $rpc).await
                    }
                )*
            }
        )*

        /// The full names of the services, for routing Connect calls.
        pub const SERVICES: &[&str] = &[$($full_name),*];

        /// Every RPC served, as (service, method): what tests iterate over, so that a method
        /// added to this table is fuzzed on every transport without a test edit.
        pub const METHODS: &[(&str, &str)] = &[$( $( ($full_name, $method), )* )*];

        /// One Connect unary call, by service and method name.
        pub async fn connect(
            svc: Arc<Service>,
            service: &str,
            method: &str,
            headers: &HeaderMap,
            body: Bytes,
        ) -> Result<Response, ConnectError> {
            match (service, method) {
                $( $( ($full_name, $method) => connect::unary(svc, headers, body, $rpc).await, )* )*
                _ => Err(UNIMPLEMENTED.into()),
            }
        }
    };
}

services! {
    user_service_server::UserService = "zitadel.user.v2.UserService" {
        "AddHumanUser" => add_human_user(user::AddHumanUserRequest) -> user::AddHumanUserResponse = users::add_human_user;
        "GetUserByID" => get_user_by_id(user::GetUserByIdRequest) -> user::GetUserByIdResponse = profiles::get_user_by_id;
        "ListUsers" => list_users(user::ListUsersRequest) -> user::ListUsersResponse = search::list_users;
        "DeleteUser" => delete_user(user::DeleteUserRequest) -> user::DeleteUserResponse = users::delete_user;
        "DeactivateUser" => deactivate_user(user::DeactivateUserRequest) -> user::DeactivateUserResponse = lifecycle::deactivate_user;
        "ReactivateUser" => reactivate_user(user::ReactivateUserRequest) -> user::ReactivateUserResponse = lifecycle::reactivate_user;
        "LockUser" => lock_user(user::LockUserRequest) -> user::LockUserResponse = lifecycle::lock_user;
        "UnlockUser" => unlock_user(user::UnlockUserRequest) -> user::UnlockUserResponse = lifecycle::unlock_user;
        "PasswordReset" => password_reset(user::PasswordResetRequest) -> user::PasswordResetResponse = updates::password_reset;
        "SetPassword" => set_password(user::SetPasswordRequest) -> user::SetPasswordResponse = updates::set_password;
        "UpdateHumanUser" => update_human_user(user::UpdateHumanUserRequest) -> user::UpdateHumanUserResponse = updates::update_human_user;
        "SetEmail" => set_email(user::SetEmailRequest) -> user::SetEmailResponse = users::set_email;
        "ResendEmailCode" => resend_email_code(user::ResendEmailCodeRequest) -> user::ResendEmailCodeResponse = users::resend_email_code;
        "VerifyEmail" => verify_email(user::VerifyEmailRequest) -> user::VerifyEmailResponse = users::verify_email;
        "SetPhone" => set_phone(user::SetPhoneRequest) -> user::SetPhoneResponse = users::set_phone;
        "ResendPhoneCode" => resend_phone_code(user::ResendPhoneCodeRequest) -> user::ResendPhoneCodeResponse = users::resend_phone_code;
        "VerifyPhone" => verify_phone(user::VerifyPhoneRequest) -> user::VerifyPhoneResponse = users::verify_phone;
        "RemovePhone" => remove_phone(user::RemovePhoneRequest) -> user::RemovePhoneResponse = users::remove_phone;
        "RegisterTOTP" => register_totp(user::RegisterTotpRequest) -> user::RegisterTotpResponse = factors::register_totp;
        "VerifyTOTPRegistration" => verify_totp_registration(user::VerifyTotpRegistrationRequest) -> user::VerifyTotpRegistrationResponse = factors::verify_totp_registration;
        "RemoveTOTP" => remove_totp(user::RemoveTotpRequest) -> user::RemoveTotpResponse = factors::remove_totp;
        "AddIDPLink" => add_idp_link(user::AddIdpLinkRequest) -> user::AddIdpLinkResponse = idp_links::add_idp_link;
        "ListIDPLinks" => list_idp_links(user::ListIdpLinksRequest) -> user::ListIdpLinksResponse = idp_links::list_idp_links;
        "RemoveIDPLink" => remove_idp_link(user::RemoveIdpLinkRequest) -> user::RemoveIdpLinkResponse = idp_links::remove_idp_link;
        "SetUserMetadata" => set_user_metadata(user::SetUserMetadataRequest) -> user::SetUserMetadataResponse = metadata::set_user_metadata;
        "ListUserMetadata" => list_user_metadata(user::ListUserMetadataRequest) -> user::ListUserMetadataResponse = metadata::list_user_metadata;
        "DeleteUserMetadata" => delete_user_metadata(user::DeleteUserMetadataRequest) -> user::DeleteUserMetadataResponse = metadata::delete_user_metadata;
        "CreateInviteCode" => create_invite_code(user::CreateInviteCodeRequest) -> user::CreateInviteCodeResponse = invites::create_invite_code;
        "ResendInviteCode" => resend_invite_code(user::ResendInviteCodeRequest) -> user::ResendInviteCodeResponse = invites::resend_invite_code;
        "VerifyInviteCode" => verify_invite_code(user::VerifyInviteCodeRequest) -> user::VerifyInviteCodeResponse = invites::verify_invite_code;
        "RegisterPasskey" => register_passkey(user::RegisterPasskeyRequest) -> user::RegisterPasskeyResponse = passkeys::register_passkey;
        "VerifyPasskeyRegistration" => verify_passkey_registration(user::VerifyPasskeyRegistrationRequest) -> user::VerifyPasskeyRegistrationResponse = passkeys::verify_passkey_registration;
        "CreatePasskeyRegistrationLink" => create_passkey_registration_link(user::CreatePasskeyRegistrationLinkRequest) -> user::CreatePasskeyRegistrationLinkResponse = passkeys::create_passkey_registration_link;
        "ListPasskeys" => list_passkeys(user::ListPasskeysRequest) -> user::ListPasskeysResponse = passkeys::list_passkeys;
        "RemovePasskey" => remove_passkey(user::RemovePasskeyRequest) -> user::RemovePasskeyResponse = passkeys::remove_passkey;
        "RegisterU2F" => register_u2f(user::RegisterU2fRequest) -> user::RegisterU2fResponse = factors::register_u2f;
        "VerifyU2FRegistration" => verify_u2f_registration(user::VerifyU2fRegistrationRequest) -> user::VerifyU2fRegistrationResponse = factors::verify_u2f_registration;
        "RemoveU2F" => remove_u2f(user::RemoveU2fRequest) -> user::RemoveU2fResponse = factors::remove_u2f;
        "AddOTPSMS" => add_otpsms(user::AddOtpsmsRequest) -> user::AddOtpsmsResponse = factors::add_otp_sms;
        "RemoveOTPSMS" => remove_otpsms(user::RemoveOtpsmsRequest) -> user::RemoveOtpsmsResponse = factors::remove_otp_sms;
        "AddOTPEmail" => add_otp_email(user::AddOtpEmailRequest) -> user::AddOtpEmailResponse = factors::add_otp_email;
        "RemoveOTPEmail" => remove_otp_email(user::RemoveOtpEmailRequest) -> user::RemoveOtpEmailResponse = factors::remove_otp_email;
        "GenerateRecoveryCodes" => generate_recovery_codes(user::GenerateRecoveryCodesRequest) -> user::GenerateRecoveryCodesResponse = recovery::generate_recovery_codes;
        "RemoveRecoveryCodes" => remove_recovery_codes(user::RemoveRecoveryCodesRequest) -> user::RemoveRecoveryCodesResponse = recovery::remove_recovery_codes;
        "ListAuthenticationFactors" => list_authentication_factors(user::ListAuthenticationFactorsRequest) -> user::ListAuthenticationFactorsResponse = factors::list_authentication_factors;
        "ListAuthenticationMethodTypes" => list_authentication_method_types(user::ListAuthenticationMethodTypesRequest) -> user::ListAuthenticationMethodTypesResponse = factors::list_authentication_method_types;
    }
    management_service_server::ManagementService = "zitadel.management.v1.ManagementService" {
        "AddOrg" => add_org(mgmt::AddOrgRequest) -> mgmt::AddOrgResponse = users::add_org;
        "ListHumanLinkedIDPs" => list_human_linked_id_ps(mgmt::ListHumanLinkedIdPsRequest) -> mgmt::ListHumanLinkedIdPsResponse = idp_links::list_human_linked_idps;
        "RemoveHumanLinkedIDP" => remove_human_linked_idp(mgmt::RemoveHumanLinkedIdpRequest) -> mgmt::RemoveHumanLinkedIdpResponse = idp_links::remove_human_linked_idp;
        "SetUserMetadata" => set_user_metadata(mgmt::SetUserMetadataRequest) -> mgmt::SetUserMetadataResponse = metadata::set_user_metadata_v1;
        "BulkSetUserMetadata" => bulk_set_user_metadata(mgmt::BulkSetUserMetadataRequest) -> mgmt::BulkSetUserMetadataResponse = metadata::bulk_set_user_metadata;
        "ListUserMetadata" => list_user_metadata(mgmt::ListUserMetadataRequest) -> mgmt::ListUserMetadataResponse = metadata::list_user_metadata_v1;
        "GetUserMetadata" => get_user_metadata(mgmt::GetUserMetadataRequest) -> mgmt::GetUserMetadataResponse = metadata::get_user_metadata;
        "RemoveUserMetadata" => remove_user_metadata(mgmt::RemoveUserMetadataRequest) -> mgmt::RemoveUserMetadataResponse = metadata::remove_user_metadata;
        "BulkRemoveUserMetadata" => bulk_remove_user_metadata(mgmt::BulkRemoveUserMetadataRequest) -> mgmt::BulkRemoveUserMetadataResponse = metadata::bulk_remove_user_metadata;
        "SetOrgMetadata" => set_org_metadata(mgmt::SetOrgMetadataRequest) -> mgmt::SetOrgMetadataResponse = metadata::set_org_metadata;
        "BulkSetOrgMetadata" => bulk_set_org_metadata(mgmt::BulkSetOrgMetadataRequest) -> mgmt::BulkSetOrgMetadataResponse = metadata::bulk_set_org_metadata;
        "ListOrgMetadata" => list_org_metadata(mgmt::ListOrgMetadataRequest) -> mgmt::ListOrgMetadataResponse = metadata::list_org_metadata;
        "GetOrgMetadata" => get_org_metadata(mgmt::GetOrgMetadataRequest) -> mgmt::GetOrgMetadataResponse = metadata::get_org_metadata;
        "RemoveOrgMetadata" => remove_org_metadata(mgmt::RemoveOrgMetadataRequest) -> mgmt::RemoveOrgMetadataResponse = metadata::remove_org_metadata;
        "BulkRemoveOrgMetadata" => bulk_remove_org_metadata(mgmt::BulkRemoveOrgMetadataRequest) -> mgmt::BulkRemoveOrgMetadataResponse = metadata::bulk_remove_org_metadata;
        "AddHumanUser" => add_human_user(mgmt::AddHumanUserRequest) -> mgmt::AddHumanUserResponse = users::add_human_user_v1;
        "ImportHumanUser" => import_human_user(mgmt::ImportHumanUserRequest) -> mgmt::ImportHumanUserResponse = users::import_human_user;
        "GetUserByID" => get_user_by_id(mgmt::GetUserByIdRequest) -> mgmt::GetUserByIdResponse = profiles::get_user_by_id_v1;
        "RemoveUser" => remove_user(mgmt::RemoveUserRequest) -> mgmt::RemoveUserResponse = users::remove_user;
        "DeactivateUser" => deactivate_user(mgmt::DeactivateUserRequest) -> mgmt::DeactivateUserResponse = lifecycle::deactivate_user_v1;
        "ReactivateUser" => reactivate_user(mgmt::ReactivateUserRequest) -> mgmt::ReactivateUserResponse = lifecycle::reactivate_user_v1;
        "LockUser" => lock_user(mgmt::LockUserRequest) -> mgmt::LockUserResponse = lifecycle::lock_user_v1;
        "UnlockUser" => unlock_user(mgmt::UnlockUserRequest) -> mgmt::UnlockUserResponse = lifecycle::unlock_user_v1;
        "UpdateUserName" => update_user_name(mgmt::UpdateUserNameRequest) -> mgmt::UpdateUserNameResponse = updates::update_user_name;
        "UpdateHumanProfile" => update_human_profile(mgmt::UpdateHumanProfileRequest) -> mgmt::UpdateHumanProfileResponse = updates::update_human_profile;
        "UpdateHumanEmail" => update_human_email(mgmt::UpdateHumanEmailRequest) -> mgmt::UpdateHumanEmailResponse = updates::update_human_email;
        "SetHumanPassword" => set_human_password(mgmt::SetHumanPasswordRequest) -> mgmt::SetHumanPasswordResponse = updates::set_human_password;
        "ListHumanAuthFactors" => list_human_auth_factors(mgmt::ListHumanAuthFactorsRequest) -> mgmt::ListHumanAuthFactorsResponse = factors::list_human_auth_factors;
        "RemoveHumanAuthFactorOTP" => remove_human_auth_factor_otp(mgmt::RemoveHumanAuthFactorOtpRequest) -> mgmt::RemoveHumanAuthFactorOtpResponse = factors::remove_human_otp;
        "ListHumanPasswordless" => list_human_passwordless(mgmt::ListHumanPasswordlessRequest) -> mgmt::ListHumanPasswordlessResponse = passkeys::list_human_passwordless;
        "RemoveHumanPasswordless" => remove_human_passwordless(mgmt::RemoveHumanPasswordlessRequest) -> mgmt::RemoveHumanPasswordlessResponse = passkeys::remove_human_passwordless;
        "AddPasswordlessRegistration" => add_passwordless_registration(mgmt::AddPasswordlessRegistrationRequest) -> mgmt::AddPasswordlessRegistrationResponse = passkeys::add_passwordless_registration;
        "SendPasswordlessRegistration" => send_passwordless_registration(mgmt::SendPasswordlessRegistrationRequest) -> mgmt::SendPasswordlessRegistrationResponse = passkeys::send_passwordless_registration;
        "RemoveHumanAuthFactorU2F" => remove_human_auth_factor_u2f(mgmt::RemoveHumanAuthFactorU2fRequest) -> mgmt::RemoveHumanAuthFactorU2fResponse = factors::remove_human_u2f;
        "RemoveHumanAuthFactorOTPSMS" => remove_human_auth_factor_otpsms(mgmt::RemoveHumanAuthFactorOtpsmsRequest) -> mgmt::RemoveHumanAuthFactorOtpsmsResponse = factors::remove_human_otp_sms;
        "RemoveHumanAuthFactorOTPEmail" => remove_human_auth_factor_otp_email(mgmt::RemoveHumanAuthFactorOtpEmailRequest) -> mgmt::RemoveHumanAuthFactorOtpEmailResponse = factors::remove_human_otp_email;
    }
    auth_service_server::AuthService = "zitadel.auth.v1.AuthService" {
        "ListMyAuthFactors" => list_my_auth_factors(auth::ListMyAuthFactorsRequest) -> auth::ListMyAuthFactorsResponse = factors::list_my_auth_factors;
        "AddMyAuthFactorOTP" => add_my_auth_factor_otp(auth::AddMyAuthFactorOtpRequest) -> auth::AddMyAuthFactorOtpResponse = factors::add_my_otp;
        "VerifyMyAuthFactorOTP" => verify_my_auth_factor_otp(auth::VerifyMyAuthFactorOtpRequest) -> auth::VerifyMyAuthFactorOtpResponse = factors::verify_my_otp;
        "RemoveMyAuthFactorOTP" => remove_my_auth_factor_otp(auth::RemoveMyAuthFactorOtpRequest) -> auth::RemoveMyAuthFactorOtpResponse = factors::remove_my_otp;
        "ListMyPasswordless" => list_my_passwordless(auth::ListMyPasswordlessRequest) -> auth::ListMyPasswordlessResponse = passkeys::list_my_passwordless;
        "AddMyPasswordless" => add_my_passwordless(auth::AddMyPasswordlessRequest) -> auth::AddMyPasswordlessResponse = passkeys::add_my_passwordless;
        "AddMyPasswordlessLink" => add_my_passwordless_link(auth::AddMyPasswordlessLinkRequest) -> auth::AddMyPasswordlessLinkResponse = passkeys::add_my_passwordless_link;
        "SendMyPasswordlessLink" => send_my_passwordless_link(auth::SendMyPasswordlessLinkRequest) -> auth::SendMyPasswordlessLinkResponse = passkeys::send_my_passwordless_link;
        "VerifyMyPasswordless" => verify_my_passwordless(auth::VerifyMyPasswordlessRequest) -> auth::VerifyMyPasswordlessResponse = passkeys::verify_my_passwordless;
        "RemoveMyPasswordless" => remove_my_passwordless(auth::RemoveMyPasswordlessRequest) -> auth::RemoveMyPasswordlessResponse = passkeys::remove_my_passwordless;
        "ListMyMetadata" => list_my_metadata(auth::ListMyMetadataRequest) -> auth::ListMyMetadataResponse = metadata::list_my_metadata;
        "GetMyMetadata" => get_my_metadata(auth::GetMyMetadataRequest) -> auth::GetMyMetadataResponse = metadata::get_my_metadata;
        "AddMyAuthFactorU2F" => add_my_auth_factor_u2f(auth::AddMyAuthFactorU2fRequest) -> auth::AddMyAuthFactorU2fResponse = factors::add_my_u2f;
        "VerifyMyAuthFactorU2F" => verify_my_auth_factor_u2f(auth::VerifyMyAuthFactorU2fRequest) -> auth::VerifyMyAuthFactorU2fResponse = factors::verify_my_u2f;
        "RemoveMyAuthFactorU2F" => remove_my_auth_factor_u2f(auth::RemoveMyAuthFactorU2fRequest) -> auth::RemoveMyAuthFactorU2fResponse = factors::remove_my_u2f;
        "AddMyAuthFactorOTPSMS" => add_my_auth_factor_otpsms(auth::AddMyAuthFactorOtpsmsRequest) -> auth::AddMyAuthFactorOtpsmsResponse = factors::add_my_otp_sms;
        "RemoveMyAuthFactorOTPSMS" => remove_my_auth_factor_otpsms(auth::RemoveMyAuthFactorOtpsmsRequest) -> auth::RemoveMyAuthFactorOtpsmsResponse = factors::remove_my_otp_sms;
        "AddMyAuthFactorOTPEmail" => add_my_auth_factor_otp_email(auth::AddMyAuthFactorOtpEmailRequest) -> auth::AddMyAuthFactorOtpEmailResponse = factors::add_my_otp_email;
        "RemoveMyAuthFactorOTPEmail" => remove_my_auth_factor_otp_email(auth::RemoveMyAuthFactorOtpEmailRequest) -> auth::RemoveMyAuthFactorOtpEmailResponse = factors::remove_my_otp_email;
    }
    organization_service_server::OrganizationService = "zitadel.org.v2.OrganizationService" {
        "AddOrganization" => add_organization(org::AddOrganizationRequest) -> org::AddOrganizationResponse = users::add_organization;
        "ListOrganizations" => list_organizations(org::ListOrganizationsRequest) -> org::ListOrganizationsResponse = org_list::list_organizations;
    }
    session_service_server::SessionService = "zitadel.session.v2.SessionService" {
        "CreateSession" => create_session(session::CreateSessionRequest) -> session::CreateSessionResponse = sessions::create_session;
        "SetSession" => set_session(session::SetSessionRequest) -> session::SetSessionResponse = sessions::set_session;
        "GetSession" => get_session(session::GetSessionRequest) -> session::GetSessionResponse = sessions::get_session;
        "DeleteSession" => delete_session(session::DeleteSessionRequest) -> session::DeleteSessionResponse = sessions::delete_session;
        "ListSessions" => list_sessions(session::ListSessionsRequest) -> session::ListSessionsResponse = session_list::list_sessions;
    }
    settings_service_server::SettingsService = "zitadel.settings.v2.SettingsService" {
        "GetGeneralSettings" => get_general_settings(settings::GetGeneralSettingsRequest) -> settings::GetGeneralSettingsResponse = policies::get_general_settings;
        "GetLoginSettings" => get_login_settings(settings::GetLoginSettingsRequest) -> settings::GetLoginSettingsResponse = policies::get_login_settings;
        "GetActiveIdentityProviders" => get_active_identity_providers(settings::GetActiveIdentityProvidersRequest) -> settings::GetActiveIdentityProvidersResponse = policies::get_active_identity_providers;
        "GetPasswordComplexitySettings" => get_password_complexity_settings(settings::GetPasswordComplexitySettingsRequest) -> settings::GetPasswordComplexitySettingsResponse = policies::get_password_complexity_settings;
        "GetPasswordExpirySettings" => get_password_expiry_settings(settings::GetPasswordExpirySettingsRequest) -> settings::GetPasswordExpirySettingsResponse = policies::get_password_expiry_settings;
        "GetBrandingSettings" => get_branding_settings(settings::GetBrandingSettingsRequest) -> settings::GetBrandingSettingsResponse = policies::get_branding_settings;
        "GetDomainSettings" => get_domain_settings(settings::GetDomainSettingsRequest) -> settings::GetDomainSettingsResponse = policies::get_domain_settings;
        "GetLegalAndSupportSettings" => get_legal_and_support_settings(settings::GetLegalAndSupportSettingsRequest) -> settings::GetLegalAndSupportSettingsResponse = policies::get_legal_and_support_settings;
        "GetLockoutSettings" => get_lockout_settings(settings::GetLockoutSettingsRequest) -> settings::GetLockoutSettingsResponse = policies::get_lockout_settings;
        "GetSecuritySettings" => get_security_settings(settings::GetSecuritySettingsRequest) -> settings::GetSecuritySettingsResponse = policies::get_security_settings;
    }
}
