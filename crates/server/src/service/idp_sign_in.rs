//! Signing in with an account at an identity provider — Google, Apple, GitHub, an OIDC or
//! SAML provider (Identity Toolkit's `signInWithIdp`; the JS SDK's `signInWithPopup`,
//! `signInWithRedirect` and `signInWithCredential`) — and linking one to the caller's
//! account (`linkWithPopup`, `linkWithCredential`).
//!
//! The account at the provider is one user's per realm. A sign-in finds that user; failing
//! that, the user with the address the provider gives, if the provider vouches for it
//! (otherwise the caller must first sign in to that user and link: Firebase's
//! `needConfirmation`); failing that, it signs a new user up. Taking over an address whose
//! owner never proved it drops what that owner could sign in with (password, number, other
//! providers) and ends their sessions, as in Firebase: whoever registered the address first
//! must not keep a way into the account of the address's real owner.
//!
//! Which credentials are taken is the tokens layer's matter (`IdpTokens`): dev mode's are
//! unchecked, as the Firebase emulator's; production's are the configured providers' own.

use tessera_core::store::{UserRow, UserWrite};
use tessera_core::user::sessions_valid_since;
use tessera_core::{DomainError, EmailAddress, Identity, Realm, User, UserId};

use super::accounts::{AccountChanges, NewAccount};
use super::{FirstFactorOutcome, Service};

/// What an identity provider says of the account a credential is for.
#[derive(Debug, Clone)]
pub struct IdpAssertion {
    pub identity: Identity,
    /// The address the provider gives, and whether it vouches for it.
    pub email: Option<EmailAddress>,
    pub email_verified: bool,
}

/// What the account at the provider is used for.
#[derive(Debug, Clone, Copy)]
pub enum IdpUse<'a> {
    /// Sign in to its user, or sign one up.
    SignUpOrIn,
    /// Sign in to its user again (the JS SDK's `reauthenticateWithCredential`, Firebase's
    /// `autoCreate: false`): there must be one.
    SignIn,
    /// Link it to this user (an ID token's).
    Link(&'a UserId),
}

/// How a sign-in with an identity provider ended.
pub enum IdpOutcome {
    SignedIn(Box<IdpSignIn>),
    /// The provider's address is `user`'s, unproven by the provider: the caller must sign
    /// in to that user another way and link the provider (Firebase's `needConfirmation`).
    NeedConfirmation {
        user: Box<User>,
    },
}

pub struct IdpSignIn {
    pub user: User,
    /// Whether the sign-in created the user.
    pub is_new: bool,
    /// Whether the address's user had another account at the same provider, which this one
    /// replaced (Firebase's `emailRecycled`: the provider gave the address to someone else).
    pub email_recycled: bool,
    pub outcome: FirstFactorOutcome,
}

/// What one attempt decided to write, before it is written.
enum Decision {
    Write {
        row: UserRow,
        email_recycled: bool,
    },
    /// The user already holds the identity as the provider describes it now.
    Unchanged(User),
    NeedConfirmation(User),
}

/// What a decision came to once written.
enum Decided {
    SignedIn {
        user: User,
        is_new: bool,
        email_recycled: bool,
    },
    NeedConfirmation(User),
}

