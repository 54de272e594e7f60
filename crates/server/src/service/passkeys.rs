//! Passkeys (ZITADEL's passwordless method) with webauthn-rs. A registration is two requests,
//! possibly on two nodes, so the ceremony waits in the passkey's own row until the browser
//! answers, as a security key's does (`webauthn.rs`). A login session checks passkeys when
//! its WebAuthn challenge requires user verification, and security keys otherwise, as ZITADEL
//! does; a passkey's assertion always verifies the user.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::passkey::PASSKEY_CODE_LIFETIME;
use tessera_core::store::Event;
use tessera_core::{DomainError, FactorId, FactorState, Passkey, PasskeyCode, Realm, User, UserId};
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey as PasskeyCredential, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, Webauthn, WebauthnError,
};

use super::Service;
use super::callers::internal;
use super::delivery::{ClientInfo, Destination, filled_template, minutes};
use super::webauthn::{
    Counter, account_names, ceremony_failed, counter_step, to_json, user_handle,
};
use crate::crypto::{random_array, random_chars, sha256};

/// The `detail` of a passkey's events, beside a security key's `webauthn`.
pub(super) const PASSKEY: &str = "passkey";

/// A registration code's characters and length, as ZITADEL's `PasswordlessInitCode`.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const CODE_LENGTH: usize = 12;

/// What the store keeps of registration code `id`.
fn code_hash(id: &str, code: &str) -> Vec<u8> {
    sha256(format!("{id}:{code}").as_bytes())
}

/// The page a registration link opens (`ui::registration`), at the path of ZITADEL's login
/// UI, so that links made as ZITADEL makes them work here too.
pub const PASSKEY_REGISTRATION_PAGE: &str = "/ui/login/login/passwordless/init";

/// How a registration code reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyCodeDelivery {
    /// Handed to the caller (the code, or the link), to pass on itself (ZITADEL's login UI
    /// does so).
    Return,
    /// Emailed to the user as the link.
    Email,
}

/// A registration code just issued, and the link that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPasskeyCode {
    pub id: String,
    pub code: String,
    pub link: String,
}

/// Which authenticators a registration asks the browser for; either, when not said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Built into the device (Touch ID, Windows Hello, a phone's screen lock).
    Platform,
    /// Carried from device to device (a USB or NFC key, a phone over hybrid transport).
    CrossPlatform,
}

/// What a passkey row keeps.
#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum PasskeyDocument {
    Pending {
        rp_id: String,
        registration: PasskeyRegistration,
    },
    Ready {
        rp_id: String,
        key: PasskeyCredential,
    },
}

fn document(passkey: &Passkey) -> Result<PasskeyDocument, DomainError> {
    serde_json::from_str(&passkey.credential).map_err(internal)
}

/// The relying-party id a passkey is bound to.
pub fn passkey_domain(passkey: &Passkey) -> Option<String> {
    match document(passkey).ok()? {
        PasskeyDocument::Pending { rp_id, .. } | PasskeyDocument::Ready { rp_id, .. } => {
            Some(rp_id)
        }
    }
}

impl Service {
    fn passkey_event(&self, realm: &Realm, passkey: &Passkey, kind: &'static str) -> Event {
        self.credential_event(realm, &passkey.user, Some(&passkey.id), kind, PASSKEY)
    }

    async fn existing_user(&self, realm: &Realm, id: &UserId) -> Result<User, DomainError> {
        self.store
            .get_user(&realm.id, id)
            .await?
            .ok_or(DomainError::UserNotFound)
    }

    /// The user's passkeys, open registrations too.
    async fn passkeys(&self, realm: &Realm, id: &UserId) -> Result<Vec<Passkey>, DomainError> {
        self.existing_user(realm, id).await?;
        Ok(self.store.list_passkeys(&realm.id, id).await?)
    }

    /// The user's ready passkeys: what the listings show (ZITADEL's leave out registrations
    /// not yet finished) and what signs in.
    pub async fn ready_passkeys(
        &self,
        realm: &Realm,
        id: &UserId,
    ) -> Result<Vec<Passkey>, DomainError> {
        let passkeys = self.passkeys(realm, id).await?;
        Ok(passkeys
            .into_iter()
            .filter(|p| p.state == FactorState::Ready)
            .collect())
    }

