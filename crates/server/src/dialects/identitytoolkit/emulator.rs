//! The Firebase Auth emulator's test hooks, in dev mode only: the SMS codes and emailed action
//! links still waiting to be used, so tests can complete phone and email flows without a
//! phone or a mailbox, and the reset of a project's accounts between tests.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ItError;
use super::extract::ProjectPath;
use super::mfa_wire::Empty;
use crate::service::{Mode, Service};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCode {
    pub code: String,
    pub phone_number: String,
    pub session_info: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCodes {
    pub verification_codes: Vec<VerificationCode>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OobCodeEntry {
    pub email: String,
    pub oob_code: String,
    pub oob_link: String,
    pub request_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OobCodes {
    pub oob_codes: Vec<OobCodeEntry>,
}

async fn dev_realm(svc: &Service, path: &ProjectPath) -> Result<tessera_core::Realm, ItError> {
    if svc.mode() != Mode::Dev {
        return Err(ItError::NotFound);
    }
    Ok(svc.realm(&path.project, path.tenant.as_deref()).await?)
}

#[utoipa::path(get, path = "/emulator/v1/projects/{project}/verificationCodes", tag = "emulator",
    params(("project" = String, Path)), responses((status = 200, body = VerificationCodes)))]
pub async fn verification_codes(
    State(svc): State<Arc<Service>>,
    path: ProjectPath,
) -> Result<Json<VerificationCodes>, ItError> {
    let realm = dev_realm(&svc, &path).await?;
    let verification_codes = svc
        .outstanding_codes(&realm)
        .await?
        .into_iter()
        .map(|m| VerificationCode {
            code: m.code,
            phone_number: m.phone_number,
            session_info: m.session_info,
        })
        .collect();
    Ok(Json(VerificationCodes { verification_codes }))
}

/// The emailed action links still waiting to be used (`accounts:sendOobCode`).
#[utoipa::path(get, path = "/emulator/v1/projects/{project}/oobCodes", tag = "emulator",
    params(("project" = String, Path)), responses((status = 200, body = OobCodes)))]
pub async fn oob_codes(
    State(svc): State<Arc<Service>>,
    path: ProjectPath,
) -> Result<Json<OobCodes>, ItError> {
    let realm = dev_realm(&svc, &path).await?;
    let oob_codes = svc
        .outstanding_oob_codes(&realm)
        .await?
        .into_iter()
        .map(|o| OobCodeEntry {
            email: o.email,
            oob_code: o.link.code,
            oob_link: o.link.link,
            request_type: o.request.as_str(),
        })
        .collect();
    Ok(Json(OobCodes { oob_codes }))
}

#[utoipa::path(delete, path = "/emulator/v1/projects/{project}/verificationCodes", tag = "emulator",
    params(("project" = String, Path)), responses((status = 200, body = Empty)))]
pub async fn clear_verification_codes(
    State(svc): State<Arc<Service>>,
    path: ProjectPath,
) -> Result<Json<Empty>, ItError> {
    let realm = dev_realm(&svc, &path).await?;
    svc.clear_codes(&realm).await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(delete, path = "/emulator/v1/projects/{project}/accounts", tag = "emulator",
    params(("project" = String, Path)), responses((status = 200, body = Empty)))]
pub async fn delete_all_accounts(
    State(svc): State<Arc<Service>>,
    path: ProjectPath,
) -> Result<Json<Empty>, ItError> {
    let realm = dev_realm(&svc, &path).await?;
    svc.delete_all_accounts(&realm).await?;
    Ok(Json(Empty {}))
}
