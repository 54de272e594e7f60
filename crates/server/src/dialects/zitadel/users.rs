//! The user and organization calls a ZITADEL client needs before it can manage factors
//! (spec §4, §6): creating organizations and human users (v1 and v2, with an imported TOTP
//! secret), and setting and verifying email addresses and phone numbers, which the OTP Email
//! and OTP SMS factors require.

use data_encoding::BASE32_NOPAD;
use tessera_core::contact::ContactKind;
use tessera_core::{
    DomainError, EmailAddress, Identity, Password, Permission, PhoneNumber, Profile, Realm, UserId,
};

use super::details::{created_v1, created_v2, details_v1, details_v2};
use super::error::{
    ADD_FAMILY_NAME_EMPTY, ADD_GIVEN_NAME_EMPTY, BAD_BODY, FAMILY_NAME_EMPTY, GIVEN_NAME_EMPTY,
    HASH_NOT_SUPPORTED, INVALID_EMAIL, INVALID_ORG, INVALID_PHONE, ORG_MEMBERS_UNSUPPORTED, Op,
    PASSWORD_TOO_SHORT, ZitadelError,
};
use super::factors::user_id;
use super::idp_links::identity_of;
use super::passkeys;
use super::profiles::gender_of;
use super::rpc::Ctx;
use crate::passwords::encoded;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::org::v2 as org;
use crate::proto::zitadel::user::v2 as user;
use crate::service::{
    ContactCodes, HumanChange, IfUnchanged, NewAccount, NewHuman, NewPassword, Proof,
};

pub(super) fn domain(e: DomainError) -> ZitadelError {
    ZitadelError::from_domain(Op::Read, e)
}

pub(super) fn email(raw: &str) -> Result<EmailAddress, ZitadelError> {
    EmailAddress::parse(raw).ok_or(INVALID_EMAIL)
}

pub(super) fn phone(raw: &str) -> Result<PhoneNumber, ZitadelError> {
    PhoneNumber::parse(raw).ok_or(INVALID_PHONE)
}

/// A new human user, whichever call describes it.
#[derive(Default)]
struct Human {
    id: Option<UserId>,
    username: Option<String>,
    email: Option<(EmailAddress, Proof)>,
    phone: Option<(PhoneNumber, Proof)>,
    password: Option<NewPassword>,
    names: Names,
    totp_secret: Option<Vec<u8>>,
    /// v2's `idp_links`.
    identities: Vec<Identity>,
    /// v2's `metadata`: (key, value).
    metadata: Vec<(String, Vec<u8>)>,
}

/// A human's profile as a ZITADEL add gives it; the display name is the given and family
/// name together when the request names none.
#[derive(Default)]
pub(super) struct Names {
    pub(super) profile: Profile,
    pub(super) display: Option<String>,
}

impl Names {
    /// The fields of v1's and v2's profile, in their order; `gender` as the enum's number.
    pub(super) fn new(
        given: &str,
        family: &str,
        nick: &str,
        display: &str,
        language: &str,
        gender: i32,
    ) -> Self {
        Names {
            profile: Profile {
                given_name: trimmed(given),
                family_name: trimmed(family),
                nick_name: trimmed(nick),
                preferred_language: trimmed(language),
                gender: gender_of(gender),
            },
            display: trimmed(display)
                .or_else(|| trimmed(&format!("{} {}", given.trim(), family.trim()))),
        }
    }

    /// These names, if they hold the given and the family name a new human needs; else the
    /// first of `missing` (the calling command's errors for them) that applies.
    fn required(self, [given, family]: [ZitadelError; 2]) -> Result<Self, ZitadelError> {
        match (&self.profile.given_name, &self.profile.family_name) {
            (None, _) => Err(given),
            (_, None) => Err(family),
            _ => Ok(self),
        }
    }
}

/// What adding a human answers when a name is missing.
const ADD_NAMES: [ZitadelError; 2] = [ADD_GIVEN_NAME_EMPTY, ADD_FAMILY_NAME_EMPTY];
const EMAIL_RESEND: (ContactKind, Op) = (ContactKind::Email, Op::ResendEmailCode);
const PHONE_RESEND: (ContactKind, Op) = (ContactKind::Phone, Op::ResendPhoneCode);
const EMAIL_PROOF: (ContactKind, Op) = (ContactKind::Email, Op::VerifyEmail);
const PHONE_PROOF: (ContactKind, Op) = (ContactKind::Phone, Op::VerifyPhone);

