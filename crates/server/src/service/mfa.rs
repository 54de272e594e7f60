//! Second factors: enrolment (start, finalize), withdrawal, and the second step of a
//! sign-in. Dialect-neutral: Identity Toolkit's `mfaEnrollment`/`mfaSignIn` and (later)
//! ZITADEL's `RegisterTOTP`/`AddOTPSMS`/sessions call these functions.
//!
//! Codes are checked in three steps that each hold across nodes: an attempt is taken (see
//! `attempts`: from the challenge or pending sign-in, so at most five wrong codes are ever
//! compared per challenge, and against the factor's soft lock and the failure limits), the
//! code is compared in constant time, and success consumes the challenge (or, for TOTP, the
//! time step) with another conditional UPDATE that only one request can win.

use tessera_core::challenge::{
    Challenge, PENDING_SIGN_IN_ATTEMPTS, PENDING_SIGN_IN_LIFETIME, PendingSignIn, Purpose,
    SMS_CODE_ATTEMPTS, SMS_CODE_DIGITS, SMS_CODE_LIFETIME, TOTP_ENROLMENT_WINDOW,
};
use tessera_core::delivery::{MessageContent, MessageKind};
use tessera_core::factor::MAX_READY_FACTORS;
use tessera_core::store::{
    EnrolOutcome, Enrolment, Event, Listed, NewChallenge, SealedKind, SignInCompletion,
    SignInOutcome,
};
use tessera_core::totp::{SECRET_LEN, TotpRefusal, TotpSpec};
use tessera_core::{
    DomainError, Factor, FactorData, FactorId, FactorKey, FactorKind, FactorState, PhoneNumber,
    Realm, SecondFactor, User, UserId,
};
use time::OffsetDateTime;

use super::attempts::{Check, Subject};
use super::delivery::{ClientInfo, Destination, minutes};
use super::{Authenticated, Notice, Service, Session, SignIn, callers::internal};
use crate::crypto::{
    code_hash, random_array, random_digits, same_digest, session_key, session_token,
};

const TOTP_SEAL_PURPOSE: &str = SealedKind::TotpSecret.purpose();
/// First factors after which MFA is not offered (Identity Platform's rule).
const INELIGIBLE_FIRST_FACTORS: &[&str] = &["anonymous", "phone", "custom", "gc.apple.com"];

/// App-verification evidence sent with a phone enrolment or sign-in (reCAPTCHA, Play
/// Integrity, SafetyNet, APNs receipts): which fields were present, by wire name.
#[derive(Debug, Clone, Default)]
pub struct AppEvidence {
    pub present: Vec<&'static str>,
}

/// Decides whether phone verification may proceed. Pluggable, because real verification
/// calls a vendor (Google reCAPTCHA, Apple, …) that a self-hosted deployment chooses.
pub trait AppVerifier: Send + Sync {
    fn verify(&self, evidence: &AppEvidence) -> Result<(), DomainError>;
}

/// Dev mode: everything passes, as with the Firebase emulator.
pub struct AcceptAll;

impl AppVerifier for AcceptAll {
    fn verify(&self, _: &AppEvidence) -> Result<(), DomainError> {
        Ok(())
    }
}

/// Production default until a vendor verifier is configured: some evidence must be present.
pub struct RequireEvidence;

impl AppVerifier for RequireEvidence {
    fn verify(&self, evidence: &AppEvidence) -> Result<(), DomainError> {
        if evidence.present.is_empty() {
            Err(DomainError::AppVerificationFailed)
        } else {
            Ok(())
        }
    }
}

pub enum EnrolmentStart {
    Phone {
        phone: PhoneNumber,
        evidence: AppEvidence,
    },
    Totp,
}

pub enum EnrolmentStarted {
    Phone {
        session_info: String,
    },
    Totp {
        session_info: String,
        secret: Vec<u8>,
        spec: TotpSpec,
        finalize_by: OffsetDateTime,
    },
}

pub enum EnrolmentProof {
    Phone { session_info: String, code: String },
    Totp { session_info: String, code: String },
}

pub enum SignInProof {
    Phone { session_info: String, code: String },
    Totp { factor: FactorId, code: String },
}

