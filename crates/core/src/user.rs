//! Users: the first-factor account that second factors hang off.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{EmailAddress, RealmId, UserId};

/// Firebase Auth's minimum; the message text of `WEAK_PASSWORD` says so.
pub const MIN_PASSWORD_LEN: usize = 6;

/// A plain-text password that passed the policy. Never logged: `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.chars().count() >= MIN_PASSWORD_LEN).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What ZITADEL keeps of a human beside the display name, for users created through that
/// dialect; the Identity Toolkit has none of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nick_name: Option<String>,
    /// A language tag (`de-CH`), as given.
    pub preferred_language: Option<String>,
    pub gender: Option<Gender>,
}

/// A change to a profile: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub nick_name: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
}

impl ProfilePatch {
    /// Every field as `profile` has it: a whole replacement.
    pub fn replacing(profile: Profile) -> Self {
        ProfilePatch {
            given_name: Some(profile.given_name),
            family_name: Some(profile.family_name),
            nick_name: Some(profile.nick_name),
            preferred_language: Some(profile.preferred_language),
            gender: Some(profile.gender),
        }
    }

    pub fn apply(self, profile: &mut Profile) {
        fn set<T>(field: &mut Option<T>, change: Option<Option<T>>) {
            if let Some(value) = change {
                *field = value;
            }
        }
        set(&mut profile.given_name, self.given_name);
        set(&mut profile.family_name, self.family_name);
        set(&mut profile.nick_name, self.nick_name);
        set(&mut profile.preferred_language, self.preferred_language);
        set(&mut profile.gender, self.gender);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    Diverse,
}

impl Gender {
    pub const ALL: [Gender; 3] = [Gender::Female, Gender::Male, Gender::Diverse];

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Diverse => "diverse",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Gender::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub realm: RealmId,
    /// ZITADEL's username, when the user was created with one; a login name.
    pub username: Option<String>,
    pub profile: Profile,
    pub email: Option<EmailAddress>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    /// PHC string (Argon2id); `None` for users without a password.
    pub password_hash: Option<String>,
    pub password_updated_at: Option<OffsetDateTime>,
    pub disabled: bool,
    /// ZITADEL's locked state; Firebase knows it only as a user that may not sign in.
    pub locked: bool,
    /// Tokens issued before this instant are dead (Identity Toolkit `validSince`, seconds).
    pub valid_since: OffsetDateTime,
    /// A JSON object as a string: the custom claims merged into ID tokens.
    pub custom_attributes: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    pub last_refresh_at: Option<OffsetDateTime>,
    /// Whether the user has signed in by email link, which Firebase lists as the password
    /// provider, as a password.
    pub email_link_sign_in: bool,
    /// The accounts at identity providers (Google, Apple, an OIDC provider, …) the user
    /// signs in with, in the order they were linked.
    pub identities: Vec<Identity>,
    /// How many times the row has been written over since it was created, as read: a write
    /// of a changed row lands only over this revision, so a request that read, decided and
    /// wrote never puts back what another wrote meanwhile.
    pub revision: i64,
}

/// A user's account at an identity provider: Firebase's `providerUserInfo` entry of a
/// provider other than `password` and `phone`. The profile fields are what the provider said
/// when the account was last used to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// `google.com`, `apple.com`, `oidc.…`, `saml.…`, …
    pub provider_id: String,
    /// The provider's own id of the account (an ID token's `sub`); one user's per realm.
    pub raw_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
}

/// A user's state as ZITADEL shows it. Disabled (deactivated) outranks locked: Firebase's
/// `disableUser` may disable a locked user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    Disabled,
    Locked,
}

impl User {
    pub fn identity(&self, provider_id: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.provider_id == provider_id)
    }

    /// Adds `identity`, replacing the user's account at that provider if they had one: a
    /// user has one account per provider, as in Firebase.
    pub fn put_identity(&mut self, identity: Identity) {
        match self
            .identities
            .iter_mut()
            .find(|held| held.provider_id == identity.provider_id)
        {
            Some(held) => *held = identity,
            None => self.identities.push(identity),
        }
    }

    pub fn state(&self) -> AccountState {
        if self.disabled {
            AccountState::Disabled
        } else if self.locked {
            AccountState::Locked
        } else {
            AccountState::Active
        }
    }

    /// Whether the user may sign in and use its tokens.
    pub fn is_active(&self) -> bool {
        self.state() == AccountState::Active
    }

    /// A user that may not sign in (disabled or locked) is refused as disabled, in both
    /// dialects.
    pub fn ensure_active(&self) -> Result<(), crate::DomainError> {
        if self.is_active() {
            Ok(())
        } else {
            Err(crate::DomainError::UserDisabled)
        }
    }

    /// The name ZITADEL shows the user by: the username, else the email address.
    pub fn login_name(&self) -> Option<&str> {
        self.username
            .as_deref()
            .or(self.email.as_ref().map(EmailAddress::as_str))
    }

    /// A token issued at `issued_at` (whole seconds, as in a JWT) is still alive.
    pub fn accepts_token_issued_at(&self, issued_at: i64) -> bool {
        issued_at >= self.valid_since.unix_timestamp()
    }
}

