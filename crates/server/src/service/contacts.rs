//! Users' contact data the ZITADEL way: an email address or phone number set as verified by a
//! trusted caller, or proven with a code (6 characters, an hour). The code is returned to the
//! caller when it asks for it, or queued for delivery by email or SMS.
//!
//! A new email address replaces the old one at once, unverified; a new phone number takes effect
//! only once proven, so an unproven number never receives OTP SMS codes. A change of a human
//! (`change_human`) is checked whole and written in one transaction with its codes and
//! messages, so a refusal of any part leaves the user as it was.

use tessera_core::contact::{CONTACT_CODE_LEN, ContactCode, ContactKind, InviteMail};
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::metadata::check_entries;
use tessera_core::store::{UserRow, UserWrite};
use tessera_core::{
    DomainError, EmailAddress, Factor, FactorKind, FactorState, PhoneNumber, Realm, User, UserId,
};

use super::accounts::PreparedChanges;
use super::attempts::Subject;
use super::delivery::{ClientInfo, Destination, minutes};
use super::invites::proof_ends;
use super::{AccountChanges, NewAccount, Service, callers::internal};
use crate::crypto::random_chars;

/// How a new address or number is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The caller vouches for it.
    Verified,
    /// A code goes to the address or number.
    SendCode,
    /// A code is returned to the caller.
    ReturnCode,
    /// Unproven for now (ZITADEL v1's unverified contact data): the address is kept
    /// unverified, the number waits; a later `SetEmail`/`SetPhone` asks for a code.
    Later,
}

/// What a change does with an address or number the user already has or awaits a code for,
/// and with the removal of a phone number the user has none of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfUnchanged {
    /// Leaves that part out (ZITADEL's `UpdateHumanUser`).
    #[default]
    Skip,
    /// Refuses the whole change: ZITADEL's "not changed" (`SetEmail`, `SetPhone`), or "not
    /// found" (`RemovePhone`).
    Refuse,
}

/// A change of a human: of the row, of the email address, and of the phone number (a new one,
/// or `Some(None)` to remove it), each new contact proven as its `Proof` says.
#[derive(Debug, Default)]
pub struct HumanChange<'a> {
    pub changes: AccountChanges,
    /// The current password, when it must prove the change: a wrong one changes nothing.
    pub current_password: Option<&'a str>,
    /// The code of a password reset, when it proves the change instead; used up with it.
    pub reset_code: Option<&'a str>,
    pub email: Option<(EmailAddress, Proof)>,
    pub phone: Option<Option<(PhoneNumber, Proof)>>,
    pub if_unchanged: IfUnchanged,
}

