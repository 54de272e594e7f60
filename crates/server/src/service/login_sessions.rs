//! ZITADEL login sessions: checks of the user, the password, TOTP and OTP SMS / OTP Email codes,
//! and the challenges that send those codes (8 digits, 5 minutes, 5 attempts, single use).
//!
//! A request reads the session, applies its checks and challenges, and writes the session back
//! only if nobody else changed it meanwhile (its sequence). If somebody did, the request's
//! change is laid over theirs and written again: requests at once to one session all stand, as
//! in ZITADEL, except that of two requests racing with one code, one wins and the other hears
//! that the code is used, as it would had it come second. A failed code check still counts: the
//! attempt is written before the error is returned, on the session as it is then.

use data_encoding::BASE64;
use time::{Duration, OffsetDateTime};

use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::login_session::{
    CheckedFactors, LoginSession, OtpChallenge, SESSION_OTP_ATTEMPTS, SESSION_OTP_DIGITS,
    SESSION_OTP_LIFETIME, SessionOrigin,
};
use tessera_core::store::{Listed, Outgoing, SessionQuery, UserFilter, UserQuery, UserScope};
use tessera_core::{DomainError, FactorData, FactorKind, Realm, RealmId, User, UserId};

use super::attempts::Subject;
use super::delivery::{ClientInfo, Destination, minutes};
use super::{Service, callers::internal};
use crate::crypto::{random_digits, random_token, same_digest, sha256};

/// How the user is named in a user check.
#[derive(Debug, Clone)]
pub enum UserLookup {
    Id(UserId),
    LoginName(String),
}

#[derive(Debug, Default)]
pub struct SessionChecks {
    pub user: Option<UserLookup>,
    pub password: Option<String>,
    pub totp: Option<String>,
    pub otp_sms: Option<String>,
    pub otp_email: Option<String>,
    /// The browser's assertion for the pending security-key challenge (WebAuthn JSON).
    pub webauthn: Option<serde_json::Value>,
    pub recovery_code: Option<String>,
}

/// Where a challenge's code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeDelivery {
    Send,
    Return,
}

#[derive(Debug, Default)]
pub struct SessionChallenges {
    pub otp_sms: Option<CodeDelivery>,
    pub otp_email: Option<CodeDelivery>,
    /// A security-key challenge.
    pub webauthn: Option<KeyChallenge>,
}

/// What a create or set request asks of a session.
#[derive(Debug, Default)]
pub struct SessionChange {
    pub checks: SessionChecks,
    pub challenges: SessionChallenges,
    /// Entries to merge into the metadata; an empty value deletes its key.
    pub metadata: Vec<(String, Vec<u8>)>,
    pub lifetime: Option<Duration>,
    /// Who asks: codes sent for this change are charged to its IP and use its language.
    pub client: ClientInfo,
}

/// A security-key challenge: for the relying party `domain` (the default when empty); with
/// `user_verification`, the key must verify its user (PIN or biometrics), not only presence.
#[derive(Debug, Clone, Default)]
pub struct KeyChallenge {
    pub domain: String,
    pub user_verification: bool,
}

/// A session found by ListSessions, with what it shows of its user.
pub struct ListedSession {
    pub session: LoginSession,
    pub user: Option<User>,
    /// The organization of the session's realm.
    pub org_id: String,
}

/// A session change: the new token and any codes the caller asked to see.
pub struct SessionUpdate {
    pub session: LoginSession,
    pub token: String,
    pub otp_sms: Option<String>,
    pub otp_email: Option<String>,
    /// The request options of a security-key challenge (`{"publicKey":{…}}`).
    pub webauthn: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy)]
enum OtpKind {
    Sms,
    Email,
}

impl OtpKind {
    fn factor(self) -> FactorKind {
        match self {
            OtpKind::Sms => FactorKind::SmsOtp,
            OtpKind::Email => FactorKind::EmailOtp,
        }
    }

    fn slot(
        self,
        session: &mut LoginSession,
    ) -> (&mut Option<OtpChallenge>, &mut Option<OffsetDateTime>) {
        match self {
            OtpKind::Sms => (&mut session.otp_sms, &mut session.checked.otp_sms),
            OtpKind::Email => (&mut session.otp_email, &mut session.checked.otp_email),
        }
    }

    fn challenge(self, session: &LoginSession) -> Option<&OtpChallenge> {
        match self {
            OtpKind::Sms => session.otp_sms.as_ref(),
            OtpKind::Email => session.otp_email.as_ref(),
        }
    }
}