    /// The link that carries registration code `code_id`: `url_template` with
    /// `{{.UserID}}`, `{{.OrgID}}`, `{{.CodeID}}` and `{{.Code}}` filled in, else the
    /// registration page with ZITADEL's query parameters.
    fn registration_link(
        &self,
        realm: &Realm,
        user: &UserId,
        (code_id, code): (&str, &str),
        url_template: Option<&str>,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        let org = realm.org_id.as_deref().unwrap_or_default();
        if let Some(template) = url_template {
            let values = [
                ("UserID", user.as_str()),
                ("OrgID", org),
                ("CodeID", code_id),
                ("Code", code),
            ];
            return Ok(filled_template(template, &values));
        }
        let mut page = self.own_page(client.origin.as_deref(), PASSKEY_REGISTRATION_PAGE)?;
        page.query_pairs_mut()
            .append_pair("userID", user.as_str())
            .append_pair("orgID", org)
            .append_pair("codeID", code_id)
            .append_pair("code", code);
        Ok(page.into())
    }

    /// Issues a code that lets its holder start one passkey registration for the user within
    /// `PASSKEY_CODE_LIFETIME`, without being signed in, and the link that carries it (see
    /// `registration_link`). An emailed link goes to the user's address, in one write with
    /// the code.
    pub async fn create_passkey_code(
        &self,
        realm: &Realm,
        id: &UserId,
        delivery: PasskeyCodeDelivery,
        url_template: Option<&str>,
        client: &ClientInfo,
    ) -> Result<IssuedPasskeyCode, DomainError> {
        let user = self.existing_user(realm, id).await?;
        let code_id = FactorId::from_random(random_array().map_err(internal)?).to_string();
        let code = random_chars(CODE_LENGTH, CODE_ALPHABET).map_err(internal)?;
        let link =
            self.registration_link(realm, &user.id, (&code_id, &code), url_template, client)?;
        let outgoing = match delivery {
            PasskeyCodeDelivery::Return => None,
            PasskeyCodeDelivery::Email => {
                let email = user.email.as_ref().ok_or(DomainError::EmailNotFound)?;
                let content = MessageContent {
                    kind: MessageKind::PasskeyRegistration,
                    code: code.clone(),
                    locale: client.locale_for(&user),
                    valid_minutes: minutes(PASSKEY_CODE_LIFETIME),
                    session_info: None,
                    link: Some(link.clone()),
                    new_email: None,
                    app_name: None,
                };
                Some(self.outgoing(&realm.id, Destination::Email(email), &content, client)?)
            }
        };
        let stored = PasskeyCode {
            realm: realm.id.clone(),
            user: user.id.clone(),
            hash: code_hash(&code_id, &code),
            id: code_id.clone(),
            expires_at: self.clock.now() + PASSKEY_CODE_LIFETIME,
        };
        let event = self.credential_event(realm, &user.id, None, "passkey.code_issued", PASSKEY);
        self.store
            .insert_passkey_code(&stored, &event, outgoing.as_slice())
            .await?;
        if outgoing.is_some() {
            self.queued();
        }
        Ok(IssuedPasskeyCode {
            id: code_id,
            code,
            link,
        })
    }

    /// The user of registration code `code_id` if the code is live (neither used nor
    /// expired), without using it up: what the registration page checks before it shows
    /// anything of the user. `InvalidVerificationCode` otherwise, as for a code being used.
    pub async fn passkey_code_user(
        &self,
        realm: &Realm,
        id: &UserId,
        (code_id, code): (&str, &str),
    ) -> Result<User, DomainError> {
        let user = self.existing_user(realm, id).await?;
        let hash = code_hash(code_id, code);
        let live =
            self.store
                .passkey_code_live((&realm.id, &user.id), code_id, &hash, self.clock.now());
        if live.await? {
            Ok(user)
        } else {
            Err(DomainError::InvalidVerificationCode)
        }
    }

