//! Login sessions (ZITADEL's session service v2): a login UI creates a session, then proves
//! the user's factors one check at a time. The session records when each factor was checked;
//! one-time codes sent for OTP SMS / OTP Email challenges wait in it, as a keyed hash.
//!
//! Every change is written with the sequence it was read at. A change that finds the session
//! changed meanwhile is laid over the other one ([`LoginSession::laid_over`]), as ZITADEL adds
//! up the events of both, unless the two cannot both stand (say, the same code used twice).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::{DomainError, RealmId, UserId};

/// ZITADEL's OTP SMS / OTP Email codes: 8 digits, valid for 5 minutes.
pub const SESSION_OTP_DIGITS: usize = 8;
pub const SESSION_OTP_LIFETIME: Duration = Duration::minutes(5);
pub const SESSION_OTP_ATTEMPTS: i64 = 5;

/// A code sent for an OTP SMS or OTP Email challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct OtpChallenge {
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts_left: i64,
}

/// When each factor of the session was checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedFactors {
    pub user: Option<OffsetDateTime>,
    pub password: Option<OffsetDateTime>,
    pub totp: Option<OffsetDateTime>,
    pub otp_sms: Option<OffsetDateTime>,
    pub otp_email: Option<OffsetDateTime>,
    pub webauthn: Option<OffsetDateTime>,
    /// The security key verified its user (PIN or biometrics), not only their presence.
    pub webauthn_user_verified: bool,
    pub recovery_code: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoginSession {
    pub id: String,
    pub realm: RealmId,
    pub user: Option<UserId>,
    /// SHA-256 of the current session token.
    pub token_hash: Vec<u8>,
    pub checked: CheckedFactors,
    pub otp_sms: Option<OtpChallenge>,
    pub otp_email: Option<OtpChallenge>,
    /// A pending WebAuthn authentication (the WebAuthn library's state, as JSON).
    pub webauthn: Option<String>,
    /// A JSON object of base64 values (ZITADEL's `map<string, bytes>`).
    pub metadata: String,
    pub created_at: OffsetDateTime,
    pub changed_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    /// Bumped by every change.
    pub sequence: i64,
    pub origin: SessionOrigin,
}

/// Who created a session and for which browser: set when it is created, never changed, and
/// what ListSessions searches and shows a session to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionOrigin {
    /// The caller that created it: a machine user, or a user through its own token.
    pub creator: Option<UserId>,
    /// What the login UI said of the browser (ZITADEL's `userAgent`, as JSON), kept as given.
    pub user_agent: Option<String>,
    /// The browser's fingerprint id, from `user_agent`.
    pub fingerprint: Option<String>,
}

