//! Identity Toolkit's emailed action links (`accounts:sendOobCode`): one that verifies the
//! user's address, one that makes a new address theirs, one that resets the password, and one
//! that signs in by email; and, unasked, one that changes an address back, sent to the address
//! an end user's email was changed from (`RECOVER_EMAIL`, as Firebase sends it), in case it
//! was not its owner who changed it, and one that removes a second factor, sent in production
//! with each enrolment (`REVERT_SECOND_FACTOR_ADDITION`), in case it was not the user who
//! enrolled it. A link's code is used once, within `OOB_CODE_LIFETIME`,
//! through `accounts:update` (`oobCode`), `accounts:resetPassword`,
//! `accounts:signInWithEmailLink`, or the self-service page's `/ui/action`; a new link of the
//! same purpose replaces the user's earlier one (a sign-in link, the address's; a recovery
//! link, the one for the same address; a link that removes a factor, none: each factor has its
//! own).
//!
//! Links point at the configured action URL (a custom email action handler, as Firebase
//! projects configure one), else at the page's `/ui/action`: on the request's own origin in
//! dev mode, as the emulator does, and on the first WebAuthn origin in production, where the
//! `Host` header is not to be trusted with where a password-reset link leads.

use serde::{Deserialize, Serialize};
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::oob::{OOB_CODE_LIFETIME, OobCode, OobRequest};
use tessera_core::store::{Outgoing, SealedKind, UserRow, UserWrite};
use tessera_core::user::sessions_valid_since;
use tessera_core::{
    DomainError, EmailAddress, Factor, FactorId, FactorState, Password, PhoneNumber, Realm,
    RealmId, User, UserId,
};
use url::Url;

use super::accounts::PreparedChanges;
use super::delivery::{ClientInfo, Destination, filled_template, minutes};
use super::invites::proof_ends;
use super::{
    AccountChanges, FirstFactorOutcome, Mode, NewAccount, NewPassword, Service, callers::internal,
};
use crate::crypto::{same_digest, session_key, session_token};

const SEAL_PURPOSE: &str = SealedKind::OobCode.purpose();

/// A link to issue.
#[derive(Debug)]
pub struct OobSend {
    pub request: OobRequest,
    pub to: Addressee,
    /// The address a `VerifyAndChangeEmail` link makes the user's.
    pub new_email: Option<EmailAddress>,
    /// Where the action handler sends the user afterwards.
    pub continue_url: Option<String>,
    pub source: LinkSource,
    pub deliver: LinkDelivery,
    /// The link to send instead of the action handler's, with `{{.UserID}}`, `{{.Code}}` and
    /// `{{.OrgID}}` filled in (ZITADEL's `url_template`).
    pub url_template: Option<String>,
}

/// What a link carries from the request that made it.
#[derive(Debug, Clone, Default)]
pub struct LinkSource {
    /// The API key, for the action handler's calls back (an administrator's request may have
    /// none).
    pub api_key: Option<String>,
    /// The origin the request came to (`http://host:port`), for dev mode's links.
    pub origin: Option<String>,
}

/// The request in which end users change their own address, for the recovery link sent to
/// the old one (`Service::recovery_link`).
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub source: &'a LinkSource,
    pub client: &'a ClientInfo,
}

/// Whom a link is for: a user, or the address a sign-in link goes to, which may have no user
/// yet.
#[derive(Debug)]
pub enum Addressee {
    User(Box<User>),
    Address(EmailAddress),
    /// An address without an account, answered as if it had one (the realm's email privacy,
    /// for a password reset): nothing is issued or sent.
    Unknown(EmailAddress),
}

impl Addressee {
    fn user(&self) -> Option<&User> {
        match self {
            Addressee::User(user) => Some(user),
            Addressee::Address(_) | Addressee::Unknown(_) => None,
        }
    }
}

/// How a sign-in by email link ended (`Service::sign_in_with_email_link`).
pub struct EmailLinkSignIn {
    pub user: User,
    /// Whether the sign-in created the user.
    pub is_new: bool,
    pub outcome: FirstFactorOutcome,
}

