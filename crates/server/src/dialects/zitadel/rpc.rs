//! What every ZITADEL RPC runs with, whatever transport it came by: the service, the caller,
//! the organization, and the permission checks of spec §1. An RPC is an async function from
//! a `Ctx` and the request message to the response message or a `ZitadelError`.

use std::future::Future;
use std::sync::Arc;

use axum::http::HeaderMap;
use tessera_core::{Permission, Realm, UserId};

use super::auth::{self, Caller};
use super::error::{Op, PERMISSION_DENIED, ZitadelError};
use super::factors::user_id;
use crate::service::Service;

#[derive(Clone)]
pub struct Ctx {
    pub svc: Arc<Service>,
    pub caller: Arc<Caller>,
    /// The organization the call acts in.
    pub realm: Realm,
}

/// An RPC implementation; the transports are generic over it.
pub trait Rpc<Req, Resp>: Fn(Ctx, Req) -> Self::Future + Copy + Send + Sync + 'static {
    type Future: Future<Output = Result<Resp, ZitadelError>> + Send;
}

impl<F, Fut, Req, Resp> Rpc<Req, Resp> for F
where
    F: Fn(Ctx, Req) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ZitadelError>> + Send,
{
    type Future = Fut;
}

impl Ctx {
    /// Authenticates the call and picks its organization, from HTTP headers or gRPC metadata.
    pub async fn new(svc: Arc<Service>, headers: &HeaderMap) -> Result<Self, ZitadelError> {
        let caller = auth::authenticate(&svc, headers).await?;
        let realm = auth::organization(&svc, &caller, headers).await?;
        Ok(Ctx {
            svc,
            caller: Arc::new(caller),
            realm,
        })
    }

    pub fn org_id(&self) -> &str {
        self.realm.org_id.as_deref().unwrap_or_default()
    }

    /// The caller holds `permission` in the organization.
    pub fn require(&self, permission: Permission) -> Result<(), ZitadelError> {
        match &*self.caller {
            Caller::Machine(machine) if machine.role.grants(permission) => Ok(()),
            _ => Err(PERMISSION_DENIED),
        }
    }

    /// The user `raw` names, when the caller is that user or holds `permission`.
    fn user_with(&self, raw: &str, permission: Permission) -> Result<UserId, ZitadelError> {
        let id = user_id(raw)?;
        match &*self.caller {
            Caller::User(me) if me.user.id == id => Ok(id),
            _ => self.require(permission).map(|()| id),
        }
    }

    pub fn read_of(&self, raw: &str) -> Result<UserId, ZitadelError> {
        self.user_with(raw, Permission::UserRead)
    }

    pub fn write_of(&self, raw: &str) -> Result<UserId, ZitadelError> {
        self.user_with(raw, Permission::UserWrite)
    }

    /// v2's factor calls: the user itself, or `user.credential.write` in its organization.
    pub fn credential_of(&self, raw: &str) -> Result<UserId, ZitadelError> {
        self.user_with(raw, Permission::UserCredentialWrite)
    }

    /// The organization a request names in its body (v2's `organization`, `AddOrganization`'s
    /// admins): the call's own, or another one for a caller whose role spans the instance.
    pub async fn named_org(&self, org_id: Option<&str>) -> Result<Realm, ZitadelError> {
        match org_id.filter(|id| !id.is_empty()) {
            None => Ok(self.realm.clone()),
            Some(id) if Some(id) == self.realm.org_id.as_deref() => Ok(self.realm.clone()),
            Some(id) => match &*self.caller {
                Caller::Machine(machine) if machine.role.spans_instance() => self
                    .svc
                    .org_realm(id)
                    .await
                    .map_err(|e| ZitadelError::from_domain(Op::Read, e)),
                _ => Err(PERMISSION_DENIED),
            },
        }
    }

    /// The signed-in user of `/auth/v1/users/me/…`.
    pub fn me(&self) -> Result<UserId, ZitadelError> {
        match &*self.caller {
            Caller::User(me) => Ok(me.user.id.clone()),
            Caller::Machine(_) => Err(PERMISSION_DENIED),
        }
    }
}
