//! Users' contact data the ZITADEL way: an email address or phone number set as verified by a
//! trusted caller, or proven with a code (6 characters, an hour). The code is returned to the
//! caller when it asks for it, or queued for delivery by email or SMS.
//!
//! A new email address replaces the old one at once, unverified; a new phone number takes effect
//! only once proven, so an unproven number never receives OTP SMS codes.

use tessera_core::contact::{
    CONTACT_CODE_ATTEMPTS, CONTACT_CODE_LEN, CONTACT_CODE_LIFETIME, ContactCode, ContactKind,
};
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::{DomainError, EmailAddress, FactorKind, PhoneNumber, Realm, User, UserId};

use super::attempts::Subject;
use super::delivery::{ClientInfo, Destination, minutes};
use super::{AccountChanges, Service, callers::internal};
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

const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Service {
    /// What a contact code's MAC is bound to.
    fn contact_mac_purpose(realm: &Realm, user: &UserId, kind: ContactKind) -> String {
        format!("contact:{}:{}:{}", realm.id.0, user.as_str(), kind.as_str())
    }

    /// Starts a verification of `to`: the code goes out, or is returned, as `proof` says.
    /// `changed`, the user with the new address, is stored with the code: when a limit stops
    /// the code, the address does not change either.
    async fn issue_contact_code(
        &self,
        realm: &Realm,
        user: &User,
        to: Destination<'_>,
        proof: Proof,
        client: &ClientInfo,
        changed: Option<&User>,
    ) -> Result<Option<String>, DomainError> {
        let kind = match to {
            Destination::Email(_) => ContactKind::Email,
            Destination::Phone(_) => ContactKind::Phone,
        };
        let code = random_chars(CONTACT_CODE_LEN, CODE_ALPHABET).map_err(internal)?;
        let outgoing = match proof {
            Proof::SendCode => {
                let content = MessageContent {
                    kind: MessageKind::VerifyContact,
                    code: code.clone(),
                    locale: client.locale_for(user),
                    valid_minutes: minutes(CONTACT_CODE_LIFETIME),
                    session_info: None,
                };
                Some(self.outgoing(&realm.id, to, &content, client)?)
            }
            Proof::Verified | Proof::ReturnCode | Proof::Later => None,
        };
        let pending = ContactCode {
            realm: realm.id.clone(),
            user: user.id.clone(),
            kind,
            code_hash: self
                .master
                .mac(&Self::contact_mac_purpose(realm, &user.id, kind), &code),
            value: to.to_string(),
            expires_at: self.clock.now() + CONTACT_CODE_LIFETIME,
            attempts_left: CONTACT_CODE_ATTEMPTS,
        };
        self.store
            .put_contact_code(&pending, changed, outgoing.as_slice())
            .await?;
        if outgoing.is_some() {
            self.queued();
        }
        Ok((proof == Proof::ReturnCode).then_some(code))
    }

    pub async fn set_email(
        &self,
        realm: &Realm,
        id: &UserId,
        email: EmailAddress,
        proof: Proof,
        client: &ClientInfo,
    ) -> Result<Option<String>, DomainError> {
        let changes = AccountChanges {
            email: Some(Some(email.clone())),
            email_verified: Some(proof == Proof::Verified),
            ..AccountChanges::default()
        };
        if proof == Proof::Verified {
            self.update_account(realm, id, changes).await?;
            self.store
                .take_contact_code(&realm.id, id, ContactKind::Email)
                .await?;
            return Ok(None);
        }
        let user = self.get_account(realm, id).await?;
        let changed = self.changed(user, changes).await?;
        let to = Destination::Email(&email);
        self.issue_contact_code(realm, &changed, to, proof, client, Some(&changed))
            .await
    }

    pub async fn set_phone(
        &self,
        realm: &Realm,
        id: &UserId,
        phone: PhoneNumber,
        proof: Proof,
        client: &ClientInfo,
    ) -> Result<Option<String>, DomainError> {
        if proof == Proof::Verified {
            self.store
                .take_contact_code(&realm.id, id, ContactKind::Phone)
                .await?;
            self.change_phone(realm, id, Some(phone)).await?;
            return Ok(None);
        }
        let user = self.get_account(realm, id).await?;
        self.issue_contact_code(
            realm,
            &user,
            Destination::Phone(&phone),
            proof,
            client,
            None,
        )
        .await
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

    /// Whether `value` is already the user's address or number, proven or awaiting its code:
    /// ZITADEL refuses to set it again ("not changed") and asks for a resend instead.
    pub async fn is_current_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
        value: &str,
    ) -> Result<bool, DomainError> {
        let user = self.get_account(realm, id).await?;
        let current = match kind {
            ContactKind::Email => user.email.as_ref().map(EmailAddress::as_str),
            ContactKind::Phone => user.phone_number.as_deref(),
        };
        if current == Some(value) {
            return Ok(true);
        }
        let pending = self.pending_contact(realm, id, kind).await?;
        Ok(pending.as_deref() == Some(value))
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
            ContactKind::Email => {
                address = EmailAddress::parse(&pending).ok_or_else(unreadable)?;
                Destination::Email(&address)
            }
            ContactKind::Phone => {
                number = PhoneNumber::parse(&pending).ok_or_else(unreadable)?;
                Destination::Phone(&number)
            }
        };
        self.issue_contact_code(realm, &user, to, proof, client, None)
            .await
    }

    /// Replaces the phone number; the OTP SMS factor goes with the old one (as in ZITADEL).
    async fn change_phone(
        &self,
        realm: &Realm,
        id: &UserId,
        phone: Option<PhoneNumber>,
    ) -> Result<User, DomainError> {
        let user = self.get_account(realm, id).await?;
        if user.phone_number.is_some() {
            match self
                .remove_factors_of_kind(realm, id, FactorKind::SmsOtp)
                .await
            {
                Ok(()) | Err(DomainError::FactorNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        let changes = AccountChanges {
            phone_number: Some(phone),
            ..AccountChanges::default()
        };
        self.update_account(realm, id, changes).await
    }

    pub async fn remove_phone(&self, realm: &Realm, id: &UserId) -> Result<(), DomainError> {
        let user = self.get_account(realm, id).await?;
        if user.phone_number.is_none() {
            return Err(DomainError::ContactNotFound);
        }
        self.change_phone(realm, id, None).await.map(drop)
    }

    /// Proves the pending address or number with its code, once. Each try is an attempt
    /// against the failure limits; a wrong code is recorded as `contact.verification_failed`.
    /// A right code that a concurrent request used (or a new code replaced) since it was read
    /// is answered as if it had come second, not found, and is not counted as a failure.
    pub async fn verify_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: ContactKind,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        self.get_account(realm, id).await?;
        let pending = self
            .store
            .find_contact_code(&realm.id, id, kind)
            .await?
            .ok_or(DomainError::VerificationCodeNotFound)?;
        let subject = Subject {
            failure: "contact.verification_failed",
            ..Subject::new(&realm.id, id, None)
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
            return self.prove_contact(realm, id, &pending).await;
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

    /// Makes the address or number `code` was for the user's, verified.
    async fn prove_contact(
        &self,
        realm: &Realm,
        id: &UserId,
        code: &ContactCode,
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
                self.change_phone(realm, id, Some(phone)).await?;
            }
        }
        Ok(())
    }
}