/// How often a change, or a failed check's attempt, is written again on a session that changed
/// meanwhile before the request gives up with `SessionChanged`.
const SAVE_TRIES: usize = 16;

/// A wrong code costs its challenge an attempt; the last attempt ends it, as does expiry.
fn spend_attempt(slot: &mut Option<OtpChallenge>, now: OffsetDateTime) {
    if let Some(challenge) = slot {
        challenge.attempts_left -= 1;
        if challenge.attempts_left <= 0 || challenge.expires_at <= now {
            *slot = None;
        }
    }
}

impl Service {
    /// What a session's OTP code's MAC is bound to.
    fn session_mac_purpose(session: &str, kind: OtpKind) -> String {
        format!("session:{session}:{kind:?}")
    }

    /// A new session, made by `change`, by and for whom `origin` says.
    pub async fn create_login_session(
        &self,
        realm: &Realm,
        change: SessionChange,
        origin: SessionOrigin,
    ) -> Result<SessionUpdate, DomainError> {
        let now = self.clock.now();
        let session = LoginSession {
            id: UserId::from_random(crate::crypto::random_array().map_err(internal)?).to_string(),
            realm: realm.id.clone(),
            user: None,
            token_hash: Vec::new(),
            checked: CheckedFactors::default(),
            otp_sms: None,
            otp_email: None,
            webauthn: None,
            metadata: "{}".to_owned(),
            created_at: now,
            changed_at: now,
            expires_at: None,
            sequence: 0,
            origin,
        };
        self.change_session(realm, session, change).await
    }

    /// A page of the sessions `query` finds, each with its checked user and the organization
    /// of its realm, and how many it finds in all.
    pub async fn list_login_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<(i64, Vec<ListedSession>), DomainError> {
        let (total, sessions) = self.store.query_login_sessions(query).await?;
        let users = self.session_users(&query.project, &sessions).await?;
        let mut listed = Vec::with_capacity(sessions.len());
        for session in sessions {
            let realm = self
                .get_realm(&session.realm)
                .await?
                .ok_or(DomainError::SessionNotFound)?;
            let user = session.user.as_ref().and_then(|id| {
                users
                    .iter()
                    .find(|u| &u.id == id && u.realm == session.realm)
                    .cloned()
            });
            listed.push(ListedSession {
                session,
                user,
                org_id: realm.org_id.unwrap_or_default(),
            });
        }
        Ok((total, listed))
    }

