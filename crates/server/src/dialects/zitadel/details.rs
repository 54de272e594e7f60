//! The object details every change answers with: v1's `ObjectDetails` and v2's `Details`.
//! The sequence is the change's time in milliseconds (Tessera keeps no event sequence per
//! organization); the resource owner is the organization.

use time::OffsetDateTime;

use super::rpc::Ctx;
use super::timestamp::Timestamp;
use crate::proto::zitadel::{object, v1};

pub fn timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::new(at)
}

fn sequence(at: OffsetDateTime) -> u64 {
    tessera_core::clock::unix_millis(at).max(0) as u64
}

pub fn details_v1(ctx: &Ctx) -> v1::ObjectDetails {
    changed_v1(ctx, ctx.svc.now())
}

/// For calls whose change is stored as made `at`.
pub fn changed_v1(ctx: &Ctx, at: OffsetDateTime) -> v1::ObjectDetails {
    v1::ObjectDetails {
        sequence: sequence(at),
        creation_date: None,
        change_date: Some(timestamp(at)),
        resource_owner: ctx.org_id().to_owned(),
    }
}

/// For calls that create an object: ZITADEL fills the creation date.
pub fn created_v1(ctx: &Ctx, resource_owner: &str) -> v1::ObjectDetails {
    let now = ctx.svc.now();
    v1::ObjectDetails {
        sequence: sequence(now),
        creation_date: Some(timestamp(now)),
        change_date: Some(timestamp(now)),
        resource_owner: resource_owner.to_owned(),
    }
}

/// A stored object's details: when it was created and last changed, as far as the store
/// knows (`changed`), rather than the time of the request.
pub fn stored_v1(
    resource_owner: &str,
    created: OffsetDateTime,
    changed: OffsetDateTime,
) -> v1::ObjectDetails {
    v1::ObjectDetails {
        sequence: sequence(changed),
        creation_date: Some(timestamp(created)),
        change_date: Some(timestamp(changed)),
        resource_owner: resource_owner.to_owned(),
    }
}

/// As [`stored_v1`], for v2.
pub fn stored_v2(
    resource_owner: &str,
    created: OffsetDateTime,
    changed: OffsetDateTime,
) -> object::v2::Details {
    object::v2::Details {
        sequence: sequence(changed),
        change_date: Some(timestamp(changed)),
        resource_owner: resource_owner.to_owned(),
        creation_date: Some(timestamp(created)),
    }
}

pub fn details_v2(ctx: &Ctx) -> object::v2::Details {
    let now = ctx.svc.now();
    object::v2::Details {
        sequence: sequence(now),
        change_date: Some(timestamp(now)),
        resource_owner: ctx.org_id().to_owned(),
        creation_date: None,
    }
}

pub fn created_v2(ctx: &Ctx, resource_owner: &str) -> object::v2::Details {
    let now = ctx.svc.now();
    object::v2::Details {
        sequence: sequence(now),
        change_date: Some(timestamp(now)),
        resource_owner: resource_owner.to_owned(),
        creation_date: Some(timestamp(now)),
    }
}
