//! Organization service v2's `ListOrganizations`: the project's organizations (its own realm,
//! ZITADEL's default organization, and its tenants), as the caller may see them — every one
//! for the instance owner, its own for an organization's machine user, none for a user
//! signed in through its ID token (which holds no `org.read`). Queries are AND-ed: name (with
//! ZITADEL's eight text methods), id, state (every organization here is active), default (the
//! project's own), and domain, which nothing matches (organizations here have no domains).
//! Sorted by name when asked, else by id; paged as the other v2 lists. The details' dates are
//! the realm's creation (Tessera records no later change of an organization).

use tessera_core::{Permission, Realm};

use super::auth::Caller;
use super::details::stored_v2;
use super::error::{BAD_BODY, ZitadelError};
use super::rpc::Ctx;
use super::search::{Page, how, list_details};
use super::users::domain;
use crate::proto::zitadel::org::v2 as org;
use org::search_query::Query;

/// An organization's name: the one it was created with, else its project's id.
fn name(realm: &Realm) -> &str {
    realm.display_name.as_deref().unwrap_or(&realm.project_id)
}

fn id(realm: &Realm) -> &str {
    realm.org_id.as_deref().unwrap_or_default()
}

/// Whether `realm` matches `query`; `default` is the project's own realm's id.
fn matches(query: &Query, realm: &Realm, default: &str) -> Result<bool, ZitadelError> {
    Ok(match query {
        Query::NameQuery(q) => how(q.method)?.matches(name(realm), &q.name),
        Query::DomainQuery(q) => {
            how(q.method)?;
            false
        }
        Query::StateQuery(q) => q.state == i32::from(org::OrganizationState::Active),
        Query::IdQuery(q) => id(realm) == q.id,
        Query::DefaultQuery(_) => id(realm) == default,
    })
}

pub async fn list_organizations(
    ctx: Ctx,
    req: org::ListOrganizationsRequest,
) -> Result<org::ListOrganizationsResponse, ZitadelError> {
    let page = Page::of(req.query)?;
    let queries = req
        .queries
        .iter()
        .map(|q| q.query.as_ref().ok_or(BAD_BODY))
        .collect::<Result<Vec<_>, _>>()?;
    let all = ctx
        .svc
        .project_orgs(&ctx.realm.project_id)
        .await
        .map_err(domain)?;
    let default = all
        .first()
        .map(|realm| id(realm).to_owned())
        .unwrap_or_default();
    let mut found = Vec::new();
    for realm in all.into_iter().filter(|realm| visible(&ctx, realm)) {
        let mut kept = true;
        for query in &queries {
            kept &= matches(query, &realm, &default)?;
        }
        if kept {
            found.push(realm);
        }
    }
    let by_name = req.sorting_column == i32::from(org::OrganizationFieldName::Name);
    found.sort_by(|a, b| match by_name {
        true => name(a).cmp(name(b)).then_with(|| id(a).cmp(id(b))),
        false => id(a).cmp(id(b)),
    });
    if !page.ascending {
        found.reverse();
    }
    let total = i64::try_from(found.len()).map_err(|_| BAD_BODY)?;
    let offset = usize::try_from(page.offset).map_err(|_| BAD_BODY)?;
    let limit = usize::try_from(page.limit).map_err(|_| BAD_BODY)?;
    let result = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|realm| org::Organization {
            id: id(realm).to_owned(),
            details: Some(stored_v2(id(realm), realm.created_at, realm.created_at)),
            state: org::OrganizationState::Active.into(),
            name: name(realm).to_owned(),
            primary_domain: String::new(),
        })
        .collect();
    Ok(org::ListOrganizationsResponse {
        details: Some(list_details(&ctx, total)),
        sorting_column: req.sorting_column,
        result,
    })
}

/// Whether the caller sees `realm`: the instance owner every organization of its project
/// (only the named one with `x-zitadel-orgid`), another machine user its own.
fn visible(ctx: &Ctx, realm: &Realm) -> bool {
    match &*ctx.caller {
        Caller::Machine(machine) if machine.role.spans_instance() && !ctx.org_named => true,
        Caller::Machine(_) => realm.id == ctx.realm.id && ctx.require(Permission::OrgRead).is_ok(),
        Caller::User(_) => false,
    }
}