/// What creating a human answers: its id and the codes the caller asked to see.
struct Created {
    id: UserId,
    email_code: Option<String>,
    phone_code: Option<String>,
}

fn password(raw: &str) -> Result<Option<NewPassword>, ZitadelError> {
    if raw.is_empty() {
        return Ok(None);
    }
    Password::parse(raw)
        .map(|p| Some(NewPassword::Plain(p)))
        .ok_or(PASSWORD_TOO_SHORT)
}

/// A `hashed_password` in a form `passwords::encoded` reads, or `refusal`.
pub(super) fn hashed_password(
    encoded: &str,
    refusal: ZitadelError,
) -> Result<NewPassword, ZitadelError> {
    encoded::from_encoded(encoded)
        .map(NewPassword::Imported)
        .map_err(|_| refusal)
}

fn totp_secret(raw: &str) -> Result<Option<Vec<u8>>, ZitadelError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let normalized = raw.trim_end_matches('=').to_ascii_uppercase();
    BASE32_NOPAD
        .decode(normalized.as_bytes())
        .map(Some)
        .map_err(|_| BAD_BODY)
}

/// Text a request gave (a username, a name, a language tag), trimmed; none when blank, as
/// proto3 sends text it does not have.
pub(super) fn trimmed(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|text| !text.is_empty())
}

fn proof_v1(verified: bool) -> Proof {
    if verified {
        Proof::Verified
    } else {
        Proof::Later
    }
}

/// Creates the account with its verifications and imported TOTP secret, as one write.
async fn create(ctx: &Ctx, realm: &Realm, human: Human) -> Result<Created, ZitadelError> {
    let new = NewHuman {
        account: NewAccount {
            id: human.id,
            username: human.username,
            password: human.password,
            profile: human.names.profile,
            display_name: human.names.display,
            identities: human.identities,
            ..NewAccount::default()
        },
        email: human.email,
        phone: human.phone,
        totp_secret: human.totp_secret,
        metadata: human.metadata,
    };
    let (id, codes) = ctx
        .svc
        .create_human(realm, new, &ctx.client)
        .await
        .map_err(domain)?;
    Ok(Created {
        id,
        email_code: codes.email,
        phone_code: codes.phone,
    })
}

pub(super) fn email_proof(v: Option<&user::set_human_email::Verification>) -> Proof {
    use user::set_human_email::Verification::*;
    match v {
        Some(IsVerified(true)) => Proof::Verified,
        Some(ReturnCode(_)) => Proof::ReturnCode,
        _ => Proof::SendCode,
    }
}

pub(super) fn phone_proof(v: Option<&user::set_human_phone::Verification>) -> Proof {
    use user::set_human_phone::Verification::*;
    match v {
        Some(IsVerified(true)) => Proof::Verified,
        Some(ReturnCode(_)) => Proof::ReturnCode,
        _ => Proof::SendCode,
    }
}

/// v2's `AddHumanUserRequest`, also the admins of `AddOrganization`.
fn human_v2(req: user::AddHumanUserRequest) -> Result<Human, ZitadelError> {
    use user::add_human_user_request::PasswordType;
    let profile = req.profile.unwrap_or_default();
    let email_field = req.email.ok_or(INVALID_EMAIL)?;
    Ok(Human {
        id: req.user_id.as_deref().map(user_id).transpose()?,
        username: req.username.as_deref().and_then(trimmed),
        email: Some((
            email(&email_field.email)?,
            email_proof(email_field.verification.as_ref()),
        )),
        // ZITADEL checks the names after the address, before the number.
        names: Names::new(
            &profile.given_name,
            &profile.family_name,
            profile.nick_name.as_deref().unwrap_or_default(),
            profile.display_name.as_deref().unwrap_or_default(),
            profile.preferred_language.as_deref().unwrap_or_default(),
            profile.gender.unwrap_or_default(),
        )
        .required(ADD_NAMES)?,
        phone: req
            .phone
            .filter(|p| !p.phone.is_empty())
            .map(|p| {
                Ok::<_, ZitadelError>((phone(&p.phone)?, phone_proof(p.verification.as_ref())))
            })
            .transpose()?,
        password: match &req.password_type {
            Some(PasswordType::Password(p)) => password(&p.password)?,
            Some(PasswordType::HashedPassword(h)) => {
                Some(hashed_password(&h.hash, HASH_NOT_SUPPORTED)?)
            }
            None => None,
        },
        totp_secret: totp_secret(req.totp_secret.as_deref().unwrap_or_default())?,
        identities: req
            .idp_links
            .into_iter()
            .map(identity_of)
            .collect::<Result<_, _>>()?,
        metadata: req.metadata.into_iter().map(|m| (m.key, m.value)).collect(),
    })
}