impl LoginSession {
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// This change, made to `read`, laid over `current`, the session as another request left
    /// it: every part this change set is its own (the token, a check, a challenge, a metadata
    /// entry), every other part is `current`'s.
    ///
    /// Refused where both cannot stand: with `VerificationCodeNotFound` when this change used a
    /// code or security-key challenge that the other request used or replaced first, which is
    /// what a code submitted second hears; with `SessionUserMismatch` when the two checked
    /// different users.
    pub fn laid_over(
        &self,
        read: &LoginSession,
        current: &LoginSession,
    ) -> Result<LoginSession, DomainError> {
        let code = |c: &Option<OtpChallenge>| c.as_ref().map(|c| c.code_hash.clone());
        if used_first(
            &code(&read.otp_sms),
            &code(&self.otp_sms),
            &code(&current.otp_sms),
        ) || used_first(
            &code(&read.otp_email),
            &code(&self.otp_email),
            &code(&current.otp_email),
        ) || used_first(&read.webauthn, &self.webauthn, &current.webauthn)
        {
            return Err(DomainError::VerificationCodeNotFound);
        }
        if self.user != read.user && current.user != read.user && self.user != current.user {
            return Err(DomainError::SessionUserMismatch);
        }
        let (r, o, c) = (&read.checked, &self.checked, &current.checked);
        let (webauthn, webauthn_user_verified) = merged(
            &(r.webauthn, r.webauthn_user_verified),
            &(o.webauthn, o.webauthn_user_verified),
            &(c.webauthn, c.webauthn_user_verified),
        );
        Ok(LoginSession {
            id: current.id.clone(),
            realm: current.realm.clone(),
            user: merged(&read.user, &self.user, &current.user),
            token_hash: self.token_hash.clone(),
            checked: CheckedFactors {
                user: merged(&r.user, &o.user, &c.user),
                password: merged(&r.password, &o.password, &c.password),
                totp: merged(&r.totp, &o.totp, &c.totp),
                otp_sms: merged(&r.otp_sms, &o.otp_sms, &c.otp_sms),
                otp_email: merged(&r.otp_email, &o.otp_email, &c.otp_email),
                webauthn,
                webauthn_user_verified,
                recovery_code: merged(&r.recovery_code, &o.recovery_code, &c.recovery_code),
            },
            otp_sms: merged(&read.otp_sms, &self.otp_sms, &current.otp_sms),
            otp_email: merged(&read.otp_email, &self.otp_email, &current.otp_email),
            webauthn: merged(&read.webauthn, &self.webauthn, &current.webauthn),
            metadata: merged_metadata(&read.metadata, &self.metadata, &current.metadata)?,
            created_at: current.created_at,
            changed_at: self.changed_at,
            expires_at: merged(&read.expires_at, &self.expires_at, &current.expires_at),
            sequence: current.sequence + 1,
            origin: current.origin.clone(),
        })
    }
}

/// A part of a session after two changes to what was `read`: `ours` where our change set it,
/// `current` (the other change's) otherwise.
fn merged<T: PartialEq + Clone>(read: &T, ours: &T, current: &T) -> T {
    if ours != read { ours } else { current }.clone()
}

/// Our change used the challenge that was `read` (it is gone from `ours`), and the other
/// change used or replaced it first.
fn used_first<T: PartialEq>(read: &Option<T>, ours: &Option<T>, current: &Option<T>) -> bool {
    read.is_some() && ours.is_none() && current != read
}