/// How a link reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDelivery {
    /// By email (to the new address for a change).
    Email,
    /// By SMS to the user's proven phone number (ZITADEL's `NOTIFICATION_TYPE_SMS`).
    Sms,
    /// Handed to the caller (the Admin SDKs' `generate…Link`, ZITADEL's `return_code`).
    Return,
}

/// An issued link: the address it is for, and, when returned, the code and the link.
#[derive(Debug)]
pub struct OobSent {
    pub email: EmailAddress,
    pub returned: Option<(String, String)>,
}

/// A code and its link as the dev outbox shows them (the emulator's `oobCodes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OobLink {
    pub code: String,
    pub link: String,
}

/// An outstanding code of the dev outbox, with what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxOob {
    pub email: String,
    pub request: OobRequest,
    pub link: OobLink,
}

impl Service {
    /// Issues a link for `send.to`: emailed (to the new address for a change), sent by SMS,
    /// or returned.
    pub async fn send_oob_code(
        &self,
        realm: &Realm,
        send: OobSend,
        client: &ClientInfo,
    ) -> Result<OobSent, DomainError> {
        let email = match &send.to {
            Addressee::User(user) => user.email.clone().ok_or(DomainError::EmailNotFound)?,
            Addressee::Address(address) => address.clone(),
            Addressee::Unknown(address) => {
                return Ok(OobSent {
                    email: address.clone(),
                    returned: None,
                });
            }
        };
        if let Some(new) = &send.new_email
            && self
                .store
                .find_user_by_email(&realm.id, new)
                .await?
                .is_some()
        {
            return Err(DomainError::EmailExists);
        }
        let (issued, outgoing, link) = self.issue_oob_code(realm, &send, email.clone(), client)?;
        self.put_oob_code(&issued, outgoing).await?;
        Ok(OobSent {
            email,
            returned: (send.deliver == LinkDelivery::Return).then_some((link.code, link.link)),
        })
    }

    /// Stores an issued code with its message, if any, and wakes the worker for the message.
    async fn put_oob_code(
        &self,
        code: &OobCode,
        outgoing: Option<Outgoing>,
    ) -> Result<(), DomainError> {
        let outgoing = Vec::from_iter(outgoing);
        self.store.put_oob_code(code, &outgoing).await?;
        if !outgoing.is_empty() {
            self.queued();
        }
        Ok(())
    }

    /// A link sent unasked to `user` (a recovery link, a link that removes a factor), by
    /// email, carrying `notice`'s API key.
    fn unasked_link(
        request: OobRequest,
        user: &User,
        new_email: Option<EmailAddress>,
        notice: Notice<'_>,
    ) -> OobSend {
        OobSend {
            request,
            to: Addressee::User(Box::new(user.clone())),
            new_email,
            continue_url: None,
            source: notice.source.clone(),
            deliver: LinkDelivery::Email,
            url_template: None,
        }
    }

