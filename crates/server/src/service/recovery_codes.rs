//! ZITADEL's recovery codes: single-use codes a user signs in with (a session's
//! `recoveryCode` check) when its other second factors are lost. ZITADEL's defaults: ten
//! lower-case base32 characters with a hyphen in the middle (`abcde-fghij`), at most ten held
//! at once; a new batch adds to those held. Only a MAC of each code under the master key is
//! stored; a check tries the MAC under every key of the keyring, so a rotation keeps the codes
//! working for as long as the key they were made under stays in it. The Identity Toolkit has
//! no recovery codes: Firebase clients neither see nor use them.

use tessera_core::{DomainError, Realm, RealmId, User, UserId};

use super::attempts::Subject;
use super::delivery::ClientInfo;
use super::{Service, callers::internal};
use crate::crypto::random_chars;

/// The most codes a user holds at once (ZITADEL's `RecoveryCodes.MaxCount`).
pub const MAX_RECOVERY_CODES: u32 = 10;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
const HALF: usize = 5;

impl Service {
    fn recovery_purpose(realm: &RealmId, user: &UserId) -> String {
        format!("recovery:{}:{}", realm.0, user.as_str())
    }

    /// `count` new codes for the user, returned once.
    pub async fn generate_recovery_codes(
        &self,
        realm: &Realm,
        id: &UserId,
        count: u32,
    ) -> Result<Vec<String>, DomainError> {
        if count == 0 || count > MAX_RECOVERY_CODES {
            return Err(DomainError::RecoveryCodeCountInvalid);
        }
        let user = self.get_account(realm, id).await?;
        let purpose = Self::recovery_purpose(&realm.id, &user.id);
        let mut codes = Vec::new();
        let mut hashes = Vec::new();
        for _ in 0..count {
            let code = format!(
                "{}-{}",
                random_chars(HALF, ALPHABET).map_err(internal)?,
                random_chars(HALF, ALPHABET).map_err(internal)?
            );
            hashes.push(self.master.mac(&purpose, &code));
            codes.push(code);
        }
        let max = i64::from(MAX_RECOVERY_CODES);
        let now = self.clock.now();
        if !self
            .store
            .add_recovery_codes(&realm.id, &user.id, &hashes, now, max)
            .await?
        {
            return Err(DomainError::TooManyRecoveryCodes);
        }
        Ok(codes)
    }

    pub async fn remove_recovery_codes(
        &self,
        realm: &Realm,
        id: &UserId,
    ) -> Result<(), DomainError> {
        let user = self.get_account(realm, id).await?;
        match self
            .store
            .remove_recovery_codes(&realm.id, &user.id)
            .await?
        {
            0 => Err(DomainError::NoRecoveryCodes),
            _ => Ok(()),
        }
    }

    pub async fn recovery_code_count(
        &self,
        realm: &RealmId,
        user: &UserId,
    ) -> Result<i64, DomainError> {
        Ok(self.store.count_recovery_codes(realm, user).await?)
    }

    /// A session's check: the code is used up if right. A wrong one counts against the user's
    /// failure limits like a wrong OTP.
    pub(super) async fn check_recovery_code(
        &self,
        realm: &Realm,
        user: &User,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        if self.recovery_code_count(&realm.id, &user.id).await? == 0 {
            return Err(DomainError::NoRecoveryCodes);
        }
        if code.is_empty() {
            return Err(DomainError::InvalidRecoveryCode);
        }
        let subject = Subject {
            failure: "recovery_code.verification_failed",
            ..Subject::new(&realm.id, Some(&user.id), None)
        };
        let check = self
            .begin_check(subject, client, DomainError::InvalidRecoveryCode)
            .await?;
        let hashes = self
            .master
            .macs(&Self::recovery_purpose(&realm.id, &user.id), code);
        if self
            .store
            .use_recovery_code(&realm.id, &user.id, &hashes)
            .await?
        {
            self.passed(check).await
        } else {
            let detail = "session: wrong or used recovery code";
            Err(self
                .check_failed(check, detail, DomainError::InvalidRecoveryCode)
                .await)
        }
    }
}
