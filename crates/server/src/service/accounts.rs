//! Accounts: sign-up, password sign-in, lookup, update, delete, and the admin bulk
//! operations (query, import, batch delete, paged listing).

use std::hash::Hash;
use std::sync::Arc;

use tessera_core::store::{UserQuery, UserRow, UserScope, UserWrite};
use tessera_core::user::sessions_valid_since;
use tessera_core::{
    AccountState, DomainError, EmailAddress, Identity, NewUser, Password, PhoneNumber, Profile,
    ProfilePatch, Realm, User, UserId, UserPatch,
};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::invites::proof_ends;
use super::{
    AdminFactor, Authenticated, FirstFactorOutcome, Notice, Service, Session, SignIn,
    callers::internal,
};
use crate::crypto::random_array;
use crate::passwords::imported::ImportedHash;

/// A password to give an account: typed by its user, hashed here, or brought with another
/// system's hash, kept as it is (and replaced at its first match, see `check_password`).
#[derive(Debug, Clone)]
pub enum NewPassword {
    Plain(Password),
    Imported(ImportedHash),
}

/// A new account, from a sign-up, an admin create or an import.
#[derive(Debug, Default)]
pub struct NewAccount {
    pub id: Option<UserId>,
    /// ZITADEL's username, for users created through that dialect.
    pub username: Option<String>,
    pub profile: Profile,
    pub email: Option<EmailAddress>,
    pub password: Option<NewPassword>,
    pub email_verified: bool,
    pub phone_number: Option<PhoneNumber>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    pub disabled: bool,
    pub custom_attributes: Option<String>,
    pub created_at: Option<OffsetDateTime>,
    pub last_login_at: Option<OffsetDateTime>,
    /// Accounts at identity providers (imported users' `providerUserInfo`).
    pub identities: Vec<Identity>,
}

/// Changes to an account. `Some(None)` clears an attribute.
#[derive(Debug, Default, Clone)]
pub struct AccountChanges {
    pub username: Option<String>,
    pub profile: ProfilePatch,
    pub email: Option<Option<EmailAddress>>,
    /// `Some(None)` takes the password away (Firebase's `deleteProvider: ["password"]`).
    pub password: Option<Option<NewPassword>>,
    pub email_verified: Option<bool>,
    pub phone_number: Option<Option<PhoneNumber>>,
    pub display_name: Option<Option<String>>,
    pub photo_url: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub locked: Option<bool>,
    pub valid_since: Option<OffsetDateTime>,
    pub custom_attributes: Option<Option<String>>,
    /// Identity providers whose account to take away (`deleteProvider`); one the user does
    /// not have is no error.
    pub unlink: Vec<String>,
    /// An account at an identity provider to give the user (an administrator's
    /// `linkProviderUserInfo`), replacing theirs at that provider.
    pub link: Option<Identity>,
}

/// How often a change of a user is made afresh over a row that other writes keep moving on.
const USER_WRITE_TRIES: usize = 16;

/// Account changes to make over the user as read, as often as that takes (`until_written`):
/// the new password, if any, is hashed (the slow part) when an attempt first needs it, and the
/// hash kept for the next.
#[derive(Debug, Clone, Default)]
pub(super) struct PreparedChanges {
    pub changes: AccountChanges,
    password_hash: Arc<OnceCell<String>>,
}

