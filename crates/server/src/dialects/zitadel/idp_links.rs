//! The user service v2's links to identity providers (`AddIDPLink`, `ListIDPLinks`,
//! `RemoveIDPLink`), and management v1's (`ListHumanLinkedIDPs`, `RemoveHumanLinkedIDP`, what
//! the console's user page calls): the same accounts at providers that Identity Toolkit's
//! `signInWithIdp` links and lists as `providerUserInfo`. Tessera configures no providers of
//! ZITADEL's kind, so a link's `idp_id` is Firebase's provider id (`google.com`,
//! `oidc.corp`, …) and any id is accepted. As in Firebase, a user has one account per
//! provider: a second link to a provider is refused.

use tessera_core::{Identity, User, UserId};

use super::details::{details_v1, details_v2};
use super::error::{IDP_LINK_INVALID, ZitadelError};
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::idp::v1::{IdpType, IdpUserLink};
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::object::v2::ListDetails;
use crate::proto::zitadel::user::v2;
use crate::proto::zitadel::v1 as object_v1;

/// The name the provider gave for the account.
fn name_of(identity: &Identity) -> String {
    [
        &identity.screen_name,
        &identity.email,
        &identity.display_name,
    ]
    .into_iter()
    .find_map(Clone::clone)
    .unwrap_or_default()
}

fn link_of(identity: &Identity) -> v2::IdpLink {
    v2::IdpLink {
        idp_id: identity.provider_id.clone(),
        user_id: identity.raw_id.clone(),
        user_name: name_of(identity),
    }
}

/// v1's link: ZITADEL's IdP types know no SAML, the rest are OpenID Connect.
fn user_link_of(user: &UserId, identity: &Identity) -> IdpUserLink {
    let idp_type = if identity.provider_id.starts_with("saml.") {
        IdpType::Unspecified
    } else {
        IdpType::Oidc
    };
    IdpUserLink {
        user_id: user.to_string(),
        idp_id: identity.provider_id.clone(),
        idp_name: identity.provider_id.clone(),
        provided_user_id: identity.raw_id.clone(),
        provided_user_name: name_of(identity),
        idp_type: idp_type.into(),
    }
}

async fn user_of(ctx: &Ctx, id: &UserId) -> Result<User, ZitadelError> {
    ctx.svc.get_account(&ctx.realm, id).await.map_err(domain)
}

/// A link a request gives: it must name the provider and the account there.
pub(super) fn identity_of(link: v2::IdpLink) -> Result<Identity, ZitadelError> {
    if link.idp_id.trim().is_empty() || link.user_id.trim().is_empty() {
        return Err(IDP_LINK_INVALID);
    }
    Ok(Identity {
        provider_id: link.idp_id,
        raw_id: link.user_id,
        screen_name: Some(link.user_name).filter(|name| !name.is_empty()),
        email: None,
        display_name: None,
        photo_url: None,
    })
}

pub async fn add_idp_link(
    ctx: Ctx,
    req: v2::AddIdpLinkRequest,
) -> Result<v2::AddIdpLinkResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let identity = identity_of(req.idp_link.unwrap_or_default())?;
    ctx.svc
        .link_identity(&ctx.realm, &id, identity)
        .await
        .map_err(domain)?;
    Ok(v2::AddIdpLinkResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn list_idp_links(
    ctx: Ctx,
    req: v2::ListIdpLinksRequest,
) -> Result<v2::ListIdpLinksResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let user = user_of(&ctx, &id).await?;
    let result: Vec<_> = user.identities.iter().map(link_of).collect();
    Ok(v2::ListIdpLinksResponse {
        details: Some(ListDetails {
            total_result: result.len() as u64,
            ..ListDetails::default()
        }),
        result,
    })
}

pub async fn remove_idp_link(
    ctx: Ctx,
    req: v2::RemoveIdpLinkRequest,
) -> Result<v2::RemoveIdpLinkResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    ctx.svc
        .unlink_identity(&ctx.realm, &id, &req.idp_id, &req.linked_user_id)
        .await
        .map_err(domain)?;
    Ok(v2::RemoveIdpLinkResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn list_human_linked_idps(
    ctx: Ctx,
    req: mgmt::ListHumanLinkedIdPsRequest,
) -> Result<mgmt::ListHumanLinkedIdPsResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.user_id).await?;
    let user = user_of(&ctx, &id).await?;
    let result: Vec<_> = user
        .identities
        .iter()
        .map(|identity| user_link_of(&id, identity))
        .collect();
    Ok(mgmt::ListHumanLinkedIdPsResponse {
        details: Some(object_v1::ListDetails {
            total_result: result.len() as u64,
            ..object_v1::ListDetails::default()
        }),
        result,
    })
}

pub async fn remove_human_linked_idp(
    ctx: Ctx,
    req: mgmt::RemoveHumanLinkedIdpRequest,
) -> Result<mgmt::RemoveHumanLinkedIdpResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    ctx.svc
        .unlink_identity(&ctx.realm, &id, &req.idp_id, &req.linked_user_id)
        .await
        .map_err(domain)?;
    Ok(mgmt::RemoveHumanLinkedIdpResponse {
        details: Some(details_v1(&ctx)),
    })
}