    /// A new code for `send`, issued for `email` (the user's address, a sign-in link's, or the
    /// one a recovery link restores), and the message that carries it unless it is returned:
    /// to the new address for a change, else to `email` or by SMS.
    fn issue_oob_code(
        &self,
        realm: &Realm,
        send: &OobSend,
        email: EmailAddress,
        client: &ClientInfo,
    ) -> Result<(OobCode, Option<Outgoing>, OobLink), DomainError> {
        let user = send.to.user();
        let number;
        let to = match send.deliver {
            LinkDelivery::Email => Some(Destination::Email(match send.request {
                OobRequest::VerifyAndChangeEmail => send.new_email.as_ref().unwrap_or(&email),
                _ => &email,
            })),
            LinkDelivery::Sms => {
                number = (user.and_then(|user| user.phone_number.as_deref()))
                    .and_then(PhoneNumber::parse)
                    .ok_or(DomainError::ContactNotFound)?;
                Some(Destination::Phone(&number))
            }
            LinkDelivery::Return => None,
        };
        let now = self.clock.now();
        let code = session_token(now).map_err(internal)?;
        let link = OobLink {
            link: self.action_link(realm, send, &code)?,
            code,
        };
        let sealed = serde_json::to_vec(&link).map_err(internal)?;
        let outgoing = match to {
            Some(to) => {
                let content = MessageContent {
                    kind: match send.request {
                        OobRequest::VerifyEmail => MessageKind::VerifyEmail,
                        OobRequest::PasswordReset => MessageKind::ResetPassword,
                        OobRequest::VerifyAndChangeEmail => MessageKind::ChangeEmail,
                        OobRequest::EmailSignIn => MessageKind::SignInLink,
                        OobRequest::RecoverEmail => MessageKind::RecoverEmail,
                        OobRequest::RevertSecondFactorAddition => MessageKind::RevertSecondFactor,
                    },
                    code: link.code.clone(),
                    locale: match user {
                        Some(user) => client.locale_for(user),
                        None => client.locale.clone(),
                    },
                    valid_minutes: minutes(OOB_CODE_LIFETIME),
                    session_info: None,
                    link: Some(link.link.clone()),
                    new_email: send.new_email.as_ref().map(ToString::to_string),
                    app_name: None,
                };
                Some(self.outgoing(&realm.id, to, &content, client)?)
            }
            None => None,
        };
        let issued = OobCode {
            key: session_key(&link.code),
            realm: realm.id.clone(),
            user: user.map(|user| user.id.clone()),
            request: send.request,
            email,
            new_email: send.new_email.clone(),
            factor: None,
            expires_at: now + OOB_CODE_LIFETIME,
            sealed: self.master.seal(SEAL_PURPOSE, &sealed).map_err(internal)?,
        };
        Ok((issued, outgoing, link))
    }

    /// The recovery link of a change of `user`'s address from `from`, to be issued in the
    /// write that makes the change, and its message to `from`; none when the user had no
    /// address or keeps it.
    pub(super) fn recovery_link(
        &self,
        realm: &Realm,
        from: Option<&EmailAddress>,
        user: &User,
        notice: Notice<'_>,
    ) -> Result<Option<(OobCode, Outgoing)>, DomainError> {
        let (Some(from), Some(to)) = (from, &user.email) else {
            return Ok(None);
        };
        if from == to {
            return Ok(None);
        }
        let send = Self::unasked_link(OobRequest::RecoverEmail, user, Some(to.clone()), notice);
        let (code, outgoing, _) = self.issue_oob_code(realm, &send, from.clone(), notice.client)?;
        Ok(outgoing.map(|outgoing| (code, outgoing)))
    }

    /// Emails the user a link that removes `factor`, just enrolled, and ends every session
    /// (`REVERT_SECOND_FACTOR_ADDITION`), in case it was not the user who enrolled it: in
    /// production, as Firebase does (the emulator, and so dev mode, sends none). It goes after
    /// the enrolment, which a notice that cannot go (over the delivery limits) does not undo:
    /// that is logged.
    pub(super) async fn send_enrolment_notice(
        &self,
        realm: &Realm,
        user: &User,
        factor: &FactorId,
        notice: Notice<'_>,
    ) {
        let Some(email) = user.email.clone().filter(|_| self.mode == Mode::Production) else {
            return;
        };
        let send = Self::unasked_link(OobRequest::RevertSecondFactorAddition, user, None, notice);
        let sent = async {
            let (mut code, outgoing, _) =
                self.issue_oob_code(realm, &send, email, notice.client)?;
            code.factor = Some(factor.clone());
            self.put_oob_code(&code, outgoing).await
        };
        if let Err(error) = sent.await {
            tracing::warn!(user = %user.id, factor = %factor, %error, "no notice of the enrolment was sent");
        }
    }

    /// The factor a `RevertSecondFactorAddition` code removes, if it is still there.
    pub async fn factor_to_revert(&self, code: &OobCode) -> Result<Factor, DomainError> {
        let (Some(user), Some(id)) = (&code.user, &code.factor) else {
            return Err(DomainError::InvalidOobCode);
        };
        self.store
            .get_factor(&code.realm, user, id)
            .await?
            .filter(|factor| factor.state == FactorState::Ready)
            .ok_or(DomainError::InvalidOobCode)
    }