/// A new human (ZITADEL's `AddHumanUser` and `ImportHumanUser`): the account, its email
/// address and phone number (each the user's at once if vouched for, else verified by a code;
/// the number only once proven), and a TOTP secret an authenticator app already holds.
#[derive(Debug, Default)]
pub struct NewHuman {
    pub account: NewAccount,
    pub email: Option<(EmailAddress, Proof)>,
    pub phone: Option<(PhoneNumber, Proof)>,
    pub totp_secret: Option<Vec<u8>>,
    /// Metadata entries (key, value), checked before anything is written.
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// The codes a change hands back to its caller (`Proof::ReturnCode`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ContactCodes {
    pub email: Option<String>,
    pub phone: Option<String>,
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Service {
    /// What a contact code's MAC is bound to.
    fn contact_mac_purpose(realm: &Realm, user: &UserId, kind: ContactKind) -> String {
        format!("contact:{}:{}:{}", realm.id.0, user.as_str(), kind.as_str())
    }

    /// A new code of `kind` for `user`'s `value`, and the code as stored (its MAC).
    pub(super) fn new_contact_code(
        &self,
        realm: &Realm,
        user: &User,
        kind: ContactKind,
        value: String,
        invite_mail: Option<InviteMail>,
    ) -> Result<(String, ContactCode), DomainError> {
        let code = random_chars(CONTACT_CODE_LEN, CODE_ALPHABET).map_err(internal)?;
        let stored = ContactCode {
            realm: realm.id.clone(),
            user: user.id.clone(),
            kind,
            code_hash: self
                .master
                .mac(&Self::contact_mac_purpose(realm, &user.id, kind), &code),
            value,
            expires_at: self.clock.now() + kind.lifetime(),
            attempts_left: kind.attempts(),
            invite_mail,
        };
        Ok((code, stored))
    }

    /// Adds to `write` a verification of `to` for `user`: its code, and the message that
    /// carries it when `proof` says to send it. The code itself when the caller is to get it.
    fn start_verification(
        &self,
        write: &mut UserWrite,
        realm: &Realm,
        user: &User,
        to: Destination<'_>,
        proof: Proof,
        client: &ClientInfo,
    ) -> Result<Option<String>, DomainError> {
        let kind = match to {
            Destination::Email(_) => ContactKind::Email,
            Destination::Phone(_) => ContactKind::Phone,
        };
        let (code, stored) = self.new_contact_code(realm, user, kind, to.to_string(), None)?;
        if proof == Proof::SendCode {
            let content = MessageContent {
                kind: MessageKind::VerifyContact,
                code: code.clone(),
                locale: client.locale_for(user),
                valid_minutes: minutes(kind.lifetime()),
                session_info: None,
                link: None,
                new_email: None,
                app_name: None,
            };
            write
                .outgoing
                .push(self.outgoing(&realm.id, to, &content, client)?);
        }
        write.codes.push(stored);
        Ok((proof == Proof::ReturnCode).then_some(code))
    }

    /// Creates `human` in one write: a user that exists already or a delivery limit used up
    /// leaves nothing behind. Its id, and the codes to hand back.
    pub async fn create_human(
        &self,
        realm: &Realm,
        human: NewHuman,
        client: &ClientInfo,
    ) -> Result<(UserId, ContactCodes), DomainError> {
        let NewHuman {
            mut account,
            email,
            phone,
            totp_secret,
            metadata,
        } = human;
        if !metadata.is_empty() {
            check_entries(&metadata)?;
        }
        let vouched = |proof: &Proof| *proof == Proof::Verified;
        account.email_verified = email.as_ref().is_some_and(|(_, p)| vouched(p));
        account.email = email.as_ref().map(|(address, _)| address.clone());
        account.phone_number = phone
            .as_ref()
            .filter(|(_, p)| vouched(p))
            .map(|(number, _)| number.clone());
        let user = self.new_user(realm, account).await?.into_user();
        let mut write = UserWrite {
            metadata,
            ..UserWrite::default()
        };
        if let Some(secret) = totp_secret {
            let mut factor = self.totp_factor(realm, &user.id, &secret)?;
            factor.state = FactorState::Ready;
            factor.enrolled_at = Some(factor.created_at);
            let event = self.event(realm, &user, &factor, "factor.enrolled");
            write.added.push((factor, event));
        }
        let email = email.filter(|(_, p)| !vouched(p));
        let phone = phone.filter(|(_, p)| !vouched(p));
        let codes = self.verifications(&mut write, realm, &user, &email, &phone, client)?;
        let id = user.id.clone();
        write.row = Some(UserRow::New(user));
        self.write_user(write).await?;
        Ok((id, codes))
    }

    /// Adds to `write` the verifications of `user`'s new address and number.
    fn verifications(
        &self,
        write: &mut UserWrite,
        realm: &Realm,
        user: &User,
        email: &Option<(EmailAddress, Proof)>,
        phone: &Option<(PhoneNumber, Proof)>,
        client: &ClientInfo,
    ) -> Result<ContactCodes, DomainError> {
        let mut codes = ContactCodes::default();
        if let Some((address, proof)) = email {
            let to = Destination::Email(address);
            codes.email = self.start_verification(write, realm, user, to, *proof, client)?;
        }
        if let Some((number, proof)) = phone {
            let to = Destination::Phone(number);
            codes.phone = self.start_verification(write, realm, user, to, *proof, client)?;
        }
        Ok(codes)
    }

    /// Checks `change` whole, then writes it in one transaction: a wrong password, a taken
    /// address or number, or a delivery limit used up leaves the user as it was. A phone number
    /// vouched for, or removed, takes the OTP SMS factor with the old one (as in ZITADEL).
    pub async fn change_human(
        &self,
        realm: &Realm,
        id: &UserId,
        change: HumanChange<'_>,
        client: &ClientInfo,
    ) -> Result<ContactCodes, DomainError> {
        let prepared = &PreparedChanges::from(change.changes.clone());
        let change = &change;
        self.until_written((&realm.id, id), move || async move {
            self.try_change_human(realm, id, change, prepared.clone(), client)
                .await
        })
        .await
    }

    /// One attempt of `change_human` over the user as now stored; `None` when the row moved
    /// on before the write.
    async fn try_change_human(
        &self,
        realm: &Realm,
        id: &UserId,
        change: &HumanChange<'_>,
        mut prepared: PreparedChanges,
        client: &ClientInfo,
    ) -> Result<Option<ContactCodes>, DomainError> {
        let HumanChange {
            current_password,
            reset_code,
            email,
            phone,
            if_unchanged,
            ..
        } = change;
        let if_unchanged = *if_unchanged;
        let changes = &mut prepared.changes;
        let (user, factors) = match phone {
            Some(_) => self.user_factors(realm, id).await?,
            None => (self.get_account(realm, id).await?, Vec::new()),
        };
        if let Some(current) = current_password {
            self.prove_password(&user, current).await?;
        }
        let mut write = UserWrite::default();
        if let Some(code) = reset_code {
            write.used_oob = Some(self.reset_code_key(realm, &user.id, code).await?);
        }
        let mut new_email = None;
        if let Some((address, proof)) = email
            && self
                .is_new(
                    realm,
                    &user,
                    ContactKind::Email,
                    address.as_str(),
                    if_unchanged,
                )
                .await?
        {
            changes.email = Some(Some(address.clone()));
            changes.email_verified = Some(*proof == Proof::Verified);
            match proof {
                Proof::Verified => write.dropped.push(ContactKind::Email),
                _ => new_email = Some((address.clone(), *proof)),
            }
        }
        let mut new_phone = None;
        match phone {
            Some(Some((number, proof)))
                if self
                    .is_new(
                        realm,
                        &user,
                        ContactKind::Phone,
                        number.as_str(),
                        if_unchanged,
                    )
                    .await? =>
            {
                match proof {
                    Proof::Verified => {
                        self.replace_phone(&mut write, realm, &user, &factors);
                        changes.phone_number = Some(Some(number.clone()));
                    }
                    _ => new_phone = Some((number.clone(), *proof)),
                }
            }
            Some(None) if self.has_phone(realm, &user).await? => {
                self.replace_phone(&mut write, realm, &user, &factors);
                changes.phone_number = Some(None);
            }
            Some(None) if if_unchanged == IfUnchanged::Refuse => {
                return Err(DomainError::ContactNotFound);
            }
            _ => {}
        }
        let changed = self.changed(user.clone(), prepared).await?;
        write
            .dropped
            .extend(proof_ends(user.email_verified, &changed));
        let codes =
            self.verifications(&mut write, realm, &changed, &new_email, &new_phone, client)?;
        if changed != user
            || !write.codes.is_empty()
            || !write.dropped.is_empty()
            || write.used_oob.is_some()
        {
            write.row = Some(UserRow::Changed(changed));
            if !self.write_user(write).await? {
                return Ok(None);
            }
        }
        Ok(Some(codes))
    }

    /// Whether `value` would change the user's address or number: not when it is the one the
    /// user has or awaits a code for (then ZITADEL says "not changed"; a resend gives a new
    /// code).
    async fn is_new(
        &self,
        realm: &Realm,
        user: &User,
        kind: ContactKind,
        value: &str,
        if_unchanged: IfUnchanged,
    ) -> Result<bool, DomainError> {
        let current = match kind {
            ContactKind::Email | ContactKind::Invite => {
                user.email.as_ref().map(EmailAddress::as_str)
            }
            ContactKind::Phone => user.phone_number.as_deref(),
        };
        let same = current == Some(value)
            || self
                .pending_contact(realm, &user.id, kind)
                .await?
                .as_deref()
                == Some(value);
        match (same, if_unchanged) {
            (false, _) => Ok(true),
            (true, IfUnchanged::Skip) => Ok(false),
            (true, IfUnchanged::Refuse) => Err(DomainError::ContactNotChanged(kind)),
        }
    }

    /// Whether the user has a phone number, proven or awaiting its code (what ZITADEL shows).
    async fn has_phone(&self, realm: &Realm, user: &User) -> Result<bool, DomainError> {
        Ok(user.phone_number.is_some()
            || self
                .pending_contact(realm, &user.id, ContactKind::Phone)
                .await?
                .is_some())
    }

    /// Adds to `write` what goes when the user's phone number is replaced or removed: a
    /// number awaiting its code, and the OTP SMS factors of the old number.
    fn replace_phone(&self, write: &mut UserWrite, realm: &Realm, user: &User, factors: &[Factor]) {
        write.dropped.push(ContactKind::Phone);
        if user.phone_number.is_none() {
            return;
        }
        write.removed = self.removals(realm, user, factors, FactorKind::SmsOtp);
    }

    /// The address or number awaiting its code, if one does.
    pub async fn pending_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
    ) -> Result<Option<String>, DomainError> {
        let pending = self.store.find_contact_code(&realm.id, id, kind).await?;
        Ok(pending.map(|p| p.value))
    }

