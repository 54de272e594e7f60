//! `v1/projects/{project}[/tenants/{tenant}]/accounts…` — the administrator's API, what the
//! Firebase Admin SDKs call. Every route here requires an admin bearer token.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use data_encoding::BASE64URL_NOPAD;
use tessera_core::store::{UserFilter, UserQuery, UserScope, UserSort};
use tessera_core::{DomainError, Realm, UserId};

use super::accounts::{
    DELETED, admin_create, admin_lookup, admin_update, required_local_id, user_infos,
};
use super::error::ItError;
use super::extract::{AdminBearer, Body, IMPORT_BODY_LIMIT, ProjectPath, parse_value};
use super::wire::*;
use super::{hashes, input};
use crate::service::Service;

const MAX_QUERY_LIMIT: i64 = 500;
const MAX_BATCH: usize = 1000;
const DEFAULT_PAGE: i64 = 20;

/// The realm of the path, agreeing with any `tenantId` in the body.
async fn path_realm(
    svc: &Service,
    path: &ProjectPath,
    body_tenant: Option<&str>,
) -> Result<Realm, ItError> {
    let tenant = match (path.tenant.as_deref(), body_tenant) {
        (Some(p), Some(b)) if p != b => return Err(DomainError::TenantIdMismatch.into()),
        (Some(p), _) => Some(p),
        (None, b) => b,
    };
    Ok(svc.realm(&path.project, tenant).await?)
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts", tag = "admin", request_body = SignUpRequest,
    params(("project" = String, Path)), responses((status = 200, body = SignUpResponse)))]
pub async fn create(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<SignUpRequest>,
) -> Result<Json<SignUpResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    admin_create(&svc, &realm, req).await.map(Json)
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:lookup", tag = "admin", request_body = LookupRequest,
    params(("project" = String, Path)), responses((status = 200, body = LookupResponse)))]
pub async fn lookup(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<LookupRequest>,
) -> Result<Json<LookupResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    let users = admin_lookup(&svc, &realm, req).await?;
    Ok(Json(LookupResponse {
        kind: "identitytoolkit#GetAccountInfoResponse",
        users,
    }))
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:update", tag = "admin", request_body = UpdateRequest,
    params(("project" = String, Path)), responses((status = 200, body = UpdateResponse)))]
pub async fn update(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<UpdateRequest>,
) -> Result<Json<UpdateResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    admin_update(&svc, &realm, req).await.map(Json)
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:delete", tag = "admin", request_body = DeleteRequest,
    params(("project" = String, Path)), responses((status = 200, body = KindOnly)))]
pub async fn delete(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<DeleteRequest>,
) -> Result<Json<KindOnly>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    svc.delete_account(&realm, &required_local_id(req.local_id.as_deref())?)
        .await?;
    Ok(Json(DELETED))
}

/// The shortest and the longest a session cookie may live, and the default, as in Firebase.
const SESSION_COOKIE_SECS: std::ops::RangeInclusive<i64> = 300..=1_209_600;

/// `projects/{p}[/tenants/{t}]:createSessionCookie` (the Admin SDKs' `createSessionCookie`).
#[utoipa::path(post, path = "/v1/projects/{project}:createSessionCookie", tag = "admin",
    request_body = CreateSessionCookieRequest, params(("project" = String, Path)),
    responses((status = 200, body = CreateSessionCookieResponse)))]
pub async fn create_session_cookie(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<CreateSessionCookieRequest>,
) -> Result<Json<CreateSessionCookieResponse>, ItError> {
    let path = path
        .of_action("createSessionCookie")
        .ok_or(ItError::NotFound)?;
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    let id_token = req
        .id_token
        .as_deref()
        .ok_or(ItError::code("MISSING_ID_TOKEN"))?;
    let valid_for = req
        .valid_duration
        .filter(|secs| *secs != 0)
        .unwrap_or(*SESSION_COOKIE_SECS.end());
    if !SESSION_COOKIE_SECS.contains(&valid_for) {
        return Err(ItError::code("INVALID_DURATION"));
    }
    let session_cookie = svc
        .create_session_cookie(&realm, id_token, valid_for)
        .await?;
    Ok(Json(CreateSessionCookieResponse { session_cookie }))
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:query", tag = "admin", request_body = QueryRequest,
    params(("project" = String, Path)), responses((status = 200, body = QueryResponse)))]