/// The result of a correct first factor.
pub enum FirstFactorOutcome {
    Session(Session),
    SecondFactorRequired {
        pending_credential: String,
        factors: Vec<Factor>,
    },
}

/// A phone factor to set by administration (Admin SDK `multiFactor.enrolledFactors`).
#[derive(Debug, Clone)]
pub struct AdminFactor {
    pub id: Option<FactorId>,
    pub display_name: Option<String>,
    /// `None` keeps the existing factor of that id as it is (a TOTP factor, whose secret an
    /// administrator never sees).
    pub phone: Option<PhoneNumber>,
    pub enrolled_at: Option<OffsetDateTime>,
}

impl Service {
    /// The user's ready factors, oldest first.
    pub async fn ready_factors(
        &self,
        realm: &Realm,
        user: &User,
    ) -> Result<Vec<Factor>, DomainError> {
        Ok(self
            .store
            .list_factors(&realm.id, &user.id, Listed::Ready)
            .await?)
    }

    /// Whether the caller may enrol a factor of `kind` (of any kind the realm allows, when
    /// the request does not say): the realm's MFA mode, then the first factor, then a
    /// verified email, in the emulator's order. Checked before the request's own fields.
    pub fn check_enrolment_allowed(
        &self,
        me: &Authenticated,
        kind: Option<FactorKind>,
    ) -> Result<(), DomainError> {
        let allowed = |kind| match kind {
            FactorKind::SmsOtp => me.realm.mfa.allows_sms(),
            FactorKind::Totp => me.realm.mfa.allows_totp(),
            FactorKind::EmailOtp | FactorKind::WebAuthn => false,
        };
        if let Some(kind) = kind.filter(|k| !allowed(*k)) {
            return Err(DomainError::FactorKindDisabled(kind));
        }
        if INELIGIBLE_FIRST_FACTORS.contains(&me.claims.firebase.sign_in_provider.as_str()) {
            return Err(DomainError::UnsupportedFirstFactor);
        }
        if !me.user.email_verified {
            return Err(DomainError::UnverifiedEmail);
        }
        Ok(())
    }

    pub async fn start_enrolment(
        &self,
        me: &Authenticated,
        start: EnrolmentStart,
        client: &ClientInfo,
    ) -> Result<EnrolmentStarted, DomainError> {
        let kind = match start {
            EnrolmentStart::Phone { .. } => FactorKind::SmsOtp,
            EnrolmentStart::Totp => FactorKind::Totp,
        };
        self.check_enrolment_allowed(me, Some(kind))?;
        let factors = &me.factors;
        if factors.len() as i64 >= MAX_READY_FACTORS {
            return Err(DomainError::SecondFactorLimitExceeded);
        }
        let now = self.clock.now();
        match start {
            EnrolmentStart::Phone { phone, evidence } => {
                if factors.iter().any(|f| f.phone() == Some(&phone)) {
                    return Err(DomainError::SecondFactorExists);
                }
                self.app_verifier.verify(&evidence)?;
                let session_info = self
                    .send_code(
                        &me.realm,
                        Some(&me.user.id),
                        Purpose::Enrol,
                        &phone,
                        None,
                        None,
                        client,
                    )
                    .await?;
                Ok(EnrolmentStarted::Phone { session_info })
            }
            EnrolmentStart::Totp => {
                let (factor, secret) = self.new_totp_factor(&me.realm, &me.user.id)?;
                let session_info = session_token(now).map_err(internal)?;
                let finalize_by = now + TOTP_ENROLMENT_WINDOW;
                self.store
                    .insert_challenge(NewChallenge {
                        challenge: &Challenge {
                            id: session_key(&session_info),
                            realm: me.realm.id.clone(),
                            user: Some(me.user.id.clone()),
                            factor: Some(factor.id.clone()),
                            purpose: Purpose::Enrol,
                            destination: None,
                            code_hash: Vec::new(),
                            pending: None,
                            expires_at: finalize_by,
                            attempts_left: SMS_CODE_ATTEMPTS,
                            consumed: false,
                            created_at: now,
                        },
                        factor: Some(&factor),
                        outgoing: None,
                        event: Some(&self.enrolment_started(&factor)),
                    })
                    .await?;
                Ok(EnrolmentStarted::Totp {
                    session_info,
                    secret,
                    spec: TotpSpec::FIREBASE,
                    finalize_by,
                })
            }
        }
    }

