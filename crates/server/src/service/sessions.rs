//! Sessions: minting ID and refresh tokens, refreshing, and authenticating an ID token.
//!
//! A refresh token is 256 random bits; the store keeps only its SHA-256. It dies when the
//! user's `valid_since` moves past its issue time (password change, disable, revoke) or the
//! user is deleted (cascade).

use std::collections::BTreeMap;

use tessera_core::store::{Activity, Listed, RefreshTokenRecord, StoreResult};
use tessera_core::{DomainError, Factor, FactorId, FactorKind, Realm, SecondFactor, User};
use time::OffsetDateTime;

use super::{KeyScope, Service, callers::internal};
use crate::crypto::{session_key, session_token};
use crate::tokens::{
    FirebaseClaims, ID_TOKEN_LIFETIME_SECS, IdTokenClaims, issuer, profile_and_custom_claims,
    session_cookie_issuer,
};

#[derive(Debug, Clone)]
pub struct Session {
    pub id_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user_id: String,
    pub project_id: String,
}

/// How a session was signed in: what its ID tokens say and its refresh token remembers.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    /// The first factor's provider id: `password`, `anonymous`, …
    pub provider: String,
    pub auth_time: OffsetDateTime,
    pub second_factor: Option<SecondFactor>,
    /// A custom token's claims (a JSON object), at the top level of every ID token.
    pub developer_claims: Option<String>,
}

impl SignIn {
    pub fn first_factor(provider: &str, auth_time: OffsetDateTime) -> Self {
        SignIn {
            provider: provider.to_owned(),
            auth_time,
            second_factor: None,
            developer_claims: None,
        }
    }

    /// The sign-in an ID token describes. A custom token's claims cannot be told from the
    /// user's own there, so a session continued from an ID token goes without them, as in
    /// the emulator.
    fn from_claims(claims: &IdTokenClaims) -> Result<Self, DomainError> {
        let second_factor = match (
            &claims.firebase.sign_in_second_factor,
            &claims.firebase.second_factor_identifier,
        ) {
            (Some(kind), Some(id)) => Some(SecondFactor {
                kind: claim_kind(kind).ok_or(DomainError::InvalidIdToken)?,
                id: FactorId::parse(id).ok_or(DomainError::InvalidIdToken)?,
            }),
            _ => None,
        };
        Ok(SignIn {
            provider: claims.firebase.sign_in_provider.clone(),
            auth_time: OffsetDateTime::from_unix_timestamp(claims.auth_time)
                .map_err(|_| DomainError::InvalidIdToken)?,
            second_factor,
            developer_claims: None,
        })
    }
}

/// The `sign_in_second_factor` claim's spelling of each factor kind.
pub(super) fn kind_claim(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::SmsOtp => "phone",
        FactorKind::Totp => "totp",
        FactorKind::EmailOtp => "email",
        FactorKind::WebAuthn => "webauthn",
    }
}

fn claim_kind(claim: &str) -> Option<FactorKind> {
    [
        FactorKind::SmsOtp,
        FactorKind::Totp,
        FactorKind::EmailOtp,
        FactorKind::WebAuthn,
    ]
    .into_iter()
    .find(|k| kind_claim(*k) == claim)
}

/// A caller proven by an ID token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub realm: Realm,
    pub user: User,
    /// The user's ready factors, oldest first, read with the user.
    pub factors: Vec<Factor>,
    pub claims: IdTokenClaims,
}

impl Authenticated {
    /// The sign-in of the presented ID token, for sessions that continue it.
    pub fn sign_in(&self) -> Result<SignIn, DomainError> {
        SignIn::from_claims(&self.claims)
    }
}

impl Service {
    pub(super) async fn start_session(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: SignIn,
    ) -> Result<Session, DomainError> {
        self.start_session_with(realm, user, sign_in, async { Ok(()) })
            .await
    }

    /// `start_session` for an existing user signing in again: the sign-in's time
    /// (`lastLoginAt`) is recorded beside the refresh token's insert, so the two writes share
    /// a commit instead of waiting for one each.
    pub(super) async fn start_sign_in_session(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: SignIn,
    ) -> Result<Session, DomainError> {
        let at = sign_in.auth_time;
        let recorded = self
            .store
            .record_activity(&realm.id, &user.id, Activity::SignIn, at);
        self.start_session_with(realm, user, sign_in, recorded)
            .await
    }

