//! Metadata. A user's: v2's `SetUserMetadata`, `ListUserMetadata` and `DeleteUserMetadata`
//! (the user itself, or `user.write` / `user.read`, across organizations), management v1's six
//! calls (in the call's organization) and auth v1's `ListMyMetadata` and `GetMyMetadata` (the
//! signed-in user's). An organization's: management v1's six calls (`org.write` / `org.read`).
//! Setting and removing are all-or-none per request.

use tessera_core::metadata::{Metadata, MetadataOwner};
use tessera_core::store::{MetadataQuery, TextMatch, TextPosition};
use tessera_core::{DomainError, Permission};
use time::OffsetDateTime;

use super::details::{changed_v1, stored_v1, timestamp};
use super::error::{
    BAD_BODY, LIMIT_EXCEEDED, METADATA_NOT_FOUND, ORG_METADATA_NOT_FOUND, Op, ZitadelError,
};
use super::rpc::Ctx;
use super::search::{MAX_LIMIT, Page, how};
use crate::proto::zitadel::auth::v1 as auth;
use crate::proto::zitadel::filter::v2::PaginationResponse;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::metadata::{v1 as metadata_v1, v2 as metadata_v2};
use crate::proto::zitadel::user::v2 as user;
use crate::proto::zitadel::v1::{ListDetails, ListQuery, ObjectDetails};

fn domain(op: Op) -> impl Fn(DomainError) -> ZitadelError {
    move |e| ZitadelError::from_domain(op, e)
}

/// Sets the owner's entries; when they were set.
async fn set(
    ctx: &Ctx,
    owner: MetadataOwner<'_>,
    entries: Vec<(String, Vec<u8>)>,
    op: Op,
) -> Result<OffsetDateTime, ZitadelError> {
    ctx.svc
        .set_metadata(owner, &entries)
        .await
        .map_err(domain(op))
}

/// Removes the owner's entries of `keys`; when they were removed.
async fn remove(
    ctx: &Ctx,
    owner: MetadataOwner<'_>,
    keys: &[String],
    op: Op,
) -> Result<OffsetDateTime, ZitadelError> {
    ctx.svc
        .remove_metadata(owner, keys)
        .await
        .map_err(domain(op))
}

/// A page of the owner's entries that match every key filter `(method, key)`.
async fn found(
    ctx: &Ctx,
    owner: MetadataOwner<'_>,
    keys: Vec<(i32, String)>,
    page: &Page,
) -> Result<(i64, Vec<Metadata>), ZitadelError> {
    let query = MetadataQuery {
        keys: keys
            .into_iter()
            .map(|(method, key)| Ok((how(method)?, key)))
            .collect::<Result<_, ZitadelError>>()?,
        ascending: page.ascending,
        offset: page.offset,
        limit: page.limit,
    };
    ctx.svc
        .metadata(owner, &query)
        .await
        .map_err(domain(Op::Metadata))
}

/// v1's list of the owner's entries.
async fn listed_v1(
    ctx: &Ctx,
    owner: MetadataOwner<'_>,
    query: Option<ListQuery>,
    queries: Vec<metadata_v1::MetadataQuery>,
) -> Result<(Option<ListDetails>, Vec<metadata_v1::Metadata>), ZitadelError> {
    let query = query.unwrap_or_default();
    let page = Page::new(query.offset, query.limit, query.asc)?;
    let keys = queries
        .into_iter()
        .map(|q| {
            use metadata_v1::metadata_query::Query;
            match q.query.ok_or(BAD_BODY)? {
                Query::KeyQuery(k) => Ok((k.method, k.key)),
            }
        })
        .collect::<Result<_, ZitadelError>>()?;
    let (total, entries) = found(ctx, owner, keys, &page).await?;
    let details = ListDetails {
        total_result: u64::try_from(total).unwrap_or_default(),
        processed_sequence: 0,
        view_timestamp: Some(timestamp(ctx.svc.now())),
    };
    let result = entries.into_iter().map(|m| entry_v1(ctx, m)).collect();
    Ok((Some(details), result))
}

