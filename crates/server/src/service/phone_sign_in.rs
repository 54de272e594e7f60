//! A phone number as the first factor: a texted code signs in the account that has the
//! number, or signs a new one up with it (Identity Toolkit's `sendVerificationCode` and
//! `signInWithPhoneNumber`; the JS SDK's `signInWithPhoneNumber`), or puts the number on the
//! caller's account (`linkWithPhoneNumber`, `updatePhoneNumber`).
//!
//! A code for a number that no account has belongs to no user until it is used; whoever uses
//! it first gets the account. A phone sign-in cannot be followed by a second factor, so an
//! account with second factors cannot be signed in to, or linked to a number, this way (it
//! would skip them), as in Firebase.

use data_encoding::BASE64URL_NOPAD;
use tessera_core::challenge::{Purpose, SMS_CODE_LIFETIME};
use tessera_core::{DomainError, PhoneNumber, Realm, User};
use time::{Duration, OffsetDateTime};

use super::accounts::{AccountChanges, NewAccount};
use super::delivery::ClientInfo;
use super::{AppEvidence, Authenticated, Service, Session, SignIn};
use crate::crypto::{code_hash, same_digest};

/// The first factor's provider id in ID tokens and refresh tokens.
const PHONE: &str = "phone";
/// How long a temporary proof of a number is taken: as long as a code lives.
const PHONE_PROOF_LIFETIME: Duration = SMS_CODE_LIFETIME;
const PROOF_PURPOSE: &str = "phone-proof";

fn proof_data(realm: &Realm, phone: &PhoneNumber, expires: i64) -> String {
    format!("{}|{}|{expires}", realm.id.0, phone.as_str())
}

/// What a phone code is used for.
pub enum PhoneCodeUse {
    /// Sign in to the account that has the number, or sign one up with it.
    SignUpOrIn,
    /// Sign in again to the account that has the number (the JS SDK's
    /// `reauthenticateWithPhoneNumber`): there must be one.
    Reauthenticate,
    /// Put the number on the caller's account.
    Link(Box<Authenticated>),
}

/// How the caller proves a number.
pub enum PhoneProof<'a> {
    /// A code of `send_phone_sign_in_code`, and the `sessionInfo` that names it.
    Code {
        session_info: &'a str,
        code: &'a str,
    },
    /// A temporary proof of such a code, given when a link found the number taken, and the
    /// number.
    Temporary { proof: &'a str, phone: PhoneNumber },
}

/// How using a proof of a number ended.
pub enum PhoneOutcome {
    SignedIn(Box<PhoneSignIn>),
    /// The number is another account's: with `proof`, valid for `expires_in` seconds, the
    /// caller may sign in to that account instead (Firebase's `temporaryProof`).
    Taken {
        phone: PhoneNumber,
        proof: String,
        expires_in: i64,
    },
}

/// A phone sign-in's outcome.
pub struct PhoneSignIn {
    pub user: User,
    pub session: Session,
    /// Whether the code signed a new account up.
    pub is_new: bool,
}

impl Service {
    /// Texts a code that signs in with `phone`; the `sessionInfo` that names it.
    pub async fn send_phone_sign_in_code(
        &self,
        realm: &Realm,
        phone: &PhoneNumber,
        evidence: &AppEvidence,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        self.check_phone_sign_in_allowed(realm).await?;
        self.app_verifier.verify(evidence)?;
        let owner = self.phone_owner(realm, phone).await?;
        if let Some(user) = &owner {
            self.refuse_second_factor_users(realm, user).await?;
        }
        let owner = owner.as_ref().map(|user| &user.id);
        self.send_code(
            realm,
            owner,
            Purpose::FirstFactor,
            phone,
            None,
            None,
            client,
        )
        .await
    }

    /// Uses a proof of the number as `purpose` says. Either way the session is a phone
    /// sign-in; a link to another account's number with a code gives a temporary proof
    /// instead, with which the caller may sign in to that account (with a temporary proof,
    /// such a link is `PhoneNumberExists`).
    pub async fn sign_in_with_phone(
        &self,
        realm: &Realm,
        proof: PhoneProof<'_>,
        purpose: PhoneCodeUse,
        client: &ClientInfo,
    ) -> Result<PhoneOutcome, DomainError> {
        self.check_phone_sign_in_allowed(realm).await?;
        let (phone, by_code) = match proof {
            PhoneProof::Code { session_info, code } => (
                self.use_phone_code(realm, session_info, code, client)
                    .await?,
                true,
            ),
            PhoneProof::Temporary { proof, phone } => {
                self.check_temporary_proof(realm, &phone, proof)?;
                (phone, false)
            }
        };
        let now = self.clock.now();
        let links = matches!(purpose, PhoneCodeUse::Link(_));
        let (user, is_new) = match purpose {
            PhoneCodeUse::Link(me) => match self.put_phone(*me, &phone).await {
                Err(DomainError::PhoneNumberExists) if by_code => {
                    let proof = self.temporary_proof(realm, &phone, now + PHONE_PROOF_LIFETIME);
                    return Ok(PhoneOutcome::Taken {
                        phone,
                        proof,
                        expires_in: PHONE_PROOF_LIFETIME.whole_seconds(),
                    });
                }
                linked => (linked?, false),
            },
            PhoneCodeUse::SignUpOrIn => self.phone_account(realm, &phone, true).await?,
            PhoneCodeUse::Reauthenticate => self.phone_account(realm, &phone, false).await?,
        };
        let sign_in = SignIn::first_factor(PHONE, now);
        let session = if is_new || links {
            self.start_session(realm, &user, sign_in).await?
        } else {
            self.start_sign_in_session(realm, &user, sign_in).await?
        };
        Ok(PhoneOutcome::SignedIn(Box::new(PhoneSignIn {
            user,
            session,
            is_new,
        })))
    }

