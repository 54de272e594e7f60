//! The use cases, dialect-neutral. Both dialects call these functions; this is the only
//! layer that orchestrates the store, the clock, password hashing and token minting.

mod accounts;
mod attempts;
mod callers;
mod contacts;
mod delivery;
mod idp_sign_in;
mod invites;
mod login_sessions;
mod metadata;
mod mfa;
mod oob;
mod orgs;
mod passkeys;
mod phone_sign_in;
mod realms;
mod recent;
mod recovery_codes;
mod sessions;
mod settings;
mod totp_registration;
mod user_locks;
mod webauthn;

use std::sync::Arc;

use tessera_core::{Clock, DomainError, Store};

use crate::crypto::Keyring;
use crate::passwords::PasswordHasherPool;
use crate::tokens::{
    CustomToken, CustomTokenError, CustomTokens, IdpClaims, IdpCredential, IdpTokenError,
    IdpTokens, Signing, SigningKeys, TokenSigner, TokenVerifier,
};

pub use accounts::{
    AccountChanges, BatchGetPage, ImportUser, NewAccount, NewPassword, UserSelector,
};
pub use attempts::FailureLimits;
pub use callers::{KeyScope, Mode};
pub use contacts::{ContactCodes, HumanChange, IfUnchanged, NewHuman, Proof};
pub use delivery::{
    ClientInfo, DELIVERY_RETENTION, DeliveryLimits, DeliverySetup, Limit, OutboxCode,
};
pub use idp_sign_in::{IdpAssertion, IdpOutcome, IdpSignIn, IdpUse};
pub use invites::{INVITE_PAGE, InviteDelivery};
pub use login_sessions::{
    CodeDelivery, KeyChallenge, ListedSession, SessionChallenges, SessionChange, SessionChecks,
    SessionUpdate, UserLookup, metadata_entries,
};
pub use mfa::{
    AcceptAll, AdminFactor, AppEvidence, AppVerifier, EnrolmentProof, EnrolmentStart,
    EnrolmentStarted, FirstFactorOutcome, RequireEvidence, SignInProof,
};
pub use oob::{
    Addressee, EmailLinkSignIn, LinkDelivery, LinkSource, Notice, OobSend, OobSent, OutboxOob,
};
pub use orgs::Machine;
pub use passkeys::{
    Attachment, IssuedPasskeyCode, PASSKEY_REGISTRATION_PAGE, PasskeyCodeDelivery, passkey_domain,
};
pub use phone_sign_in::{PhoneCodeUse, PhoneOutcome, PhoneProof, PhoneSignIn};
pub use realms::RealmChanges;
pub use sessions::{Authenticated, Session, SignIn};
pub use totp_registration::TotpRegistration;
pub use webauthn::{WebAuthnSettings, security_key_domain};

pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: Arc<SigningKeys>,
    master: Arc<Keyring>,
    app_verifier: Arc<dyn AppVerifier>,
    signer: TokenSigner,
    verifier: TokenVerifier,
    passwords: PasswordHasherPool,
    mode: Mode,
    default_project: String,
    webauthn: WebAuthnSettings,
    delivery: delivery::Deliveries,
    failure_limits: FailureLimits,
    custom_tokens: CustomTokens,
    idp_tokens: IdpTokens,
    recent: recent::Recent,
    user_locks: user_locks::UserLocks,
}

pub struct ServiceParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<SigningKeys>,
    pub signing: Signing,
    /// Seals TOTP secrets and queued messages; keys codes stored as MACs.
    pub master: Arc<Keyring>,
    /// Judges app-verification evidence on phone enrolment and sign-in.
    pub app_verifier: Arc<dyn AppVerifier>,
    pub passwords: PasswordHasherPool,
    pub mode: Mode,
    pub default_project: String,
    pub webauthn: WebAuthnSettings,
    /// Senders, templates and abuse limits for codes sent by SMS and email.
    pub delivery: DeliverySetup,
    /// Limits on failed code checks per user and per client address.
    pub failure_limits: FailureLimits,
    /// Which custom tokens sign in (`signInWithCustomToken`).
    pub custom_tokens: CustomTokens,
    /// Which identity providers' tokens sign in (`signInWithIdp`).
    pub idp_tokens: IdpTokens,
}

impl Service {
    pub fn new(parts: ServiceParts) -> Result<Self, DomainError> {
        let ServiceParts {
            store,
            clock,
            keys,
            signing,
            master,
            app_verifier,
            passwords,
            mode,
            default_project,
            webauthn,
            delivery,
            failure_limits,
            custom_tokens,
            idp_tokens,
        } = parts;
        Ok(Self {
            store,
            clock,
            signer: TokenSigner::new(keys.clone(), signing),
            verifier: TokenVerifier::new(keys.clone(), signing),
            keys,
            master,
            app_verifier,
            passwords,
            mode,
            default_project,
            webauthn,
            delivery: delivery::Deliveries::new(delivery)?,
            failure_limits,
            custom_tokens,
            idp_tokens,
            recent: recent::Recent::new(),
            user_locks: user_locks::UserLocks::new(),
        })
    }

    /// The public halves of the token-signing keys, for JWKS and x509 publication.
    pub fn signing_keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// The current time, for answers that report when a change happened.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// The project the self-service page and dev-mode API keys act on.
    pub fn default_project(&self) -> &str {
        &self.default_project
    }

    /// A form token bound to `scope` (a session id): an HMAC under a master-key-derived key,
    /// so it needs no storage and cannot be forged from another session.
    pub fn form_token(&self, scope: &str) -> String {
        data_encoding::BASE64URL_NOPAD.encode(&self.master.mac("ui-form", scope))
    }

    /// Whether `sent` is a form token for `scope` under any master key, so a page loaded just
    /// before a key rotation still submits.
    pub fn form_token_ok(&self, scope: &str, sent: &str) -> bool {
        data_encoding::BASE64URL_NOPAD
            .decode(sent.as_bytes())
            .is_ok_and(|mac| self.master.mac_matches("ui-form", scope, &mac))
    }

    /// The issuer authenticator apps show next to a TOTP account.
    pub fn totp_issuer(&self) -> &'static str {
        "Tessera"
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The custom token `raw`, if it is one this server takes now.
    pub fn read_custom_token(&self, raw: &str) -> Result<CustomToken, CustomTokenError> {
        self.custom_tokens.read(raw, self.clock.now())
    }

    /// The claims of an identity provider's credential, if this server takes it now.
    pub async fn read_idp_token(
        &self,
        credential: IdpCredential<'_>,
    ) -> Result<IdpClaims, IdpTokenError> {
        self.idp_tokens.read(credential, self.clock.now()).await
    }

    /// For `/readyz`: can we reach the database right now?
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}