/// v1's entry of one key; `missing` when the owner has none.
async fn entry_of(
    ctx: &Ctx,
    owner: MetadataOwner<'_>,
    key: String,
    missing: ZitadelError,
) -> Result<Option<metadata_v1::Metadata>, ZitadelError> {
    let exactly = TextMatch {
        at: TextPosition::Equals,
        ignore_case: false,
    };
    let query = MetadataQuery {
        keys: vec![(exactly, key)],
        ascending: true,
        offset: 0,
        limit: 1,
    };
    let (_, entries) = ctx
        .svc
        .metadata(owner, &query)
        .await
        .map_err(domain(Op::MetadataKey))?;
    let entry = entries.into_iter().next().ok_or(missing)?;
    Ok(Some(entry_v1(ctx, entry)))
}

/// An entry as v1 shows it, its details those of the entry itself.
fn entry_v1(ctx: &Ctx, m: Metadata) -> metadata_v1::Metadata {
    metadata_v1::Metadata {
        details: Some(stored_v1(ctx.org_id(), m.created_at, m.changed_at)),
        key: m.key,
        value: m.value,
    }
}

fn details(ctx: &Ctx, at: OffsetDateTime) -> Option<ObjectDetails> {
    Some(changed_v1(ctx, at))
}

pub async fn set_user_metadata(
    ctx: Ctx,
    req: user::SetUserMetadataRequest,
) -> Result<user::SetUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let entries = req.metadata.into_iter().map(|m| (m.key, m.value)).collect();
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let at = set(&ctx, owner, entries, Op::Metadata).await?;
    Ok(user::SetUserMetadataResponse {
        set_date: Some(timestamp(at)),
    })
}

pub async fn delete_user_metadata(
    ctx: Ctx,
    req: user::DeleteUserMetadataRequest,
) -> Result<user::DeleteUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let at = remove(&ctx, owner, &req.keys, Op::Metadata).await?;
    Ok(user::DeleteUserMetadataResponse {
        deletion_date: Some(timestamp(at)),
    })
}

pub async fn list_user_metadata(
    ctx: Ctx,
    req: user::ListUserMetadataRequest,
) -> Result<user::ListUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let pagination = req.pagination.unwrap_or_default();
    if pagination.limit > MAX_LIMIT {
        return Err(LIMIT_EXCEEDED);
    }
    let page = Page::new(pagination.offset, pagination.limit, pagination.asc)?;
    let keys = req
        .filters
        .into_iter()
        .map(|f| {
            use metadata_v2::metadata_search_filter::Filter;
            match f.filter.ok_or(BAD_BODY)? {
                Filter::KeyFilter(k) => Ok((k.method, k.key)),
            }
        })
        .collect::<Result<_, ZitadelError>>()?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let (total, entries) = found(&ctx, owner, keys, &page).await?;
    Ok(user::ListUserMetadataResponse {
        pagination: Some(PaginationResponse {
            total_result: u64::try_from(total).unwrap_or_default(),
            applied_limit: u64::try_from(page.limit).unwrap_or_default(),
        }),
        metadata: entries
            .into_iter()
            .map(|m| metadata_v2::Metadata {
                creation_date: Some(timestamp(m.created_at)),
                change_date: Some(timestamp(m.changed_at)),
                key: m.key,
                value: m.value,
            })
            .collect(),
    })
}

pub async fn set_user_metadata_v1(
    ctx: Ctx,
    req: mgmt::SetUserMetadataRequest,
) -> Result<mgmt::SetUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let at = set(&ctx, owner, vec![(req.key, req.value)], Op::MetadataKey).await?;
    Ok(mgmt::SetUserMetadataResponse {
        id: req.id,
        details: details(&ctx, at),
    })
}

pub async fn bulk_set_user_metadata(
    ctx: Ctx,
    req: mgmt::BulkSetUserMetadataRequest,
) -> Result<mgmt::BulkSetUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    let entries = req.metadata.into_iter().map(|m| (m.key, m.value)).collect();
    let at = set(
        &ctx,
        MetadataOwner::User(&ctx.realm.id, &id),
        entries,
        Op::Metadata,
    )
    .await?;
    Ok(mgmt::BulkSetUserMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn list_user_metadata_v1(
    ctx: Ctx,
    req: mgmt::ListUserMetadataRequest,
) -> Result<mgmt::ListUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let (details, result) = listed_v1(&ctx, owner, req.query, req.queries).await?;
    Ok(mgmt::ListUserMetadataResponse { details, result })
}