impl From<AccountChanges> for PreparedChanges {
    fn from(changes: AccountChanges) -> Self {
        Self {
            changes,
            password_hash: Arc::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum UserSelector {
    Id(UserId),
    Email(EmailAddress),
    Phone(PhoneNumber),
    /// An account at an identity provider: the provider's id and its own id of the account.
    Identity(String, String),
}

/// One user of an import, with the position it had in the request and its factors.
pub type ImportUser = (usize, NewAccount, Vec<AdminFactor>);

pub struct BatchGetPage {
    pub users: Vec<User>,
    /// The id to continue after, when the page was full.
    pub next: Option<UserId>,
}

impl Service {
    /// End-user sign-up: creates the account and signs it in.
    pub async fn sign_up(
        &self,
        realm: &Realm,
        account: NewAccount,
    ) -> Result<(User, Session), DomainError> {
        let provider = if account.password.is_some() {
            "password"
        } else {
            "anonymous"
        };
        let now = self.clock.now();
        let user = self
            .insert_account(
                realm,
                NewAccount {
                    last_login_at: Some(now),
                    ..account
                },
            )
            .await?;
        let session = self
            .start_session(realm, &user, SignIn::first_factor(provider, now))
            .await?;
        Ok((user, session))
    }

    /// Admin create: the account and its second factors, without a session.
    pub async fn create_account(
        &self,
        realm: &Realm,
        account: NewAccount,
        factors: Vec<AdminFactor>,
    ) -> Result<User, DomainError> {
        let user = self.insert_account(realm, account).await?;
        self.with_factors(realm, user, factors).await
    }

    /// `create_account` in place of the user the account's id names, if any, as Firebase's
    /// import with `allowOverwrite`: the old user's profile, password, identities, factors and
    /// sessions all go, and ID and refresh tokens issued before are no longer accepted.
    async fn replace_account(
        &self,
        realm: &Realm,
        account: NewAccount,
        factors: Vec<AdminFactor>,
    ) -> Result<User, DomainError> {
        let mut user = self.new_user(realm, account).await?.into_user();
        user.valid_since = sessions_valid_since(self.clock.now());
        let user = self.store.replace_user(user).await?;
        self.with_factors(realm, user, factors).await
    }

    async fn with_factors(
        &self,
        realm: &Realm,
        user: User,
        factors: Vec<AdminFactor>,
    ) -> Result<User, DomainError> {
        if !factors.is_empty() {
            self.set_factors(realm, &user, factors).await?;
        }
        Ok(user)
    }

    pub(super) async fn insert_account(
        &self,
        realm: &Realm,
        account: NewAccount,
    ) -> Result<User, DomainError> {
        let user = self.new_user(realm, account).await?;
        Ok(self.store.insert_user(user).await?)
    }

    /// The row of a new account: its password hashed (or its imported hash kept), its id
    /// drawn unless given.
    pub(super) async fn new_user(
        &self,
        realm: &Realm,
        account: NewAccount,
    ) -> Result<NewUser, DomainError> {
        let password_hash = match &account.password {
            Some(p) => Some(self.password_hash(p).await?),
            None => None,
        };
        let id = match account.id {
            Some(id) => id,
            None => UserId::from_random(random_array().map_err(internal)?),
        };
        Ok(NewUser {
            id,
            realm: realm.id.clone(),
            username: account.username,
            profile: account.profile,
            email: account.email,
            email_verified: account.email_verified,
            phone_number: account.phone_number.map(|p| p.to_string()),
            display_name: account.display_name,
            photo_url: account.photo_url,
            password_hash,
            disabled: account.disabled,
            custom_attributes: account.custom_attributes,
            created_at: account.created_at.unwrap_or_else(|| self.clock.now()),
            last_login_at: account.last_login_at,
            identities: account.identities,
        })
    }

    /// Signs in the user a custom token names (Identity Toolkit's `signInWithCustomToken`),
    /// created with that id when there is none yet, with the token's claims in every ID token
    /// of the session. A custom token is a first factor that second factors do not apply to,
    /// as in Firebase. The session, and whether the user is new.
    pub async fn sign_in_with_custom_token(
        &self,
        realm: &Realm,
        id: UserId,
        developer_claims: Option<String>,
    ) -> Result<(Session, bool), DomainError> {
        let now = self.clock.now();
        let (user, is_new) = match self.store.get_user(&realm.id, &id).await? {
            Some(user) => (user, false),
            None => {
                let account = NewAccount {
                    id: Some(id.clone()),
                    last_login_at: Some(now),
                    ..NewAccount::default()
                };
                match self.insert_account(realm, account).await {
                    Ok(user) => (user, true),
                    // A sign-in racing with this one created the user first.
                    Err(DomainError::DuplicateUserId) => {
                        (self.get_account(realm, &id).await?, false)
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let sign_in = SignIn {
            developer_claims,
            ..SignIn::first_factor("custom", now)
        };
        let session = if is_new {
            self.start_session(realm, &user, sign_in).await?
        } else {
            user.ensure_active()?;
            self.start_sign_in_session(realm, &user, sign_in).await?
        };
        Ok((session, is_new))
    }

    /// First-factor sign-in. An unknown email costs the same Argon2 work as a wrong password,
    /// and with the realm's email privacy on, the same answer. When the realm has MFA on and
    /// the user has a ready factor, the answer is a pending sign-in instead of a session.
    pub async fn sign_in_with_password(
        &self,
        realm: &Realm,
        email: &EmailAddress,
        password: &str,
    ) -> Result<(User, FirstFactorOutcome), DomainError> {
        let found = self.store.find_user_by_email(&realm.id, email).await?;
        let matched = self.check_password(found.as_ref(), password).await?;
        let refusal = |telling| {
            if realm.improved_email_privacy {
                DomainError::InvalidLoginCredentials
            } else {
                telling
            }
        };
        let Some(mut user) = found else {
            return Err(refusal(DomainError::EmailNotFound));
        };
        if !matched {
            return Err(refusal(DomainError::InvalidPassword));
        }
        user.ensure_active()?;
        let outcome = self
            .after_first_factor(realm, &mut user, "password")
            .await?;
        Ok((user, outcome))
    }

    /// The text the users table keeps for `password`: its Argon2id hash, or the imported
    /// hash as it came.
    async fn password_hash(&self, password: &NewPassword) -> Result<String, DomainError> {
        match password {
            NewPassword::Plain(p) => self.passwords.hash(p).await,
            NewPassword::Imported(imported) => imported.stored().map_err(internal),
        }
    }

    /// Whether `plain` is the user's password, at the same cost when there is no user or no
    /// password. A match on a hash in any other form than today's Argon2id (imported from
    /// another system, or older parameters) replaces that hash, as Firebase rehashes imported
    /// passwords at their first sign-in; a change of password meanwhile keeps its own.
    pub(super) async fn check_password(
        &self,
        user: Option<&User>,
        plain: &str,
    ) -> Result<bool, DomainError> {
        let stored = user.and_then(|u| u.password_hash.as_deref());
        let matched = self.passwords.verify(plain, stored).await?;
        if let (true, Some(user), Some(stored)) = (matched, user, stored)
            && !self.passwords.is_current(stored)
        {
            let fresh = self.passwords.rehash(plain).await?;
            self.store
                .replace_password_hash(&user.realm, &user.id, stored, &fresh)
                .await?;
        }
        Ok(matched)
    }

    /// Users matching any selector, each once, in the order first matched.
    pub async fn find_users(
        &self,
        realm: &Realm,
        selectors: &[UserSelector],
    ) -> Result<Vec<User>, DomainError> {
        let mut users: Vec<User> = Vec::new();
        for selector in selectors {
            let found = match selector {
                UserSelector::Id(id) => self.store.get_user(&realm.id, id).await?,
                UserSelector::Email(e) => self.store.find_user_by_email(&realm.id, e).await?,
                UserSelector::Phone(p) => {
                    self.store.find_user_by_phone(&realm.id, p.as_str()).await?
                }
                UserSelector::Identity(provider, raw_id) => {
                    self.store
                        .find_user_by_identity(&realm.id, provider, raw_id)
                        .await?
                }
            };
            if let Some(user) = found
                && !users.iter().any(|u| u.id == user.id)
            {
                users.push(user);
            }
        }
        Ok(users)
    }

    /// The realm's user with `email`, if any.
    pub async fn user_by_email(
        &self,
        realm: &Realm,
        email: &EmailAddress,
    ) -> Result<Option<User>, DomainError> {
        Ok(self.store.find_user_by_email(&realm.id, email).await?)
    }

    pub async fn get_account(&self, realm: &Realm, id: &UserId) -> Result<User, DomainError> {
        self.store
            .get_user(&realm.id, id)
            .await?
            .ok_or(DomainError::UserNotFound)
    }

    /// Admin update of any account.
    pub async fn update_account(
        &self,
        realm: &Realm,
        id: &UserId,
        changes: AccountChanges,
    ) -> Result<User, DomainError> {
        self.change_account(realm, id, changes, None, |_| Ok(()))
            .await
    }

    /// Admin update of any account that also replaces its second factors (Identity Toolkit's
    /// `mfa.enrollments`). The factors are checked before anything is written, so a refused
    /// factor leaves the account as it was.
    pub async fn update_account_and_factors(
        &self,
        realm: &Realm,
        id: &UserId,
        changes: AccountChanges,
        factors: Vec<AdminFactor>,
    ) -> Result<User, DomainError> {
        let user = self.get_account(realm, id).await?;
        let replacement = self.factor_replacement(realm, &user, factors).await?;
        let user = self.update_account(realm, id, changes).await?;
        self.replace_factors(realm, &user, &replacement).await?;
        Ok(user)
    }

    /// ZITADEL's lock and unlock: a locked user signs in nowhere (Firebase sees it as
    /// disabled) until unlocked. Only an active user can be locked, only a locked one unlocked.
    pub async fn set_locked(
        &self,
        realm: &Realm,
        id: &UserId,
        locked: bool,
    ) -> Result<User, DomainError> {
        let changes = AccountChanges {
            locked: Some(locked),
            ..AccountChanges::default()
        };
        self.change_account(realm, id, changes, None, |user| {
            match (user.state(), locked) {
                (AccountState::Active, true) | (AccountState::Locked, false) => Ok(()),
                (_, true) => Err(DomainError::NotActive),
                (_, false) => Err(DomainError::NotLocked),
            }
        })
        .await
    }

    /// Whether `current` is the user's password (ZITADEL's `SetPassword` and `UpdateHumanUser`
    /// with `currentPassword`): `InvalidPassword` when it is not.
    pub(super) async fn prove_password(
        &self,
        user: &User,
        current: &str,
    ) -> Result<(), DomainError> {
        let hash = user
            .password_hash
            .as_deref()
            .ok_or(DomainError::NoPassword)?;
        if self.passwords.verify(current, Some(hash)).await? {
            Ok(())
        } else {
            Err(DomainError::InvalidPassword)
        }
    }

    /// ZITADEL's deactivate (`disabled`) and reactivate. The flag is Firebase's `disabled`, so
    /// each dialect sees what the other set; asking for the state the account is already in
    /// fails, as in ZITADEL, whose state machine knows no such transition.
    pub async fn set_disabled(
        &self,
        realm: &Realm,
        id: &UserId,
        disabled: bool,
    ) -> Result<User, DomainError> {
        let changes = AccountChanges {
            disabled: Some(disabled),
            ..AccountChanges::default()
        };
        self.change_account(realm, id, changes, None, |user| {
            match (user.disabled, disabled) {
                (true, true) => Err(DomainError::AlreadyDisabled),
                (false, false) => Err(DomainError::NotDisabled),
                _ => Ok(()),
            }
        })
        .await
    }

    /// An end user's update of their own account. A change of password or email revokes
    /// every earlier session, so the caller gets a fresh one; `want_tokens` asks for one
    /// regardless. After a new password the session is a password sign-in, as in the
    /// emulator: an anonymous user who set an email and a password is no longer anonymous.
    /// A change of address sends the old one a recovery link, in `notice`'s request (not for
    /// an anonymous session, as in the emulator).
    pub async fn update_own_account(
        &self,
        caller: Authenticated,
        changes: AccountChanges,
        want_tokens: bool,
        notice: Notice<'_>,
    ) -> Result<(User, Option<Session>), DomainError> {
        let mut sign_in = caller.sign_in()?;
        let notice = (sign_in.provider != "anonymous").then_some(notice);
        if let Some(Some(_)) = changes.password {
            sign_in.provider = "password".to_owned();
        }
        let valid_since = caller.user.valid_since;
        let user = self
            .change_account(&caller.realm, &caller.user.id, changes, notice, |_| Ok(()))
            .await?;
        let session = if user.valid_since != valid_since || want_tokens {
            Some(self.start_session(&caller.realm, &user, sign_in).await?)
        } else {
            None
        };
        Ok((user, session))
    }

    /// Links an email and password to the caller's account, as the JS SDK's
    /// `linkWithCredential` does for an anonymous user who wants to keep their data: the
    /// account gets them (the email unverified) and the caller a password sign-in, while the
    /// new password revokes every earlier session.
    pub async fn link_password(
        &self,
        caller: Authenticated,
        account: NewAccount,
    ) -> Result<(User, Session), DomainError> {
        let changes = AccountChanges {
            email: account.email.map(Some),
            password: account.password.map(Some),
            display_name: account.display_name.map(Some),
            photo_url: account.photo_url.map(Some),
            ..AccountChanges::default()
        };
        let user = self
            .change_account(&caller.realm, &caller.user.id, changes, None, |_| Ok(()))
            .await?;
        let sign_in = SignIn::first_factor("password", self.clock.now());
        let session = self.start_session(&caller.realm, &user, sign_in).await?;
        Ok((user, session))
    }

    /// Makes `changes` to the user, if `allowed` allows them for the user as stored; the user
    /// as it now is. With a `notice`, the end user's own change of address sends the old
    /// address a recovery link.
    pub(super) async fn change_account(
        &self,
        realm: &Realm,
        id: &UserId,
        changes: AccountChanges,
        notice: Option<Notice<'_>>,
        allowed: impl Fn(&User) -> Result<(), DomainError>,
    ) -> Result<User, DomainError> {
        let changes = &PreparedChanges::from(changes);
        let allowed = &allowed;
        self.until_written((&realm.id, id), move || async move {
            let user = self.get_account(realm, id).await?;
            allowed(&user)?;
            let from = user.email.clone();
            let identities = user.identities.clone();
            let was_verified = user.email_verified;
            let changed = self.changed(user, changes.clone()).await?;
            let recovery = match notice {
                Some(notice) => self.recovery_link(realm, from.as_ref(), &changed, notice)?,
                None => None,
            };
            let (issued_oob, outgoing) = recovery.unzip();
            let write = UserWrite {
                row: Some(UserRow::Changed(changed.clone())),
                issued_oob,
                outgoing: Vec::from_iter(outgoing),
                identities_changed: changed.identities != identities,
                dropped: proof_ends(was_verified, &changed),
                ..UserWrite::default()
            };
            Ok(self.write_user(write).await?.then_some(changed))
        })
        .await
    }

    /// Runs `attempt` (read the user, decide, write) in the turn of `key` (the user, see
    /// `user_locks`), until its write lands. `Ok(None)` says the write found the row moved on
    /// from the revision it read (another node's write, or gone, or a code it used used), so it
    /// runs again on a fresh read, where every check it makes holds for the row it writes
    /// over, and a user or code gone is refused as such. Each rerun means another write of the
    /// user landed, so it ends; the bound is against a bug that never lands.
    pub(super) async fn until_written<T, F>(
        &self,
        key: impl Hash,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T, DomainError>
    where
        F: Future<Output = Result<Option<T>, DomainError>>,
    {
        let _turn = self.user_locks.turn(key).await;
        for _ in 0..USER_WRITE_TRIES {
            if let Some(done) = attempt().await? {
                return Ok(done);
            }
        }
        Err(internal(format!(
            "a user's row changed under each of {USER_WRITE_TRIES} writes of it"
        )))
    }

    /// Writes `write`, and wakes the delivery worker for its messages; `false`, with nothing
    /// written, when the row it changes moved on since it was read or the code it uses was
    /// used meanwhile (see `until_written`). A write that changes no stored row and uses no
    /// code always lands.
    pub(super) async fn write_user(&self, write: UserWrite) -> Result<bool, DomainError> {
        let landed = self.store.write_user(&write).await?;
        if landed && !write.outgoing.is_empty() {
            self.queued();
        }
        Ok(landed)
    }

    /// `user` with `prepared` applied, not yet stored.
    pub(super) async fn changed(
        &self,
        mut user: User,
        prepared: PreparedChanges,
    ) -> Result<User, DomainError> {
        let PreparedChanges {
            changes,
            password_hash,
        } = prepared;
        let password_hash = match &changes.password {
            Some(Some(p)) => Some(Some(
                password_hash
                    .get_or_try_init(async || self.password_hash(p).await)
                    .await?
                    .clone(),
            )),
            Some(None) => Some(None),
            None => None,
        };
        // A new address is unverified unless the (admin) caller says otherwise.
        let email_verified = match (&changes.email, changes.email_verified) {
            (_, Some(v)) => Some(v),
            (Some(new), None) if *new != user.email => Some(false),
            _ => None,
        };
        UserPatch {
            username: changes.username,
            profile: changes.profile,
            email: changes.email,
            email_verified,
            phone_number: changes.phone_number.map(|p| p.map(|p| p.to_string())),
            display_name: changes.display_name,
            photo_url: changes.photo_url,
            password_hash,
            disabled: changes.disabled,
            locked: changes.locked,
            valid_since: changes.valid_since,
            custom_attributes: changes.custom_attributes,
            last_login_at: None,
        }
        .apply(&mut user, self.clock.now());
        user.identities
            .retain(|identity| !changes.unlink.contains(&identity.provider_id));
        if let Some(identity) = changes.link {
            user.put_identity(identity);
        }
        Ok(user)
    }

    pub async fn delete_account(&self, realm: &Realm, id: &UserId) -> Result<(), DomainError> {
        if self.store.delete_user(&realm.id, id).await? {
            Ok(())
        } else {
            Err(DomainError::UserNotFound)
        }
    }

    /// Deletes every account of the realm, as the emulator's `DELETE …/accounts` does
    /// between tests.
    pub async fn delete_all_accounts(&self, realm: &Realm) -> Result<(), DomainError> {
        Ok(self.store.delete_all_users(&realm.id).await?)
    }

    /// `(how many match, the page asked for)`; the count alone unless `with_users`.
    pub async fn query_accounts(
        &self,
        scope: &UserScope,
        query: &UserQuery,
        with_users: bool,
    ) -> Result<(i64, Vec<User>), DomainError> {
        Ok(self.store.query_users(scope, query, with_users).await?)
    }

    pub async fn batch_get(
        &self,
        realm: &Realm,
        after: Option<&UserId>,
        max: i64,
    ) -> Result<BatchGetPage, DomainError> {
        let users = self.store.list_users(&realm.id, after, max).await?;
        let next = (users.len() as i64 == max)
            .then(|| users.last().map(|u| u.id.clone()))
            .flatten();
        Ok(BatchGetPage { users, next })
    }

    /// Imports users one by one; a user that fails does not stop the others. With
    /// `overwrite`, an imported user replaces the one its id names. Returns the failures with
    /// the index each had in the request.
    pub async fn import_users(
        &self,
        realm: &Realm,
        users: Vec<ImportUser>,
        overwrite: bool,
    ) -> Result<Vec<(usize, DomainError)>, DomainError> {
        let mut failures = Vec::new();
        for (index, account, factors) in users {
            let imported = if overwrite {
                self.replace_account(realm, account, factors).await
            } else {
                self.create_account(realm, account, factors).await
            };
            match imported {
                Ok(_) => {}
                Err(e @ (DomainError::Unavailable | DomainError::Internal)) => return Err(e),
                Err(e) => failures.push((index, e)),
            }
        }
        Ok(failures)
    }

    /// Deletes many users. Without `force`, enabled users are refused (Firebase's rule, so a
    /// script cannot wipe active accounts by accident). Unknown ids are not errors.
    pub async fn batch_delete(
        &self,
        realm: &Realm,
        ids: &[UserId],
        force: bool,
    ) -> Result<Vec<(usize, UserId, DomainError)>, DomainError> {
        let mut failures = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            if !force
                && let Some(user) = self.store.get_user(&realm.id, id).await?
                && user.is_active()
            {
                failures.push((index, id.clone(), DomainError::NotDisabled));
                continue;
            }
            self.store.delete_user(&realm.id, id).await?;
        }
        Ok(failures)
    }
}