    /// Starts a passkey registration: the open passkey and the browser's creation options
    /// (`{"publicKey":{…}}`), which require user verification. A registration `code` (id and
    /// code) is used up first, when one is given. The user's passkeys are excluded, so one
    /// authenticator does not hold two of them.
    pub async fn register_passkey(
        &self,
        realm: &Realm,
        id: &UserId,
        code: Option<(&str, &str)>,
        domain: Option<&str>,
        attachment: Option<Attachment>,
    ) -> Result<(Passkey, Value), DomainError> {
        let user = self.existing_user(realm, id).await?;
        let (rp_id, webauthn) = self.relying_party(realm, domain)?;
        let exclude = self
            .passkeys_for(realm, &user.id, &rp_id)
            .await?
            .iter()
            .map(|(_, key)| key.cred_id().clone())
            .collect();
        let (name, display) = account_names(&user);
        if let Some(code) = code {
            self.use_passkey_code(realm, &user.id, code).await?;
        }
        let (options, registration) = webauthn
            .start_passkey_registration(
                user_handle(realm, &user.id),
                &name,
                &display,
                Some(exclude),
            )
            .map_err(ceremony_failed)?;
        let passkey = Passkey {
            realm: realm.id.clone(),
            user: user.id.clone(),
            id: FactorId::from_random(random_array().map_err(internal)?),
            state: FactorState::NotReady,
            name: None,
            credential: to_json(&PasskeyDocument::Pending {
                rp_id,
                registration,
            })?,
            created_at: self.clock.now(),
        };
        let event = self.passkey_event(realm, &passkey, "factor.enrolment_started");
        self.store.insert_passkey(&passkey, &event).await?;
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        if let (Some(selection), Some(attachment)) = (
            options
                .pointer_mut("/publicKey/authenticatorSelection")
                .and_then(Value::as_object_mut),
            attachment,
        ) {
            let named = match attachment {
                Attachment::Platform => "platform",
                Attachment::CrossPlatform => "cross-platform",
            };
            selection.insert("authenticatorAttachment".to_owned(), named.into());
        }
        Ok((passkey, options))
    }

    /// Uses up the user's registration code `code_id`; `InvalidVerificationCode` when it is
    /// wrong, used or expired.
    async fn use_passkey_code(
        &self,
        realm: &Realm,
        user: &UserId,
        (code_id, code): (&str, &str),
    ) -> Result<(), DomainError> {
        let hash = code_hash(code_id, code);
        let used = self
            .store
            .use_passkey_code((&realm.id, user), code_id, &hash, self.clock.now());
        if used.await? {
            Ok(())
        } else {
            Err(DomainError::InvalidVerificationCode)
        }
    }

    /// Finishes registration `passkey` (when `None`, the user's latest; ZITADEL's auth v1
    /// names none) with the browser's credential, under `name`. A registration `code`, when
    /// given, is used up once the credential has been checked and before the passkey is
    /// stored: the registration page uses its link's code only for a passkey that works, so
    /// a cancelled or refused attempt can be made again.
    pub async fn verify_passkey(
        &self,
        realm: &Realm,
        id: &UserId,
        passkey: Option<&FactorId>,
        credential: Value,
        name: &str,
        code: Option<(&str, &str)>,
    ) -> Result<Passkey, DomainError> {
        let mut pending = self
            .passkeys(realm, id)
            .await?
            .into_iter()
            .filter(|p| p.state == FactorState::NotReady)
            .filter(|p| passkey.is_none_or(|id| &p.id == id))
            .max_by_key(|p| p.created_at)
            .ok_or(DomainError::FactorNotFound)?;
        let PasskeyDocument::Pending {
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
            Webauthn::finish_passkey_registration,
        )?;
        if let Some(code) = code {
            self.use_passkey_code(realm, id, code).await?;
        }
        let old = std::mem::replace(
            &mut pending.credential,
            to_json(&PasskeyDocument::Ready { rp_id, key })?,
        );
        pending.state = FactorState::Ready;
        pending.name = Some(name.to_owned()).filter(|n| !n.is_empty());
        let event = self.passkey_event(realm, &pending, "factor.enrolled");
        if self
            .store
            .update_passkey(&pending, &old, Some(&event))
            .await?
        {
            Ok(pending)
        } else {
            Err(DomainError::FactorNotFound)
        }
    }

