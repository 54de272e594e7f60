//! Security keys (WebAuthn, ZITADEL's U2F factor) with webauthn-rs, and what they share with
//! passkeys (`passkeys.rs`): the relying party, the sign-in challenge of a login session (a
//! passkey's when it requires user verification) and the sign counter's rule.
//!
//! A registration is two requests, possibly on two nodes: the ceremony state lives in the
//! pending factor itself until the browser's answer comes back. A sign-in challenge keeps its
//! state in the login session. After each sign-in the key's sign counter is written back only
//! if nobody changed the key meanwhile; a counter that does not move past the stored one
//! means the key may have been cloned, and the sign-in fails (recorded as an event).
//!
//! The relying party id is the `domain` a request names (ZITADEL's RegisterU2F), or the host
//! of the first configured origin. Allowed origins are the configured ones, any port, plus
//! `https://<domain>` for a named domain.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::store::Event;
use tessera_core::{
    DomainError, Factor, FactorData, FactorId, FactorKind, FactorState, Realm, RelyingParty, User,
    UserId,
};
use webauthn_rs::prelude::{
    AuthenticationResult, PasskeyAuthentication, PublicKeyCredential, RegisterPublicKeyCredential,
    SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::{KeyChallenge, Service, callers::internal};
use crate::crypto::{random_array, sha256};

/// Server-wide WebAuthn settings.
#[derive(Debug, Clone)]
pub struct WebAuthnSettings {
    pub rp_name: String,
    /// Origins login pages are served from; the first one's host is the default RP id.
    pub origins: Vec<Url>,
}

impl WebAuthnSettings {
    /// Settings from configuration; `Err` names the origin that does not parse.
    pub fn new(rp_name: &str, origins: &[String]) -> Result<Self, String> {
        let origins = origins
            .iter()
            .map(|o| {
                Url::parse(o)
                    .ok()
                    .filter(|u| u.host_str().is_some())
                    .ok_or_else(|| o.clone())
            })
            .collect::<Result<_, _>>()?;
        Ok(WebAuthnSettings {
            rp_name: rp_name.to_owned(),
            origins,
        })
    }
}

/// What a security-key factor keeps, as JSON in the factor.
#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum KeyDocument {
    Pending {
        rp_id: String,
        registration: SecurityKeyRegistration,
    },
    Ready {
        rp_id: String,
        key: SecurityKey,
    },
}

/// A pending WebAuthn sign-in, as JSON in the login session.
#[derive(Serialize, Deserialize)]
struct AuthenticationDocument {
    rp_id: String,
    /// The challenge asked for user verification.
    #[serde(default)]
    user_verification: bool,
    #[serde(flatten)]
    ceremony: Ceremony,
}

/// Whose ceremony a sign-in is: a security key's, or (when the challenge requires user
/// verification) a passkey's.
#[derive(Serialize, Deserialize)]
enum Ceremony {
    /// Named `state`, as sessions stored it before passkeys came.
    #[serde(rename = "state")]
    SecurityKey(SecurityKeyAuthentication),
    #[serde(rename = "passkey")]
    Passkey(PasskeyAuthentication),
}

impl Ceremony {
    /// The `detail` of its events.
    fn detail(&self) -> &'static str {
        match self {
            Ceremony::SecurityKey(_) => SECURITY_KEY,
            Ceremony::Passkey(_) => super::passkeys::PASSKEY,
        }
    }
}

/// What an accepted assertion did to the stored credential's sign counter.
pub(super) enum Counter {
    /// Nothing to write: the credential keeps no counter (synced passkeys send 0).
    Kept,
    /// Moved forward (or the backup state changed): written back if nobody changed the
    /// credential meanwhile; if somebody did, both sign-ins cannot be the one key.
    Moved,
    /// Not past the stored one, though past the one read when the challenge was made: the
    /// assertion comes from a copy of the key, or was made before one that was accepted since.
    WentBack,
}

/// `updated` is the credential's `update_credential` with `result`.
pub(super) fn counter_step(updated: Option<bool>, result: &AuthenticationResult) -> Counter {
    match updated {
        Some(true) => Counter::Moved,
        Some(false) if result.counter() > 0 => Counter::WentBack,
        _ => Counter::Kept,
    }
}

/// The `detail` of a security key's events.
const SECURITY_KEY: &str = "webauthn";