pub async fn query(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<QueryRequest>,
) -> Result<Json<QueryResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    let with_users = req.return_user_info.unwrap_or(true);
    let query = user_query(req)?;
    let (count, users) = svc
        .query_accounts(&UserScope::Realm(realm.id.clone()), &query, with_users)
        .await?;
    Ok(Json(QueryResponse {
        records_count: count.to_string(),
        user_info: user_infos(&svc, &realm, &users).await?,
    }))
}

fn user_query(req: QueryRequest) -> Result<UserQuery, ItError> {
    let invalid = |what: &str| ItError::with_detail("INVALID_ARGUMENT", what);
    let limit = req.limit.unwrap_or(MAX_QUERY_LIMIT);
    if !(1..=MAX_QUERY_LIMIT).contains(&limit) {
        return Err(invalid("limit must be between 1 and 500."));
    }
    let offset = req.offset.unwrap_or(0);
    if offset < 0 {
        return Err(invalid("offset must not be negative."));
    }
    let sort_by = match req.sort_by.as_deref() {
        None | Some("USER_ID") | Some("SORT_BY_FIELD_UNSPECIFIED") => UserSort::UserId,
        Some("NAME") => UserSort::Name,
        Some("CREATED_AT") => UserSort::CreatedAt,
        Some("LAST_LOGIN_AT") => UserSort::LastLoginAt,
        Some("USER_EMAIL") => UserSort::Email,
        Some(_) => return Err(invalid("Unknown sortBy.")),
    };
    let descending = match req.order.as_deref() {
        None | Some("ASC") | Some("ORDER_UNSPECIFIED") => false,
        Some("DESC") => true,
        Some(_) => return Err(invalid("Unknown order.")),
    };
    let mut filters = Vec::new();
    for expression in req.expression.unwrap_or_default() {
        match (
            expression.email,
            expression.user_id,
            expression.phone_number,
        ) {
            (Some(e), None, None) => filters.push(UserFilter::Email(input::email(&e)?)),
            (None, Some(id), None) => filters.push(UserFilter::Ids(vec![input::local_id(&id)?])),
            (None, None, Some(p)) => {
                filters.push(UserFilter::PhoneNumber(input::phone(&p)?.to_string()))
            }
            _ => {
                return Err(invalid(
                    "Each expression must set exactly one of email, userId, phoneNumber.",
                ));
            }
        }
    }
    Ok(UserQuery {
        filters,
        sort_by,
        descending,
        offset,
        limit,
    })
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:batchCreate", tag = "admin",
    request_body = BatchCreateRequest, params(("project" = String, Path)),
    responses((status = 200, body = BatchCreateResponse)))]
pub async fn batch_create(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<BatchCreateRequest, IMPORT_BODY_LIMIT>,
) -> Result<Json<BatchCreateResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    let scheme = hashes::scheme(&req)?;
    let users = req.users.unwrap_or_default();
    if users.len() > MAX_BATCH {
        return Err(ItError::with_detail(
            "INVALID_ARGUMENT",
            "A maximum of 1000 users can be imported at once.",
        ));
    }
    let overwrite = req.allow_overwrite.unwrap_or(false);
    refuse_repeats(&users, req.sanity_check.unwrap_or(false), overwrite)?;
    let mut error = Vec::new();
    let mut accepted = Vec::new();
    for (index, user) in users.into_iter().enumerate() {
        match input::imported_account(user, realm.tenant_id.as_deref(), scheme.as_ref()) {
            Ok((account, factors)) => accepted.push((index, account, factors)),
            Err(e) => error.push(IndexedError {
                index,
                message: e.message(),
            }),
        }
    }
    for (index, e) in svc.import_users(&realm, accepted, overwrite).await? {
        error.push(IndexedError {
            index,
            message: ItError::from(e).message(),
        });
    }
    error.sort_by_key(|e| e.index);
    Ok(Json(BatchCreateResponse {
        kind: "identitytoolkit#UploadAccountResponse",
        error,
    }))
}

