//! Codes on their way to people: composing a message, charging it to the abuse limits and
//! queueing it with the change that issues its code; and the worker that sends what is queued
//! (and, every ten minutes, sweeps away expired codes and old messages and counters).
//!
//! Queueing is part of the issuing transaction, so an answer that says "code sent" means the
//! message is durable; the worker on any node delivers it, this node's at once (it is woken
//! after each commit), another's within the poll interval if this node dies first. Limits are
//! counted in the database (SMS pumping costs real money, and every node must see one count):
//! per destination, per country calling code, per client IP and per realm. When one is used up
//! nothing is written and nothing is sent.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use url::Url;

use tessera_core::challenge::EXPIRED_RETENTION;
use tessera_core::delivery::{
    Channel, Delivery, DeliveryStatus, EmailSender, MessageContent, Quota, SendError, SmsSender,
};
use tessera_core::store::{Attempted, Outgoing, SealedKind};
use tessera_core::{DomainError, EmailAddress, PhoneNumber, Realm, RealmId, User};

use super::{Service, callers::internal};
use crate::crypto::{random_token, time_ordered_id};
use crate::delivery::Templates;

const CONTENT_SEAL_PURPOSE: &str = SealedKind::DeliveryContent.purpose();
/// Messages claimed (and sent side by side) per round of the worker.
const BATCH: i64 = 16;
/// How often the worker sweeps away what nothing needs any more (`Service::prune`).
const PRUNE_EVERY: Duration = Duration::minutes(10);
/// How many rows of each kind the sweep deletes per transaction.
const SWEPT_PER_TRANSACTION: i64 = 1000;
/// How long sent and failed messages stay visible to operators.
pub const DELIVERY_RETENTION: Duration = Duration::days(30);

/// What a dialect knows of the requester that delivery needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Where the request came from, for the per-IP limit.
    pub ip: Option<IpAddr>,
    /// The language asked for (`X-Firebase-Locale`, `Accept-Language`), for the template.
    pub locale: Option<String>,
    /// The origin the request came to (`http://host:port`), for dev mode's links to the
    /// server's own pages.
    pub origin: Option<String>,
}

impl ClientInfo {
    /// The language of a message to `user`: the one its profile prefers, as ZITADEL writes to
    /// a user, else the one the request asked for.
    pub fn locale_for(&self, user: &User) -> Option<String> {
        user.profile
            .preferred_language
            .clone()
            .or_else(|| self.locale.clone())
    }
}

/// One abuse limit: at most `count` messages per `window_seconds`; a count of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limit {
    pub count: u32,
    pub window_seconds: u64,
}

impl Default for Limit {
    fn default() -> Self {
        Limit::OFF
    }
}

impl Limit {
    pub const OFF: Limit = Limit::per_hour(0);

    pub const fn per_hour(count: u32) -> Self {
        Limit {
            count,
            window_seconds: 3600,
        }
    }

    pub(super) fn quota(self, key: String) -> Option<Quota> {
        (self.count > 0).then(|| Quota {
            key,
            limit: i64::from(self.count),
            window: Duration::seconds(self.window_seconds.min(i64::MAX as u64) as i64),
        })
    }
}

/// The abuse limits on codes sent. The defaults (production's) let a person retry a few times
/// and keep a script from running up an SMS bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryLimits {
    /// Per phone number or email address.
    pub per_destination: Limit,
    /// Per country calling code (SMS only): pumping targets premium ranges of a few countries.
    pub per_country: Limit,
    /// Per client IP address (IPv6: per /64, what one host is usually given).
    pub per_ip: Limit,
    /// Per realm and channel.
    pub per_realm: Limit,
}

impl DeliveryLimits {
    /// No limits: dev mode's default, like the Firebase Auth emulator's.
    pub const OFF: DeliveryLimits = DeliveryLimits {
        per_destination: Limit::OFF,
        per_country: Limit::OFF,
        per_ip: Limit::OFF,
        per_realm: Limit::OFF,
    };

    /// The longest window of the four: how long a rate counter matters.
    fn longest_window(&self) -> Duration {
        let longest = [
            self.per_destination,
            self.per_country,
            self.per_ip,
            self.per_realm,
        ]
        .iter()
        .map(|l| l.window_seconds)
        .max()
        .unwrap_or_default();
        Duration::seconds(longest.min(i64::MAX as u64) as i64)
    }
}

impl Default for DeliveryLimits {
    fn default() -> Self {
        DeliveryLimits {
            per_destination: Limit::per_hour(10),
            per_country: Limit::per_hour(1000),
            per_ip: Limit::per_hour(100),
            per_realm: Limit::per_hour(10_000),
        }
    }
}

/// Everything the service needs to deliver codes.
pub struct DeliverySetup {
    pub sms: Arc<dyn SmsSender>,
    pub email: Arc<dyn EmailSender>,
    pub templates: Templates,
    pub limits: DeliveryLimits,
    /// Where emailed action links lead (a custom email action handler); unset, the page's
    /// `/ui/action` (see `oob.rs`).
    pub action_url: Option<Url>,
    /// How often the worker looks for messages other nodes left behind.
    pub poll_interval: StdDuration,
}