fn document(factor: &Factor) -> Result<KeyDocument, DomainError> {
    match &factor.data {
        FactorData::WebAuthn { credential } => serde_json::from_str(credential).map_err(internal),
        _ => Err(DomainError::FactorNotFound),
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String, DomainError> {
    serde_json::to_string(value).map_err(internal)
}

/// The WebAuthn user handle: stable per user, and no personal data.
pub(super) fn user_handle(realm: &Realm, user: &UserId) -> Uuid {
    let digest = sha256(format!("{}:{}", realm.id.0, user.as_str()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// The account a new credential names to the authenticator, as `(name, display name)`: the
/// email address (else the user id), and the display name (else the same).
pub(super) fn account_names(user: &User) -> (String, String) {
    let name = user
        .email
        .as_ref()
        .map_or_else(|| user.id.to_string(), ToString::to_string);
    let display = user.display_name.clone().unwrap_or_else(|| name.clone());
    (name, display)
}

pub(super) fn ceremony_failed(e: WebauthnError) -> DomainError {
    tracing::info!(error = %e, "WebAuthn ceremony rejected");
    match e {
        WebauthnError::CredentialPossibleCompromise => DomainError::SecurityKeyCloned,
        WebauthnError::UserNotVerified => DomainError::UserNotVerified,
        _ => DomainError::InvalidCredential,
    }
}

/// The relying-party id a security key is bound to.
pub fn security_key_domain(factor: &Factor) -> Option<String> {
    match document(factor).ok()? {
        KeyDocument::Pending { rp_id, .. } | KeyDocument::Ready { rp_id, .. } => Some(rp_id),
    }
}

impl Service {
    /// The relying party for `realm`: its own settings if it has them, else the server's; the
    /// id is `domain` when a request names one.
    pub(super) fn relying_party(
        &self,
        realm: &Realm,
        domain: Option<&str>,
    ) -> Result<(String, Webauthn), DomainError> {
        let origins: Vec<Url> = match &realm.relying_party {
            Some(rp) => rp
                .origins
                .iter()
                .filter_map(|o| Url::parse(o).ok())
                .collect(),
            None => self.webauthn.origins.clone(),
        };
        let rp_id = match (domain.filter(|d| !d.is_empty()), &realm.relying_party) {
            (Some(domain), _) => domain.to_owned(),
            (None, Some(rp)) => rp.id.clone(),
            (None, None) => origins
                .first()
                .and_then(|o| o.host_str())
                .unwrap_or("localhost")
                .to_owned(),
        };
        let own =
            Url::parse(&format!("https://{rp_id}")).map_err(|_| DomainError::InvalidCredential)?;
        let mut builder = WebauthnBuilder::new(&rp_id, &own)
            .map_err(ceremony_failed)?
            .rp_name(&self.webauthn.rp_name)
            .allow_any_port(true);
        let suffix = format!(".{rp_id}");
        for origin in &origins {
            if origin
                .host_str()
                .is_some_and(|h| h == rp_id || h.ends_with(&suffix))
            {
                builder = builder.append_allowed_origin(origin);
            }
        }
        let webauthn = builder.build().map_err(ceremony_failed)?;
        Ok((rp_id, webauthn))
    }

    /// Finishes the registration ceremony `registration` for relying party `rp_id` with the
    /// browser's `credential`, by `finish` (a security key's or a passkey's).
    pub(super) fn finish_registration<R, K>(
        &self,
        realm: &Realm,
        rp_id: &str,
        registration: &R,
        credential: Value,
        finish: impl FnOnce(&Webauthn, &RegisterPublicKeyCredential, &R) -> Result<K, WebauthnError>,
    ) -> Result<K, DomainError> {
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|_| DomainError::InvalidCredential)?;
        let (_, webauthn) = self.relying_party(realm, Some(rp_id))?;
        finish(&webauthn, &credential, registration).map_err(ceremony_failed)
    }

    /// Sets (or, with `None`, clears) the realm's own relying party.
    pub async fn set_relying_party(
        &self,
        realm: &Realm,
        relying_party: Option<RelyingParty>,
    ) -> Result<Realm, DomainError> {
        let mut updated = realm.clone();
        updated.relying_party = relying_party;
        if self.save_realm(&updated).await? {
            Ok(updated)
        } else {
            Err(DomainError::OrgNotFound)
        }
    }

    fn key_event(
        &self,
        realm: &Realm,
        user: &UserId,
        factor: Option<&FactorId>,
        kind: &'static str,
    ) -> Event {
        self.credential_event(realm, user, factor, kind, SECURITY_KEY)
    }

    /// An event of a WebAuthn credential, a security key's or a passkey's (`detail`).
    pub(super) fn credential_event(
        &self,
        realm: &Realm,
        user: &UserId,
        factor: Option<&FactorId>,
        kind: &'static str,
        detail: &'static str,
    ) -> Event {
        Event {
            realm: realm.id.clone(),
            user: Some(user.clone()),
            factor: factor.cloned(),
            kind,
            detail: Some(detail.to_owned()),
            at: self.clock.now(),
        }
    }

    /// Starts a security-key registration: a pending factor and the browser's creation
    /// options (`{"publicKey":{…}}`). Keys the user has already are excluded.
    pub async fn register_security_key(
        &self,
        realm: &Realm,
        id: &UserId,
        domain: Option<&str>,
    ) -> Result<(Factor, Value), DomainError> {
        let (user, factors) = self.user_factors(realm, id).await?;
        let (rp_id, webauthn) = self.relying_party(realm, domain)?;
        let exclude = factors
            .iter()
            .filter(|f| f.state == FactorState::Ready)
            .filter_map(|f| match document(f) {
                Ok(KeyDocument::Ready { key, .. }) => Some(key.cred_id().clone()),
                _ => None,
            })
            .collect::<Vec<_>>();
        let (name, display) = account_names(&user);
        let (options, registration) = webauthn
            .start_securitykey_registration(
                user_handle(realm, &user.id),
                &name,
                &display,
                Some(exclude),
                None,
                None,
            )
            .map_err(ceremony_failed)?;
        let now = self.clock.now();
        let factor = Factor {
            id: FactorId::from_random(random_array().map_err(internal)?),
            realm: realm.id.clone(),
            user: user.id.clone(),
            state: FactorState::NotReady,
            display_name: None,
            data: FactorData::WebAuthn {
                credential: to_json(&KeyDocument::Pending {
                    rp_id,
                    registration,
                })?,
            },
            created_at: now,
            enrolled_at: None,
            last_used_at: None,
            last_used_step: None,
        };
        self.store
            .insert_factor(&factor, &self.enrolment_started(&factor))
            .await?;
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        // webauthn-rs asks for the credProtect policy "userVerificationRequired" next to
        // userVerification "preferred"; Chromium refuses that pair outright
        // (kanidm/webauthn-rs#490), so the browser is not asked for the policy.
        if let Some(extensions) = options
            .pointer_mut("/publicKey/extensions")
            .and_then(Value::as_object_mut)
        {
            extensions.remove("credentialProtectionPolicy");
            extensions.remove("enforceCredentialProtectionPolicy");
        }
        Ok((factor, options))
    }

    /// Finishes a registration with the browser's credential; `factor` names the pending
    /// registration, or, when `None`, the user's only one (ZITADEL's auth v1).
    pub async fn verify_security_key(
        &self,
        realm: &Realm,
        id: &UserId,
        factor: Option<&FactorId>,
        credential: Value,
        name: &str,
    ) -> Result<Factor, DomainError> {
        let (user, factors) = self.user_factors(realm, id).await?;
        let mut pending = factors
            .into_iter()
            .filter(|f| f.kind() == FactorKind::WebAuthn && f.state == FactorState::NotReady)
            .filter(|f| factor.is_none_or(|id| &f.id == id))
            .max_by_key(|f| f.created_at)
            .ok_or(DomainError::FactorNotFound)?;
        let KeyDocument::Pending {
            rp_id,
            registration,
        } = document(&pending)?
        else {
            return Err(DomainError::FactorNotFound);
        };
        let key = self.finish_registration(
            realm,
            &rp_id,
            &registration,
            credential,
            Webauthn::finish_securitykey_registration,
        )?;
        pending.data = FactorData::WebAuthn {
            credential: to_json(&KeyDocument::Ready { rp_id, key })?,
        };
        pending.state = FactorState::Ready;
        pending.display_name = Some(name.to_owned()).filter(|n| !n.is_empty());
        pending.enrolled_at = Some(self.clock.now());
        let event = self.key_event(realm, &user.id, Some(&pending.id), "factor.enrolled");
        self.make_ready(pending, &event).await
    }

    /// Removes one security key (pending or ready).
    pub async fn remove_security_key(
        &self,
        realm: &Realm,
        id: &UserId,
        factor: &FactorId,
    ) -> Result<(), DomainError> {
        let found = self
            .store
            .get_factor(&realm.id, id, factor)
            .await?
            .filter(|f| f.kind() == FactorKind::WebAuthn)
            .ok_or(DomainError::FactorNotFound)?;
        let event = self.key_event(realm, id, Some(&found.id), "factor.removed");
        if self
            .store
            .remove_factor(&realm.id, id, &found.id, &event, None)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::FactorNotFound)
        }
    }

    /// The user's ready security keys for `rp_id`, with their stored documents.
    async fn keys_for(
        &self,
        realm: &Realm,
        user: &User,
        rp_id: &str,
    ) -> Result<Vec<(Factor, SecurityKey)>, DomainError> {
        let factors = self.ready_factors(realm, user).await?;
        Ok(factors
            .into_iter()
            .filter_map(|f| match document(&f) {
                Ok(KeyDocument::Ready { rp_id: id, key }) if id == rp_id => Some((f, key)),
                _ => None,
            })
            .collect())
    }

    /// A sign-in challenge: for the user's passkeys when it requires user verification, as
    /// ZITADEL's sessions do, else for their security keys. The request options for the
    /// browser, and the state to keep until the answer comes.
    pub(super) async fn webauthn_challenge(
        &self,
        realm: &Realm,
        user: &User,
        challenge: &KeyChallenge,
    ) -> Result<(Value, String), DomainError> {
        let (rp_id, webauthn) = self.relying_party(realm, Some(&challenge.domain))?;
        let (options, ceremony) = if challenge.user_verification {
            let (options, state) = self
                .passkey_challenge(realm, user, &rp_id, &webauthn)
                .await?;
            (options, Ceremony::Passkey(state))
        } else {
            let keys: Vec<SecurityKey> = self
                .keys_for(realm, user, &rp_id)
                .await?
                .into_iter()
                .map(|(_, key)| key)
                .collect();
            if keys.is_empty() {
                return Err(DomainError::NoWebAuthnCredential);
            }
            let (options, state) = webauthn
                .start_securitykey_authentication(&keys)
                .map_err(ceremony_failed)?;
            (
                serde_json::to_value(&options).map_err(internal)?,
                Ceremony::SecurityKey(state),
            )
        };
        let state = to_json(&AuthenticationDocument {
            rp_id,
            user_verification: challenge.user_verification,
            ceremony,
        })?;
        Ok((options, state))
    }

    /// Checks the browser's assertion against the pending challenge; `Ok(user_verified)`.
    /// A refused assertion is recorded as a failed verification of the user's security keys
    /// or passkeys (which one the browser used is not known when the assertion does not
    /// verify). They get no soft lock: an assertion is a signature, which guessing cannot
    /// produce.
    pub(super) async fn check_webauthn(
        &self,
        realm: &Realm,
        user: &User,
        state: &str,
        assertion: Value,
    ) -> Result<bool, DomainError> {
        let pending: AuthenticationDocument = serde_json::from_str(state).map_err(internal)?;
        let detail = pending.ceremony.detail();
        let outcome = self.verify_assertion(realm, user, pending, assertion).await;
        if let Err(
            DomainError::InvalidCredential
            | DomainError::SecurityKeyCloned
            | DomainError::UserNotVerified,
        ) = &outcome
        {
            let failure =
                self.credential_event(realm, &user.id, None, "factor.verification_failed", detail);
            self.store.record_event(&failure).await?;
        }
        outcome
    }

    async fn verify_assertion(
        &self,
        realm: &Realm,
        user: &User,
        pending: AuthenticationDocument,
        assertion: Value,
    ) -> Result<bool, DomainError> {
        let assertion: PublicKeyCredential =
            serde_json::from_value(assertion).map_err(|_| DomainError::InvalidCredential)?;
        // WebAuthn §7.2 step 6: a user handle, when the authenticator gives one, is the user's.
        if assertion
            .response
            .user_handle
            .as_ref()
            .is_some_and(|h| h.as_slice() != user_handle(realm, &user.id).as_bytes())
        {
            return Err(DomainError::InvalidCredential);
        }
        let (_, webauthn) = self.relying_party(realm, Some(&pending.rp_id))?;
        let state = match &pending.ceremony {
            Ceremony::SecurityKey(state) => state,
            Ceremony::Passkey(state) => {
                self.check_passkey(realm, user, &pending.rp_id, &webauthn, &assertion, state)
                    .await?;
                return Ok(true);
            }
        };
        let result = webauthn.finish_securitykey_authentication(&assertion, state);
        let keys = self.keys_for(realm, user, &pending.rp_id).await?;
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                if let (WebauthnError::CredentialPossibleCompromise, Some((factor, _))) =
                    (&e, keys.first())
                {
                    let event =
                        self.key_event(realm, &user.id, Some(&factor.id), "factor.clone_suspected");
                    self.store.record_event(&event).await?;
                }
                return Err(ceremony_failed(e));
            }
        };
        let (factor, mut key) = keys
            .into_iter()
            .find(|(_, key)| key.cred_id() == result.cred_id())
            .ok_or(DomainError::InvalidCredential)?;
        let FactorData::WebAuthn { credential: old } = &factor.data else {
            return Err(DomainError::Internal);
        };
        let cloned = match counter_step(key.update_credential(&result), &result) {
            Counter::Kept => false,
            Counter::WentBack => true,
            Counter::Moved => {
                let new = to_json(&KeyDocument::Ready {
                    rp_id: pending.rp_id.clone(),
                    key,
                })?;
                !self
                    .store
                    .swap_webauthn_credential(&factor.key(), old, &new, self.clock.now())
                    .await?
            }
        };
        if cloned {
            let event = self.key_event(realm, &user.id, Some(&factor.id), "factor.clone_suspected");
            self.store.record_event(&event).await?;
            return Err(DomainError::SecurityKeyCloned);
        }
        if pending.user_verification && !result.user_verified() {
            return Err(DomainError::UserNotVerified);
        }
        Ok(result.user_verified())
    }
}