    /// The link that carries `code`: the caller's template filled in, else the action
    /// handler's with Firebase's query parameters.
    fn action_link(
        &self,
        realm: &Realm,
        send: &OobSend,
        code: &str,
    ) -> Result<String, DomainError> {
        if let Some(template) = &send.url_template {
            let user = send.to.user().map_or("", |user| user.id.as_str());
            let org = realm.org_id.as_deref().unwrap_or_default();
            let values = [("UserID", user), ("Code", code), ("OrgID", org)];
            return Ok(filled_template(template, &values));
        }
        let mut url = match &self.delivery.setup.action_url {
            Some(configured) => configured.clone(),
            None => self.own_page(send.source.origin.as_deref(), "/ui/action")?,
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("mode", send.request.mode())
                .append_pair("oobCode", code);
            // An administrator's request carries no key; in dev mode any key works, and the
            // emulator puts in a made-up one.
            let dev_key = (self.mode == Mode::Dev).then_some("fake-api-key");
            if let Some(key) = send.source.api_key.as_deref().or(dev_key) {
                query.append_pair("apiKey", key);
            }
            query.append_pair("lang", "en");
            if let Some(next) = &send.continue_url {
                query.append_pair("continueUrl", next);
            }
            if let Some(tenant) = &realm.tenant_id {
                query.append_pair("tenantId", tenant);
            }
        }
        Ok(url.into())
    }

    /// The address of the server's page `path`: on the origin the request came to in dev
    /// mode, else on the first configured one (a production link does not trust `Host`).
    pub(crate) fn own_page(&self, origin: Option<&str>, path: &str) -> Result<Url, DomainError> {
        let origin = match (self.mode, origin) {
            (Mode::Dev, Some(origin)) => origin,
            _ => self
                .webauthn
                .origins
                .first()
                .ok_or(DomainError::Internal)?
                .as_str(),
        };
        Url::parse(origin)
            .and_then(|o| o.join(path))
            .map_err(internal)
    }