pub(super) struct Deliveries {
    pub(super) setup: DeliverySetup,
    /// Names this process's claims.
    node: String,
    wake: Notify,
}

impl Deliveries {
    pub(super) fn new(setup: DeliverySetup) -> Result<Self, DomainError> {
        Ok(Deliveries {
            setup,
            node: random_token().map_err(internal)?,
            wake: Notify::new(),
        })
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Destination<'a> {
    Phone(&'a PhoneNumber),
    Email(&'a EmailAddress),
}

impl std::fmt::Display for Destination<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Phone(phone) => phone.fmt(f),
            Destination::Email(email) => email.fmt(f),
        }
    }
}

/// A code as the dev outbox shows it (the emulator's `verificationCodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCode {
    pub phone_number: String,
    pub code: String,
    pub session_info: String,
}

impl Service {
    /// The message carrying `content` to `to`, sealed, with the limits it is charged to.
    pub(super) fn outgoing(
        &self,
        realm: &RealmId,
        to: Destination<'_>,
        content: &MessageContent,
        client: &ClientInfo,
    ) -> Result<Outgoing, DomainError> {
        let now = self.clock.now();
        let limits = self.delivery.setup.limits;
        let destination = to.to_string();
        let (channel, country) = match to {
            Destination::Phone(phone) => (Channel::Sms, Some(phone.country_code())),
            Destination::Email(_) => (Channel::Email, None),
        };
        let quotas = [
            limits
                .per_destination
                .quota(format!("to:{}:{destination}", channel.as_str())),
            country.and_then(|code| limits.per_country.quota(format!("country:{code}"))),
            client
                .ip
                .and_then(|ip| limits.per_ip.quota(format!("ip:{}", ip_key(ip)))),
            limits
                .per_realm
                .quota(format!("realm:{}:{}", realm.0, channel.as_str())),
        ];
        let json = serde_json::to_vec(content).map_err(internal)?;
        Ok(Outgoing {
            delivery: Delivery {
                id: time_ordered_id(now).map_err(internal)?,
                realm: realm.clone(),
                channel,
                destination,
                content: self
                    .master
                    .seal(CONTENT_SEAL_PURPOSE, &json)
                    .map_err(internal)?,
                status: DeliveryStatus::Queued,
                attempts: 0,
                next_attempt_at: now,
                expires_at: now + Duration::minutes(content.valid_minutes),
                last_error: None,
                created_at: now,
                sent_at: None,
            },
            quotas: quotas.into_iter().flatten().collect(),
        })
    }

    /// Wakes this node's worker after a commit that queued messages.
    pub(super) fn queued(&self) {
        self.delivery.wake.notify_one();
    }

    fn open_content(&self, delivery: &Delivery) -> Result<MessageContent, DomainError> {
        let json = self
            .master
            .open(
                &delivery.content.master_key_id,
                CONTENT_SEAL_PURPOSE,
                &delivery.content.bytes,
            )
            .map_err(|e| {
                tracing::error!(delivery = %delivery.id, error = %e, "cannot open a message");
                DomainError::Internal
            })?;
        serde_json::from_slice(&json).map_err(internal)
    }

    /// Dev outbox: the SMS codes whose Identity Toolkit challenge is still outstanding.
    pub async fn outstanding_codes(&self, realm: &Realm) -> Result<Vec<OutboxCode>, DomainError> {
        let queued = self.store.outstanding_messages(&realm.id).await?;
        queued
            .iter()
            .filter(|d| d.channel == Channel::Sms)
            .map(|d| {
                let content = self.open_content(d)?;
                Ok(OutboxCode {
                    phone_number: d.destination.clone(),
                    code: content.code,
                    session_info: content.session_info.unwrap_or_default(),
                })
            })
            .collect()
    }

    pub async fn clear_codes(&self, realm: &Realm) -> Result<(), DomainError> {
        Ok(self.store.clear_outbox(&realm.id).await?)
    }

    /// The newest messages, optionally of one status, for operators.
    pub async fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> Result<Vec<Delivery>, DomainError> {
        Ok(self.store.list_deliveries(status, limit).await?)
    }