pub async fn get_user_metadata(
    ctx: Ctx,
    req: mgmt::GetUserMetadataRequest,
) -> Result<mgmt::GetUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let metadata = entry_of(&ctx, owner, req.key, METADATA_NOT_FOUND).await?;
    Ok(mgmt::GetUserMetadataResponse { metadata })
}

pub async fn remove_user_metadata(
    ctx: Ctx,
    req: mgmt::RemoveUserMetadataRequest,
) -> Result<mgmt::RemoveUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let at = remove(&ctx, owner, &[req.key], Op::MetadataKey).await?;
    Ok(mgmt::RemoveUserMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn bulk_remove_user_metadata(
    ctx: Ctx,
    req: mgmt::BulkRemoveUserMetadataRequest,
) -> Result<mgmt::BulkRemoveUserMetadataResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    let owner = MetadataOwner::User(&ctx.realm.id, &id);
    let at = remove(&ctx, owner, &req.keys, Op::Metadata).await?;
    Ok(mgmt::BulkRemoveUserMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn list_my_metadata(
    ctx: Ctx,
    req: auth::ListMyMetadataRequest,
) -> Result<auth::ListMyMetadataResponse, ZitadelError> {
    let me = ctx.me()?;
    let owner = MetadataOwner::User(&ctx.realm.id, &me);
    let (details, result) = listed_v1(&ctx, owner, req.query, req.queries).await?;
    Ok(auth::ListMyMetadataResponse { details, result })
}

pub async fn get_my_metadata(
    ctx: Ctx,
    req: auth::GetMyMetadataRequest,
) -> Result<auth::GetMyMetadataResponse, ZitadelError> {
    let me = ctx.me()?;
    let owner = MetadataOwner::User(&ctx.realm.id, &me);
    let metadata = entry_of(&ctx, owner, req.key, METADATA_NOT_FOUND).await?;
    Ok(auth::GetMyMetadataResponse { metadata })
}

pub async fn set_org_metadata(
    ctx: Ctx,
    req: mgmt::SetOrgMetadataRequest,
) -> Result<mgmt::SetOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgWrite)?;
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let at = set(&ctx, owner, vec![(req.key, req.value)], Op::OrgMetadataKey).await?;
    Ok(mgmt::SetOrgMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn bulk_set_org_metadata(
    ctx: Ctx,
    req: mgmt::BulkSetOrgMetadataRequest,
) -> Result<mgmt::BulkSetOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgWrite)?;
    let entries = req.metadata.into_iter().map(|m| (m.key, m.value)).collect();
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let at = set(&ctx, owner, entries, Op::OrgMetadata).await?;
    Ok(mgmt::BulkSetOrgMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn list_org_metadata(
    ctx: Ctx,
    req: mgmt::ListOrgMetadataRequest,
) -> Result<mgmt::ListOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgRead)?;
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let (details, result) = listed_v1(&ctx, owner, req.query, req.queries).await?;
    Ok(mgmt::ListOrgMetadataResponse { details, result })
}

pub async fn get_org_metadata(
    ctx: Ctx,
    req: mgmt::GetOrgMetadataRequest,
) -> Result<mgmt::GetOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgRead)?;
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let metadata = entry_of(&ctx, owner, req.key, ORG_METADATA_NOT_FOUND).await?;
    Ok(mgmt::GetOrgMetadataResponse { metadata })
}

pub async fn remove_org_metadata(
    ctx: Ctx,
    req: mgmt::RemoveOrgMetadataRequest,
) -> Result<mgmt::RemoveOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgWrite)?;
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let at = remove(&ctx, owner, &[req.key], Op::OrgMetadataKey).await?;
    Ok(mgmt::RemoveOrgMetadataResponse {
        details: details(&ctx, at),
    })
}

pub async fn bulk_remove_org_metadata(
    ctx: Ctx,
    req: mgmt::BulkRemoveOrgMetadataRequest,
) -> Result<mgmt::BulkRemoveOrgMetadataResponse, ZitadelError> {
    ctx.require(Permission::OrgWrite)?;
    let owner = MetadataOwner::Org(&ctx.realm.id);
    let at = remove(&ctx, owner, &req.keys, Op::OrgMetadataRemoval).await?;
    Ok(mgmt::BulkRemoveOrgMetadataResponse {
        details: details(&ctx, at),
    })
}
