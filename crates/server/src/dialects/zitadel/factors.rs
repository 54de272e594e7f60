//! The auth-factor RPCs of ZITADEL's user service v2, management v1 and auth v1 (spec §4–§6).
//! Each is one function over the generated request and response messages; the gRPC, Connect
//! and REST transports all call these same functions.

use data_encoding::BASE32_NOPAD;
use tessera_core::{DomainError, Factor, FactorId, FactorKind, FactorState, UserId};

use super::details::{created_v1, details_v1, details_v2};
use super::error::{
    BAD_BODY, Op, U2F_NAME_INVALID, U2F_TOKEN_NAME_INVALID, USER_ID_MISSING, ZitadelError,
    check_name,
};
use super::rpc::Ctx;
use crate::proto::zitadel::auth::v1 as auth;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::user::{v1 as user_v1, v2};
use crate::service::{passkey_domain, security_key_domain};

pub(super) fn user_id(raw: &str) -> Result<UserId, ZitadelError> {
    if raw.is_empty() {
        return Err(USER_ID_MISSING);
    }
    UserId::parse(raw).ok_or(ZitadelError::from_domain(
        Op::Read,
        DomainError::UserNotFound,
    ))
}

/// A pending TOTP factor: its base32 secret and `otpauth://` URI.
async fn register(ctx: &Ctx, id: &UserId) -> Result<(String, String), ZitadelError> {
    let (user, registration) = ctx
        .svc
        .register_totp(&ctx.realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::RegisterTotp, e))?;
    let secret = BASE32_NOPAD.encode(&registration.secret);
    // ZITADEL names the account by the user's login name.
    let account = user
        .login_name()
        .map_or_else(|| user.id.to_string(), str::to_owned);
    let uri = registration
        .spec
        .uri(ctx.svc.totp_issuer(), &account, &secret);
    Ok((uri, secret))
}

async fn verify(ctx: &Ctx, id: &UserId, code: &str) -> Result<(), ZitadelError> {
    if code.is_empty() {
        return Err(BAD_BODY);
    }
    ctx.svc
        .verify_totp_registration(&ctx.realm, id, code, &ctx.client)
        .await
        .map(drop)
        .map_err(|e| ZitadelError::from_domain(Op::VerifyTotp, e))
}

async fn add(ctx: &Ctx, id: &UserId, kind: FactorKind, op: Op) -> Result<(), ZitadelError> {
    ctx.svc
        .add_contact_factor(&ctx.realm, id, kind)
        .await
        .map(drop)
        .map_err(|e| ZitadelError::from_domain(op, e))
}

async fn remove(ctx: &Ctx, id: &UserId, kind: FactorKind, op: Op) -> Result<(), ZitadelError> {
    ctx.svc
        .remove_factors_of_kind(&ctx.realm, id, kind)
        .await
        .map_err(|e| ZitadelError::from_domain(op, e))
}

/// The user's factors in the given states (and of the given kinds, all when empty).
async fn factors(
    ctx: &Ctx,
    id: &UserId,
    states: &[FactorState],
    kinds: &[FactorKind],
) -> Result<Vec<Factor>, ZitadelError> {
    let (_, factors) = ctx
        .svc
        .user_factors(&ctx.realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    Ok(factors
        .into_iter()
        .filter(|f| states.contains(&f.state) && (kinds.is_empty() || kinds.contains(&f.kind())))
        .collect())
}

fn state_v1(state: FactorState) -> user_v1::AuthFactorState {
    match state {
        FactorState::NotReady => user_v1::AuthFactorState::NotReady,
        FactorState::Ready => user_v1::AuthFactorState::Ready,
        FactorState::Removed => user_v1::AuthFactorState::Removed,
    }
}

fn factor_v1(factor: &Factor) -> user_v1::AuthFactor {
    use user_v1::auth_factor::Type;
    let r#type = match factor.kind() {
        FactorKind::Totp => Type::Otp(user_v1::AuthFactorOtp {}),
        FactorKind::SmsOtp => Type::OtpSms(user_v1::AuthFactorOtpsms {}),
        FactorKind::EmailOtp => Type::OtpEmail(user_v1::AuthFactorOtpEmail {}),
        FactorKind::WebAuthn => Type::U2f(user_v1::AuthFactorU2f {
            id: factor.id.to_string(),
            name: factor.display_name.clone().unwrap_or_default(),
        }),
    };
    user_v1::AuthFactor {
        state: state_v1(factor.state).into(),
        r#type: Some(r#type),
    }
}