    /// Uses up a code of `send_phone_sign_in_code`; the number it went to.
    async fn use_phone_code(
        &self,
        realm: &Realm,
        session_info: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<PhoneNumber, DomainError> {
        let (challenge, check) = self
            .open_challenge(
                session_info,
                |c| c.purpose == Purpose::FirstFactor && c.realm == realm.id,
                client,
                DomainError::InvalidSessionInfo,
            )
            .await?;
        if !same_digest(&challenge.code_hash, &code_hash(session_info, code)) {
            let wrong = DomainError::InvalidCode;
            return Err(self
                .check_failed(check, "phone sign-in: wrong code", wrong)
                .await);
        }
        if !self
            .store
            .use_challenge(&challenge.id, &self.pass(&check))
            .await?
        {
            return Err(DomainError::InvalidSessionInfo);
        }
        challenge.destination.ok_or(DomainError::InvalidSessionInfo)
    }

    /// A temporary proof that the caller had a code for `phone` in `realm`, until `expires`:
    /// the moment and its MAC under the master key, nothing stored. It may be used more than
    /// once until then, as a code's session could.
    fn temporary_proof(
        &self,
        realm: &Realm,
        phone: &PhoneNumber,
        expires: OffsetDateTime,
    ) -> String {
        let expires = expires.unix_timestamp();
        let mac = self
            .master
            .mac(PROOF_PURPOSE, &proof_data(realm, phone, expires));
        format!("{expires}.{}", BASE64URL_NOPAD.encode(&mac))
    }

    fn check_temporary_proof(
        &self,
        realm: &Realm,
        phone: &PhoneNumber,
        proof: &str,
    ) -> Result<(), DomainError> {
        let (expires, mac) = proof
            .split_once('.')
            .ok_or(DomainError::InvalidTemporaryProof)?;
        let expires: i64 = expires
            .parse()
            .map_err(|_| DomainError::InvalidTemporaryProof)?;
        let mac = BASE64URL_NOPAD
            .decode(mac.as_bytes())
            .map_err(|_| DomainError::InvalidTemporaryProof)?;
        let data = proof_data(realm, phone, expires);
        if !self.master.mac_matches(PROOF_PURPOSE, &data, &mac)
            || expires <= self.clock.now().unix_timestamp()
        {
            return Err(DomainError::InvalidTemporaryProof);
        }
        Ok(())
    }

    /// A tenant follows its project (`phone_sign_in_enabled`).
    async fn check_phone_sign_in_allowed(&self, realm: &Realm) -> Result<(), DomainError> {
        let allowed = match &realm.tenant_id {
            None => self.phone_sign_in_enabled(realm),
            Some(_) => self.phone_sign_in_enabled(&self.realm(&realm.project_id, None).await?),
        };
        if allowed {
            Ok(())
        } else {
            Err(DomainError::PhoneSignInDisabled)
        }
    }

    async fn phone_owner(
        &self,
        realm: &Realm,
        phone: &PhoneNumber,
    ) -> Result<Option<User>, DomainError> {
        Ok(self
            .store
            .find_user_by_phone(&realm.id, phone.as_str())
            .await?)
    }

    /// A phone sign-in would skip a user's second factors.
    async fn refuse_second_factor_users(
        &self,
        realm: &Realm,
        user: &User,
    ) -> Result<(), DomainError> {
        if self.ready_factors(realm, user).await?.is_empty() {
            Ok(())
        } else {
            Err(DomainError::PhoneOfMfaUser)
        }
    }

    /// The account that has `phone`, if it may sign in, or (`may_sign_up`) a new one with it;
    /// and whether it is new.
    async fn phone_account(
        &self,
        realm: &Realm,
        phone: &PhoneNumber,
        may_sign_up: bool,
    ) -> Result<(User, bool), DomainError> {
        let existing = match self.phone_owner(realm, phone).await? {
            Some(user) => user,
            None if !may_sign_up => return Err(DomainError::UserNotFound),
            None => {
                let account = NewAccount {
                    phone_number: Some(phone.clone()),
                    last_login_at: Some(self.clock.now()),
                    ..NewAccount::default()
                };
                match self.insert_account(realm, account).await {
                    Ok(user) => return Ok((user, true)),
                    // Another code for the number signed it up first: that account is the one.
                    Err(DomainError::PhoneNumberExists) => self
                        .phone_owner(realm, phone)
                        .await?
                        .ok_or(DomainError::PhoneNumberExists)?,
                    Err(e) => return Err(e),
                }
            }
        };
        existing.ensure_active()?;
        self.refuse_second_factor_users(realm, &existing).await?;
        Ok((existing, false))
    }

    /// Puts `phone` on the caller's account (a first number or a new one).
    async fn put_phone(&self, me: Authenticated, phone: &PhoneNumber) -> Result<User, DomainError> {
        if !me.factors.is_empty() {
            return Err(DomainError::PhoneOfMfaUser);
        }
        match self.phone_owner(&me.realm, phone).await? {
            Some(owner) if owner.id == me.user.id => Ok(me.user),
            Some(_) => Err(DomainError::PhoneNumberExists),
            None => {
                let changes = AccountChanges {
                    phone_number: Some(Some(phone.clone())),
                    ..AccountChanges::default()
                };
                self.change_account(&me.realm, &me.user.id, changes, None, |_| Ok(()))
                    .await
            }
        }
    }
}
