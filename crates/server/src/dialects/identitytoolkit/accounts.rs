//! `v1/accounts:*` — the end-user calls, which an administrator may also make (with a
//! bearer token instead of an ID token, naming the user by `localId`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use tessera_core::{Realm, UserId};

use super::error::ItError;
use super::extract::{Body, Caller};
use super::input;
use super::wire::*;
use crate::service::{Authenticated, Service, UserSelector};

/// The realm of a dual-use call: the key's project for end users; `targetProjectId`, else
/// the key's project, else the default project for administrators.
async fn realm_for(
    svc: &Service,
    caller: &Caller,
    target_project: Option<&str>,
    tenant: Option<&str>,
) -> Result<Realm, ItError> {
    let project = match caller {
        Caller::User(scope) => svc.project_of(scope),
        Caller::Admin { key } => match (target_project, key) {
            (Some(p), _) => p.to_owned(),
            (None, Some(scope)) => svc.project_of(scope),
            (None, None) => svc.project_of(&crate::service::KeyScope::AnyProject),
        },
    };
    Ok(svc.realm(&project, tenant).await?)
}

#[utoipa::path(post, path = "/v1/accounts:signUp", tag = "accounts", request_body = SignUpRequest,
    responses((status = 200, body = SignUpResponse)))]
pub async fn sign_up(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignUpRequest>,
) -> Result<Json<SignUpResponse>, ItError> {
    let realm = realm_for(
        &svc,
        &caller,
        req.target_project_id.as_deref(),
        req.tenant_id.as_deref(),
    )
    .await?;
    match caller {
        Caller::Admin { .. } => {
            let user = svc
                .create_account(&realm, input::new_account(req, true)?)
                .await?;
            Ok(Json(input::sign_up_response(&user, None)))
        }
        Caller::User(_) => {
            let (user, session) = svc.sign_up(&realm, input::new_account(req, false)?).await?;
            Ok(Json(input::sign_up_response(&user, Some(session))))
        }
    }
}

#[utoipa::path(post, path = "/v1/accounts:signInWithPassword", tag = "accounts",
    request_body = SignInWithPasswordRequest, responses((status = 200, body = SignInWithPasswordResponse)))]
pub async fn sign_in_with_password(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignInWithPasswordRequest>,
) -> Result<Json<SignInWithPasswordResponse>, ItError> {
    let email = input::email(req.email.as_deref().ok_or(ItError::code("MISSING_EMAIL"))?)?;
    let password = req
        .password
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or(ItError::code("MISSING_PASSWORD"))?;
    let realm = realm_for(&svc, &caller, None, req.tenant_id.as_deref()).await?;
    let (user, session) = svc.sign_in_with_password(&realm, &email, password).await?;
    Ok(Json(SignInWithPasswordResponse {
        kind: "identitytoolkit#VerifyPasswordResponse",
        local_id: user.id.to_string(),
        email: email.to_string(),
        display_name: user.display_name.clone().unwrap_or_default(),
        registered: true,
        profile_picture: user.photo_url.clone(),
        tokens: Some(session).into(),
    }))
}

/// Whom a dual-use call acts for: the user of an ID token, or, for an administrator
/// naming users by `localId`, a realm.
enum Acting {
    Me(Box<Authenticated>),
    Admin(Realm),
}

async fn acting(
    svc: &Service,
    caller: &Caller,
    id_token: Option<&str>,
    target_project: Option<&str>,
    tenant: Option<&str>,
) -> Result<Acting, ItError> {
    match (caller, id_token) {
        (Caller::User(scope), Some(token)) | (Caller::Admin { key: Some(scope) }, Some(token)) => {
            Ok(Acting::Me(Box::new(
                svc.authenticate(scope, tenant, token).await?,
            )))
        }
        (Caller::User(_), None) => Err(ItError::code("MISSING_ID_TOKEN")),
        (Caller::Admin { .. }, _) => Ok(Acting::Admin(
            realm_for(svc, caller, target_project, tenant).await?,
        )),
    }
}