/// Refuses an import whose users repeat one another, before any is written, as the emulator
/// does: a `localId` given twice, unless the second may overwrite the first, and with
/// `sanityCheck` an email or an identity at a provider given twice.
fn refuse_repeats(
    users: &[ImportedUser],
    sanity_check: bool,
    overwrite: bool,
) -> Result<(), ItError> {
    if sanity_check {
        if let Some(email) = repeated(users.iter().filter_map(|u| u.email.as_deref())) {
            return Err(ItError::with_detail("DUPLICATE_EMAIL", email));
        }
        let identities = users
            .iter()
            .flat_map(|u| u.provider_user_info.iter().flatten())
            .map(|p| (p.provider_id.as_deref(), p.raw_id.as_deref()));
        if let Some((provider, raw)) = repeated(identities) {
            let (provider, raw) = (provider.unwrap_or_default(), raw.unwrap_or_default());
            let detail = format!("Provider id({provider}), Raw id({raw})");
            return Err(ItError::with_detail("DUPLICATE_RAW_ID", &detail));
        }
    }
    match repeated(users.iter().filter_map(|u| u.local_id.as_deref())) {
        Some(id) if !overwrite => Err(ItError::with_detail("DUPLICATE_LOCAL_ID", id)),
        _ => Ok(()),
    }
}

/// The first value that comes a second time.
fn repeated<T: Eq + std::hash::Hash + Copy>(mut values: impl Iterator<Item = T>) -> Option<T> {
    let mut seen = std::collections::HashSet::new();
    values.find(|value| !seen.insert(*value))
}

#[utoipa::path(post, path = "/v1/projects/{project}/accounts:batchDelete", tag = "admin",
    request_body = BatchDeleteRequest, params(("project" = String, Path)),
    responses((status = 200, body = BatchDeleteResponse)))]
pub async fn batch_delete(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<BatchDeleteRequest>,
) -> Result<Json<BatchDeleteResponse>, ItError> {
    let realm = path_realm(&svc, &path, req.tenant_id.as_deref()).await?;
    let raw = req
        .local_ids
        .filter(|ids| !ids.is_empty())
        .ok_or(ItError::code("MISSING_LOCAL_ID"))?;
    if raw.len() > MAX_BATCH {
        return Err(ItError::with_detail(
            "INVALID_ARGUMENT",
            "A maximum of 1000 users can be deleted at once.",
        ));
    }
    let ids = raw
        .iter()
        .map(|id| input::local_id(id))
        .collect::<Result<Vec<UserId>, _>>()?;
    let failures = svc
        .batch_delete(&realm, &ids, req.force.unwrap_or(false))
        .await?;
    let errors = failures
        .into_iter()
        .map(|(index, id, e)| BatchDeleteError {
            index,
            local_id: id.to_string(),
            message: ItError::from(e).message(),
        })
        .collect();
    Ok(Json(BatchDeleteResponse { errors }))
}

#[utoipa::path(get, path = "/v1/projects/{project}/accounts:batchGet", tag = "admin",
    params(("project" = String, Path), BatchGetParams), responses((status = 200, body = BatchGetResponse)))]
pub async fn batch_get(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Query(raw): Query<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<BatchGetResponse>, ItError> {
    let params: BatchGetParams = parse_value(serde_json::Value::Object(raw))?;
    let realm = path_realm(&svc, &path, None).await?;
    let max = params.max_results.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_BATCH as i64).contains(&max) {
        return Err(ItError::with_detail(
            "INVALID_ARGUMENT",
            "maxResults must be between 1 and 1000.",
        ));
    }
    let after = match params.next_page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(page_token(token)?),
        None => None,
    };
    let page = svc.batch_get(&realm, after.as_ref(), max).await?;
    Ok(Json(BatchGetResponse {
        kind: "identitytoolkit#DownloadAccountResponse",
        users: user_infos(&svc, &realm, &page.users).await?,
        next_page_token: page
            .next
            .map(|id| BASE64URL_NOPAD.encode(id.as_str().as_bytes())),
    }))
}

fn page_token(token: &str) -> Result<UserId, ItError> {
    BASE64URL_NOPAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|id| UserId::parse(&id))
        .ok_or(ItError::code("INVALID_PAGE_SELECTION"))
}