pub async fn add_human_user(
    ctx: Ctx,
    req: user::AddHumanUserRequest,
) -> Result<user::AddHumanUserResponse, ZitadelError> {
    use crate::proto::zitadel::object::v2::organization::Org;
    let organization = req.organization.as_ref().or(req.organisation.as_ref());
    let org_id = match organization.and_then(|o| o.org.as_ref()) {
        Some(Org::OrgId(id)) => Some(id.clone()),
        Some(Org::OrgDomain(_)) | None => None,
    };
    let realm = ctx.named_org(org_id.as_deref()).await?;
    ctx.require(Permission::UserWrite)?;
    let created = create(&ctx, &realm, human_v2(req)?).await?;
    Ok(user::AddHumanUserResponse {
        user_id: created.id.to_string(),
        details: Some(created_v2(
            &ctx,
            realm.org_id.as_deref().unwrap_or_default(),
        )),
        email_code: created.email_code,
        phone_code: created.phone_code,
    })
}

pub async fn add_human_user_v1(
    ctx: Ctx,
    req: mgmt::AddHumanUserRequest,
) -> Result<mgmt::AddHumanUserResponse, ZitadelError> {
    ctx.require(Permission::UserWrite)?;
    let profile = req.profile.unwrap_or_default();
    let email_field = req.email.ok_or(INVALID_EMAIL)?;
    let human = Human {
        username: trimmed(&req.user_name),
        email: Some((
            email(&email_field.email)?,
            proof_v1(email_field.is_email_verified),
        )),
        names: Names::new(
            &profile.first_name,
            &profile.last_name,
            &profile.nick_name,
            &profile.display_name,
            &profile.preferred_language,
            profile.gender,
        )
        .required(ADD_NAMES)?,
        phone: req
            .phone
            .filter(|p| !p.phone.is_empty())
            .map(|p| Ok::<_, ZitadelError>((phone(&p.phone)?, proof_v1(p.is_phone_verified))))
            .transpose()?,
        password: password(&req.initial_password)?,
        ..Human::default()
    };
    let created = create(&ctx, &ctx.realm, human).await?;
    Ok(mgmt::AddHumanUserResponse {
        user_id: created.id.to_string(),
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

pub async fn import_human_user(
    ctx: Ctx,
    req: mgmt::ImportHumanUserRequest,
) -> Result<mgmt::ImportHumanUserResponse, ZitadelError> {
    ctx.require(Permission::UserWrite)?;
    let profile = req.profile.unwrap_or_default();
    let email_field = req.email.ok_or(INVALID_EMAIL)?;
    let human = Human {
        username: trimmed(&req.user_name),
        email: Some((
            email(&email_field.email)?,
            proof_v1(email_field.is_email_verified),
        )),
        names: Names::new(
            &profile.first_name,
            &profile.last_name,
            &profile.nick_name,
            &profile.display_name,
            &profile.preferred_language,
            profile.gender,
        )
        .required([GIVEN_NAME_EMPTY, FAMILY_NAME_EMPTY])?,
        phone: req
            .phone
            .filter(|p| !p.phone.is_empty())
            .map(|p| Ok::<_, ZitadelError>((phone(&p.phone)?, proof_v1(p.is_phone_verified))))
            .transpose()?,
        // A hash, when given, takes the plain password's place, as in ZITADEL.
        password: match req.hashed_password.filter(|h| !h.value.is_empty()) {
            Some(h) => Some(hashed_password(&h.value, HASH_NOT_SUPPORTED)?),
            None => password(&req.password)?,
        },
        totp_secret: totp_secret(&req.otp_code)?,
        ..Human::default()
    };
    let created = create(&ctx, &ctx.realm, human).await?;
    let passwordless_registration = if req.request_passwordless_registration {
        Some(passkeys::import_registration(&ctx, &created.id).await?)
    } else {
        None
    };
    Ok(mgmt::ImportHumanUserResponse {
        user_id: created.id.to_string(),
        details: Some(created_v1(&ctx, ctx.org_id())),
        passwordless_registration,
    })
}

async fn new_org(ctx: &Ctx, name: &str, org_id: Option<&str>) -> Result<Realm, ZitadelError> {
    if name.trim().is_empty() {
        return Err(INVALID_ORG);
    }
    ctx.svc
        .create_org(
            &ctx.realm.project_id,
            name.trim(),
            org_id.filter(|id| !id.is_empty()),
        )
        .await
        .map_err(domain)
}

pub async fn add_org(
    ctx: Ctx,
    req: mgmt::AddOrgRequest,
) -> Result<mgmt::AddOrgResponse, ZitadelError> {
    ctx.require(Permission::OrgCreate)?;
    let realm = new_org(&ctx, &req.name, None).await?;
    let id = realm.org_id.unwrap_or_default();
    Ok(mgmt::AddOrgResponse {
        details: Some(created_v1(&ctx, &id)),
        id,
    })
}

/// v2's organization with its first admins, created as new human users. Every admin is read
/// before anything is created, so that a bad one leaves no organization behind. An existing
/// user named as admin (`userId`) is refused: Tessera keeps no organization members, its
/// organizations are administered by machine users.
pub async fn add_organization(
    ctx: Ctx,
    req: org::AddOrganizationRequest,
) -> Result<org::AddOrganizationResponse, ZitadelError> {
    use org::add_organization_request::admin::UserType;
    ctx.require(Permission::OrgCreate)?;
    let mut admins = Vec::with_capacity(req.admins.len());
    for admin in req.admins {
        match admin.user_type {
            Some(UserType::Human(human)) => admins.push(human_v2(human)?),
            Some(UserType::UserId(_)) => return Err(ORG_MEMBERS_UNSUPPORTED),
            None => {}
        }
    }
    let chosen_id = req
        .organization_id
        .filter(|id| !id.is_empty())
        .or(req.org_id);
    let realm = new_org(&ctx, &req.name, chosen_id.as_deref()).await?;
    let mut created_admins = Vec::with_capacity(admins.len());
    for human in admins {
        let created = create(&ctx, &realm, human).await?;
        created_admins.push(org::add_organization_response::CreatedAdmin {
            user_id: created.id.to_string(),
            email_code: created.email_code,
            phone_code: created.phone_code,
        });
    }
    let id = realm.org_id.unwrap_or_default();
    Ok(org::AddOrganizationResponse {
        details: Some(created_v2(&ctx, &id)),
        organization_id: id,
        created_admins,
    })
}

pub async fn set_email(
    ctx: Ctx,
    req: user::SetEmailRequest,
) -> Result<user::SetEmailResponse, ZitadelError> {
    use user::set_email_request::Verification::*;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let proof = match req.verification {
        Some(IsVerified(true)) => Proof::Verified,
        Some(ReturnCode(_)) => Proof::ReturnCode,
        _ => Proof::SendCode,
    };
    let change = HumanChange {
        email: Some((email(&req.email)?, proof)),
        if_unchanged: IfUnchanged::Refuse,
        ..HumanChange::default()
    };
    let verification_code = change_human(&ctx, &id, change).await?.email;
    Ok(user::SetEmailResponse {
        details: Some(details_v2(&ctx)),
        verification_code,
    })
}

pub async fn set_phone(
    ctx: Ctx,
    req: user::SetPhoneRequest,
) -> Result<user::SetPhoneResponse, ZitadelError> {
    use user::set_phone_request::Verification::*;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let proof = match req.verification {
        Some(IsVerified(true)) => Proof::Verified,
        Some(ReturnCode(_)) => Proof::ReturnCode,
        _ => Proof::SendCode,
    };
    let change = HumanChange {
        phone: Some(Some((phone(&req.phone)?, proof))),
        if_unchanged: IfUnchanged::Refuse,
        ..HumanChange::default()
    };
    let verification_code = change_human(&ctx, &id, change).await?.phone;
    Ok(user::SetPhoneResponse {
        details: Some(details_v2(&ctx)),
        verification_code,
    })
}

/// A change of the user, as one write (`Service::change_human`); the codes to hand back.
pub(super) async fn change_human(
    ctx: &Ctx,
    id: &UserId,
    change: HumanChange<'_>,
) -> Result<ContactCodes, ZitadelError> {
    ctx.svc
        .change_human(&ctx.realm, id, change, &ctx.client)
        .await
        .map_err(domain)
}

/// A new code for the pending address or number, sent unless the caller asks for it back;
/// refusals as `op`'s.
async fn resend(
    ctx: Ctx,
    raw: &str,
    (kind, op): (ContactKind, Op),
    return_code: bool,
) -> Result<(Ctx, Option<String>), ZitadelError> {
    let (ctx, id) = ctx.write_of(raw).await?;
    let proof = if return_code {
        Proof::ReturnCode
    } else {
        Proof::SendCode
    };
    let code = ctx
        .svc
        .resend_contact_code(&ctx.realm, &id, kind, proof, &ctx.client)
        .await
        .map_err(|e| ZitadelError::from_domain(op, e))?;
    Ok((ctx, code))
}

pub async fn resend_email_code(
    ctx: Ctx,
    req: user::ResendEmailCodeRequest,
) -> Result<user::ResendEmailCodeResponse, ZitadelError> {
    use user::resend_email_code_request::Verification;
    let return_code = matches!(req.verification, Some(Verification::ReturnCode(_)));
    let (ctx, verification_code) = resend(ctx, &req.user_id, EMAIL_RESEND, return_code).await?;
    Ok(user::ResendEmailCodeResponse {
        details: Some(details_v2(&ctx)),
        verification_code,
    })
}

pub async fn resend_phone_code(
    ctx: Ctx,
    req: user::ResendPhoneCodeRequest,
) -> Result<user::ResendPhoneCodeResponse, ZitadelError> {
    use user::resend_phone_code_request::Verification;
    let return_code = matches!(req.verification, Some(Verification::ReturnCode(_)));
    let (ctx, verification_code) = resend(ctx, &req.user_id, PHONE_RESEND, return_code).await?;
    Ok(user::ResendPhoneCodeResponse {
        details: Some(details_v2(&ctx)),
        verification_code,
    })
}

/// Proves a pending address or number; the call, moved to the user's organization.
/// Refusals as `op`'s.
async fn verify(
    ctx: Ctx,
    raw: &str,
    (kind, op): (ContactKind, Op),
    code: &str,
) -> Result<Ctx, ZitadelError> {
    let (ctx, id) = ctx.write_of(raw).await?;
    ctx.svc
        .verify_contact(&ctx.realm, &id, kind, code, &ctx.client)
        .await
        .map_err(|e| ZitadelError::from_domain(op, e))?;
    Ok(ctx)
}

pub async fn verify_email(
    ctx: Ctx,
    req: user::VerifyEmailRequest,
) -> Result<user::VerifyEmailResponse, ZitadelError> {
    let ctx = verify(ctx, &req.user_id, EMAIL_PROOF, &req.verification_code).await?;
    Ok(user::VerifyEmailResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn verify_phone(
    ctx: Ctx,
    req: user::VerifyPhoneRequest,
) -> Result<user::VerifyPhoneResponse, ZitadelError> {
    let ctx = verify(ctx, &req.user_id, PHONE_PROOF, &req.verification_code).await?;
    Ok(user::VerifyPhoneResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// v2: a user of any organization, with everything it holds (factors, sessions, codes).
pub async fn delete_user(
    ctx: Ctx,
    req: user::DeleteUserRequest,
) -> Result<user::DeleteUserResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    delete(&ctx, &id).await?;
    Ok(user::DeleteUserResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// Management v1: a user of the call's organization.
pub async fn remove_user(
    ctx: Ctx,
    req: mgmt::RemoveUserRequest,
) -> Result<mgmt::RemoveUserResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    delete(&ctx, &id).await?;
    Ok(mgmt::RemoveUserResponse {
        details: Some(details_v1(&ctx)),
    })
}

async fn delete(ctx: &Ctx, id: &UserId) -> Result<(), ZitadelError> {
    ctx.svc.delete_account(&ctx.realm, id).await.map_err(domain)
}

pub async fn remove_phone(
    ctx: Ctx,
    req: user::RemovePhoneRequest,
) -> Result<user::RemovePhoneResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let change = HumanChange {
        phone: Some(None),
        if_unchanged: IfUnchanged::Refuse,
        ..HumanChange::default()
    };
    change_human(&ctx, &id, change).await?;
    Ok(user::RemovePhoneResponse {
        details: Some(details_v2(&ctx)),
    })
}