    /// A not-ready TOTP factor with a fresh 160-bit secret, sealed; and the secret itself.
    pub(super) fn new_totp_factor(
        &self,
        realm: &Realm,
        user: &UserId,
    ) -> Result<(Factor, Vec<u8>), DomainError> {
        let secret: [u8; SECRET_LEN] = random_array().map_err(internal)?;
        let factor = self.totp_factor(realm, user, &secret)?;
        Ok((factor, secret.to_vec()))
    }

    /// A pending TOTP factor with `secret` sealed under the master key.
    pub(super) fn totp_factor(
        &self,
        realm: &Realm,
        user: &UserId,
        secret: &[u8],
    ) -> Result<Factor, DomainError> {
        Ok(Factor {
            id: FactorId::from_random(random_array().map_err(internal)?),
            realm: realm.id.clone(),
            user: user.clone(),
            state: FactorState::NotReady,
            display_name: None,
            data: FactorData::Totp {
                secret: self
                    .master
                    .seal(TOTP_SEAL_PURPOSE, secret)
                    .map_err(internal)?,
                spec: TotpSpec::FIREBASE,
            },
            created_at: self.clock.now(),
            enrolled_at: None,
            last_used_at: None,
            last_used_step: None,
        })
    }

    /// Issues a fresh code for `phone`, queues the text message that carries it, and returns
    /// the `sessionInfo` that names it. Test phone numbers of the realm get their fixed code
    /// and no message (so no limit is charged either).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_code(
        &self,
        realm: &Realm,
        user: Option<&UserId>,
        purpose: Purpose,
        phone: &PhoneNumber,
        factor: Option<&FactorId>,
        pending: Option<&[u8]>,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        let now = self.clock.now();
        let session_info = session_token(now).map_err(internal)?;
        let test_code = realm.mfa.test_code(phone.as_str()).map(str::to_owned);
        let code = match &test_code {
            Some(fixed) => fixed.clone(),
            None => random_digits(SMS_CODE_DIGITS).map_err(internal)?,
        };
        let challenge = Challenge {
            id: session_key(&session_info),
            realm: realm.id.clone(),
            user: user.cloned(),
            factor: factor.cloned(),
            purpose,
            destination: Some(phone.clone()),
            code_hash: code_hash(&session_info, &code),
            pending: pending.map(<[u8]>::to_vec),
            expires_at: now + SMS_CODE_LIFETIME,
            attempts_left: SMS_CODE_ATTEMPTS,
            consumed: false,
            created_at: now,
        };
        let content = MessageContent {
            kind: match purpose {
                Purpose::Enrol => MessageKind::Enrol,
                Purpose::SignIn | Purpose::FirstFactor => MessageKind::SignIn,
            },
            code,
            locale: client.locale.clone(),
            valid_minutes: minutes(SMS_CODE_LIFETIME),
            session_info: Some(session_info.clone()),
            link: None,
            new_email: None,
            app_name: None,
        };
        let outgoing = match test_code {
            Some(_) => None,
            None => Some(self.outgoing(&realm.id, Destination::Phone(phone), &content, client)?),
        };
        // The factor-to-be of a phone enrolment lives in the challenge until the code comes
        // back.
        let started = (purpose == Purpose::Enrol).then(|| Event {
            realm: realm.id.clone(),
            user: user.cloned(),
            factor: None,
            kind: "factor.enrolment_started",
            detail: Some(FactorKind::SmsOtp.as_str().to_owned()),
            at: now,
        });
        self.store
            .insert_challenge(NewChallenge {
                challenge: &challenge,
                factor: None,
                outgoing: outgoing.as_ref(),
                event: started.as_ref(),
            })
            .await?;
        if outgoing.is_some() {
            self.queued();
        }
        Ok(session_info)
    }

    /// `factor.enrolment_started` for a factor that is not ready yet.
    pub(super) fn enrolment_started(&self, factor: &Factor) -> Event {
        Event {
            realm: factor.realm.clone(),
            user: Some(factor.user.clone()),
            factor: Some(factor.id.clone()),
            kind: "factor.enrolment_started",
            detail: Some(factor.kind().as_str().to_owned()),
            at: self.clock.now(),
        }
    }

    /// Finds the live challenge named by `session_info` that `belongs` accepts, and takes one
    /// attempt from it (and from its factor's soft lock and the failure limits).
    ///
    /// `used` is the answer when the challenge has been used — also when another request
    /// used it between our read and our attempt, so that a request that lost a race hears
    /// what it would have heard coming second (not `SessionExpired`).
    pub(super) async fn open_challenge(
        &self,
        session_info: &str,
        belongs: impl Fn(&Challenge) -> bool,
        client: &ClientInfo,
        used: DomainError,
    ) -> Result<(Challenge, Check), DomainError> {
        let challenge = self.live_challenge(session_info, belongs, &used).await?;
        let check = self.attempt_challenge(&challenge, client, used).await?;
        Ok((challenge, check))
    }

    /// The first half of `open_challenge`: the challenge, unused and unexpired, read only.
    async fn live_challenge(
        &self,
        session_info: &str,
        belongs: impl Fn(&Challenge) -> bool,
        used: &DomainError,
    ) -> Result<Challenge, DomainError> {
        let challenge = self
            .store
            .find_challenge(&session_key(session_info))
            .await?
            .filter(|c| belongs(c))
            .ok_or(DomainError::InvalidSessionInfo)?;
        if challenge.consumed {
            return Err(used.clone());
        }
        if challenge.expires_at <= self.clock.now() {
            return Err(DomainError::SessionExpired);
        }
        Ok(challenge)
    }

    /// The second half of `open_challenge`: one attempt taken from `challenge`.
    async fn attempt_challenge(
        &self,
        challenge: &Challenge,
        client: &ClientInfo,
        used: DomainError,
    ) -> Result<Check, DomainError> {
        let subject = Subject {
            challenge: Some(&challenge.id),
            ..Subject::new(
                &challenge.realm,
                challenge.user.as_ref(),
                challenge.factor.as_ref(),
            )
        };
        match self
            .begin_check(subject, client, DomainError::SessionExpired)
            .await
        {
            Err(DomainError::SessionExpired) => {
                // No attempt left: expired, five wrong codes, or used meanwhile (a challenge
                // never becomes unused again, so this second read tells them apart).
                let now_used = self
                    .store
                    .find_challenge(&challenge.id)
                    .await?
                    .is_some_and(|c| c.consumed);
                Err(if now_used {
                    used
                } else {
                    DomainError::SessionExpired
                })
            }
            other => other,
        }
    }

    pub(super) fn open_totp_secret(
        &self,
        factor: &Factor,
    ) -> Result<(Vec<u8>, TotpSpec), DomainError> {
        let FactorData::Totp { secret, spec } = &factor.data else {
            return Err(DomainError::FactorKindUnsupported);
        };
        let plain = self
            .master
            .open(&secret.master_key_id, TOTP_SEAL_PURPOSE, &secret.bytes)
            .map_err(|e| {
                tracing::error!(factor = %factor.id, error = %e, "cannot open a TOTP secret");
                DomainError::Internal
            })?;
        Ok((plain, *spec))
    }

    /// Enrols the factor `proof` proves. In production the user's address is told, with a
    /// link that removes it (`send_enrolment_notice`).
    pub async fn finalize_enrolment(
        &self,
        me: Authenticated,
        proof: EnrolmentProof,
        display_name: Option<String>,
        notice: Notice<'_>,
    ) -> Result<(Factor, Session), DomainError> {
        let client = notice.client;
        let now = self.clock.now();
        let enrolment = |c: &Challenge| {
            c.purpose == Purpose::Enrol
                && c.user.as_ref() == Some(&me.user.id)
                && c.realm == me.realm.id
        };
        let (challenge, check, factor, step) = match proof {
            EnrolmentProof::Phone { session_info, code } => {
                let (challenge, check) = self
                    .open_challenge(
                        &session_info,
                        |c| enrolment(c) && c.destination.is_some(),
                        client,
                        DomainError::InvalidSessionInfo,
                    )
                    .await?;
                if !same_digest(&challenge.code_hash, &code_hash(&session_info, &code)) {
                    let wrong = DomainError::InvalidCode;
                    return Err(self.check_failed(check, "enrol: wrong code", wrong).await);
                }
                let phone = challenge
                    .destination
                    .clone()
                    .ok_or(DomainError::InvalidSessionInfo)?;
                let factor = Factor {
                    id: FactorId::from_random(random_array().map_err(internal)?),
                    realm: me.realm.id.clone(),
                    user: me.user.id.clone(),
                    state: FactorState::Ready,
                    display_name,
                    data: FactorData::SmsOtp { phone },
                    created_at: now,
                    enrolled_at: Some(now),
                    last_used_at: None,
                    last_used_step: None,
                };
                (challenge, check, factor, None)
            }
            EnrolmentProof::Totp { session_info, code } => {
                let gone = DomainError::InvalidSessionInfo;
                let challenge = self
                    .live_challenge(&session_info, |c| enrolment(c) && c.factor.is_some(), &gone)
                    .await?;
                let factor_id = challenge.factor.as_ref().ok_or(gone.clone())?;
                // A later start replaced this enrolment: no attempt to take. (One that
                // replaces it after this read leaves the promotion below nothing to promote.)
                let mut factor = self
                    .store
                    .get_factor(&me.realm.id, &me.user.id, factor_id)
                    .await?
                    .filter(|f| f.state == FactorState::NotReady)
                    .ok_or(gone.clone())?;
                let check = self.attempt_challenge(&challenge, client, gone).await?;
                let (secret, spec) = self.open_totp_secret(&factor)?;
                let skew = me.realm.mfa.adjacent_intervals;
                let Ok(step) = spec.verify(&secret, &code, now, skew, factor.last_used_step) else {
                    let wrong = DomainError::InvalidCode;
                    return Err(self.check_failed(check, "enrol: wrong code", wrong).await);
                };
                factor.state = FactorState::Ready;
                factor.display_name = display_name;
                factor.enrolled_at = Some(now);
                (challenge, check, factor, Some(step as i64))
            }
        };
        let event = Event {
            realm: me.realm.id.clone(),
            user: Some(me.user.id.clone()),
            factor: Some(factor.id.clone()),
            kind: "factor.enrolled",
            detail: Some(factor.kind().as_str().to_owned()),
            at: now,
        };
        let sign_in = SignIn {
            second_factor: Some(SecondFactor {
                kind: factor.kind(),
                id: factor.id.clone(),
            }),
            ..me.sign_in()?
        };
        let (refresh_token, refresh) = self.new_refresh_token(&me.realm, &me.user, &sign_in)?;
        let enrolled = async {
            let enrolment = Enrolment {
                challenge: Some(&challenge.id),
                factor: &factor,
                totp_step: step,
                event: &event,
                // The code was right, whatever becomes of the enrolment.
                passed: Some(&self.pass(&check)),
                refresh: Some(&refresh),
            };
            match self.store.complete_enrolment(enrolment).await? {
                EnrolOutcome::Done => Ok(()),
                EnrolOutcome::ChallengeGone => Err(DomainError::InvalidSessionInfo),
                EnrolOutcome::LimitReached => Err(DomainError::SecondFactorLimitExceeded),
            }
        };
        let ((), session) = self
            .session_beside(&me.realm, &me.user, &sign_in, refresh_token, enrolled)
            .await?;
        self.send_enrolment_notice(&me.realm, &me.user, &factor.id, notice)
            .await;
        Ok((factor, session))
    }

    /// Removes a factor and returns a fresh session, which no longer names the removed factor.
    pub async fn withdraw_factor(
        &self,
        me: Authenticated,
        id: &FactorId,
    ) -> Result<Session, DomainError> {
        let event = Event {
            realm: me.realm.id.clone(),
            user: Some(me.user.id.clone()),
            factor: Some(id.clone()),
            kind: "factor.removed",
            detail: None,
            at: self.clock.now(),
        };
        let mut sign_in = me.sign_in()?;
        if sign_in.second_factor.as_ref().is_some_and(|f| &f.id == id) {
            sign_in.second_factor = None;
        }
        let (refresh_token, refresh) = self.new_refresh_token(&me.realm, &me.user, &sign_in)?;
        let removed = async {
            let (realm, user) = (&me.realm.id, &me.user.id);
            match self
                .store
                .remove_factor(realm, user, id, &event, Some(&refresh))
                .await?
            {
                true => Ok(()),
                false => Err(DomainError::FactorNotFound),
            }
        };
        let ((), session) = self
            .session_beside(&me.realm, &me.user, &sign_in, refresh_token, removed)
            .await?;
        Ok(session)
    }

    /// After a correct first factor: a session, or a pending sign-in when a second factor
    /// applies.
    pub(super) async fn after_first_factor(
        &self,
        realm: &Realm,
        user: &mut User,
        provider: &str,
    ) -> Result<FirstFactorOutcome, DomainError> {
        let now = self.clock.now();
        // Only factors that can finish a pending sign-in (`SignInProof`) make one necessary.
        let factors = if realm.mfa.enabled() {
            let all = self.ready_factors(realm, user).await?;
            all.into_iter()
                .filter(|f| matches!(f.kind(), FactorKind::Totp | FactorKind::SmsOtp))
                .collect()
        } else {
            Vec::new()
        };
        if !factors.is_empty() {
            let pending_credential = session_token(now).map_err(internal)?;
            self.store
                .insert_pending_sign_in(&PendingSignIn {
                    id: session_key(&pending_credential),
                    realm: realm.id.clone(),
                    user: user.id.clone(),
                    first_factor: provider.to_owned(),
                    expires_at: now + PENDING_SIGN_IN_LIFETIME,
                    attempts_left: PENDING_SIGN_IN_ATTEMPTS,
                    consumed: false,
                    created_at: now,
                })
                .await?;
            return Ok(FirstFactorOutcome::SecondFactorRequired {
                pending_credential,
                factors,
            });
        }
        user.last_login_at = Some(now);
        let session = self
            .start_sign_in_session(realm, user, SignIn::first_factor(provider, now))
            .await?;
        Ok(FirstFactorOutcome::Session(session))
    }

    /// The live pending sign-in named by `credential`, with its realm and user; with `tenant`
    /// (the request's), the sign-in must be of that tenant.
    async fn pending_sign_in(
        &self,
        credential: &str,
        tenant: Option<&str>,
    ) -> Result<(PendingSignIn, Realm, User), DomainError> {
        let pending = self
            .store
            .find_pending_sign_in(&session_key(credential))
            .await?
            .filter(|p| !p.consumed && p.expires_at > self.clock.now())
            .ok_or(DomainError::InvalidPendingCredential)?;
        let realm = self
            .get_realm(&pending.realm)
            .await?
            .ok_or(DomainError::InvalidPendingCredential)?;
        let user = self
            .store
            .get_user(&realm.id, &pending.user)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        user.ensure_active()?;
        if tenant.is_some_and(|tenant| realm.tenant_id.as_deref() != Some(tenant)) {
            return Err(DomainError::TenantIdMismatch);
        }
        Ok((pending, realm, user))
    }

    /// Sends a code to a phone factor for the second step of a sign-in.
    pub async fn start_second_factor(
        &self,
        credential: &str,
        tenant: Option<&str>,
        factor_id: &FactorId,
        evidence: &AppEvidence,
        client: &ClientInfo,
    ) -> Result<String, DomainError> {
        let (pending, realm, user) = self.pending_sign_in(credential, tenant).await?;
        let factor = self.ready_factor(&realm, &user, factor_id).await?;
        let phone = factor
            .phone()
            .ok_or(DomainError::FactorKindUnsupported)?
            .clone();
        self.app_verifier.verify(evidence)?;
        self.send_code(
            &realm,
            Some(&user.id),
            Purpose::SignIn,
            &phone,
            Some(&factor.id),
            Some(&pending.id),
            client,
        )
        .await
    }

    async fn ready_factor(
        &self,
        realm: &Realm,
        user: &User,
        id: &FactorId,
    ) -> Result<Factor, DomainError> {
        self.store
            .get_factor(&realm.id, &user.id, id)
            .await?
            .filter(|f| f.state == FactorState::Ready)
            .ok_or(DomainError::FactorNotFound)
    }

    /// Completes a sign-in with a second factor; exactly one request can win per code.
    pub async fn finish_second_factor(
        &self,
        credential: &str,
        tenant: Option<&str>,
        proof: SignInProof,
        client: &ClientInfo,
    ) -> Result<(User, Session), DomainError> {
        let (pending, realm, mut user) = self.pending_sign_in(credential, tenant).await?;
        let now = self.clock.now();
        let (second_factor, check, challenge, totp_step) = match proof {
            SignInProof::Phone { session_info, code } => {
                let (challenge, check) = self
                    .open_challenge(
                        &session_info,
                        |c| {
                            c.purpose == Purpose::SignIn
                                && c.pending.as_deref() == Some(&pending.id)
                                && c.factor.is_some()
                        },
                        client,
                        // A used sign-in challenge means its sign-in is over (below).
                        DomainError::InvalidPendingCredential,
                    )
                    .await?;
                let factor_id = challenge
                    .factor
                    .clone()
                    .ok_or(DomainError::InvalidSessionInfo)?;
                if !same_digest(&challenge.code_hash, &code_hash(&session_info, &code)) {
                    let wrong = DomainError::InvalidCode;
                    return Err(self.check_failed(check, "sign_in: wrong code", wrong).await);
                }
                let second_factor = SecondFactor {
                    kind: FactorKind::SmsOtp,
                    id: factor_id,
                };
                (second_factor, check, Some(challenge.id), None)
            }
            SignInProof::Totp { factor, code } => {
                let factor = self.ready_factor(&realm, &user, &factor).await?;
                let (check, step) = self
                    .totp_check(&realm, &user, &factor, &code, Some(&pending.id), client)
                    .await?;
                let second_factor = SecondFactor {
                    kind: FactorKind::Totp,
                    id: factor.id,
                };
                (second_factor, check, None, Some(step))
            }
        };
        user.last_login_at = Some(now);
        let factor = FactorKey {
            realm: realm.id.clone(),
            user: user.id.clone(),
            id: second_factor.id.clone(),
        };
        let sign_in = SignIn {
            provider: pending.first_factor,
            auth_time: now,
            second_factor: Some(second_factor),
            developer_claims: None,
        };
        let (refresh_token, refresh) = self.new_refresh_token(&realm, &user, &sign_in)?;
        // Of requests racing with the right code, the one that wins the sign-in finishes it,
        // and the others find it over, exactly as a request coming second would.
        let completed = async {
            let completion = SignInCompletion {
                pending: &pending.id,
                challenge: challenge.as_deref(),
                totp_step: totp_step.map(|step| (&factor, step)),
                passed: Some(&self.pass(&check)),
                refresh: &refresh,
                at: now,
            };
            Ok(self.store.complete_sign_in(completion).await?)
        };
        let (outcome, session) = self
            .session_beside(&realm, &user, &sign_in, refresh_token, completed)
            .await?;
        match outcome {
            SignInOutcome::Done => Ok((user, session)),
            SignInOutcome::SignInGone => Err(DomainError::InvalidPendingCredential),
            SignInOutcome::StepUsed => Err(self.replayed(check).await),
        }
    }

    /// Checks a code of a ready TOTP factor on its own: right, and its time step not used
    /// before (RFC 6238 §5.2). The attempt is taken first; a failure is recorded as an event.
    /// A second-factor sign-in uses up the step in its own transaction instead.
    pub(super) async fn check_totp_code(
        &self,
        realm: &Realm,
        user: &User,
        factor: &Factor,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), DomainError> {
        let (check, step) = self
            .totp_check(realm, user, factor, code, None, client)
            .await?;
        if self
            .store
            .use_totp_step(&factor.key(), step, self.clock.now())
            .await?
        {
            return self.passed(check).await;
        }
        Err(self.replayed(check).await)
    }

    /// A right code for a time step already used: a failure like a wrong code.
    async fn replayed(&self, check: Check) -> DomainError {
        self.check_failed(check, "replayed", DomainError::CodeReused)
            .await
    }

    /// Takes the attempt (from `pending`, when the check finishes a pending sign-in) and
    /// compares the code: the open check and the time step the code is for, which the caller
    /// uses up (a wrong code is recorded here).
    async fn totp_check(
        &self,
        realm: &Realm,
        user: &User,
        factor: &Factor,
        code: &str,
        pending: Option<&[u8]>,
        client: &ClientInfo,
    ) -> Result<(Check, i64), DomainError> {
        let (secret, spec) = self.open_totp_secret(factor)?;
        let subject = Subject {
            pending,
            ..Subject::new(&realm.id, Some(&user.id), Some(&factor.id))
        };
        let check = self
            .begin_check(subject, client, DomainError::InvalidPendingCredential)
            .await?;
        let now = self.clock.now();
        let skew = realm.mfa.adjacent_intervals;
        match spec.verify(&secret, code, now, skew, factor.last_used_step) {
            Ok(step) => Ok((check, step as i64)),
            Err(TotpRefusal::Used) => Err(self.replayed(check).await),
            Err(TotpRefusal::Wrong) => {
                let wrong = DomainError::InvalidCode;
                Err(self.check_failed(check, "wrong code", wrong).await)
            }
        }
    }

    /// Administration: replaces the user's factors (replace semantics; empty clears).
    pub(super) async fn set_factors(
        &self,
        realm: &Realm,
        user: &User,
        wanted: Vec<AdminFactor>,
    ) -> Result<(), DomainError> {
        let replacement = self.factor_replacement(realm, user, wanted).await?;
        self.replace_factors(realm, user, &replacement).await
    }

    pub(super) async fn replace_factors(
        &self,
        realm: &Realm,
        user: &User,
        (factors, events): &(Vec<Factor>, Vec<Event>),
    ) -> Result<(), DomainError> {
        Ok(self
            .store
            .replace_factors(&realm.id, &user.id, factors, events)
            .await?)
    }

    /// The factors that replace the user's, checked, with the events of the change; nothing
    /// written yet.
    pub(super) async fn factor_replacement(
        &self,
        realm: &Realm,
        user: &User,
        wanted: Vec<AdminFactor>,
    ) -> Result<(Vec<Factor>, Vec<Event>), DomainError> {
        if wanted.len() as i64 > MAX_READY_FACTORS {
            return Err(DomainError::SecondFactorLimitExceeded);
        }
        let existing = self.ready_factors(realm, user).await?;
        let now = self.clock.now();
        let mut factors: Vec<Factor> = Vec::with_capacity(wanted.len());
        for w in wanted {
            let kept =
                w.id.as_ref()
                    .and_then(|id| existing.iter().find(|f| &f.id == id));
            let data = match (w.phone, kept) {
                (Some(phone), _) => FactorData::SmsOtp { phone },
                (None, Some(f)) => f.data.clone(),
                (None, None) => return Err(DomainError::FactorKindUnsupported),
            };
            if let FactorData::SmsOtp { phone } = &data
                && factors.iter().any(|f| f.phone() == Some(phone))
            {
                continue; // Firebase collapses duplicate numbers to the first.
            }
            let id = match w.id {
                Some(id) => id,
                None => FactorId::from_random(random_array().map_err(internal)?),
            };
            factors.push(Factor {
                id,
                realm: realm.id.clone(),
                user: user.id.clone(),
                state: FactorState::Ready,
                display_name: w.display_name,
                data,
                created_at: kept.map_or(now, |f| f.created_at),
                enrolled_at: Some(
                    w.enrolled_at
                        .or(kept.and_then(|f| f.enrolled_at))
                        .unwrap_or(now),
                ),
                last_used_at: kept.and_then(|f| f.last_used_at),
                last_used_step: kept.and_then(|f| f.last_used_step),
            });
        }
        let event = |factor: &Factor, kind: &'static str| Event {
            realm: realm.id.clone(),
            user: Some(user.id.clone()),
            factor: Some(factor.id.clone()),
            kind,
            detail: Some(format!(
                "{} (set by an administrator)",
                factor.kind().as_str()
            )),
            at: now,
        };
        let removed = existing
            .iter()
            .filter(|old| !factors.iter().any(|f| f.id == old.id))
            .map(|old| event(old, "factor.removed"));
        let added = factors
            .iter()
            .filter(|new| !existing.iter().any(|f| f.id == new.id))
            .map(|new| event(new, "factor.enrolled"));
        let events: Vec<Event> = removed.chain(added).collect();
        Ok((factors, events))
    }
}
