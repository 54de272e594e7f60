//! Every code check goes through here: an attempt is taken before the code is compared, and
//! the check ends as a success (counters reset, limits given back) or a failure (recorded as
//! an event, with `factor.locked` when it locked the factor). See `tessera_core::lockout` for
//! the soft lock's schedule; the store makes each step one atomic transaction.
//!
//! Three guards apply, all counted in the database so they hold across nodes:
//! - the factor's soft lock (always on, in every mode: NIST SP 800-63B's bound);
//! - the challenge's or pending sign-in's own attempts (always on);
//! - limits on failed verifications per user and per client address (`FailureLimits`;
//!   production's defaults, off in dev mode unless configured).

use serde::{Deserialize, Serialize};
use tessera_core::lockout::{LOCK_EVERY, LockAfter, lock_after};
use tessera_core::store::{
    Attempt, AttemptTaken, Event, EventFilter, EventRecord, Passed, WriteOrder,
};
use tessera_core::{DomainError, FactorId, FactorKey, Realm, RealmId, UserId};

use super::Service;
use super::delivery::{ClientInfo, Limit, ip_key};

/// Limits on failed code checks, across all of a user's factors and challenges, and across
/// everything from one client address. A count of 0 turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailureLimits {
    pub per_user: Limit,
    /// Per client IP address (IPv6: per /64).
    pub per_ip: Limit,
}

impl FailureLimits {
    /// None: dev mode's default. The per-factor soft lock still applies.
    pub const OFF: FailureLimits = FailureLimits {
        per_user: Limit::OFF,
        per_ip: Limit::OFF,
    };
}

impl Default for FailureLimits {
    /// Production's: a person who mistypes gets many tries; a script guessing codes for one
    /// user, or for many users from one address, does not.
    fn default() -> Self {
        FailureLimits {
            per_user: Limit::per_hour(30),
            per_ip: Limit::per_hour(200),
        }
    }
}

/// What a code check is about.
pub(super) struct Subject<'a> {
    pub realm: &'a RealmId,
    /// `None` for a first-factor code sent to a number that no account has.
    pub user: Option<&'a UserId>,
    /// The factor whose soft lock the check counts against.
    pub factor: Option<&'a FactorId>,
    /// The challenge to take an attempt from.
    pub challenge: Option<&'a [u8]>,
    /// The pending sign-in to take an attempt from.
    pub pending: Option<&'a [u8]>,
    /// The event kind a failure is recorded as.
    pub failure: &'static str,
}

impl<'a> Subject<'a> {
    /// A check of one of `user`'s codes, counted against `factor`'s soft lock when there is
    /// one, charging no challenge or pending sign-in, a failure recorded as
    /// `factor.verification_failed`: the common case, which the others extend with `..`.
    pub fn new(realm: &'a RealmId, user: Option<&'a UserId>, factor: Option<&'a FactorId>) -> Self {
        Subject {
            realm,
            user,
            factor,
            challenge: None,
            pending: None,
            failure: "factor.verification_failed",
        }
    }
}

/// A code check whose attempt was taken: end it with `passed`, `check_failed`, or the change
/// that carries `pass`; that write also makes sure the attempt is durable.
pub(super) struct Check {
    attempt: Attempt,
    taken: WriteOrder,
    realm: RealmId,
    user: Option<UserId>,
    failures: i64,
    failure: &'static str,
}

impl Service {
    /// Takes an attempt for a code check; `spent` is the error when the challenge or pending
    /// sign-in has none left. A locked factor or a used-up limit is `TooManyAttempts`, and
    /// then nothing changed.
    pub(super) async fn begin_check(
        &self,
        subject: Subject<'_>,
        client: &ClientInfo,
        spent: DomainError,
    ) -> Result<Check, DomainError> {
        let limits = self.failure_limits;
        let quotas = [
            subject.user.and_then(|user| {
                limits
                    .per_user
                    .quota(format!("fail:user:{}:{}", subject.realm.0, user.as_str()))
            }),
            client
                .ip
                .and_then(|ip| limits.per_ip.quota(format!("fail:ip:{}", ip_key(ip)))),
        ];
        let attempt = Attempt {
            quotas: quotas.into_iter().flatten().collect(),
            factor: subject
                .factor
                .zip(subject.user)
                .map(|(id, user)| FactorKey {
                    realm: subject.realm.clone(),
                    user: user.clone(),
                    id: id.clone(),
                }),
            challenge: subject.challenge.map(<[u8]>::to_vec),
            pending: subject.pending.map(<[u8]>::to_vec),
            at: self.clock.now(),
        };
        let (taken, order) = self.store.take_attempt(&attempt).await?;
        match taken {
            AttemptTaken::Taken { failures } => Ok(Check {
                attempt,
                taken: order,
                realm: subject.realm.clone(),
                user: subject.user.cloned(),
                failures,
                failure: subject.failure,
            }),
            AttemptTaken::FactorLocked | AttemptTaken::LimitReached => {
                metrics::counter!("tessera_verifications_refused_total").increment(1);
                Err(DomainError::TooManyAttempts)
            }
            AttemptTaken::Spent => Err(spent),
        }
    }

