//! Authenticator-app registration the ZITADEL way: one TOTP factor per user, registered
//! (not ready) and then verified with a code, with no enrolment session in between — the
//! pending factor itself is the state. Registering again replaces a pending secret; only a
//! ready factor blocks it.

use tessera_core::store::{Event, Listed};
use tessera_core::totp::TotpSpec;
use tessera_core::{
    DomainError, Factor, FactorData, FactorId, FactorKind, FactorState, PhoneNumber, Realm, User,
    UserId,
};

use super::attempts::Subject;
use super::delivery::ClientInfo;
use super::{Service, callers::internal};
use crate::crypto::random_array;
use tessera_core::store::{EnrolOutcome, Enrolment};

/// A registration in progress: what the user's authenticator app needs.
pub struct TotpRegistration {
    pub factor: Factor,
    pub secret: Vec<u8>,
    pub spec: TotpSpec,
}

impl Service {
    /// The user's factors that are not removed, of every state, oldest first.
    pub async fn user_factors(
        &self,
        realm: &Realm,
        id: &UserId,
    ) -> Result<(User, Vec<Factor>), DomainError> {
        self.store
            .get_user_with_factors(&realm.id, id, Listed::NotRemoved)
            .await?
            .ok_or(DomainError::UserNotFound)
    }

    async fn totp_factors(
        &self,
        realm: &Realm,
        id: &UserId,
    ) -> Result<(User, Vec<Factor>), DomainError> {
        let (user, factors) = self.user_factors(realm, id).await?;
        Ok((
            user,
            factors
                .into_iter()
                .filter(|f| f.kind() == FactorKind::Totp)
                .collect(),
        ))
    }

    pub(super) fn event(
        &self,
        realm: &Realm,
        user: &User,
        factor: &Factor,
        kind: &'static str,
    ) -> Event {
        Event {
            realm: realm.id.clone(),
            user: Some(user.id.clone()),
            factor: Some(factor.id.clone()),
            kind,
            detail: Some(factor.kind().as_str().to_owned()),
            at: self.clock.now(),
        }
    }

    pub async fn register_totp(
        &self,
        realm: &Realm,
        id: &UserId,
    ) -> Result<(User, TotpRegistration), DomainError> {
        let (user, existing) = self.totp_factors(realm, id).await?;
        if existing.iter().any(|f| f.state == FactorState::Ready) {
            return Err(DomainError::SecondFactorExists);
        }
        let (factor, secret) = self.new_totp_factor(realm, &user.id)?;
        self.store
            .insert_factor(&factor, &self.enrolment_started(&factor))
            .await?;
        Ok((
            user,
            TotpRegistration {
                factor,
                secret,
                spec: TotpSpec::FIREBASE,
            },
        ))
    }