    /// The users the sessions checked, read at once.
    async fn session_users(
        &self,
        project: &str,
        sessions: &[LoginSession],
    ) -> Result<Vec<User>, DomainError> {
        let ids: Vec<UserId> = sessions.iter().filter_map(|s| s.user.clone()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = UserQuery {
            limit: i64::try_from(ids.len()).map_err(internal)?,
            filters: vec![UserFilter::Ids(ids)],
            ..UserQuery::default()
        };
        let scope = UserScope::Project(project.to_owned());
        let (_, users) = self.store.query_users(&scope, &query, true).await?;
        Ok(users)
    }

    /// The realm a session belongs to.
    pub async fn login_session_realm(&self, id: &str) -> Result<RealmId, DomainError> {
        self.store
            .get_login_session(id)
            .await?
            .map(|s| s.realm)
            .ok_or(DomainError::SessionNotFound)
    }

    /// The session, if it is the realm's and alive; `token`, when given, must be its current one.
    pub async fn login_session(
        &self,
        realm: &Realm,
        id: &str,
        token: Option<&str>,
    ) -> Result<(LoginSession, Option<User>), DomainError> {
        let found = self.stored_login_session(realm, id, token).await?;
        if found.0.expired(self.clock.now()) {
            return Err(DomainError::LoginSessionExpired);
        }
        Ok(found)
    }

    /// The session, expired or not, if it is the realm's; `token`, when given, must be its
    /// current one. ZITADEL reads and deletes expired sessions; only changes need them alive.
    pub async fn stored_login_session(
        &self,
        realm: &Realm,
        id: &str,
        token: Option<&str>,
    ) -> Result<(LoginSession, Option<User>), DomainError> {
        let session = self
            .store
            .get_login_session(id)
            .await?
            .filter(|s| s.realm == realm.id)
            .ok_or(DomainError::SessionNotFound)?;
        if let Some(token) = token.filter(|t| !t.is_empty())
            && !same_digest(&sha256(token.as_bytes()), &session.token_hash)
        {
            return Err(DomainError::SessionNotFound);
        }
        let user = match &session.user {
            Some(id) => self.store.get_user(&realm.id, id).await?,
            None => None,
        };
        Ok((session, user))
    }

    pub async fn set_login_session(
        &self,
        realm: &Realm,
        id: &str,
        token: Option<&str>,
        change: SessionChange,
    ) -> Result<SessionUpdate, DomainError> {
        let (session, _) = self.login_session(realm, id, token).await?;
        self.change_session(realm, session, change).await
    }

    pub async fn delete_login_session(
        &self,
        realm: &Realm,
        id: &str,
        token: Option<&str>,
    ) -> Result<(), DomainError> {
        self.stored_login_session(realm, id, token).await?;
        self.store.delete_login_session(id).await?;
        Ok(())
    }

    async fn change_session(
        &self,
        realm: &Realm,
        mut session: LoginSession,
        change: SessionChange,
    ) -> Result<SessionUpdate, DomainError> {
        let SessionChange {
            checks,
            challenges,
            metadata,
            lifetime,
            client,
        } = change;
        let original = session.clone();
        // A new session's creation time is this change's time (one clock reading for both).
        let now = if session.sequence == 0 {
            session.created_at
        } else {
            self.clock.now()
        };
        session.sequence += 1;
        session.changed_at = now;
        if let Some(lifetime) = lifetime {
            session.expires_at = Some(now + lifetime);
        }
        merge_metadata(&mut session, metadata)?;
        if let Err(e) = self
            .apply_checks(realm, &mut session, checks, &client)
            .await
        {
            // A failed code check has used an attempt; that sticks, nothing else does.
            self.keep_attempts(&original, &session).await?;
            return Err(e);
        }
        let mut outgoing = Vec::new();
        let otp_sms = self
            .challenge(
                realm,
                &mut session,
                OtpKind::Sms,
                challenges.otp_sms,
                &client,
                &mut outgoing,
            )
            .await?;
        let otp_email = self
            .challenge(
                realm,
                &mut session,
                OtpKind::Email,
                challenges.otp_email,
                &client,
                &mut outgoing,
            )
            .await?;
        let webauthn = match challenges.webauthn {
            Some(challenge) => {
                let user = self.session_user(realm, &session).await?;
                let (options, state) = self.webauthn_challenge(realm, &user, &challenge).await?;
                session.webauthn = Some(state);
                Some(options)
            }
            None => None,
        };
        let token = random_token().map_err(internal)?;
        session.token_hash = sha256(token.as_bytes());
        let session = self.save_change(&original, session, &outgoing).await?;
        if !outgoing.is_empty() {
            self.queued();
        }
        Ok(SessionUpdate {
            session,
            token,
            otp_sms,
            otp_email,
            webauthn,
        })
    }

    /// Writes a new session, or a changed one if nobody changed it since it was read, with the
    /// messages carrying its new codes.
    async fn save_session(
        &self,
        session: &LoginSession,
        read: &LoginSession,
        outgoing: &[Outgoing],
    ) -> Result<(), DomainError> {
        if read.sequence == 0 {
            self.store.insert_login_session(session, outgoing).await?;
        } else if !self
            .store
            .update_login_session(session, read.sequence, outgoing)
            .await?
        {
            return Err(DomainError::SessionChanged);
        }
        Ok(())
    }

    /// Writes what a failed check did to the session's code challenges (`attempted` against
    /// `read`): an attempt spent, or a code used. When another request changed the session
    /// meanwhile, it is done again on the session as it is now, to each challenge still there:
    /// of wrong codes arriving at once, each costs an attempt and each is answered as wrong.
    async fn keep_attempts(
        &self,
        read: &LoginSession,
        attempted: &LoginSession,
    ) -> Result<(), DomainError> {
        let mut current = read.clone();
        for _ in 0..SAVE_TRIES {
            let mut next = current.clone();
            for kind in [OtpKind::Sms, OtpKind::Email] {
                let (before, after) = (kind.challenge(read), kind.challenge(attempted));
                let Some(before) = before.filter(|_| before != after) else {
                    continue;
                };
                let (slot, _) = kind.slot(&mut next);
                if slot
                    .as_ref()
                    .is_some_and(|c| c.code_hash == before.code_hash)
                {
                    match after {
                        Some(_) => spend_attempt(slot, self.clock.now()),
                        None => *slot = None,
                    }
                }
            }
            if (&next.otp_sms, &next.otp_email) == (&current.otp_sms, &current.otp_email) {
                return Ok(());
            }
            next.sequence = current.sequence + 1;
            match self.save_session(&next, &current, &[]).await {
                Err(DomainError::SessionChanged) => {}
                saved => return saved,
            }
            match self.store.get_login_session(&read.id).await? {
                Some(now) => current = now,
                None => return Ok(()),
            }
        }
        Err(DomainError::SessionChanged)
    }

    /// Saves `changed`, a change to `read`. When another request changed the session
    /// meanwhile, the change is laid over the session as that request left it
    /// ([`LoginSession::laid_over`]) and saved again, so that requests at once to one session
    /// all stand, as in ZITADEL; the one whose code another request used first hears what a
    /// code submitted second hears.
    async fn save_change(
        &self,
        read: &LoginSession,
        changed: LoginSession,
        outgoing: &[Outgoing],
    ) -> Result<LoginSession, DomainError> {
        let mut attempt = changed.clone();
        let mut base = read.clone();
        for _ in 0..SAVE_TRIES {
            match self.save_session(&attempt, &base, outgoing).await {
                Err(DomainError::SessionChanged) => {}
                saved => return saved.map(|()| attempt),
            }
            base = self
                .store
                .get_login_session(&read.id)
                .await?
                .ok_or(DomainError::SessionNotFound)?;
            if base.expired(self.clock.now()) {
                return Err(DomainError::LoginSessionExpired);
            }
            attempt = changed.laid_over(read, &base)?;
        }
        Err(DomainError::SessionChanged)
    }

    async fn apply_checks(
        &self,
        realm: &Realm,
        session: &mut LoginSession,
        checks: SessionChecks,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        let now = self.clock.now();
        if let Some(lookup) = checks.user {
            let user = match lookup {
                UserLookup::Id(id) => self.store.get_user(&realm.id, &id).await?,
                UserLookup::LoginName(name) => self.find_by_login_name(&realm.id, &name).await?,
            }
            .ok_or(DomainError::UserNotFound)?;
            if session.user.as_ref().is_some_and(|u| u != &user.id) {
                return Err(DomainError::SessionUserMismatch);
            }
            user.ensure_active()?;
            session.user = Some(user.id);
            session.checked.user = Some(now);
        }
        let needs_user = checks.password.is_some()
            || checks.totp.is_some()
            || checks.otp_sms.is_some()
            || checks.otp_email.is_some()
            || checks.webauthn.is_some()
            || checks.recovery_code.is_some();
        if !needs_user {
            return Ok(());
        }
        let user = self.session_user(realm, session).await?;
        if let Some(password) = checks.password {
            if !self.check_password(Some(&user), &password).await? {
                return Err(DomainError::InvalidPassword);
            }
            session.checked.password = Some(now);
        }
        if let Some(code) = checks.totp {
            let factors = self.ready_factors(realm, &user).await?;
            let factor = factors
                .iter()
                .find(|f| f.kind() == FactorKind::Totp)
                .ok_or(DomainError::FactorNotFound)?;
            self.check_totp_code(realm, &user, factor, &code, client)
                .await?;
            session.checked.totp = Some(now);
        }
        if let Some(code) = checks.recovery_code {
            self.check_recovery_code(realm, &user, &code, client)
                .await?;
            session.checked.recovery_code = Some(now);
        }
        if let Some(assertion) = checks.webauthn {
            // A challenge answers once, right or wrong.
            let state = session
                .webauthn
                .take()
                .ok_or(DomainError::VerificationCodeNotFound)?;
            let verified = self.check_webauthn(realm, &user, &state, assertion).await?;
            session.checked.webauthn = Some(now);
            session.checked.webauthn_user_verified = verified;
        }
        for (kind, code) in [
            (OtpKind::Sms, checks.otp_sms),
            (OtpKind::Email, checks.otp_email),
        ] {
            let Some(code) = code else { continue };
            let ready = self.ready_factors(realm, &user).await?;
            let Some(factor) = ready.iter().find(|f| f.kind() == kind.factor()) else {
                return Err(DomainError::OtpFactorMissing);
            };
            // Checks that need no code comparison come before the attempt is taken.
            if code.is_empty() {
                return Err(DomainError::EmptyCode);
            }
            if kind.slot(session).0.is_none() {
                return Err(DomainError::VerificationCodeNotFound);
            }
            let subject = Subject::new(&realm.id, Some(&user.id), Some(&factor.id));
            let check = self
                .begin_check(subject, client, DomainError::VerificationCodeNotFound)
                .await?;
            match self.check_session_code(session, kind, &code) {
                Ok(()) => self.passed(check).await?,
                Err(e) => {
                    let detail = "session: wrong or expired code";
                    return Err(self.check_failed(check, detail, e).await);
                }
            }
        }
        Ok(())
    }

    async fn session_user(
        &self,
        realm: &Realm,
        session: &LoginSession,
    ) -> Result<User, DomainError> {
        let id = session
            .user
            .as_ref()
            .ok_or(DomainError::SessionUserMismatch)?;
        self.store
            .get_user(&realm.id, id)
            .await?
            .ok_or(DomainError::UserNotFound)
    }

    fn check_session_code(
        &self,
        session: &mut LoginSession,
        kind: OtpKind,
        code: &str,
    ) -> Result<(), DomainError> {
        if code.is_empty() {
            return Err(DomainError::EmptyCode);
        }
        let now = self.clock.now();
        let purpose = Self::session_mac_purpose(&session.id, kind);
        let (slot, checked) = kind.slot(session);
        let challenge = slot.as_mut().ok_or(DomainError::VerificationCodeNotFound)?;
        if challenge.expires_at > now
            && self
                .master
                .mac_matches(&purpose, code, &challenge.code_hash)
        {
            *slot = None;
            *checked = Some(now);
            return Ok(());
        }
        spend_attempt(slot, now);
        Err(DomainError::InvalidVerificationCode)
    }

    /// Issues a code for the user's ready OTP SMS / OTP Email factor; a code to send joins
    /// `outgoing`, to be queued with the session.
    async fn challenge(
        &self,
        realm: &Realm,
        session: &mut LoginSession,
        kind: OtpKind,
        delivery: Option<CodeDelivery>,
        client: &ClientInfo,
        outgoing: &mut Vec<Outgoing>,
    ) -> Result<Option<String>, DomainError> {
        let Some(delivery) = delivery else {
            return Ok(None);
        };
        let user = self.session_user(realm, session).await?;
        let factors = self
            .store
            .list_factors(&realm.id, &user.id, Listed::Ready)
            .await?;
        let factor = factors
            .iter()
            .find(|f| f.kind() == kind.factor())
            .ok_or(DomainError::OtpChallengeUnavailable(kind.factor()))?;
        let code = random_digits(SESSION_OTP_DIGITS).map_err(internal)?;
        if delivery == CodeDelivery::Send {
            let to = match &factor.data {
                FactorData::SmsOtp { phone } => Destination::Phone(phone),
                FactorData::EmailOtp { email } => Destination::Email(email),
                _ => return Err(DomainError::Internal),
            };
            let content = MessageContent {
                kind: MessageKind::SignIn,
                code: code.clone(),
                locale: client.locale_for(&user),
                valid_minutes: minutes(SESSION_OTP_LIFETIME),
                session_info: None,
                link: None,
                new_email: None,
                app_name: None,
            };
            outgoing.push(self.outgoing(&realm.id, to, &content, client)?);
        }
        let challenge = OtpChallenge {
            code_hash: self
                .master
                .mac(&Self::session_mac_purpose(&session.id, kind), &code),
            expires_at: self.clock.now() + SESSION_OTP_LIFETIME,
            attempts_left: SESSION_OTP_ATTEMPTS,
        };
        *kind.slot(session).0 = Some(challenge);
        Ok((delivery == CodeDelivery::Return).then_some(code))
    }
}

/// ZITADEL's session metadata: a map of byte values, merged key by key; an empty value
/// deletes the key.
fn merge_metadata(
    session: &mut LoginSession,
    entries: Vec<(String, Vec<u8>)>,
) -> Result<(), DomainError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&session.metadata).map_err(internal)?;
    for (key, value) in entries {
        if value.is_empty() {
            map.remove(&key);
        } else {
            map.insert(key, serde_json::Value::String(BASE64.encode(&value)));
        }
    }
    session.metadata = serde_json::Value::Object(map).to_string();
    Ok(())
}

/// The session metadata as ZITADEL's `map<string, bytes>`.
pub fn metadata_entries(session: &LoginSession) -> Vec<(String, Vec<u8>)> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&session.metadata).unwrap_or_default();
    map.into_iter()
        .filter_map(|(k, v)| Some((k, BASE64.decode(v.as_str()?.as_bytes()).ok()?)))
        .collect()
}