/// v2's `AuthFactor` has v1's layout and field numbers; only the package differs.
fn factor_v2(factor: &Factor) -> v2::AuthFactor {
    use v2::auth_factor::Type;
    let v1 = factor_v1(factor);
    v2::AuthFactor {
        state: v1.state,
        r#type: v1.r#type.map(|t| match t {
            user_v1::auth_factor::Type::Otp(_) => Type::Otp(v2::AuthFactorOtp {}),
            user_v1::auth_factor::Type::OtpSms(_) => Type::OtpSms(v2::AuthFactorOtpsms {}),
            user_v1::auth_factor::Type::OtpEmail(_) => Type::OtpEmail(v2::AuthFactorOtpEmail {}),
            user_v1::auth_factor::Type::U2f(u) => Type::U2f(v2::AuthFactorU2f {
                id: u.id,
                name: u.name,
            }),
        }),
    }
}

fn state_of(raw: i32) -> Result<FactorState, ZitadelError> {
    match v2::AuthFactorState::try_from(raw) {
        Ok(v2::AuthFactorState::NotReady) => Ok(FactorState::NotReady),
        Ok(v2::AuthFactorState::Ready) => Ok(FactorState::Ready),
        Ok(v2::AuthFactorState::Removed) => Ok(FactorState::Removed),
        _ => Err(BAD_BODY),
    }
}

fn kind_of(raw: i32) -> Result<FactorKind, ZitadelError> {
    match v2::AuthFactors::try_from(raw) {
        Ok(v2::AuthFactors::Otp) => Ok(FactorKind::Totp),
        Ok(v2::AuthFactors::OtpSms) => Ok(FactorKind::SmsOtp),
        Ok(v2::AuthFactors::OtpEmail) => Ok(FactorKind::EmailOtp),
        Ok(v2::AuthFactors::U2f) => Ok(FactorKind::WebAuthn),
        Err(_) => Err(BAD_BODY),
    }
}

// ---- user service v2 -------------------------------------------------------------------

pub async fn register_totp(
    ctx: Ctx,
    req: v2::RegisterTotpRequest,
) -> Result<v2::RegisterTotpResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    let (uri, secret) = register(&ctx, &id).await?;
    Ok(v2::RegisterTotpResponse {
        details: Some(details_v2(&ctx)),
        uri,
        secret,
    })
}

