//! ZITADEL's invitations (`CreateInviteCode`, `ResendInviteCode`, `VerifyInviteCode`): a code
//! that lets a user who cannot sign in yet prove its email address and choose a way to sign
//! in. An invitation is a contact code (`ContactKind::Invite`: six characters, three days,
//! three tries), mailed as a link to the caller's `url_template` or to the server's page
//! `INVITE_PAGE` (the path of ZITADEL's login UI), where the user sets a password with it; or
//! handed to the caller, whose own page then calls `VerifyInviteCode`.
//!
//! Only a user with no password, passkey, identity provider or email-link sign-in may be
//! invited (ZITADEL's "already initialized" otherwise). Using the code proves the address the
//! invitation went to, if it is still the user's.

use tessera_core::contact::{ContactCode, ContactKind, InviteMail};
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::store::UserWrite;
use tessera_core::{DomainError, Password, Realm, User, UserId};

use super::delivery::{ClientInfo, Destination, filled_template, minutes};
use super::{AccountChanges, NewPassword, Service};

/// The page an invitation's link opens when the caller gave no `url_template`.
pub const INVITE_PAGE: &str = "/ui/login/user/invite";

/// The pending codes a change of a user ends by proving its address: the invitation and the
/// address's own code, whichever proved it, as in ZITADEL, so that neither outlives the proof.
pub(super) fn proof_ends(was_verified: bool, now: &User) -> Vec<ContactKind> {
    if !was_verified && now.email_verified {
        vec![ContactKind::Invite, ContactKind::Email]
    } else {
        Vec::new()
    }
}

/// How an invitation reaches the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteDelivery {
    /// Mailed to the user's address.
    Mail(InviteMail),
    /// Handed to the caller.
    Return,
}

impl Service {
    /// Invites the user, replacing an earlier invitation: the code when it is handed back.
    pub async fn create_invite(
        &self,
        realm: &Realm,
        id: &UserId,
        delivery: InviteDelivery,
        client: &ClientInfo,
    ) -> Result<Option<String>, DomainError> {
        let user = self.invitable(realm, id).await?;
        let mail = match delivery {
            InviteDelivery::Mail(mail) => Some(mail),
            InviteDelivery::Return => None,
        };
        let returned = mail.is_none();
        let code = self.invite(realm, &user, mail, client).await?;
        Ok(returned.then_some(code))
    }

    /// Mails the user a new code in place of its invitation's, as the invitation was mailed.
    /// `VerificationCodeNotFound` when there is no invitation to resend: none, one handed to
    /// its caller, or one whose tries are used up.
    pub async fn resend_invite(
        &self,
        realm: &Realm,
        id: &UserId,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        let user = self.invitable(realm, id).await?;
        let mail = self
            .store
            .find_contact_code(&realm.id, id, ContactKind::Invite)
            .await?
            .filter(|pending| pending.attempts_left > 0)
            .and_then(|pending| pending.invite_mail)
            .ok_or(DomainError::VerificationCodeNotFound)?;
        self.invite(realm, &user, Some(mail), client).await?;
        Ok(())
    }

    /// Uses the user's invitation with `code`, and sets `password` when one is chosen with it
    /// (the invitation page): the invited address is proven if it is still the user's.
    pub async fn verify_invite(
        &self,
        realm: &Realm,
        id: &UserId,
        code: &str,
        password: Option<Password>,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        let used = self
            .use_contact_code(realm, id, ContactKind::Invite, code, client)
            .await?;
        self.accept_invite(realm, id, &used, password).await
    }

    /// What a used invitation does: proves its address, if still the user's, and sets the
    /// password chosen with it.
    pub(super) async fn accept_invite(
        &self,
        realm: &Realm,
        id: &UserId,
        used: &ContactCode,
        password: Option<Password>,
    ) -> Result<(), DomainError> {
        let user = self.get_account(realm, id).await?;
        let invited = user
            .email
            .as_ref()
            .is_some_and(|e| e.as_str() == used.value);
        let changes = AccountChanges {
            email_verified: invited.then_some(true),
            password: password.map(|p| Some(NewPassword::Plain(p))),
            ..AccountChanges::default()
        };
        self.update_account(realm, id, changes).await?;
        Ok(())
    }

    /// The user, if it may be invited: it has no way to sign in yet (`invite` needs an
    /// address too).
    async fn invitable(&self, realm: &Realm, id: &UserId) -> Result<User, DomainError> {
        let user = self.get_account(realm, id).await?;
        let signs_in = user.password_hash.is_some()
            || user.email_link_sign_in
            || !user.identities.is_empty()
            || !self.ready_passkeys(realm, id).await?.is_empty();
        if signs_in {
            return Err(DomainError::AlreadyInitialized);
        }
        Ok(user)
    }

    /// Writes a new invitation of `user`, mailed as `mail` says (handed back when `None`):
    /// its code.
    async fn invite(
        &self,
        realm: &Realm,
        user: &User,
        mail: Option<InviteMail>,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        let email = user.email.as_ref().ok_or(DomainError::EmailNotFound)?;
        let kind = ContactKind::Invite;
        let (code, stored) =
            self.new_contact_code(realm, user, kind, email.to_string(), mail.clone())?;
        let mut write = UserWrite::default();
        if let Some(mail) = mail {
            let content = MessageContent {
                kind: MessageKind::Invite,
                code: code.clone(),
                locale: client.locale_for(user),
                valid_minutes: minutes(kind.lifetime()),
                session_info: None,
                link: Some(self.invite_link(realm, user, &code, &mail, client)?),
                new_email: None,
                app_name: mail.app_name,
            };
            let to = Destination::Email(email);
            write
                .outgoing
                .push(self.outgoing(&realm.id, to, &content, client)?);
        }
        write.codes.push(stored);
        self.write_user(write).await?;
        Ok(code)
    }

    /// The link that carries an invitation's code: the caller's template with `{{.UserID}}`,
    /// `{{.Code}}` and `{{.OrgID}}` filled in, else `INVITE_PAGE` with ZITADEL's parameters.
    fn invite_link(
        &self,
        realm: &Realm,
        user: &User,
        code: &str,
        mail: &InviteMail,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        let org = realm.org_id.as_deref().unwrap_or_default();
        if let Some(template) = &mail.link_template {
            let values = [("UserID", user.id.as_str()), ("Code", code), ("OrgID", org)];
            return Ok(filled_template(template, &values));
        }
        let mut page = self.own_page(client.origin.as_deref(), INVITE_PAGE)?;
        page.query_pairs_mut()
            .append_pair("userID", user.id.as_str())
            .append_pair("loginname", user.login_name().unwrap_or_default())
            .append_pair("code", code)
            .append_pair("orgID", org);
        Ok(page.into())
    }
}
