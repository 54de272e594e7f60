//! ZITADEL's session service v2 (spec §7): a login UI's sessions, with checks of the user,
//! the password, TOTP, OTP SMS and OTP Email, and the challenges that send those codes.

use std::collections::HashMap;

use tessera_core::login_session::{LoginSession, SessionOrigin};
use tessera_core::{DomainError, Permission, User, UserId};
use time::Duration;

use super::details::{created_v2, details_v2, timestamp};
use super::error::{BAD_BODY, Op, PERMISSION_DENIED, ZitadelError};
use super::rpc::Ctx;
use super::session_list;
use crate::proto::zitadel::session::v2 as session;
use crate::service::{
    CodeDelivery, KeyChallenge, SessionChallenges, SessionChange, SessionChecks, SessionUpdate,
    UserLookup, metadata_entries,
};

fn domain(e: tessera_core::DomainError) -> ZitadelError {
    ZitadelError::from_domain(Op::Session, e)
}

fn checks(checks: Option<session::Checks>) -> Result<SessionChecks, ZitadelError> {
    use session::check_user::Search;
    let Some(c) = checks else {
        return Ok(SessionChecks::default());
    };
    let user = match c.user.and_then(|u| u.search) {
        Some(Search::UserId(id)) => Some(UserLookup::Id(super::factors::user_id(&id)?)),
        Some(Search::LoginName(name)) => Some(UserLookup::LoginName(name)),
        None => None,
    };
    Ok(SessionChecks {
        user,
        password: c.password.map(|p| p.password),
        totp: c.totp.map(|t| t.code),
        otp_sms: c.otp_sms.map(|o| o.code),
        otp_email: c.otp_email.map(|o| o.code),
        webauthn: c
            .web_auth_n
            .map(|w| serde_json::to_value(w.credential_assertion_data.unwrap_or_default()))
            .transpose()
            .map_err(|_| BAD_BODY)?,
        recovery_code: c.recovery_code.map(|r| r.code),
    })
}

fn challenges(requested: Option<session::RequestChallenges>) -> SessionChallenges {
    use session::request_challenges::otp_email::DeliveryType;
    let Some(r) = requested else {
        return SessionChallenges::default();
    };
    SessionChallenges {
        otp_sms: r.otp_sms.map(|s| {
            if s.return_code {
                CodeDelivery::Return
            } else {
                CodeDelivery::Send
            }
        }),
        otp_email: r.otp_email.map(|e| match e.delivery_type {
            Some(DeliveryType::ReturnCode(_)) => CodeDelivery::Return,
            _ => CodeDelivery::Send,
        }),
        webauthn: r.web_auth_n.map(|w| KeyChallenge {
            user_verification: w.user_verification_requirement
                == session::UserVerificationRequirement::Required as i32,
            domain: w.domain,
        }),
    }
}

fn lifetime(d: Option<pbjson_types::Duration>) -> Option<Duration> {
    d.map(|d| Duration::new(d.seconds, d.nanos))
}

fn issued(update: &SessionUpdate) -> Result<Option<session::Challenges>, ZitadelError> {
    let web_auth_n = update
        .webauthn
        .clone()
        .map(|options| {
            serde_json::from_value(options).map(|options| session::challenges::WebAuthN {
                public_key_credential_request_options: Some(options),
            })
        })
        .transpose()
        .map_err(|_| ZitadelError::from_domain(Op::Session, DomainError::Internal))?;
    let any = update.otp_sms.is_some() || update.otp_email.is_some() || web_auth_n.is_some();
    Ok(any.then(|| session::Challenges {
        web_auth_n,
        otp_sms: update.otp_sms.clone(),
        otp_email: update.otp_email.clone(),
    }))
}

/// The call moved to the organization of the user a check names (users are addressed across
/// organizations).
async fn at_user(ctx: Ctx, checks: &SessionChecks) -> Result<Ctx, ZitadelError> {
    let realms = match &checks.user {
        Some(UserLookup::Id(id)) => ctx.svc.user_realms(id).await,
        Some(UserLookup::LoginName(name)) => ctx.svc.login_name_realms(name).await,
        None => Ok(Vec::new()),
    }
    .map_err(domain)?;
    ctx.locate(realms).await
}

/// The call moved to the organization the session belongs to.
async fn at_session(ctx: Ctx, id: &str) -> Result<Ctx, ZitadelError> {
    match ctx.svc.login_session_realm(id).await {
        Ok(realm) => ctx.locate(vec![realm]).await,
        Err(_) => Ok(ctx),
    }
}

/// The caller creating a session, and the login UI's account of the browser (kept as JSON;
/// none when it gave nothing).
fn origin(ctx: &Ctx, given: Option<session::UserAgent>) -> Result<SessionOrigin, ZitadelError> {
    let given = given.filter(|agent| *agent != session::UserAgent::default());
    Ok(SessionOrigin {
        creator: Some(ctx.caller.id().clone()),
        fingerprint: given
            .as_ref()
            .and_then(|agent| agent.fingerprint_id.clone())
            .filter(|id| !id.is_empty()),
        user_agent: given
            .map(|agent| serde_json::to_string(&agent))
            .transpose()
            .map_err(|_| ZitadelError::from_domain(Op::Session, DomainError::Internal))?,
    })
}