    /// A new code for the address or number awaiting its proof (ZITADEL's `ResendEmailCode`
    /// and `ResendPhoneCode`), sent or returned as `proof` says; it replaces the pending code
    /// and its attempts.
    pub async fn resend_contact_code(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
        proof: Proof,
        client: &ClientInfo,
    ) -> Result<Option<String>, DomainError> {
        let user = self.get_account(realm, id).await?;
        let pending = self
            .pending_contact(realm, id, kind)
            .await?
            .ok_or(DomainError::VerificationCodeNotFound)?;
        let unreadable = || internal("a pending contact code holds no valid address");
        let (address, number);
        let to = match kind {
            // An invitation is resent as it was mailed (`resend_invite`).
            ContactKind::Invite => return Err(DomainError::VerificationCodeNotFound),
            ContactKind::Email => {
                address = EmailAddress::parse(&pending).ok_or_else(unreadable)?;
                Destination::Email(&address)
            }
            ContactKind::Phone => {
                number = PhoneNumber::parse(&pending).ok_or_else(unreadable)?;
                Destination::Phone(&number)
            }
        };
        let mut write = UserWrite::default();
        let code = self.start_verification(&mut write, realm, &user, to, proof, client)?;
        self.write_user(write).await?;
        Ok(code)
    }