    fn check_event(&self, check: &Check, kind: &'static str, detail: String) -> Event {
        Event {
            realm: check.realm.clone(),
            user: check.user.clone(),
            factor: check.attempt.factor.as_ref().map(|f| f.id.clone()),
            kind,
            detail: Some(detail),
            at: self.clock.now(),
        }
    }

    /// The code was right and used: the factor's failures reset, the limits are given back.
    pub(super) async fn passed(&self, check: Check) -> Result<(), DomainError> {
        let passed = self.pass(&check);
        self.store
            .end_attempt(&passed.attempt, passed.taken, true, &passed.events)
            .await?;
        Ok(())
    }

    /// What recording a passed check writes, for the store call of the change it allows.
    pub(super) fn pass(&self, check: &Check) -> Passed {
        let mut events = Vec::new();
        // Failures before this attempt had locked the factor at least once.
        if check.attempt.factor.is_some() && check.failures > LOCK_EVERY {
            events.push(self.check_event(check, "factor.unlocked", "right code".to_owned()));
        }
        Passed {
            attempt: check.attempt.clone(),
            taken: check.taken,
            events,
        }
    }

    /// The code was wrong (or replayed): the failure is recorded, with the lock it set; the
    /// caller's error comes back unless recording fails.
    pub(super) async fn check_failed(
        &self,
        check: Check,
        detail: &str,
        error: DomainError,
    ) -> DomainError {
        let mut events = vec![self.check_event(&check, check.failure, detail.to_owned())];
        if check.attempt.factor.is_some() {
            let lock = match lock_after(check.failures) {
                LockAfter::None => None,
                LockAfter::For(back_off) => Some(format!(
                    "{} consecutive failures: locked for {} s",
                    check.failures,
                    back_off.whole_seconds()
                )),
                LockAfter::UntilReset => Some(format!(
                    "{} consecutive failures: locked until an administrator unlocks it",
                    check.failures
                )),
            };
            if let Some(detail) = lock {
                events.push(self.check_event(&check, "factor.locked", detail));
            }
        }
        metrics::counter!("tessera_verifications_failed_total").increment(1);
        let ended = self
            .store
            .end_attempt(&check.attempt, check.taken, false, &events)
            .await;
        match ended {
            Ok(()) => error,
            Err(e) => e.into(),
        }
    }

    /// Administration: clears the failures and locks of the user's factors (in `realm`, or
    /// wherever the user is); the factors that had any, each recorded as `factor.unlocked`.
    pub async fn unlock_factors(
        &self,
        realm: Option<&Realm>,
        user: &UserId,
    ) -> Result<Vec<FactorId>, DomainError> {
        let realm = match realm {
            Some(realm) => realm.id.clone(),
            None => match self.store.user_realms(user).await?.as_slice() {
                [only] => only.clone(),
                _ => return Err(DomainError::UserNotFound),
            },
        };
        self.store
            .get_user(&realm, user)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        Ok(self
            .store
            .unlock_factors(&realm, user, self.clock.now())
            .await?)
    }

    /// A realm by any of its addresses: `PROJECT`, `PROJECT/TENANT`, or a ZITADEL
    /// organization id.
    pub async fn realm_named(&self, name: &str) -> Result<Realm, DomainError> {
        if let Some((project, tenant)) = name.split_once('/') {
            return self.realm(project, Some(tenant)).await;
        }
        if let Some(realm) = self.find_realm(name, None).await? {
            return Ok(realm);
        }
        self.find_realm_by_org(name)
            .await?
            .ok_or(DomainError::ProjectNotFound)
    }

    /// The audit log, newest first (`tessera audit`).
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, DomainError> {
        Ok(self.store.list_events(filter).await?)
    }
}