    /// A new session whose refresh token is stored beside `also`, another write of the
    /// sign-in's; the session is handed out only if both land.
    async fn start_session_with(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: SignIn,
        also: impl Future<Output = StoreResult<()>>,
    ) -> Result<Session, DomainError> {
        let (refresh_token, record) = self.new_refresh_token(realm, user, &sign_in)?;
        let stored = async {
            let (stored, also) = tokio::join!(self.store.insert_refresh_token(&record), also);
            stored?;
            Ok(also?)
        };
        let ((), session) = self
            .session_beside(realm, user, &sign_in, refresh_token, stored)
            .await?;
        Ok(session)
    }

    /// A new refresh token for `sign_in`, and the record to store, with the change that
    /// starts the session when there is one, for [`Self::session_beside`].
    pub(super) fn new_refresh_token(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: &SignIn,
    ) -> Result<(String, RefreshTokenRecord), DomainError> {
        let issued_at = self.clock.now();
        let refresh_token = session_token(issued_at).map_err(internal)?;
        let record = RefreshTokenRecord {
            token_hash: session_key(&refresh_token),
            user: user.id.clone(),
            realm: realm.id.clone(),
            issued_at,
            sign_in_provider: sign_in.provider.clone(),
            auth_time: sign_in.auth_time,
            second_factor: sign_in.second_factor.clone(),
            developer_claims: sign_in.developer_claims.clone(),
        };
        Ok((refresh_token, record))
    }

    /// The session of `refresh_token`, whose ID token is minted while `write`, the change
    /// that stores or continues the session, commits. An RS256 signature takes about a
    /// millisecond of a core, and a write spends most of its time waiting for its batch's
    /// commit and fsync, so neither waits for the other (`BENCHMARKS.md`, thirty-sixth
    /// session). The session is handed out only once the write is durable; a token minted
    /// beside a write that failed or was refused is dropped unseen.
    pub(super) async fn session_beside<T>(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: &SignIn,
        refresh_token: String,
        write: impl Future<Output = Result<T, DomainError>>,
    ) -> Result<(T, Session), DomainError> {
        let (written, session) =
            tokio::join!(write, self.session(realm, user, sign_in, refresh_token));
        Ok((written?, session?))
    }

    /// The session of `refresh_token`, with a freshly minted ID token.
    async fn session(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: &SignIn,
        refresh_token: String,
    ) -> Result<Session, DomainError> {
        let id_token = self.mint_id_token(realm, user, sign_in).await?;
        Ok(Session {
            id_token,
            refresh_token,
            expires_in: ID_TOKEN_LIFETIME_SECS,
            user_id: user.id.to_string(),
            project_id: realm.project_id.clone(),
        })
    }

    async fn mint_id_token(
        &self,
        realm: &Realm,
        user: &User,
        sign_in: &SignIn,
    ) -> Result<String, DomainError> {
        let provider = sign_in.provider.as_str();
        let now = self.clock.now().unix_timestamp();
        let mut identities = BTreeMap::new();
        if let Some(email) = &user.email {
            identities.insert("email".to_owned(), vec![email.to_string()]);
        }
        if let Some(phone) = &user.phone_number {
            identities.insert("phone".to_owned(), vec![phone.clone()]);
        }
        for identity in &user.identities {
            identities.insert(identity.provider_id.clone(), vec![identity.raw_id.clone()]);
        }
        // The user's own claims win over a custom token's.
        let mut custom = serde_json::Map::new();
        for json in [&sign_in.developer_claims, &user.custom_attributes]
            .into_iter()
            .flatten()
        {
            let claims: serde_json::Map<_, _> = serde_json::from_str(json).map_err(internal)?;
            custom.extend(claims);
        }
        let claims = IdTokenClaims {
            iss: issuer(&realm.project_id),
            aud: realm.project_id.clone(),
            auth_time: sign_in.auth_time.unix_timestamp(),
            user_id: user.id.to_string(),
            sub: user.id.to_string(),
            iat: now,
            exp: now + ID_TOKEN_LIFETIME_SECS,
            email: user.email.as_ref().map(ToString::to_string),
            email_verified: user.email.as_ref().map(|_| user.email_verified),
            phone_number: user.phone_number.clone(),
            provider_id: (provider == "anonymous").then(|| "anonymous".to_owned()),
            firebase: FirebaseClaims {
                identities,
                sign_in_provider: provider.to_owned(),
                tenant: realm.tenant_id.clone(),
                sign_in_second_factor: sign_in
                    .second_factor
                    .as_ref()
                    .map(|f| kind_claim(f.kind).to_owned()),
                second_factor_identifier: sign_in.second_factor.as_ref().map(|f| f.id.to_string()),
            },
            extra: profile_and_custom_claims(
                user.display_name.as_deref(),
                user.photo_url.as_deref(),
                custom,
            ),
        };
        self.signer.sign(claims).await
    }