    /// Proves the pending address or number with its code, once (see `use_contact_code`).
    pub async fn verify_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        let used = self.use_contact_code(realm, id, kind, code, client).await?;
        self.prove_contact(realm, id, &used, client).await
    }

    /// Uses up the user's pending code of `kind` if `code` is it: the code as it was stored.
    /// Each try is an attempt against the failure limits; a wrong code is recorded as
    /// `contact.verification_failed`. A right code that a concurrent request used (or a new
    /// code replaced) since it was read is answered as if it had come second, not found, and
    /// is not counted as a failure.
    pub(super) async fn use_contact_code(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
        code: &str,
        client: &ClientInfo,
    ) -> Result<ContactCode, DomainError> {
        self.get_account(realm, id).await?;
        let pending = self
            .store
            .find_contact_code(&realm.id, id, kind)
            .await?
            .ok_or(DomainError::VerificationCodeNotFound)?;
        let subject = Subject {
            failure: "contact.verification_failed",
            ..Subject::new(&realm.id, Some(id), None)
        };
        let check = self
            .begin_check(subject, client, DomainError::InvalidVerificationCode)
            .await?;
        let right = pending.expires_at > self.clock.now()
            && self.master.mac_matches(
                &Self::contact_mac_purpose(realm, id, kind),
                &code.to_ascii_uppercase(),
                &pending.code_hash,
            );
        if !right {
            // With no attempt left, or the code gone meanwhile, it is wrong all the same.
            self.store
                .spend_contact_attempt(&realm.id, id, kind)
                .await?;
        } else if self.store.use_contact_code(&pending).await? {
            self.passed(check).await?;
            return Ok(pending);
        } else if self
            .store
            .find_contact_code(&realm.id, id, kind)
            .await?
            .is_none_or(|now| now.code_hash != pending.code_hash)
        {
            self.passed(check).await?;
            return Err(DomainError::VerificationCodeNotFound);
        }
        let detail = format!("{}: wrong, expired or used-up code", kind.as_str());
        let wrong = DomainError::InvalidVerificationCode;
        Err(self.check_failed(check, &detail, wrong).await)
    }

    /// Makes the address or number `code` was for the user's, verified (an invitation's
    /// address, if it is still the user's).
    async fn prove_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        code: &ContactCode,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        match code.kind {
            ContactKind::Email => {
                let changes = AccountChanges {
                    email_verified: Some(true),
                    ..AccountChanges::default()
                };
                self.update_account(realm, id, changes).await?;
            }
            ContactKind::Phone => {
                let phone = PhoneNumber::parse(&code.value).ok_or(DomainError::Internal)?;
                let change = HumanChange {
                    phone: Some(Some((phone, Proof::Verified))),
                    ..HumanChange::default()
                };
                self.change_human(realm, id, change, client).await?;
            }
            ContactKind::Invite => self.accept_invite(realm, id, code, None).await?,
        }
        Ok(())
    }
}