    /// Sends queued messages until `stop` turns true. Every node runs one; claims keep them
    /// from sending a message twice.
    pub async fn run_delivery_worker(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut pruned_at = self.clock.now();
        while !*stop.borrow() {
            let full = self.deliver_due().await == BATCH as usize;
            if self.clock.now() - pruned_at >= PRUNE_EVERY {
                pruned_at = self.clock.now();
                self.prune().await;
            }
            if full {
                continue;
            }
            tokio::select! {
                () = self.delivery.wake.notified() => {}
                () = tokio::time::sleep(self.delivery.setup.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims a batch of due messages and sends them side by side; how many were claimed.
    /// What has been sent is recorded as it comes back, all that came back together in one
    /// transaction: one commit for a batch of quick sends, and no quick send left waiting
    /// for a slow one.
    async fn deliver_due(self: &Arc<Self>) -> usize {
        let claimed = match self
            .store
            .claim_deliveries(&self.delivery.node, self.clock.now(), BATCH)
            .await
        {
            Ok(claimed) => claimed,
            // The store logged it; the next round tries again.
            Err(_) => return 0,
        };
        let count = claimed.len();
        let mut sending = JoinSet::new();
        for delivery in claimed {
            let service = self.clone();
            sending.spawn(async move { service.deliver(delivery).await });
        }
        while let Some(first) = sending.join_next().await {
            let attempted: Vec<_> = std::iter::once(first)
                .chain(std::iter::from_fn(|| sending.try_join_next()))
                .filter_map(|joined| {
                    joined
                        .inspect_err(|e| tracing::error!(error = %e, "a delivery task failed"))
                        .ok()
                })
                .collect();
            self.record_attempts(&attempted).await;
        }
        count
    }

    async fn deliver(&self, delivery: Delivery) -> Attempted {
        let result = self.send(&delivery).await;
        let now = self.clock.now();
        let outcome = delivery.after_attempt(result, now);
        tracing::info!(delivery = %delivery.id, channel = delivery.channel.as_str(), to = %delivery.destination, attempt = delivery.attempts, ?outcome, "delivery attempt");
        metrics::counter!("tessera_delivery_attempts_total", "channel" => delivery.channel.as_str(), "outcome" => outcome.as_str()).increment(1);
        Attempted {
            delivery: delivery.id,
            outcome,
            at: now,
        }
    }

    async fn record_attempts(&self, attempted: &[Attempted]) {
        // The store logged a failure; the claims expire and the messages are tried again.
        let Ok(held) = self
            .store
            .finish_deliveries(&self.delivery.node, attempted)
            .await
        else {
            return;
        };
        for (attempt, held) in attempted.iter().zip(held) {
            if !held {
                tracing::warn!(delivery = %attempt.delivery, "claim expired before the attempt was recorded");
            }
        }
    }

    /// One attempt: render the message in the user's language and hand it to its sender.
    async fn send(&self, delivery: &Delivery) -> Result<(), SendError> {
        if delivery.expires_at <= self.clock.now() {
            return Err(SendError::Permanent(
                "the code expired before it could be sent".to_owned(),
            ));
        }
        let content = self
            .open_content(delivery)
            .map_err(|_| SendError::Permanent("the message cannot be opened".to_owned()))?;
        let app_name = self.app_name(&delivery.realm).await;
        let setup = &self.delivery.setup;
        match delivery.channel {
            Channel::Sms => {
                let body = setup.templates.render_sms(&content, &app_name);
                setup
                    .sms
                    .send_sms(&delivery.destination, &body, &content.code)
                    .await
            }
            Channel::Email => {
                let email = setup.templates.render_email(&content, &app_name);
                setup.email.send_email(&delivery.destination, &email).await
            }
        }
    }

    /// The name messages sign with: the tenant's display name, else the project id.
    async fn app_name(&self, realm: &RealmId) -> String {
        match self.get_realm(realm).await {
            Ok(Some(realm)) => realm.display_name.unwrap_or(realm.project_id),
            _ => "Tessera".to_owned(),
        }
    }

    /// The worker's housekeeping: drops rate counters of windows long past and old messages,
    /// then codes and pending sign-ins a while after they expired, and security-key
    /// registrations a while after they began, never finished, a chunk per transaction so
    /// that a backlog never holds SQLite's writer for long. Failures are logged by the store,
    /// and the sweep is retried next time.
    async fn prune(&self) {
        let now = self.clock.now();
        let counters_before = now - self.delivery.setup.limits.longest_window();
        let messages_before = now - DELIVERY_RETENTION;
        while let Ok(true) = self
            .store
            .prune_deliveries(counters_before, messages_before, SWEPT_PER_TRANSACTION)
            .await
        {}
        let expired_before = now - EXPIRED_RETENTION;
        while let Ok(true) = self
            .store
            .delete_expired(expired_before, SWEPT_PER_TRANSACTION)
            .await
        {}
    }
}

/// The per-IP limit's key: the address, or for IPv6 its /64 network.
pub(super) fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A code's lifetime in whole minutes, for "expires in N minutes".
pub(super) fn minutes(lifetime: Duration) -> i64 {
    lifetime.whole_minutes().max(1)
}

/// ZITADEL's `url_template` of a link with its placeholders (`{{.UserID}}`, `{{.Code}}`, …)
/// filled in from `values` (`("UserID", id)`, …).
pub(super) fn filled_template(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |link, (name, value)| {
            link.replace(&format!("{{{{.{name}}}}}"), value)
        })
}
