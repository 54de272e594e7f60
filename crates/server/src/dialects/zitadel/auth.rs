//! Who calls the ZITADEL dialect, and on which organization.
//!
//! `Authorization: Bearer` carries either a personal access token of an organization
//! administrator, or a user's own ID token from the Identity Toolkit dialect (the same user,
//! seen through the other dialect). `x-zitadel-orgid` selects the organization; the default is
//! the caller's own. An administrator may act on any user of the organization; a user only
//! on themself.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use data_encoding::BASE64URL_NOPAD;
use tessera_core::{Realm, UserId};

use super::error::{Op, PERMISSION_DENIED, UNAUTHENTICATED, ZitadelError};
use crate::service::{Authenticated, KeyScope, OrgAdmin, Service};

pub enum Caller {
    Admin(OrgAdmin),
    User(Box<Authenticated>),
}

/// The caller and the organization header of a request.
pub struct Request {
    pub caller: Caller,
    pub org: Option<String>,
}

/// The project an ID token claims to be for (checked when the token is verified).
fn audience(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).ok()?).ok()?;
    claims.get("aud")?.as_str().map(str::to_owned)
}

impl FromRequestParts<Arc<Service>> for Request {
    type Rejection = ZitadelError;

    async fn from_request_parts(
        parts: &mut Parts,
        svc: &Arc<Service>,
    ) -> Result<Self, ZitadelError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or(UNAUTHENTICATED)?;
        let org = parts
            .headers
            .get("x-zitadel-orgid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let caller = match svc.check_pat(&token).await {
            Ok(admin) => Caller::Admin(admin),
            Err(tessera_core::DomainError::AdminUnauthenticated) => {
                let project = audience(&token).ok_or(UNAUTHENTICATED)?;
                let me = svc
                    .authenticate(&KeyScope::Project(project), None, &token)
                    .await
                    .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
                Caller::User(Box::new(me))
            }
            Err(e) => return Err(ZitadelError::from_domain(Op::Read, e)),
        };
        Ok(Request { caller, org })
    }
}

impl Request {
    /// The organization the request acts on, checked against the caller's rights.
    pub async fn realm(&self, svc: &Service) -> Result<Realm, ZitadelError> {
        let own = match &self.caller {
            Caller::Admin(admin) => &admin.realm,
            Caller::User(me) => &me.realm,
        };
        let realm = match self.org.as_deref() {
            Some(org) if own.org_id.as_deref() != Some(org) => {
                let realm = svc
                    .org_realm(org)
                    .await
                    .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
                // Every PAT today is an instance administrator's; users act in their own org only.
                if matches!(self.caller, Caller::User(_)) {
                    return Err(PERMISSION_DENIED);
                }
                realm
            }
            _ => own.clone(),
        };
        svc.ensure_org(realm)
            .await
            .map_err(|e| ZitadelError::from_domain(Op::Read, e))
    }

    /// The realm in which the caller may manage `user`'s credentials.
    pub async fn for_user(&self, svc: &Service, user: &UserId) -> Result<Realm, ZitadelError> {
        if let Caller::User(me) = &self.caller
            && &me.user.id != user
        {
            return Err(PERMISSION_DENIED);
        }
        self.realm(svc).await
    }

    /// The signed-in user, for `/auth/v1/users/me/…`.
    pub fn me(&self) -> Result<&Authenticated, ZitadelError> {
        match &self.caller {
            Caller::User(me) => Ok(me),
            Caller::Admin(_) => Err(PERMISSION_DENIED),
        }
    }
}