/// The metadata maps merged entry by entry, each as [`merged`] takes it.
fn merged_metadata(read: &str, ours: &str, current: &str) -> Result<String, DomainError> {
    if ours == read {
        return Ok(current.to_owned());
    }
    type Map = serde_json::Map<String, serde_json::Value>;
    let parse = |json| serde_json::from_str::<Map>(json).map_err(|_| DomainError::Internal);
    let (read, ours, current) = (parse(read)?, parse(ours)?, parse(current)?);
    let names: BTreeSet<&String> = read
        .keys()
        .chain(ours.keys())
        .chain(current.keys())
        .collect();
    let entries: Map = names
        .into_iter()
        .filter_map(|name| {
            let value = merged(&read.get(name), &ours.get(name), &current.get(name))?;
            Some((name.clone(), value.clone()))
        })
        .collect();
    Ok(serde_json::Value::Object(entries).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::minutes(minute)
    }

    fn user(n: u8) -> Option<UserId> {
        Some(UserId::from_random([n; 8]))
    }

    fn challenge(code: u8) -> Option<OtpChallenge> {
        Some(OtpChallenge {
            code_hash: vec![code],
            expires_at: at(5),
            attempts_left: SESSION_OTP_ATTEMPTS,
        })
    }

    fn read() -> LoginSession {
        LoginSession {
            id: "s1".into(),
            realm: RealmId("r1".into()),
            user: user(1),
            token_hash: vec![0],
            checked: CheckedFactors {
                user: Some(at(0)),
                ..CheckedFactors::default()
            },
            otp_sms: challenge(1),
            otp_email: None,
            webauthn: Some("state".into()),
            metadata: r#"{"kept":"AQ==","deleted":"Ag==","both":"Aw=="}"#.into(),
            created_at: at(0),
            changed_at: at(0),
            expires_at: None,
            sequence: 3,
            origin: SessionOrigin {
                creator: UserId::parse("7"),
                user_agent: Some(r#"{"description":"browser"}"#.into()),
                fingerprint: None,
            },
        }
    }

    /// A change made to `read()` at minute `minute` with the token `token`.
    fn change(minute: i64, token: u8, apply: impl FnOnce(&mut LoginSession)) -> LoginSession {
        let mut session = read();
        session.token_hash = vec![token];
        session.changed_at = at(minute);
        session.sequence += 1;
        apply(&mut session);
        session
    }

    #[test]
    fn both_changes_stand_and_ours_wins_where_both_set_a_part() -> Result<(), DomainError> {
        let ours = change(2, 2, |s| {
            s.checked.password = Some(at(2));
            s.otp_email = challenge(9);
            s.expires_at = Some(at(60));
            s.metadata = r#"{"kept":"AQ==","both":"BA=="}"#.into();
        });
        let mut current = change(1, 1, |s| {
            s.checked.totp = Some(at(1));
            s.otp_email = challenge(8);
            s.metadata = r#"{"kept":"AQ==","deleted":"Ag==","both":"BQ==","new":"Bg=="}"#.into();
        });
        current.sequence = 7;
        let merged = ours.laid_over(&read(), &current)?;
        assert_eq!(
            merged,
            LoginSession {
                token_hash: vec![2],
                checked: CheckedFactors {
                    user: Some(at(0)),
                    password: Some(at(2)),
                    totp: Some(at(1)),
                    ..CheckedFactors::default()
                },
                otp_email: challenge(9),
                metadata: r#"{"both":"BA==","kept":"AQ==","new":"Bg=="}"#.into(),
                changed_at: at(2),
                expires_at: Some(at(60)),
                sequence: 8,
                ..read()
            }
        );
        Ok(())
    }

    #[test]
    fn a_challenge_used_by_both_or_replaced_first_is_refused() {
        let ours_used_sms = change(2, 2, |s| {
            s.otp_sms = None;
            s.checked.otp_sms = Some(at(2));
        });
        let ours_used_key = change(2, 2, |s| {
            s.webauthn = None;
            s.checked.webauthn = Some(at(2));
        });
        for (ours, current) in [
            (&ours_used_sms, change(1, 1, |s| s.otp_sms = None)),
            (&ours_used_sms, change(1, 1, |s| s.otp_sms = challenge(2))),
            (&ours_used_key, change(1, 1, |s| s.webauthn = None)),
            (
                &ours_used_key,
                change(1, 1, |s| s.webauthn = Some("new".into())),
            ),
        ] {
            assert_eq!(
                ours.laid_over(&read(), &current),
                Err(DomainError::VerificationCodeNotFound),
                "{current:?}"
            );
        }
    }

    #[test]
    fn a_wrong_code_meanwhile_does_not_stop_the_right_one() -> Result<(), DomainError> {
        let ours = change(2, 2, |s| {
            s.otp_sms = None;
            s.checked.otp_sms = Some(at(2));
        });
        let current = change(1, 1, |s| {
            if let Some(c) = &mut s.otp_sms {
                c.attempts_left -= 1;
            }
        });
        let merged = ours.laid_over(&read(), &current)?;
        assert_eq!(
            (merged.otp_sms, merged.checked.otp_sms),
            (None, Some(at(2)))
        );
        Ok(())
    }

    #[test]
    fn two_users_checked_at_once_cannot_both_stand() -> Result<(), DomainError> {
        let mut anonymous = read();
        anonymous.user = None;
        let ours = LoginSession {
            user: user(2),
            ..anonymous.clone()
        };
        let other = LoginSession {
            user: user(3),
            ..anonymous.clone()
        };
        let same = LoginSession {
            user: user(2),
            ..anonymous.clone()
        };
        assert_eq!(
            ours.laid_over(&anonymous, &other),
            Err(DomainError::SessionUserMismatch)
        );
        assert_eq!(ours.laid_over(&anonymous, &same)?.user, user(2));
        Ok(())
    }
}