pub async fn create_session(
    ctx: Ctx,
    req: session::CreateSessionRequest,
) -> Result<session::CreateSessionResponse, ZitadelError> {
    let checks = checks(req.checks)?;
    let ctx = at_user(ctx, &checks).await?;
    ctx.require(Permission::Session)?;
    let origin = origin(&ctx, req.user_agent)?;
    let update = ctx
        .svc
        .create_login_session(
            &ctx.realm,
            SessionChange {
                checks,
                challenges: challenges(req.challenges),
                metadata: req.metadata.into_iter().collect(),
                lifetime: lifetime(req.lifetime),
                client: ctx.client.clone(),
            },
            origin,
        )
        .await
        .map_err(domain)?;
    Ok(session::CreateSessionResponse {
        details: Some(created_v2(&ctx, ctx.org_id())),
        challenges: issued(&update)?,
        session_id: update.session.id,
        session_token: update.token,
    })
}

pub async fn set_session(
    ctx: Ctx,
    req: session::SetSessionRequest,
) -> Result<session::SetSessionResponse, ZitadelError> {
    let ctx = at_session(ctx, &req.session_id).await?;
    ctx.require(Permission::Session)?;
    let update = ctx
        .svc
        .set_login_session(
            &ctx.realm,
            &req.session_id,
            Some(req.session_token.as_str()),
            SessionChange {
                checks: checks(req.checks)?,
                challenges: challenges(req.challenges),
                metadata: req.metadata.into_iter().collect(),
                lifetime: lifetime(req.lifetime),
                client: ctx.client.clone(),
            },
        )
        .await
        .map_err(domain)?;
    Ok(session::SetSessionResponse {
        details: Some(details_v2(&ctx)),
        challenges: issued(&update)?,
        session_token: update.token,
    })
}

/// The factors checked, or none before the user is (as ZITADEL leaves them out).
fn factors(s: &LoginSession, user: Option<&User>, org_id: &str) -> Option<session::Factors> {
    s.checked.user.map(|_| checked(s, user, org_id))
}

fn checked(s: &LoginSession, user: Option<&User>, org_id: &str) -> session::Factors {
    let at = |t: Option<time::OffsetDateTime>| t.map(timestamp);
    session::Factors {
        user: s.checked.user.map(|verified| session::UserFactor {
            verified_at: Some(timestamp(verified)),
            id: s.user.as_ref().map(UserId::to_string).unwrap_or_default(),
            login_name: user
                .and_then(User::login_name)
                .unwrap_or_default()
                .to_owned(),
            display_name: user
                .and_then(|u| u.display_name.clone())
                .unwrap_or_default(),
            organization_id: org_id.to_owned(),
        }),
        password: s.checked.password.map(|t| session::PasswordFactor {
            verified_at: Some(timestamp(t)),
        }),
        web_auth_n: s.checked.webauthn.map(|t| session::WebAuthNFactor {
            verified_at: Some(timestamp(t)),
            user_verified: s.checked.webauthn_user_verified,
        }),
        intent: None,
        totp: s.checked.totp.map(|t| session::TotpFactor {
            verified_at: at(Some(t)),
        }),
        otp_sms: s.checked.otp_sms.map(|t| session::OtpFactor {
            verified_at: at(Some(t)),
        }),
        otp_email: s.checked.otp_email.map(|t| session::OtpFactor {
            verified_at: at(Some(t)),
        }),
        recovery_code: s
            .checked
            .recovery_code
            .map(|t| session::RecoveryCodeFactor {
                verified_at: at(Some(t)),
            }),
    }
}

/// ZITADEL's rule: the caller holds `session.read`, or proves the session by its token, or may
/// see it as ListSessions shows it (it created it, or it is the session's user).
pub async fn get_session(
    ctx: Ctx,
    req: session::GetSessionRequest,
) -> Result<session::GetSessionResponse, ZitadelError> {
    let ctx = at_session(ctx, &req.session_id).await?;
    let token = req.session_token.as_deref().filter(|t| !t.is_empty());
    if token.is_none()
        && ctx.require(Permission::Session).is_err()
        && !session_list::sees(&ctx, &req.session_id).await?
    {
        return Err(PERMISSION_DENIED);
    }
    let (s, user) = ctx
        .svc
        .stored_login_session(&ctx.realm, &req.session_id, token)
        .await
        .map_err(domain)?;
    Ok(session::GetSessionResponse {
        session: Some(shown(&s, user.as_ref(), ctx.org_id())),
    })
}

/// A session as GetSession and ListSessions answer it; `org_id` is its organization's.
pub(super) fn shown(s: &LoginSession, user: Option<&User>, org_id: &str) -> session::Session {
    let metadata: HashMap<String, Vec<u8>> = metadata_entries(s).into_iter().collect();
    session::Session {
        factors: factors(s, user, org_id),
        id: s.id.clone(),
        creation_date: Some(timestamp(s.created_at)),
        change_date: Some(timestamp(s.changed_at)),
        sequence: s.sequence as u64,
        metadata,
        user_agent: s
            .origin
            .user_agent
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok()),
        expiration_date: s.expires_at.map(timestamp),
    }
}

pub async fn delete_session(
    ctx: Ctx,
    req: session::DeleteSessionRequest,
) -> Result<session::DeleteSessionResponse, ZitadelError> {
    let ctx = at_session(ctx, &req.session_id).await?;
    ctx.require(Permission::Session)?;
    ctx.svc
        .delete_login_session(&ctx.realm, &req.session_id, req.session_token.as_deref())
        .await
        .map_err(domain)?;
    Ok(session::DeleteSessionResponse {
        details: Some(details_v2(&ctx)),
    })
}
