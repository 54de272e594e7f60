//! `v1/accounts:*` — the end-user calls, which an administrator may also make (with a
//! bearer token instead of an ID token, naming the user by `localId`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use tessera_core::{
    DomainError, EmailAddress, Factor, FactorKind, PhoneNumber, Realm, User, UserId,
};

use super::error::ItError;
use super::extract::{Body, Caller};
use super::input;
use super::oob::Source;
use super::wire::*;
use crate::crypto::random_token;
use crate::dialects::Client;
use crate::service::{Authenticated, Notice, Service, UserSelector};

/// The realm of a dual-use call: the key's project for end users; `targetProjectId`, else
/// the key's project, else the default project for administrators.
pub(super) async fn realm_for(
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

/// The realm of a sign-in that may instead link to the caller's account: with an ID token,
/// its user's realm and that user; without, the key's realm (or its tenant's).
pub(super) async fn realm_and_linking(
    svc: &Service,
    caller: &Caller,
    tenant: Option<&str>,
    id_token: Option<&str>,
) -> Result<(Realm, Option<UserId>), ItError> {
    match id_token.filter(|token| !token.is_empty()) {
        Some(token) => {
            let me = svc
                .authenticate(&caller.token_scope(), tenant, token)
                .await?;
            Ok((me.realm, Some(me.user.id)))
        }
        None => Ok((realm_for(svc, caller, None, tenant).await?, None)),
    }
}

/// The caller's project, as the JS SDK reads it before it lets an app handle a redirect.
/// Tenants have none of their own (the emulator refuses them, too).
#[utoipa::path(get, path = "/v1/projects", tag = "accounts",
    responses((status = 200, body = ProjectInfo)))]
pub async fn project_info(
    State(svc): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<ProjectInfo>, ItError> {
    let realm = realm_for(&svc, &caller, None, None).await?;
    Ok(Json(ProjectInfo {
        project_id: realm.project_id,
        authorized_domains: svc.authorized_domains(),
    }))
}

#[utoipa::path(post, path = "/v1/accounts:signUp", tag = "accounts", request_body = SignUpRequest,
    responses((status = 200, body = SignUpResponse)))]
pub async fn sign_up(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignUpRequest>,
) -> Result<Json<SignUpResponse>, ItError> {
    let (target_project, tenant) = (req.target_project_id.clone(), req.tenant_id.clone());
    let realm = || realm_for(&svc, &caller, target_project.as_deref(), tenant.as_deref());
    let Caller::User(scope) = &caller else {
        return admin_create(&svc, &realm().await?, req).await.map(Json);
    };
    let id_token = req.id_token.clone();
    // The request's own fields are checked before its ID token, as in the emulator.
    let (account, _) = input::new_account(req, false)?;
    let (user, session) = match id_token {
        Some(token) => {
            let me = svc.authenticate(scope, tenant.as_deref(), &token).await?;
            svc.link_password(me, account).await?
        }
        None => svc.sign_up(&realm().await?, account).await?,
    };
    Ok(Json(input::sign_up_response(&user, Some(session))))
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
    let (user, outcome) = svc.sign_in_with_password(&realm, &email, password).await?;
    Ok(Json(SignInWithPasswordResponse {
        kind: "identitytoolkit#VerifyPasswordResponse",
        local_id: user.id.to_string(),
        email: email.to_string(),
        display_name: user.display_name.clone().unwrap_or_default(),
        registered: true,
        profile_picture: user.photo_url.clone(),
        outcome: outcome.into(),
    }))
}

/// How an address can sign in (the JS SDK's `fetchSignInMethodsForEmail`): with a password,
/// by email link, or not at all; nothing said under the realm's email privacy. Checks in the
/// emulator's order.
#[utoipa::path(post, path = "/v1/accounts:createAuthUri", tag = "accounts",
    request_body = CreateAuthUriRequest, responses((status = 200, body = CreateAuthUriResponse)))]
pub async fn create_auth_uri(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<CreateAuthUriRequest>,
) -> Result<Json<CreateAuthUriResponse>, ItError> {
    let session_id = match req.session_id {
        Some(id) => id,
        None => random_token().map_err(|_| DomainError::Internal)?,
    };
    // No identity provider is configured here (the emulator answers 501).
    if req.provider_id.is_some() {
        return Err(ItError::with_detail(
            "INVALID_PROVIDER_ID",
            "Sign-in with an identity provider is not offered.",
        ));
    }
    let identifier = req.identifier.ok_or(ItError::code("MISSING_IDENTIFIER"))?;
    let continue_uri = req
        .continue_uri
        .ok_or(ItError::code("MISSING_CONTINUE_URI"))?;
    let email = EmailAddress::parse(&identifier).ok_or(ItError::code("INVALID_IDENTIFIER"))?;
    if !input::is_absolute_uri(&continue_uri) {
        return Err(ItError::code("INVALID_CONTINUE_URI"));
    }
    let realm = realm_for(&svc, &caller, None, req.tenant_id.as_deref()).await?;
    let mut reply = CreateAuthUriResponse {
        kind: "identitytoolkit#CreateAuthUriResponse",
        session_id,
        registered: None,
        all_providers: None,
        signin_methods: None,
    };
    if realm.improved_email_privacy {
        return Ok(Json(reply));
    }
    let user = svc.user_by_email(&realm, &email).await?;
    let mut methods = Vec::new();
    let mut providers = Vec::new();
    if let Some(user) = &user {
        let password = user.password_hash.is_some().then_some("password");
        let link = user.email_link_sign_in.then_some("emailLink");
        methods.extend(password.into_iter().chain(link).map(str::to_owned));
        if !methods.is_empty() {
            providers.push("password".to_owned());
        }
        for identity in &user.identities {
            methods.push(identity.provider_id.clone());
            providers.push(identity.provider_id.clone());
        }
    }
    reply.registered = Some(user.is_some());
    reply.all_providers = Some(providers);
    reply.signin_methods = Some(methods);
    Ok(Json(reply))
}

