//! Who calls the ZITADEL dialect, and on which organization.
//!
//! `Authorization: Bearer` (HTTP header or gRPC metadata) carries either a machine user's
//! personal access token, or a user's own ID token from the Identity Toolkit dialect (the same
//! user, seen through the other dialect). `x-zitadel-orgid` selects the organization; the
//! default is the caller's own. A user acts on themself only; a machine user acts with the
//! permissions of its role (spec §1).

use axum::http::{HeaderMap, header};
use data_encoding::BASE64URL_NOPAD;
use tessera_core::{DomainError, Realm, UserId};

use super::error::{Op, PERMISSION_DENIED, UNAUTHENTICATED, UNKNOWN_ORG, ZitadelError};
use crate::service::{Authenticated, KeyScope, Machine, Service};

pub enum Caller {
    Machine(Box<Machine>),
    User(Box<Authenticated>),
}

impl Caller {
    /// The machine user's or the user's id.
    pub fn id(&self) -> &UserId {
        match self {
            Caller::Machine(machine) => &machine.user.id,
            Caller::User(me) => &me.user.id,
        }
    }
}

/// The project an ID token claims to be for (checked when the token is verified).
fn audience(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).ok()?).ok()?;
    claims.get("aud")?.as_str().map(str::to_owned)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

pub async fn authenticate(svc: &Service, headers: &HeaderMap) -> Result<Caller, ZitadelError> {
    let token = bearer(headers).ok_or(UNAUTHENTICATED)?;
    match svc.check_pat(token).await {
        Ok(machine) => Ok(Caller::Machine(Box::new(machine))),
        Err(DomainError::AdminUnauthenticated) => {
            let project = audience(token).ok_or(UNAUTHENTICATED)?;
            let me = svc
                .authenticate(&KeyScope::Project(project), None, token)
                .await
                .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
            Ok(Caller::User(Box::new(me)))
        }
        Err(e) => Err(ZitadelError::from_domain(Op::Read, e)),
    }
}

/// The organization a request acts on: `x-zitadel-orgid`, or the caller's own; and whether
/// the header named it. Only a machine user whose role spans every organization may pick
/// another one.
pub async fn organization(
    svc: &Service,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(Realm, bool), ZitadelError> {
    let own = match caller {
        Caller::Machine(machine) => &machine.realm,
        Caller::User(me) => &me.realm,
    };
    let wanted = headers
        .get("x-zitadel-orgid")
        .and_then(|v| v.to_str().ok())
        .filter(|org| !org.is_empty());
    let realm = match wanted {
        Some(org) if own.org_id.as_deref() != Some(org) => {
            let realm = svc.org_realm(org).await.map_err(|e| match e {
                DomainError::OrgNotFound => UNKNOWN_ORG,
                e => ZitadelError::from_domain(Op::Read, e),
            })?;
            match caller {
                Caller::Machine(machine) if machine.role.spans_instance() => realm,
                _ => return Err(PERMISSION_DENIED),
            }
        }
        _ => own.clone(),
    };
    let realm = svc
        .ensure_org(realm)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    Ok((realm, wanted.is_some()))
}