impl Service {
    /// Uses the account `assertion` describes as `purpose` says. Then a session, or a pending
    /// sign-in when a second factor applies, with the provider as the first factor.
    pub async fn sign_in_with_idp(
        &self,
        realm: &Realm,
        assertion: &IdpAssertion,
        purpose: IdpUse<'_>,
    ) -> Result<IdpOutcome, DomainError> {
        let identity = &assertion.identity;
        let key = (&realm.id, &identity.provider_id, &identity.raw_id);
        let decided = self
            .until_written(key, move || async move {
                let decision = self.decide_idp_sign_in(realm, assertion, purpose).await?;
                let (row, email_recycled) = match decision {
                    Decision::Write {
                        row,
                        email_recycled,
                    } => (row, email_recycled),
                    Decision::Unchanged(user) => {
                        return Ok(Some(Decided::SignedIn {
                            user,
                            is_new: false,
                            email_recycled: false,
                        }));
                    }
                    Decision::NeedConfirmation(user) => {
                        return Ok(Some(Decided::NeedConfirmation(user)));
                    }
                };
                let (user, is_new) = match &row {
                    UserRow::New(user) => (user.clone(), true),
                    UserRow::Changed(user) => (user.clone(), false),
                };
                let write = UserWrite {
                    row: Some(row),
                    identities_changed: true,
                    ..UserWrite::default()
                };
                match self.write_user(write).await {
                    Ok(landed) => Ok(landed.then_some(Decided::SignedIn {
                        user,
                        is_new,
                        email_recycled,
                    })),
                    // Another request signed the account or the address up first: decide
                    // again, which finds that user.
                    Err(DomainError::IdentityLinked | DomainError::EmailExists) if is_new => {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        let (mut user, is_new, email_recycled) = match decided {
            Decided::SignedIn {
                user,
                is_new,
                email_recycled,
            } => (user, is_new, email_recycled),
            Decided::NeedConfirmation(user) => {
                return Ok(IdpOutcome::NeedConfirmation {
                    user: Box::new(user),
                });
            }
        };
        let outcome = self
            .after_first_factor(realm, &mut user, &identity.provider_id)
            .await?;
        Ok(IdpOutcome::SignedIn(Box::new(IdpSignIn {
            user,
            is_new,
            email_recycled,
            outcome,
        })))
    }

    /// Which user the assertion signs in to or links to, as that user will be.
    async fn decide_idp_sign_in(
        &self,
        realm: &Realm,
        assertion: &IdpAssertion,
        purpose: IdpUse<'_>,
    ) -> Result<Decision, DomainError> {
        let identity = &assertion.identity;
        let holder = self
            .store
            .find_user_by_identity(&realm.id, &identity.provider_id, &identity.raw_id)
            .await?;
        let email_owner = match &assertion.email {
            Some(email) => self.store.find_user_by_email(&realm.id, email).await?,
            None => None,
        };
        if let IdpUse::Link(id) = purpose {
            if holder.is_some() {
                return Err(DomainError::IdentityLinked);
            }
            let me = self.get_account(realm, id).await?;
            if email_owner.is_some_and(|owner| owner.id != me.id) {
                return Err(DomainError::EmailExists);
            }
            return Ok(linked(me, assertion));
        }
        if let Some(user) = holder {
            user.ensure_active()?;
            if user.identity(&identity.provider_id) == Some(identity) {
                return Ok(Decision::Unchanged(user));
            }
            let mut refreshed = user;
            refreshed.put_identity(identity.clone());
            return Ok(changed(refreshed, false));
        }
        match email_owner {
            Some(owner) if assertion.email_verified => {
                owner.ensure_active()?;
                self.taken_over(owner, assertion).await
            }
            Some(owner) => Ok(Decision::NeedConfirmation(owner)),
            // `EmailNotFound`, which the JS SDK's re-authentication turns into
            // `auth/user-mismatch`; `UserNotFound` would sign the caller out.
            None if matches!(purpose, IdpUse::SignIn) => Err(DomainError::EmailNotFound),
            None => {
                let account = NewAccount {
                    email: assertion.email.clone(),
                    email_verified: assertion.email.is_some() && assertion.email_verified,
                    display_name: identity.display_name.clone(),
                    photo_url: identity.photo_url.clone(),
                    identities: vec![identity.clone()],
                    ..NewAccount::default()
                };
                let user = self.new_user(realm, account).await?.into_user();
                Ok(Decision::Write {
                    row: UserRow::New(user),
                    email_recycled: false,
                })
            }
        }
    }

    /// Gives the user an account at a provider they have none at (ZITADEL's `AddIDPLink`,
    /// which adds and never replaces; Firebase's user has one account per provider).
    pub async fn link_identity(
        &self,
        realm: &Realm,
        id: &UserId,
        identity: Identity,
    ) -> Result<User, DomainError> {
        let provider_id = identity.provider_id.clone();
        let changes = AccountChanges {
            link: Some(identity),
            ..AccountChanges::default()
        };
        self.change_account(realm, id, changes, None, |user| {
            match user.identity(&provider_id) {
                Some(_) => Err(DomainError::ProviderAlreadyLinked),
                None => Ok(()),
            }
        })
        .await
    }

    /// Takes the account `raw_id` at `provider_id` away from the user (ZITADEL's
    /// `RemoveIDPLink`, which names the account): it must be theirs.
    pub async fn unlink_identity(
        &self,
        realm: &Realm,
        id: &UserId,
        provider_id: &str,
        raw_id: &str,
    ) -> Result<User, DomainError> {
        let changes = AccountChanges {
            unlink: vec![provider_id.to_owned()],
            ..AccountChanges::default()
        };
        self.change_account(realm, id, changes, None, |user| {
            match user.identity(provider_id) {
                Some(held) if held.raw_id == raw_id => Ok(()),
                _ => Err(DomainError::IdentityNotFound),
            }
        })
        .await
    }

    /// The address's user, signed in by a provider that vouches for the address: the profile
    /// becomes the provider's, and an owner who never proved the address loses every other
    /// way in.
    async fn taken_over(
        &self,
        owner: User,
        assertion: &IdpAssertion,
    ) -> Result<Decision, DomainError> {
        let identity = &assertion.identity;
        let email_recycled = owner
            .identity(&identity.provider_id)
            .is_some_and(|held| held.raw_id != identity.raw_id);
        let mut changes = AccountChanges {
            display_name: Some(identity.display_name.clone()),
            photo_url: Some(identity.photo_url.clone()),
            email_verified: Some(true),
            link: Some(identity.clone()),
            ..AccountChanges::default()
        };
        if !owner.email_verified {
            changes.password = Some(None);
            changes.phone_number = Some(None);
            changes.unlink = owner
                .identities
                .iter()
                .map(|held| held.provider_id.clone())
                .collect();
            changes.valid_since = Some(sessions_valid_since(self.clock.now()));
        }
        let owner = self.changed(owner, changes.into()).await?;
        Ok(changed(owner, email_recycled))
    }
}

/// The caller's user with the provider linked: a user without an address takes the
/// provider's, and the provider's vouching for the user's address verifies it.
fn linked(mut me: User, assertion: &IdpAssertion) -> Decision {
    if me.email.is_none() && assertion.email.is_some() {
        me.email = assertion.email.clone();
        me.email_verified = assertion.email_verified;
    }
    if assertion.email_verified && assertion.email.is_some() && me.email == assertion.email {
        me.email_verified = true;
    }
    me.put_identity(assertion.identity.clone());
    changed(me, false)
}

fn changed(user: User, email_recycled: bool) -> Decision {
    Decision::Write {
        row: UserRow::Changed(user),
        email_recycled,
    }
}