#[utoipa::path(post, path = "/v1/accounts:lookup", tag = "accounts", request_body = LookupRequest,
    responses((status = 200, body = LookupResponse)))]
pub async fn lookup(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<LookupRequest>,
) -> Result<Json<LookupResponse>, ItError> {
    let target = (req.target_project_id.as_deref(), req.tenant_id.as_deref());
    let users = match acting(&svc, &caller, req.id_token.as_deref(), target.0, target.1).await? {
        Acting::Me(me) => vec![UserInfo::new(&me.user, me.realm.tenant_id.as_deref())],
        Acting::Admin(realm) => admin_lookup(&svc, &realm, req).await?,
    };
    Ok(Json(LookupResponse {
        kind: "identitytoolkit#GetAccountInfoResponse",
        users,
    }))
}

pub(super) async fn admin_lookup(
    svc: &Service,
    realm: &Realm,
    req: LookupRequest,
) -> Result<Vec<UserInfo>, ItError> {
    let mut selectors = Vec::new();
    for id in req.local_id.unwrap_or_default() {
        selectors.push(UserSelector::Id(input::local_id(&id)?));
    }
    for email in req.email.unwrap_or_default() {
        selectors.push(UserSelector::Email(input::email(&email)?));
    }
    for phone in req.phone_number.unwrap_or_default() {
        selectors.push(UserSelector::Phone(input::phone(&phone)?));
    }
    let users = svc.find_users(realm, &selectors).await?;
    Ok(users
        .iter()
        .map(|u| UserInfo::new(u, realm.tenant_id.as_deref()))
        .collect())
}

#[utoipa::path(post, path = "/v1/accounts:update", tag = "accounts", request_body = UpdateRequest,
    responses((status = 200, body = UpdateResponse)))]
pub async fn update(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<UpdateRequest>,
) -> Result<Json<UpdateResponse>, ItError> {
    let target = (req.target_project_id.as_deref(), req.tenant_id.as_deref());
    match acting(&svc, &caller, req.id_token.as_deref(), target.0, target.1).await? {
        Acting::Me(me) => {
            let want_tokens = req.return_secure_token.unwrap_or(false);
            let changes = input::account_changes(req, false)?;
            let (user, session) = svc.update_own_account(*me, changes, want_tokens).await?;
            Ok(Json(input::update_response(&user, session)))
        }
        Acting::Admin(realm) => admin_update(&svc, &realm, req).await.map(Json),
    }
}

pub(super) async fn admin_update(
    svc: &Service,
    realm: &Realm,
    req: UpdateRequest,
) -> Result<UpdateResponse, ItError> {
    let id = required_local_id(req.local_id.as_deref())?;
    let changes = input::account_changes(req, true)?;
    let user = svc.update_account(realm, &id, changes).await?;
    Ok(input::update_response(&user, None))
}

#[utoipa::path(post, path = "/v1/accounts:delete", tag = "accounts", request_body = DeleteRequest,
    responses((status = 200, body = KindOnly)))]
pub async fn delete(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<DeleteRequest>,
) -> Result<Json<KindOnly>, ItError> {
    let target = (req.target_project_id.as_deref(), req.tenant_id.as_deref());
    match acting(&svc, &caller, req.id_token.as_deref(), target.0, target.1).await? {
        Acting::Me(me) => svc.delete_account(&me.realm, &me.user.id).await?,
        Acting::Admin(realm) => {
            svc.delete_account(&realm, &required_local_id(req.local_id.as_deref())?)
                .await?
        }
    }
    Ok(Json(DELETED))
}

pub(super) const DELETED: KindOnly = KindOnly {
    kind: "identitytoolkit#DeleteAccountResponse",
};

pub(super) fn required_local_id(raw: Option<&str>) -> Result<UserId, ItError> {
    input::local_id(raw.ok_or(ItError::code("MISSING_LOCAL_ID"))?)
}