    /// Whether `url` is on one of the origins the server's pages are served from (any port,
    /// as for security keys).
    pub fn is_own_origin(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|url| {
            self.webauthn
                .origins
                .iter()
                .any(|own| own.scheme() == url.scheme() && own.host_str() == url.host_str())
        })
    }

    /// The hosts of the origins the server's pages are served from, and `localhost`, as the
    /// emulator lists it: the project's authorized domains (`GET v1/projects`), where the SDKs
    /// let an app handle its own links and redirects.
    pub fn authorized_domains(&self) -> Vec<String> {
        let mut domains = vec!["localhost".to_owned()];
        for host in self.webauthn.origins.iter().filter_map(Url::host_str) {
            if !domains.iter().any(|d| d == host) {
                domains.push(host.to_owned());
            }
        }
        domains
    }

    /// Whether a sign-in link may hand its code on to `url` (its `continueUrl`): whoever lands
    /// there with the code signs in, so in production only the server's own origins; dev mode
    /// follows any, as the emulator does.
    pub fn may_hand_link_to(&self, url: &str) -> bool {
        self.mode == Mode::Dev || self.is_own_origin(url)
    }

    /// The code `code` names, if it is one of `realm`'s (any realm's, for the page) and
    /// current.
    pub async fn check_oob_code(
        &self,
        realm: Option<&RealmId>,
        code: &str,
    ) -> Result<OobCode, DomainError> {
        let found = self
            .store
            .find_oob_code(&session_key(code))
            .await?
            .filter(|found| realm.is_none_or(|r| *r == found.realm))
            .ok_or(DomainError::InvalidOobCode)?;
        self.unexpired(found)
    }

    /// `code`, unless its hour is over.
    fn unexpired(&self, code: OobCode) -> Result<OobCode, DomainError> {
        if code.expires_at <= self.clock.now() {
            return Err(DomainError::ExpiredOobCode);
        }
        Ok(code)
    }

    /// Applies a code that verifies the user's address, changes it (the old address is sent a
    /// recovery link, in `notice`'s request), or changes it back; the code and the user as it
    /// now is.
    pub async fn apply_oob_code(
        &self,
        realm: Option<&RealmId>,
        code: &str,
        notice: Notice<'_>,
    ) -> Result<(OobCode, User), DomainError> {
        let complete = |found: &OobCode, changes: &mut AccountChanges| {
            let email = match (found.request, &found.new_email) {
                (OobRequest::VerifyEmail | OobRequest::RecoverEmail, _) => found.email.clone(),
                (OobRequest::VerifyAndChangeEmail, Some(new)) => new.clone(),
                // The factor goes with the write (`use_oob_code`); so do the sessions.
                (OobRequest::RevertSecondFactorAddition, _) => {
                    changes.valid_since = Some(sessions_valid_since(self.clock.now()));
                    return Ok(());
                }
                _ => return Err(DomainError::InvalidOobCode),
            };
            changes.email = Some(Some(email));
            changes.email_verified = Some(true);
            Ok(())
        };
        self.use_oob_code(
            realm,
            code,
            AccountChanges::default(),
            Some(notice),
            complete,
        )
        .await
    }

    /// Sets a new password with a password-reset code, which also proves the address. Every
    /// earlier session of the user ends.
    pub async fn reset_password(
        &self,
        realm: Option<&RealmId>,
        code: &str,
        password: Password,
    ) -> Result<OobCode, DomainError> {
        let changes = AccountChanges {
            password: Some(Some(NewPassword::Plain(password))),
            email_verified: Some(true),
            ..AccountChanges::default()
        };
        let (found, _) = self
            .use_oob_code(realm, code, changes, None, |found, _| match found.request {
                OobRequest::PasswordReset => Ok(()),
                _ => Err(DomainError::InvalidOobCode),
            })
            .await?;
        Ok(found)
    }

    /// The key of the user's password-reset code, if `code` is it and current (ZITADEL's
    /// `SetPassword` and `UpdateHumanUser` with a `verificationCode`): `VerificationCodeNotFound`
    /// when the user has none, `InvalidOobCode` when `code` is not it.
    pub(super) async fn reset_code_key(
        &self,
        realm: &Realm,
        id: &UserId,
        code: &str,
    ) -> Result<Vec<u8>, DomainError> {
        let pending = self
            .store
            .find_user_oob_code(&realm.id, id, OobRequest::PasswordReset)
            .await?
            .ok_or(DomainError::VerificationCodeNotFound)?;
        if !same_digest(&pending.key, &session_key(code)) {
            return Err(DomainError::InvalidOobCode);
        }
        Ok(self.unexpired(pending)?.key)
    }

    /// Uses `code` with a change of its user, in one write: `changes`, with what `complete`
    /// adds for the code (or its refusal), if the address the code was issued for is still
    /// the user's (a recovery link changes back whatever the address is now, and ends the
    /// user's other recovery links). A change of address the user asked for sends the old
    /// address a recovery link, in `notice`'s request; a change back does not, since that
    /// would hand the address it undoes a way back in. The code and the user as it now is.
    async fn use_oob_code(
        &self,
        realm: Option<&RealmId>,
        code: &str,
        changes: AccountChanges,
        notice: Option<Notice<'_>>,
        complete: impl Fn(&OobCode, &mut AccountChanges) -> Result<(), DomainError>,
    ) -> Result<(OobCode, User), DomainError> {
        let prepared = &PreparedChanges::from(changes);
        let complete = &complete;
        // The user is known only from the code: racing uses of one link take turns.
        self.until_written(code, move || async move {
            let found = self.check_oob_code(realm, code).await?;
            let mut changes = prepared.clone();
            complete(&found, &mut changes.changes)?;
            let recovering = found.request == OobRequest::RecoverEmail;
            let reverting = found.request == OobRequest::RevertSecondFactorAddition;
            let id = found.user.as_ref().ok_or(DomainError::InvalidOobCode)?;
            let user = self
                .store
                .get_user(&found.realm, id)
                .await?
                .filter(|user| recovering || reverting || user.email.as_ref() == Some(&found.email))
                .ok_or(DomainError::InvalidOobCode)?;
            let removed = if reverting {
                let factor = self.factor_to_revert(&found).await?;
                let realm = self
                    .get_realm(&found.realm)
                    .await?
                    .ok_or(DomainError::InvalidOobCode)?;
                let event = self.event(&realm, &user, &factor, "factor.removed");
                vec![(factor.id, event)]
            } else {
                Vec::new()
            };
            let from = user.email.clone();
            let was_verified = user.email_verified;
            let changed = self.changed(user, changes).await?;
            let recovery = match (found.request, notice) {
                (OobRequest::VerifyAndChangeEmail, Some(notice)) => {
                    let realm = self
                        .get_realm(&found.realm)
                        .await?
                        .ok_or(DomainError::InvalidOobCode)?;
                    self.recovery_link(&realm, from.as_ref(), &changed, notice)?
                }
                _ => None,
            };
            let (issued_oob, outgoing) = recovery.unzip();
            let write = UserWrite {
                row: Some(UserRow::Changed(changed.clone())),
                removed,
                used_oob: Some(found.key.clone()),
                ended_oob: recovering.then_some(OobRequest::RecoverEmail),
                issued_oob,
                outgoing: Vec::from_iter(outgoing),
                dropped: proof_ends(was_verified, &changed),
                ..UserWrite::default()
            };
            Ok(self.write_user(write).await?.then_some((found, changed)))
        })
        .await
    }

    /// Signs in with a sign-in link's code and the address it was sent to (Identity Toolkit's
    /// `signInWithEmailLink`), which proves the address: as its user, created if it has none,
    /// or as `linking`'s user (an ID token's), whose address it becomes. The code is used up
    /// in the same write. Then a session, or a pending sign-in when a second factor applies;
    /// either way a password sign-in, as the emulator records it.
    pub async fn sign_in_with_email_link(
        &self,
        realm: &Realm,
        email: &EmailAddress,
        code: &str,
        linking: Option<&UserId>,
    ) -> Result<EmailLinkSignIn, DomainError> {
        let proven = &PreparedChanges::from(AccountChanges {
            email: Some(Some(email.clone())),
            email_verified: Some(true),
            ..AccountChanges::default()
        });
        let (mut user, is_new) = self
            .until_written((&realm.id, email), move || async move {
                let found = self.check_oob_code(Some(&realm.id), code).await?;
                if found.request != OobRequest::EmailSignIn {
                    return Err(DomainError::InvalidOobCode);
                }
                if found.email != *email {
                    return Err(DomainError::EmailLinkMismatch);
                }
                let owner = self.store.find_user_by_email(&realm.id, email).await?;
                let caller = match linking {
                    Some(id) => Some(self.get_account(realm, id).await?),
                    None => None,
                };
                if let (Some(caller), Some(owner)) = (&caller, &owner)
                    && caller.id != owner.id
                {
                    return Err(DomainError::EmailExists);
                }
                let (row, user, is_new) = match caller.or(owner) {
                    Some(user) => {
                        user.ensure_active()?;
                        let mut changed = self.changed(user, proven.clone()).await?;
                        changed.email_link_sign_in = true;
                        (UserRow::Changed(changed.clone()), changed, false)
                    }
                    None => {
                        let account = NewAccount {
                            email: Some(email.clone()),
                            email_verified: true,
                            ..NewAccount::default()
                        };
                        let mut user = self.new_user(realm, account).await?.into_user();
                        user.email_link_sign_in = true;
                        (UserRow::New(user.clone()), user, true)
                    }
                };
                let write = UserWrite {
                    row: Some(row),
                    used_oob: Some(found.key),
                    ..UserWrite::default()
                };
                Ok(self.write_user(write).await?.then_some((user, is_new)))
            })
            .await?;
        let outcome = self
            .after_first_factor(realm, &mut user, "password")
            .await?;
        Ok(EmailLinkSignIn {
            user,
            is_new,
            outcome,
        })
    }

    /// The realm's codes still waiting to be used, as the emulator's `oobCodes` lists them.
    pub async fn outstanding_oob_codes(
        &self,
        realm: &Realm,
    ) -> Result<Vec<OutboxOob>, DomainError> {
        let codes = self
            .store
            .list_oob_codes(&realm.id, self.clock.now())
            .await?;
        Ok(codes
            .into_iter()
            .filter_map(|c| {
                let sealed = self
                    .master
                    .open(&c.sealed.master_key_id, SEAL_PURPOSE, &c.sealed.bytes)
                    .ok()?;
                Some(OutboxOob {
                    email: c.email.to_string(),
                    request: c.request,
                    link: serde_json::from_slice(&sealed).ok()?,
                })
            })
            .collect())
    }
}