    /// Exchanges a refresh token for a fresh ID token. The refresh token itself is kept, as
    /// Firebase keeps it.
    pub async fn refresh(
        &self,
        scope: &KeyScope,
        refresh_token: &str,
    ) -> Result<Session, DomainError> {
        let record = self
            .store
            .find_refresh_token(&session_key(refresh_token))
            .await?
            .ok_or(DomainError::InvalidRefreshToken)?;
        let realm = self
            .get_realm(&record.realm)
            .await?
            .ok_or(DomainError::InvalidRefreshToken)?;
        if let KeyScope::Project(project) = scope
            && *project != realm.project_id
        {
            return Err(DomainError::InvalidRefreshToken);
        }
        let user = self
            .store
            .get_user(&realm.id, &record.user)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        user.ensure_active()?;
        if record.issued_at < user.valid_since {
            return Err(DomainError::TokenExpired);
        }
        let now = self.clock.now();
        let recorded = async {
            let activity = Activity::Refresh;
            Ok(self
                .store
                .record_activity(&realm.id, &user.id, activity, now)
                .await?)
        };
        let sign_in = SignIn {
            provider: record.sign_in_provider,
            auth_time: record.auth_time,
            second_factor: record.second_factor,
            developer_claims: record.developer_claims,
        };
        let ((), session) = self
            .session_beside(&realm, &user, &sign_in, refresh_token.to_owned(), recorded)
            .await?;
        Ok(session)
    }

    /// A session cookie for the session an ID token proves (the Admin SDKs'
    /// `createSessionCookie`): the token's claims, issued by Firebase's session-cookie issuer,
    /// for `valid_for` seconds, signed as ID tokens are; `realm`'s users only.
    pub async fn create_session_cookie(
        &self,
        realm: &Realm,
        id_token: &str,
        valid_for: i64,
    ) -> Result<String, DomainError> {
        let scope = KeyScope::Project(realm.project_id.clone());
        let me = self
            .authenticate(&scope, realm.tenant_id.as_deref(), id_token)
            .await?;
        if me.realm.id != realm.id {
            return Err(DomainError::TenantIdMismatch);
        }
        let now = self.clock.now().unix_timestamp();
        let claims = IdTokenClaims {
            iss: session_cookie_issuer(&realm.project_id),
            iat: now,
            exp: now + valid_for,
            ..me.claims
        };
        self.signer.sign(claims).await
    }

    /// Proves an end user by ID token: signature, issuer and audience of the key's project,
    /// expiry by our clock, tenant agreement, and the user's liveness and `valid_since`.
    pub async fn authenticate(
        &self,
        scope: &KeyScope,
        tenant_id: Option<&str>,
        id_token: &str,
    ) -> Result<Authenticated, DomainError> {
        let project = self.project_of(scope);
        let claims = self.verifier.verify(id_token, &project)?;
        if let Some(tenant) = tenant_id
            && claims.firebase.tenant.as_deref() != Some(tenant)
        {
            return Err(DomainError::TenantIdMismatch);
        }
        if claims.exp <= self.clock.now().unix_timestamp() {
            return Err(DomainError::TokenExpired);
        }
        let realm = self
            .realm(&project, claims.firebase.tenant.as_deref())
            .await?;
        let user_id =
            tessera_core::UserId::parse(&claims.sub).ok_or(DomainError::InvalidIdToken)?;
        let (user, factors) = self
            .store
            .get_user_with_factors(&realm.id, &user_id, Listed::Ready)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        user.ensure_active()?;
        if !user.accepts_token_issued_at(claims.iat) {
            return Err(DomainError::TokenExpired);
        }
        Ok(Authenticated {
            realm,
            user,
            factors,
            claims,
        })
    }
}