pub async fn verify_totp_registration(
    ctx: Ctx,
    req: v2::VerifyTotpRegistrationRequest,
) -> Result<v2::VerifyTotpRegistrationResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    verify(&ctx, &id, &req.code).await?;
    Ok(v2::VerifyTotpRegistrationResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn remove_totp(
    ctx: Ctx,
    req: v2::RemoveTotpRequest,
) -> Result<v2::RemoveTotpResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::Totp, Op::RemoveTotp).await?;
    Ok(v2::RemoveTotpResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn add_otp_sms(
    ctx: Ctx,
    req: v2::AddOtpsmsRequest,
) -> Result<v2::AddOtpsmsResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    add(&ctx, &id, FactorKind::SmsOtp, Op::AddOtpSms).await?;
    Ok(v2::AddOtpsmsResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn remove_otp_sms(
    ctx: Ctx,
    req: v2::RemoveOtpsmsRequest,
) -> Result<v2::RemoveOtpsmsResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::SmsOtp, Op::RemoveOtpSms).await?;
    Ok(v2::RemoveOtpsmsResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn add_otp_email(
    ctx: Ctx,
    req: v2::AddOtpEmailRequest,
) -> Result<v2::AddOtpEmailResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    add(&ctx, &id, FactorKind::EmailOtp, Op::AddOtpEmail).await?;
    Ok(v2::AddOtpEmailResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn remove_otp_email(
    ctx: Ctx,
    req: v2::RemoveOtpEmailRequest,
) -> Result<v2::RemoveOtpEmailResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::EmailOtp, Op::RemoveOtpEmail).await?;
    Ok(v2::RemoveOtpEmailResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// READY only unless other states are asked for; every kind unless some are asked for.
pub async fn list_authentication_factors(
    ctx: Ctx,
    req: v2::ListAuthenticationFactorsRequest,
) -> Result<v2::ListAuthenticationFactorsResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let mut states: Vec<FactorState> = req
        .states
        .iter()
        .map(|s| state_of(*s))
        .collect::<Result<_, _>>()?;
    if states.is_empty() {
        states.push(FactorState::Ready);
    }
    let kinds: Vec<FactorKind> = req
        .auth_factors
        .iter()
        .map(|k| kind_of(*k))
        .collect::<Result<_, _>>()?;
    Ok(v2::ListAuthenticationFactorsResponse {
        result: factors(&ctx, &id, &states, &kinds)
            .await?
            .iter()
            .map(factor_v2)
            .collect(),
    })
}

/// The methods the user can sign in with now.
pub async fn list_authentication_method_types(
    ctx: Ctx,
    req: v2::ListAuthenticationMethodTypesRequest,
) -> Result<v2::ListAuthenticationMethodTypesResponse, ZitadelError> {
    use v2::AuthenticationMethodType as Method;
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let (user, factors) = ctx
        .svc
        .user_factors(&ctx.realm, &id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    // A domain query keeps only the security keys of that relying party.
    let domain = req
        .domain_query
        .as_ref()
        .map(|q| q.domain.as_str())
        .filter(|d| !d.is_empty());
    let usable = |f: &Factor| {
        f.kind() != FactorKind::WebAuthn
            || domain.is_none_or(|d| security_key_domain(f).as_deref() == Some(d))
    };
    let ready = |kind| {
        factors
            .iter()
            .any(|f| f.state == FactorState::Ready && f.kind() == kind && usable(f))
    };
    let passkeys = ctx
        .svc
        .ready_passkeys(&ctx.realm, &id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    let mut types = Vec::new();
    if user.password_hash.is_some() {
        types.push(Method::Password);
    }
    if passkeys
        .iter()
        .any(|p| domain.is_none_or(|d| passkey_domain(p).as_deref() == Some(d)))
    {
        types.push(Method::Passkey);
    }
    if !user.identities.is_empty() {
        types.push(Method::Idp);
    }
    for (kind, method) in [
        (FactorKind::Totp, Method::Totp),
        (FactorKind::WebAuthn, Method::U2f),
        (FactorKind::SmsOtp, Method::OtpSms),
        (FactorKind::EmailOtp, Method::OtpEmail),
    ] {
        if ready(kind) {
            types.push(method);
        }
    }
    let codes = ctx.svc.recovery_code_count(&ctx.realm.id, &id).await;
    if codes.map_err(|e| ZitadelError::from_domain(Op::Read, e))? > 0 {
        types.push(Method::RecoveryCode);
    }
    Ok(v2::ListAuthenticationMethodTypesResponse {
        details: Some(crate::proto::zitadel::object::v2::ListDetails {
            total_result: types.len() as u64,
            ..Default::default()
        }),
        auth_method_types: types.into_iter().map(Into::into).collect(),
    })
}

// ---- management v1 ---------------------------------------------------------------------

/// The v1 listings show ready factors only.
async fn ready_v1(ctx: &Ctx, id: &UserId) -> Result<Vec<user_v1::AuthFactor>, ZitadelError> {
    Ok(factors(ctx, id, &[FactorState::Ready], &[])
        .await?
        .iter()
        .map(factor_v1)
        .collect())
}

pub async fn list_human_auth_factors(
    ctx: Ctx,
    req: mgmt::ListHumanAuthFactorsRequest,
) -> Result<mgmt::ListHumanAuthFactorsResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.user_id).await?;
    Ok(mgmt::ListHumanAuthFactorsResponse {
        result: ready_v1(&ctx, &id).await?,
    })
}

pub async fn remove_human_otp(
    ctx: Ctx,
    req: mgmt::RemoveHumanAuthFactorOtpRequest,
) -> Result<mgmt::RemoveHumanAuthFactorOtpResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::Totp, Op::RemoveTotp).await?;
    Ok(mgmt::RemoveHumanAuthFactorOtpResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn remove_human_otp_sms(
    ctx: Ctx,
    req: mgmt::RemoveHumanAuthFactorOtpsmsRequest,
) -> Result<mgmt::RemoveHumanAuthFactorOtpsmsResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::SmsOtp, Op::RemoveOtpSms).await?;
    Ok(mgmt::RemoveHumanAuthFactorOtpsmsResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn remove_human_otp_email(
    ctx: Ctx,
    req: mgmt::RemoveHumanAuthFactorOtpEmailRequest,
) -> Result<mgmt::RemoveHumanAuthFactorOtpEmailResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    remove(&ctx, &id, FactorKind::EmailOtp, Op::RemoveOtpEmail).await?;
    Ok(mgmt::RemoveHumanAuthFactorOtpEmailResponse {
        details: Some(details_v1(&ctx)),
    })
}

// ---- auth v1: the signed-in user -------------------------------------------------------

pub async fn list_my_auth_factors(
    ctx: Ctx,
    _: auth::ListMyAuthFactorsRequest,
) -> Result<auth::ListMyAuthFactorsResponse, ZitadelError> {
    let me = ctx.me()?;
    Ok(auth::ListMyAuthFactorsResponse {
        result: ready_v1(&ctx, &me).await?,
    })
}

pub async fn add_my_otp(
    ctx: Ctx,
    _: auth::AddMyAuthFactorOtpRequest,
) -> Result<auth::AddMyAuthFactorOtpResponse, ZitadelError> {
    let me = ctx.me()?;
    let (url, secret) = register(&ctx, &me).await?;
    Ok(auth::AddMyAuthFactorOtpResponse {
        url,
        secret,
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

pub async fn verify_my_otp(
    ctx: Ctx,
    req: auth::VerifyMyAuthFactorOtpRequest,
) -> Result<auth::VerifyMyAuthFactorOtpResponse, ZitadelError> {
    let me = ctx.me()?;
    verify(&ctx, &me, &req.code).await?;
    Ok(auth::VerifyMyAuthFactorOtpResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn remove_my_otp(
    ctx: Ctx,
    _: auth::RemoveMyAuthFactorOtpRequest,
) -> Result<auth::RemoveMyAuthFactorOtpResponse, ZitadelError> {
    let me = ctx.me()?;
    remove(&ctx, &me, FactorKind::Totp, Op::RemoveTotp).await?;
    Ok(auth::RemoveMyAuthFactorOtpResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn add_my_otp_sms(
    ctx: Ctx,
    _: auth::AddMyAuthFactorOtpsmsRequest,
) -> Result<auth::AddMyAuthFactorOtpsmsResponse, ZitadelError> {
    let me = ctx.me()?;
    add(&ctx, &me, FactorKind::SmsOtp, Op::AddOtpSms).await?;
    Ok(auth::AddMyAuthFactorOtpsmsResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

pub async fn remove_my_otp_sms(
    ctx: Ctx,
    _: auth::RemoveMyAuthFactorOtpsmsRequest,
) -> Result<auth::RemoveMyAuthFactorOtpsmsResponse, ZitadelError> {
    let me = ctx.me()?;
    remove(&ctx, &me, FactorKind::SmsOtp, Op::RemoveOtpSms).await?;
    Ok(auth::RemoveMyAuthFactorOtpsmsResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn add_my_otp_email(
    ctx: Ctx,
    _: auth::AddMyAuthFactorOtpEmailRequest,
) -> Result<auth::AddMyAuthFactorOtpEmailResponse, ZitadelError> {
    let me = ctx.me()?;
    add(&ctx, &me, FactorKind::EmailOtp, Op::AddOtpEmail).await?;
    Ok(auth::AddMyAuthFactorOtpEmailResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

pub async fn remove_my_otp_email(
    ctx: Ctx,
    _: auth::RemoveMyAuthFactorOtpEmailRequest,
) -> Result<auth::RemoveMyAuthFactorOtpEmailResponse, ZitadelError> {
    let me = ctx.me()?;
    remove(&ctx, &me, FactorKind::EmailOtp, Op::RemoveOtpEmail).await?;
    Ok(auth::RemoveMyAuthFactorOtpEmailResponse {
        details: Some(details_v1(&ctx)),
    })
}

// ---- security keys (U2F) ---------------------------------------------------------------

fn factor_id(raw: &str) -> Result<FactorId, ZitadelError> {
    FactorId::parse(raw).ok_or(ZitadelError::from_domain(
        Op::U2f,
        DomainError::FactorNotFound,
    ))
}

fn u2f(e: DomainError) -> ZitadelError {
    ZitadelError::from_domain(Op::U2f, e)
}

pub async fn register_u2f(
    ctx: Ctx,
    req: v2::RegisterU2fRequest,
) -> Result<v2::RegisterU2fResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    let (factor, options) = ctx
        .svc
        .register_security_key(&ctx.realm, &id, Some(req.domain.as_str()))
        .await
        .map_err(u2f)?;
    Ok(v2::RegisterU2fResponse {
        details: Some(details_v2(&ctx)),
        u2f_id: factor.id.to_string(),
        public_key_credential_creation_options: Some(
            serde_json::from_value(options).map_err(|_| u2f(DomainError::Internal))?,
        ),
    })
}

pub async fn verify_u2f_registration(
    ctx: Ctx,
    req: v2::VerifyU2fRegistrationRequest,
) -> Result<v2::VerifyU2fRegistrationResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    check_name(&req.token_name, U2F_NAME_INVALID)?;
    let credential = serde_json::to_value(req.public_key_credential.unwrap_or_default())
        .map_err(|_| BAD_BODY)?;
    ctx.svc
        .verify_security_key(
            &ctx.realm,
            &id,
            Some(&factor_id(&req.u2f_id)?),
            credential,
            &req.token_name,
        )
        .await
        .map_err(u2f)?;
    Ok(v2::VerifyU2fRegistrationResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn remove_u2f(
    ctx: Ctx,
    req: v2::RemoveU2fRequest,
) -> Result<v2::RemoveU2fResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    ctx.svc
        .remove_security_key(&ctx.realm, &id, &factor_id(&req.u2f_id)?)
        .await
        .map_err(u2f)?;
    Ok(v2::RemoveU2fResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn remove_human_u2f(
    ctx: Ctx,
    req: mgmt::RemoveHumanAuthFactorU2fRequest,
) -> Result<mgmt::RemoveHumanAuthFactorU2fResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    ctx.svc
        .remove_security_key(&ctx.realm, &id, &factor_id(&req.token_id)?)
        .await
        .map_err(u2f)?;
    Ok(mgmt::RemoveHumanAuthFactorU2fResponse {
        details: Some(details_v1(&ctx)),
    })
}

/// Auth v1: the creation options travel as JSON bytes (`WebAuthNKey.public_key`).
pub async fn add_my_u2f(
    ctx: Ctx,
    _: auth::AddMyAuthFactorU2fRequest,
) -> Result<auth::AddMyAuthFactorU2fResponse, ZitadelError> {
    let me = ctx.me()?;
    let (_, options) = ctx
        .svc
        .register_security_key(&ctx.realm, &me, None)
        .await
        .map_err(u2f)?;
    Ok(auth::AddMyAuthFactorU2fResponse {
        key: Some(user_v1::WebAuthNKey {
            public_key: serde_json::to_vec(&options).map_err(|_| u2f(DomainError::Internal))?,
        }),
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

pub async fn verify_my_u2f(
    ctx: Ctx,
    req: auth::VerifyMyAuthFactorU2fRequest,
) -> Result<auth::VerifyMyAuthFactorU2fResponse, ZitadelError> {
    let me = ctx.me()?;
    let verification = req.verification.unwrap_or_default();
    check_name(&verification.token_name, U2F_TOKEN_NAME_INVALID)?;
    let credential = serde_json::from_slice(&verification.public_key_credential)
        .map_err(|_| u2f(DomainError::InvalidCredential))?;
    ctx.svc
        .verify_security_key(&ctx.realm, &me, None, credential, &verification.token_name)
        .await
        .map_err(u2f)?;
    Ok(auth::VerifyMyAuthFactorU2fResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn remove_my_u2f(
    ctx: Ctx,
    req: auth::RemoveMyAuthFactorU2fRequest,
) -> Result<auth::RemoveMyAuthFactorU2fResponse, ZitadelError> {
    let me = ctx.me()?;
    ctx.svc
        .remove_security_key(&ctx.realm, &me, &factor_id(&req.token_id)?)
        .await
        .map_err(u2f)?;
    Ok(auth::RemoveMyAuthFactorU2fResponse {
        details: Some(details_v1(&ctx)),
    })
}
