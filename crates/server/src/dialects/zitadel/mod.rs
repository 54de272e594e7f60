//! The ZITADEL dialect: the auth-factor calls of ZITADEL's user service v2, management v1
//! and auth v1 (spec `zitadel.md`), over the same store as Identity Toolkit.
//!
//! This first slice serves the REST (grpc-gateway) mapping and Connect JSON for the user
//! service; gRPC, gRPC-web and binary Connect come with the protos.

mod auth;
mod connect;
mod error;
mod users;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

pub use error::ZitadelError;

use crate::service::Service;

pub fn router() -> Router<Arc<Service>> {
    Router::new()
        .route(
            "/v2/users/{user_id}/totp",
            post(users::register_totp).delete(users::remove_totp),
        )
        .route("/v2/users/{user_id}/totp/verify", post(users::verify_totp))
        .route(
            "/v2/users/{user_id}/authentication_factors/_search",
            post(users::list_authentication_factors),
        )
        .route(
            "/v2/users/{user_id}/authentication_methods",
            get(users::list_authentication_method_types),
        )
        .route(
            "/management/v1/users/{user_id}/auth_factors/_search",
            post(users::list_human_auth_factors),
        )
        .route(
            "/management/v1/users/{user_id}/auth_factors/otp",
            delete(users::remove_human_otp),
        )
        .route(
            "/management/v1/users/{user_id}/auth_factors/otp_sms",
            delete(users::remove_human_otp_sms),
        )
        .route(
            "/management/v1/users/{user_id}/auth_factors/otp_email",
            delete(users::remove_human_otp_email),
        )
        .route(
            "/auth/v1/users/me/auth_factors/_search",
            post(users::list_my_auth_factors),
        )
        .route(
            "/auth/v1/users/me/auth_factors/otp",
            post(users::add_my_otp).delete(users::remove_my_otp),
        )
        .route(
            "/auth/v1/users/me/auth_factors/otp/_verify",
            post(users::verify_my_otp),
        )
        .route(
            "/zitadel.user.v2.UserService/{method}",
            post(connect::user_service),
        )
        .route(
            "/v2/users/{user_id}/otp_sms",
            post(users::add_otp_sms).delete(users::remove_otp_sms),
        )
        .route(
            "/v2/users/{user_id}/otp_email",
            post(users::add_otp_email).delete(users::remove_otp_email),
        )
        .route(
            "/auth/v1/users/me/auth_factors/otp_sms",
            post(users::add_my_otp_sms).delete(users::remove_my_otp_sms),
        )
        .route(
            "/auth/v1/users/me/auth_factors/otp_email",
            post(users::add_my_otp_email).delete(users::remove_my_otp_email),
        )
}

/// Every ZITADEL path, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    users::register_totp,
    users::verify_totp,
    users::remove_totp,
    users::list_authentication_factors,
    users::list_authentication_method_types,
    users::list_human_auth_factors,
    users::remove_human_otp,
    users::remove_human_otp_sms,
    users::remove_human_otp_email,
    users::list_my_auth_factors,
    users::add_my_otp,
    users::verify_my_otp,
    users::remove_my_otp,
    users::remove_my_otp_sms,
    users::remove_my_otp_email,
    users::add_otp_sms,
    users::add_otp_email,
    users::remove_otp_sms,
    users::remove_otp_email,
    users::add_my_otp_sms,
    users::add_my_otp_email,
))]
pub struct ApiDoc;