/// Whom a dual-use call acts for: the user of an ID token, or, for an administrator
/// naming users by `localId`, a realm.
enum Acting {
    Me(Box<Authenticated>),
    Admin(Box<Realm>),
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
        (Caller::Admin { .. }, _) => Ok(Acting::Admin(Box::new(
            realm_for(svc, caller, target_project, tenant).await?,
        ))),
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
        Acting::Me(me) => vec![user_info_of(&me.realm, &me.user, me.factors)],
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
    for identity in req.federated_user_id.unwrap_or_default() {
        let raw = identity.raw_id.unwrap_or_default();
        match identity.provider_id.unwrap_or_default() {
            provider if provider == "password" => {
                selectors.extend(EmailAddress::parse(&raw).map(UserSelector::Email))
            }
            provider if provider == "phone" => {
                selectors.extend(PhoneNumber::parse(&raw).map(UserSelector::Phone))
            }
            provider => selectors.push(UserSelector::Identity(provider, raw)),
        }
    }
    let users = svc.find_users(realm, &selectors).await?;
    user_infos(svc, realm, &users).await
}

/// A user's record with its second factors.
pub(super) async fn user_info(
    svc: &Service,
    realm: &Realm,
    user: &User,
) -> Result<UserInfo, ItError> {
    let factors = svc.ready_factors(realm, user).await?;
    Ok(user_info_of(realm, user, factors))
}

/// A user's record with `factors`, their ready factors.
fn user_info_of(realm: &Realm, user: &User, factors: Vec<Factor>) -> UserInfo {
    // Firebase clients know phone and TOTP factors only (the JS SDK rejects other kinds).
    let factors: Vec<_> = factors
        .into_iter()
        .filter(|f| matches!(f.kind(), FactorKind::Totp | FactorKind::SmsOtp))
        .collect();
    UserInfo::new(user, realm.tenant_id.as_deref(), &factors)
}

pub(super) async fn user_infos(
    svc: &Service,
    realm: &Realm,
    users: &[User],
) -> Result<Vec<UserInfo>, ItError> {
    let mut infos = Vec::with_capacity(users.len());
    for user in users {
        infos.push(user_info(svc, realm, user).await?);
    }
    Ok(infos)
}

#[utoipa::path(post, path = "/v1/accounts:update", tag = "accounts", request_body = UpdateRequest,
    responses((status = 200, body = UpdateResponse)))]
pub async fn update(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Source(source): Source,
    Client(client): Client,
    Body(req): Body<UpdateRequest>,
) -> Result<Json<UpdateResponse>, ItError> {
    let target = (req.target_project_id.as_deref(), req.tenant_id.as_deref());
    let notice = Notice {
        source: &source,
        client: &client,
    };
    if let Some(code) = &req.oob_code {
        let realm = realm_for(&svc, &caller, target.0, target.1).await?;
        let (_, user) = svc.apply_oob_code(Some(&realm.id), code, notice).await?;
        return Ok(Json(input::update_response(&user, None)));
    }
    match acting(&svc, &caller, req.id_token.as_deref(), target.0, target.1).await? {
        Acting::Me(me) => {
            let want_tokens = req.return_secure_token.unwrap_or(false);
            let changes = input::account_changes(req, false)?;
            let (user, session) = svc
                .update_own_account(*me, changes, want_tokens, notice)
                .await?;
            Ok(Json(input::update_response(&user, session)))
        }
        Acting::Admin(realm) => admin_update(&svc, &realm, req).await.map(Json),
    }
}

/// An administrator's create: the account and any `mfaInfo` factors, without a session.
pub(super) async fn admin_create(
    svc: &Service,
    realm: &Realm,
    req: SignUpRequest,
) -> Result<SignUpResponse, ItError> {
    let (account, factors) = input::new_account(req, true)?;
    let user = svc.create_account(realm, account, factors).await?;
    Ok(input::sign_up_response(&user, None))
}

pub(super) async fn admin_update(
    svc: &Service,
    realm: &Realm,
    mut req: UpdateRequest,
) -> Result<UpdateResponse, ItError> {
    let id = required_local_id(req.local_id.as_deref())?;
    let factors = req
        .mfa
        .take()
        .map(|mfa| input::admin_factors(mfa.enrollments.unwrap_or_default()))
        .transpose()?;
    let changes = input::account_changes(req, true)?;
    let user = match factors {
        Some(factors) => {
            svc.update_account_and_factors(realm, &id, changes, factors)
                .await?
        }
        None => svc.update_account(realm, &id, changes).await?,
    };
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