/// What it takes to create a user; the store assigns nothing but checks uniqueness.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub realm: RealmId,
    pub username: Option<String>,
    pub profile: Profile,
    pub email: Option<EmailAddress>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub display_name: Option<String>,
    pub photo_url: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub custom_attributes: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    pub identities: Vec<Identity>,
}

impl NewUser {
    pub fn into_user(self) -> User {
        User {
            password_updated_at: self.password_hash.as_ref().map(|_| self.created_at),
            valid_since: sessions_valid_since(self.created_at),
            id: self.id,
            realm: self.realm,
            username: self.username,
            profile: self.profile,
            email: self.email,
            email_verified: self.email_verified,
            phone_number: self.phone_number,
            display_name: self.display_name,
            photo_url: self.photo_url,
            password_hash: self.password_hash,
            disabled: self.disabled,
            locked: false,
            custom_attributes: self.custom_attributes,
            created_at: self.created_at,
            last_login_at: self.last_login_at,
            last_refresh_at: None,
            email_link_sign_in: false,
            identities: self.identities,
            revision: 0,
        }
    }
}

/// The `valid_since` of a user whose sessions are revoked (or begin) at `now`: the whole
/// second, as Firebase keeps `validSince` and ID tokens count their `iat`.
pub fn sessions_valid_since(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_nanosecond(0).unwrap_or(now)
}

/// A partial update. `Some(None)` clears an optional attribute; `None` leaves it alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// ZITADEL's username; it can be changed, not removed.
    pub username: Option<String>,
    pub profile: ProfilePatch,
    pub email: Option<Option<EmailAddress>>,
    pub email_verified: Option<bool>,
    pub phone_number: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub photo_url: Option<Option<String>>,
    /// A new password's hash; `Some(None)` takes the password away (and a sign-in by email
    /// link with it: both are Firebase's `password` provider).
    pub password_hash: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub locked: Option<bool>,
    pub valid_since: Option<OffsetDateTime>,
    pub custom_attributes: Option<Option<String>>,
    pub last_login_at: Option<OffsetDateTime>,
}

impl UserPatch {
    /// Applies the patch. Changing the password or the email to a new address, or disabling
    /// the account, revokes every session, as in Firebase: `valid_since` moves to `now`, so
    /// older refresh and ID tokens die.
    pub fn apply(self, user: &mut User, now: OffsetDateTime) {
        let whole_second = sessions_valid_since(now);
        if let Some(username) = self.username {
            user.username = Some(username);
        }
        self.profile.apply(&mut user.profile);
        if let Some(email) = self.email {
            if email.is_some() && email != user.email {
                user.valid_since = whole_second;
            }
            user.email = email;
        }
        if let Some(v) = self.email_verified {
            user.email_verified = v;
        }
        if let Some(p) = self.phone_number {
            user.phone_number = p;
        }
        if let Some(d) = self.display_name {
            user.display_name = d;
        }
        if let Some(p) = self.photo_url {
            user.photo_url = p;
        }
        match self.password_hash {
            Some(Some(hash)) => {
                user.password_hash = Some(hash);
                user.password_updated_at = Some(now);
                user.valid_since = whole_second;
            }
            Some(None) => {
                user.password_hash = None;
                user.password_updated_at = None;
                user.email_link_sign_in = false;
            }
            None => {}
        }
        if let Some(disabled) = self.disabled {
            if disabled && !user.disabled {
                user.valid_since = whole_second;
            }
            user.disabled = disabled;
            // Enabling (Firebase) or reactivating (ZITADEL) makes the user active: a lock
            // goes too, as ZITADEL's state machine has one state.
            if !disabled {
                user.locked = false;
            }
        }
        if let Some(locked) = self.locked {
            user.locked = locked;
        }
        if let Some(v) = self.valid_since {
            user.valid_since = v;
        }
        if let Some(c) = self.custom_attributes {
            user.custom_attributes = c;
        }
        if let Some(t) = self.last_login_at {
            user.last_login_at = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user() -> User {
        NewUser {
            id: UserId::from_random([1; 8]),
            realm: RealmId("r".into()),
            username: None,
            profile: Profile::default(),
            email: None,
            email_verified: false,
            phone_number: None,
            display_name: None,
            photo_url: None,
            password_hash: Some("old".into()),
            disabled: false,
            custom_attributes: None,
            created_at: datetime!(2026-01-01 0:00:00.5 UTC),
            last_login_at: None,
            identities: Vec::new(),
        }
        .into_user()
    }

    #[test]
    fn password_change_revokes_older_tokens() {
        let mut u = user();
        let issued = u.valid_since.unix_timestamp();
        assert!(u.accepts_token_issued_at(issued));
        let later = datetime!(2026-01-01 1:00:00.7 UTC);
        UserPatch {
            password_hash: Some(Some("new".into())),
            ..Default::default()
        }
        .apply(&mut u, later);
        assert!(!u.accepts_token_issued_at(issued));
        assert!(u.accepts_token_issued_at(later.unix_timestamp()));
    }

    #[test]
    fn short_passwords_are_weak() {
        assert!(Password::parse("12345").is_none());
        assert!(Password::parse("123456").is_some());
    }
}