    /// Removes one passkey, open or ready.
    pub async fn remove_passkey(
        &self,
        realm: &Realm,
        id: &UserId,
        passkey: &FactorId,
    ) -> Result<(), DomainError> {
        let found = self
            .passkeys(realm, id)
            .await?
            .into_iter()
            .find(|p| &p.id == passkey)
            .ok_or(DomainError::FactorNotFound)?;
        let event = self.passkey_event(realm, &found, "factor.removed");
        if self.store.remove_passkey(&found.key(), &event).await? {
            Ok(())
        } else {
            Err(DomainError::FactorNotFound)
        }
    }

    /// The ready passkeys of `user` bound to `rp_id`.
    async fn passkeys_for(
        &self,
        realm: &Realm,
        user: &UserId,
        rp_id: &str,
    ) -> Result<Vec<(Passkey, PasskeyCredential)>, DomainError> {
        let passkeys = self.store.list_passkeys(&realm.id, user).await?;
        Ok(passkeys
            .into_iter()
            .filter_map(|p| match document(&p) {
                Ok(PasskeyDocument::Ready { rp_id: id, key }) if id == rp_id => Some((p, key)),
                _ => None,
            })
            .collect())
    }

    /// A sign-in challenge for the user's passkeys of `rp_id`: the browser's request options
    /// and the ceremony to keep until the answer comes.
    pub(super) async fn passkey_challenge(
        &self,
        realm: &Realm,
        user: &User,
        rp_id: &str,
        webauthn: &Webauthn,
    ) -> Result<(Value, PasskeyAuthentication), DomainError> {
        let keys: Vec<_> = self
            .passkeys_for(realm, &user.id, rp_id)
            .await?
            .into_iter()
            .map(|(_, key)| key)
            .collect();
        if keys.is_empty() {
            return Err(DomainError::NoWebAuthnCredential);
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(ceremony_failed)?;
        Ok((serde_json::to_value(&options).map_err(internal)?, state))
    }

    /// Checks a passkey assertion against the open ceremony, and keeps its sign counter as a
    /// security key's is kept (`counter_step`).
    pub(super) async fn check_passkey(
        &self,
        realm: &Realm,
        user: &User,
        rp_id: &str,
        webauthn: &Webauthn,
        assertion: &PublicKeyCredential,
        state: &PasskeyAuthentication,
    ) -> Result<(), DomainError> {
        let result: Result<AuthenticationResult, WebauthnError> =
            webauthn.finish_passkey_authentication(assertion, state);
        let passkeys = self.passkeys_for(realm, &user.id, rp_id).await?;
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                if let (WebauthnError::CredentialPossibleCompromise, Some((passkey, _))) =
                    (&e, passkeys.first())
                {
                    let event = self.passkey_event(realm, passkey, "factor.clone_suspected");
                    self.store.record_event(&event).await?;
                }
                return Err(ceremony_failed(e));
            }
        };
        let (mut passkey, mut key) = passkeys
            .into_iter()
            .find(|(_, key)| key.cred_id() == result.cred_id())
            .ok_or(DomainError::InvalidCredential)?;
        let cloned = match counter_step(key.update_credential(&result), &result) {
            Counter::Kept => false,
            Counter::WentBack => true,
            Counter::Moved => {
                let old = std::mem::replace(
                    &mut passkey.credential,
                    to_json(&PasskeyDocument::Ready {
                        rp_id: rp_id.to_owned(),
                        key,
                    })?,
                );
                !self.store.update_passkey(&passkey, &old, None).await?
            }
        };
        if cloned {
            let event = self.passkey_event(realm, &passkey, "factor.clone_suspected");
            self.store.record_event(&event).await?;
            return Err(DomainError::SecurityKeyCloned);
        }
        Ok(())
    }
}