    /// Verifies the pending factor with a code; each try is an attempt against the factor's
    /// soft lock and the failure limits (there is no enrolment session to count them).
    pub async fn verify_totp_registration(
        &self,
        realm: &Realm,
        id: &UserId,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Factor, DomainError> {
        let (user, existing) = self.totp_factors(realm, id).await?;
        let Some(mut factor) = existing
            .iter()
            .find(|f| f.state == FactorState::NotReady)
            .cloned()
        else {
            return Err(nothing_to_verify(&existing));
        };
        let (secret, spec) = self.open_totp_secret(&factor)?;
        let subject = Subject::new(&realm.id, Some(&user.id), Some(&factor.id));
        let check = self
            .begin_check(subject, client, DomainError::FactorNotFound)
            .await?;
        let now = self.clock.now();
        let skew = realm.mfa.adjacent_intervals;
        let Ok(step) = spec.verify(&secret, code, now, skew, factor.last_used_step) else {
            let wrong = DomainError::InvalidCode;
            return Err(self.check_failed(check, "enrol: wrong code", wrong).await);
        };
        factor.state = FactorState::Ready;
        factor.enrolled_at = Some(now);
        let enrolled = self.event(realm, &user, &factor, "factor.enrolled");
        let outcome = self
            .store
            .complete_enrolment(Enrolment {
                challenge: None,
                factor: &factor,
                totp_step: Some(step as i64),
                event: &enrolled,
                passed: Some(&self.pass(&check)),
                refresh: None,
            })
            .await?;
        match outcome {
            EnrolOutcome::Done => Ok(factor),
            // Verified or removed by a concurrent request since it was read: answered as if
            // this one had come second.
            EnrolOutcome::ChallengeGone => {
                let (_, now) = self.totp_factors(realm, id).await?;
                Err(nothing_to_verify(&now))
            }
            EnrolOutcome::LimitReached => Err(DomainError::SecondFactorLimitExceeded),
        }
    }

    /// Makes a factor ready, promoting it if it is pending and inserting it otherwise, within
    /// the user's ready-factor limit.
    pub(super) async fn make_ready(
        &self,
        factor: Factor,
        event: &Event,
    ) -> Result<Factor, DomainError> {
        let enrolment = Enrolment {
            challenge: None,
            factor: &factor,
            totp_step: None,
            event,
            passed: None,
            refresh: None,
        };
        match self.store.complete_enrolment(enrolment).await? {
            EnrolOutcome::Done => Ok(factor),
            EnrolOutcome::ChallengeGone => Err(DomainError::FactorNotFound),
            EnrolOutcome::LimitReached => Err(DomainError::SecondFactorLimitExceeded),
        }
    }

    /// Adds the OTP SMS factor (codes to the user's own, verified phone) or the OTP Email
    /// factor (codes to the verified email address): ready at once, one of each per user.
    pub async fn add_contact_factor(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: FactorKind,
    ) -> Result<Factor, DomainError> {
        let (user, factors) = self.user_factors(realm, id).await?;
        let data = match kind {
            // A Firebase user's phone number is verified by nature (phone sign-in proves it).
            FactorKind::SmsOtp => FactorData::SmsOtp {
                phone: user
                    .phone_number
                    .as_deref()
                    .and_then(PhoneNumber::parse)
                    .ok_or(DomainError::ContactNotVerified)?,
            },
            FactorKind::EmailOtp => match &user.email {
                Some(email) if user.email_verified => FactorData::EmailOtp {
                    email: email.clone(),
                },
                _ => return Err(DomainError::ContactNotVerified),
            },
            FactorKind::Totp | FactorKind::WebAuthn => {
                return Err(DomainError::FactorKindUnsupported);
            }
        };
        if factors
            .iter()
            .any(|f| f.kind() == kind && f.state == FactorState::Ready)
        {
            return Err(DomainError::SecondFactorExists);
        }
        let now = self.clock.now();
        let factor = Factor {
            id: FactorId::from_random(random_array().map_err(internal)?),
            realm: realm.id.clone(),
            user: user.id.clone(),
            state: FactorState::Ready,
            display_name: None,
            data,
            created_at: now,
            enrolled_at: Some(now),
            last_used_at: None,
            last_used_step: None,
        };
        let event = self.event(realm, &user, &factor, "factor.enrolled");
        self.make_ready(factor, &event).await
    }

    /// Removes every factor of `kind` (ready or not); `FactorNotFound` when there is none.
    pub async fn remove_factors_of_kind(
        &self,
        realm: &Realm,
        id: &UserId,
        kind: FactorKind,
    ) -> Result<(), DomainError> {
        let (user, factors) = self.user_factors(realm, id).await?;
        let mut removed = false;
        for (factor, event) in self.removals(realm, &user, &factors, kind) {
            removed |= self
                .store
                .remove_factor(&realm.id, &user.id, &factor, &event, None)
                .await?;
        }
        if removed {
            Ok(())
        } else {
            Err(DomainError::FactorNotFound)
        }
    }

    /// The user's factors of `kind` among `factors`, each with its `factor.removed` event.
    pub(super) fn removals(
        &self,
        realm: &Realm,
        user: &User,
        factors: &[Factor],
        kind: FactorKind,
    ) -> Vec<(FactorId, Event)> {
        factors
            .iter()
            .filter(|f| f.kind() == kind)
            .map(|f| (f.id.clone(), self.event(realm, user, f, "factor.removed")))
            .collect()
    }
}

/// Why a user with these TOTP factors, none of them pending, has nothing to verify.
fn nothing_to_verify(factors: &[Factor]) -> DomainError {
    if factors.iter().any(|f| f.state == FactorState::Ready) {
        DomainError::FactorAlreadyReady
    } else {
        DomainError::FactorNotFound
    }
}
