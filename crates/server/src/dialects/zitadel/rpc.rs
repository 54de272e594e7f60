//! What every ZITADEL RPC runs with, whatever transport it came by: the service, the caller,
//! the organization, and the permission checks of spec §1. An RPC is an async function from
//! a `Ctx` and the request message to the response message or a `ZitadelError`.

use std::future::Future;
use std::sync::Arc;

use axum::http::HeaderMap;
use tessera_core::{Permission, Realm, RealmId, UserId};

use super::auth::{self, Caller};
use super::error::{Op, PERMISSION_DENIED, ZitadelError};
use super::factors::user_id;
use crate::dialects::client_info;
use crate::service::{ClientInfo, Service};

#[derive(Clone)]
pub struct Ctx {
    pub svc: Arc<Service>,
    pub caller: Arc<Caller>,
    /// The organization the call acts in.
    pub realm: Realm,
    /// `x-zitadel-orgid` named the organization: users are looked for there only.
    pub org_named: bool,
    /// The requester's address and language, for codes the call sends.
    pub client: ClientInfo,
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
        let (realm, org_named) = auth::organization(&svc, &caller, headers).await?;
        Ok(Ctx {
            svc,
            caller: Arc::new(caller),
            realm,
            org_named,
            client: client_info(headers),
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

    /// The call moved to the organization `realm`: the caller's own, or another of its
    /// project's for a role that spans the instance.
    pub async fn in_realm(self, realm: &RealmId) -> Result<Ctx, ZitadelError> {
        if realm == &self.realm.id {
            return Ok(self);
        }
        let target = self
            .svc
            .realm_by_id(realm)
            .await
            .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
        match &*self.caller {
            Caller::Machine(machine)
                if machine.role.spans_instance()
                    && machine.realm.project_id == target.project_id =>
            {
                Ok(Ctx {
                    realm: target,
                    ..self
                })
            }
            _ => Err(PERMISSION_DENIED),
        }
    }

    /// Where a user lives: ZITADEL's v2 calls address users across organizations, so unless
    /// `x-zitadel-orgid` named one, the call moves to the one organization that has them.
    pub async fn locate(self, realms: Vec<RealmId>) -> Result<Ctx, ZitadelError> {
        match realms.as_slice() {
            [only] if !self.org_named && only != &self.realm.id => self.in_realm(only).await,
            _ => Ok(self),
        }
    }

    async fn locate_user(self, id: &UserId) -> Result<Ctx, ZitadelError> {
        let realms = self
            .svc
            .user_realms(id)
            .await
            .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
        self.locate(realms).await
    }

    /// The user `raw` names when the caller is that user or holds `permission`; v2 calls
    /// (`locate`) move to the user's organization first, v1 management calls stay in theirs.
    async fn user_with(
        self,
        raw: &str,
        permission: Permission,
        locate: bool,
    ) -> Result<(Ctx, UserId), ZitadelError> {
        let id = user_id(raw)?;
        let ctx = if locate {
            self.locate_user(&id).await?
        } else {
            self
        };
        match &*ctx.caller {
            Caller::User(me) if me.user.id == id => Ok((ctx, id)),
            _ => ctx.require(permission).map(|()| (ctx, id)),
        }
    }

    /// The user `raw` names, for any caller: for requests that carry their own proof of the
    /// user's consent (a passkey registration code).
    pub async fn located(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        let id = user_id(raw)?;
        Ok((self.locate_user(&id).await?, id))
    }

    pub async fn read_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserRead, true).await
    }

    pub async fn write_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserWrite, true).await
    }

    /// v2's factor calls: the user itself, or `user.credential.write` in its organization.
    pub async fn credential_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserCredentialWrite, true)
            .await
    }

    /// Management v1: a user of the call's organization, with `user.read`.
    pub async fn org_read_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserRead, false).await
    }

    /// Management v1: a user of the call's organization, with `user.credential.write`.
    pub async fn org_credential_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserCredentialWrite, false)
            .await
    }

    /// Management v1: a user of the call's organization, with `user.write`.
    pub async fn org_write_of(self, raw: &str) -> Result<(Ctx, UserId), ZitadelError> {
        self.user_with(raw, Permission::UserWrite, false).await
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
