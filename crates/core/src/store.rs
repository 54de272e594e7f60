//! The storage port. The service layer owns this contract; `tessera-store` implements it
//! for SQLite and PostgreSQL with identical behaviour.
//!
//! Invariants every implementation keeps:
//! - every method commits before it returns `Ok`;
//! - uniqueness (user id, email and phone per realm) is enforced by the database and
//!   reported as `StoreError::Conflict`, never by a read-then-write;
//! - secrets arrive already hashed or sealed: the store never sees a plain token or key.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::challenge::{Challenge, PendingSignIn};
use crate::contact::{ContactCode, ContactKind};
use crate::delivery::{Delivery, DeliveryOutcome, DeliveryStatus, Quota};
use crate::error::StoreError;
use crate::login_session::LoginSession;
use crate::metadata::{Metadata, MetadataOwner};
use crate::oob::{OobCode, OobRequest};
use crate::{
    AccountState, EmailAddress, Factor, FactorId, FactorKey, MachineUser, NewUser, Passkey,
    PasskeyCode, Realm, RealmId, SecondFactor, User, UserId,
};

pub type StoreResult<T> = Result<T, StoreError>;

/// Which of a user's factors a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// Ready factors only: what signs a user in. Filtered by the database, so the not-ready
    /// factors of enrolments that were started and never finished cost nothing.
    Ready,
    /// Every factor that is not removed, ready or not.
    NotRemoved,
}

/// A refresh token as stored: only the SHA-256 of the token, and what the ID tokens minted
/// from it must say about the sign-in that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    pub token_hash: Vec<u8>,
    pub user: UserId,
    pub realm: RealmId,
    pub issued_at: OffsetDateTime,
    pub sign_in_provider: String,
    pub auth_time: OffsetDateTime,
    pub second_factor: Option<SecondFactor>,
    /// The claims of the custom token the session began with (a JSON object), for every ID
    /// token it mints.
    pub developer_claims: Option<String>,
}

/// What issuing a code writes, all in one transaction: one commit, so one wait for the disk.
#[derive(Debug, Clone, Copy)]
pub struct NewChallenge<'a> {
    pub challenge: &'a Challenge,
    /// The not-ready factor the challenge is to complete (a TOTP enrolment), stored first;
    /// it replaces (deletes) the user's unfinished TOTP enrolment, if any.
    pub factor: Option<&'a Factor>,
    /// The message carrying the code (none for a TOTP enrolment or a test phone number);
    /// the challenge links to it, for the emulator's view of codes sent.
    pub outgoing: Option<&'a Outgoing>,
    /// The audit event of the start.
    pub event: Option<&'a Event>,
}

/// What a user did that their row keeps the time of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// `lastLoginAt`.
    SignIn,
    /// `lastRefreshAt`.
    Refresh,
}

/// A user's row as a write stores it.
#[derive(Debug)]
pub enum UserRow {
    /// Inserted: a new user.
    New(User),
    /// Written back over the stored one, if that is still at the revision this one was read at.
    Changed(User),
}

/// A write of one user's row and what goes with it (see `Store::write_user`): one
/// transaction, so that a refusal of any part (an address taken, a delivery limit used up)
/// leaves all of it unwritten.
#[derive(Debug, Default)]
pub struct UserWrite {
    /// The user's row, when it is new or changes; `added`, `removed` and `dropped` are this
    /// user's and are written only with it.
    pub row: Option<UserRow>,
    /// Ready factors added (a TOTP secret imported with a new user), each with its
    /// `factor.enrolled` event.
    pub added: Vec<(Factor, Event)>,
    /// Factors removed (OTP SMS goes with its number), each with its `factor.removed` event,
    /// recorded only if the factor was still there.
    pub removed: Vec<(FactorId, Event)>,
    /// Verifications of an address or number started, each replacing a pending one of its
    /// user and kind.
    pub codes: Vec<ContactCode>,
    /// Pending verifications dropped, whatever their code (the caller vouched for the contact,
    /// or removed it).
    pub dropped: Vec<ContactKind>,
    /// The messages that carry the codes.
    pub outgoing: Vec<Outgoing>,
    /// A new user's metadata entries (key, value), created with its row (`UserRow::New` only).
    pub metadata: Vec<(String, Vec<u8>)>,
    /// The key of an out-of-band code the write uses up (a password reset's): the write goes
    /// through only if the code is still there.
    pub used_oob: Option<Vec<u8>>,
    /// The user's other codes of this purpose, ended with the write (using one recovery link
    /// ends the others).
    pub ended_oob: Option<OobRequest>,
    /// A code issued with the write (the recovery link of a change of address), whose message
    /// is in `outgoing`.
    pub issued_oob: Option<OobCode>,
    /// Whether a changed row's identities changed: the realm's index of them is brought in
    /// line (a refusal, `Unique::Identity`, when another user has one of them). A new row's
    /// are always indexed.
    pub identities_changed: bool,
}

/// How sending one claimed message ended, to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempted {
    pub delivery: String,
    pub outcome: DeliveryOutcome,
    pub at: OffsetDateTime,
}

/// A message to queue together with the change that issues its code, and the limits it is
/// charged to. When any limit is used up the whole change is rolled back
/// (`StoreError::LimitExceeded`): no code is issued and nothing is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub delivery: Delivery,
    pub quotas: Vec<Quota>,
}

/// Why an enrolment could not complete (besides a duplicate phone, a `Conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolOutcome {
    Done,
    /// The challenge was consumed (by a racing request) or the pending factor vanished.
    ChallengeGone,
    /// The user already has the maximum number of ready factors.
    LimitReached,
}

/// An append-only audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub realm: RealmId,
    pub user: Option<UserId>,
    pub factor: Option<FactorId>,
    /// e.g. `factor.enrolled`, `factor.removed`, `factor.verification_failed`.
    pub kind: &'static str,
    pub detail: Option<String>,
    pub at: OffsetDateTime,
}

/// An audit event as read back (`tessera audit`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Increases with every event recorded.
    pub id: i64,
    pub realm: RealmId,
    pub user: Option<UserId>,
    pub factor: Option<FactorId>,
    pub kind: String,
    pub detail: Option<String>,
    pub at: OffsetDateTime,
}

/// Which events to list: every filter set must match; newest first, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub realm: Option<RealmId>,
    pub user: Option<UserId>,
    /// Events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Events before this time.
    pub until: Option<OffsetDateTime>,
    pub limit: i64,
}

/// One code check about to be evaluated (see `lockout`): the limits on failed verifications
/// it is charged to, the factor whose soft lock it counts against, and the challenge or
/// pending sign-in it takes an attempt from.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub quotas: Vec<Quota>,
    pub factor: Option<FactorKey>,
    /// A challenge (by id) to take one attempt from.
    pub challenge: Option<Vec<u8>>,
    /// A pending sign-in (by id) to take one attempt from.
    pub pending: Option<Vec<u8>>,
    pub at: OffsetDateTime,
}

/// A code check that passed: its attempt is given back (quotas refunded, the factor's
/// failures and lock cleared) and `events` recorded, in the transaction of the change the
/// check allowed, or on its own (`end_attempt`).
#[derive(Debug, Clone, PartialEq)]
pub struct Passed {
    pub attempt: Attempt,
    /// Where the store took the attempt; the write carrying this answers only once the
    /// attempt is durable too.
    pub taken: WriteOrder,
    pub events: Vec<Event>,
}

/// Where a write that returned before it was durable stands in the store's order of writes
/// (`Store::take_attempt`). A later write handed it answers only once both are durable, and
/// fails if the earlier one was lost, so that no answer depends on a write that never landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOrder(pub u64);

impl WriteOrder {
    /// A write that was durable when it returned (every write on PostgreSQL).
    pub const DURABLE: WriteOrder = WriteOrder(0);
}

/// An enrolment to complete (see `Store::complete_enrolment`).
#[derive(Debug, Clone, Copy)]
pub struct Enrolment<'a> {
    /// The challenge that carried the code, consumed with it.
    pub challenge: Option<&'a [u8]>,
    pub factor: &'a Factor,
    /// The TOTP time step the code was for, used up with it.
    pub totp_step: Option<i64>,
    pub event: &'a Event,
    /// The check of the code, recorded whatever becomes of the enrolment.
    pub passed: Option<&'a Passed>,
    /// The new session's refresh token, stored if the enrolment completes.
    pub refresh: Option<&'a RefreshTokenRecord>,
}

/// What completes a sign-in with a second factor (see `Store::complete_sign_in`).
#[derive(Debug, Clone, Copy)]
pub struct SignInCompletion<'a> {
    /// The pending sign-in to consume.
    pub pending: &'a [u8],
    /// The SMS challenge whose code was right, consumed with it.
    pub challenge: Option<&'a [u8]>,
    /// The TOTP factor and time step the code was for, used up first (RFC 6238 §5.2).
    pub totp_step: Option<(&'a FactorKey, i64)>,
    /// The check of that code, recorded whoever wins the sign-in.
    pub passed: Option<&'a Passed>,
    pub refresh: &'a RefreshTokenRecord,
    pub at: OffsetDateTime,
}

/// How completing a sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    Done,
    /// The pending sign-in was used (by a racing request) or has expired.
    SignInGone,
    /// The TOTP time step had been used already: a replayed code, nothing written.
    StepUsed,
}

/// Whether an attempt was taken. Anything but `Taken` changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptTaken {
    /// The code may be compared; `failures` counts this attempt (0 without a factor).
    Taken { failures: i64 },
    /// The factor is locked (or gone).
    FactorLocked,
    /// A limit on failed verifications is used up.
    LimitReached,
    /// The challenge or pending sign-in is used, expired or out of attempts.
    Spent,
}

/// A token-signing key. The private half is sealed under the master key `master_key_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub master_key_id: String,
    pub sealed_private_key: Vec<u8>,
    /// Self-signed X.509 certificate of the public key, as securetoken publishes them.
    pub certificate_pem: String,
    pub created_at: OffsetDateTime,
}

/// The kinds of record that hold a value sealed under a master key. Rotating the master key
/// re-seals every one of them; each names the key it is sealed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedKind {
    /// A TOTP factor's shared secret.
    TotpSecret,
    /// A token-signing key's private half.
    SigningKey,
    /// A queued or recently sent message (it carries a code).
    DeliveryContent,
    /// An out-of-band code and its link, kept for the emulator's `oobCodes`.
    OobCode,
}

impl SealedKind {
    pub const ALL: [SealedKind; 4] = [
        SealedKind::TotpSecret,
        SealedKind::SigningKey,
        SealedKind::DeliveryContent,
        SealedKind::OobCode,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SealedKind::TotpSecret => "totp_secrets",
            SealedKind::SigningKey => "signing_keys",
            SealedKind::DeliveryContent => "deliveries",
            SealedKind::OobCode => "oob_codes",
        }
    }

    /// The purpose label bound into each sealed value's associated data, so a value cannot
    /// be moved to a column of another kind.
    pub const fn purpose(self) -> &'static str {
        match self {
            SealedKind::TotpSecret => "totp-secret",
            SealedKind::SigningKey => "signing-key",
            SealedKind::DeliveryContent => "delivery-content",
            SealedKind::OobCode => "oob-code",
        }
    }
}

/// One sealed value and the record that holds it, by its key: a factor's realm, user and id,
/// a signing key's id, a message's id, or an out-of-band code's key (its hash, in hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub key: Vec<String>,
    pub sealed: crate::factor::Sealed,
}

/// How many records of a kind are sealed under one master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub kind: SealedKind,
    pub master_key_id: String,
    pub records: i64,
}

/// A page of a project's login sessions (ZITADEL's `ListSessions`): those every filter
/// matches, by creation time.
#[derive(Debug, Clone)]
pub struct SessionQuery {
    /// ZITADEL's instance.
    pub project: String,
    pub filters: Vec<SessionFilter>,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub enum SessionFilter {
    Ids(Vec<String>),
    /// The session's checked user, by id.
    User(String),
    Creator(String),
    /// The user agent's fingerprint id.
    Fingerprint(String),
    Realm(RealmId),
    Created(Comparison, OffsetDateTime),
    /// Sessions with an expiry, compared; those without never match.
    Expires(Comparison, OffsetDateTime),
    NeverExpires,
    All(Vec<SessionFilter>),
    Any(Vec<SessionFilter>),
}

/// How a stored time is compared with a query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// A page of a user's or an organization's metadata, by creation time, of the keys that match
/// every filter.
#[derive(Debug, Clone)]
pub struct MetadataQuery {
    pub keys: Vec<(TextMatch, String)>,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A page of users: Identity Toolkit's `accounts:query` and ZITADEL's `ListUsers`. The
/// filters are OR-ed (Identity Toolkit's rule); an empty list matches everyone.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub filters: Vec<UserFilter>,
    pub sort_by: UserSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// Whose users a query looks at.
#[derive(Debug, Clone)]
pub enum UserScope {
    Realm(RealmId),
    /// Every realm of the project: ZITADEL's instance.
    Project(String),
}

#[derive(Debug, Clone)]
pub enum UserFilter {
    Email(EmailAddress),
    PhoneNumber(String),
    /// ZITADEL's text queries on one field.
    Text(TextField, TextMatch, String),
    Ids(Vec<UserId>),
    /// Email addresses, whatever their case.
    Emails(Vec<String>),
    Realm(RealmId),
    State(AccountState),
    /// Matches every user, or none (a query for what Tessera keeps no users of).
    Every(bool),
    And(Vec<UserFilter>),
    Or(Vec<UserFilter>),
    Not(Box<UserFilter>),
}

/// A user's text field, as ZITADEL's queries name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Username,
    GivenName,
    FamilyName,
    NickName,
    DisplayName,
    Email,
    Phone,
    /// The username, else the email address.
    LoginName,
}

/// How a text query compares: ZITADEL's `TextQueryMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMatch {
    pub at: TextPosition,
    pub ignore_case: bool,
}

impl TextMatch {
    /// Whether `value` matches `pattern` this way, compared in memory (the store compares in
    /// SQL); ignoring case folds all of Unicode.
    pub fn matches(&self, value: &str, pattern: &str) -> bool {
        let (value, pattern) = if self.ignore_case {
            (value.to_lowercase(), pattern.to_lowercase())
        } else {
            (value.to_owned(), pattern.to_owned())
        };
        match self.at {
            TextPosition::Equals => value == pattern,
            TextPosition::StartsWith => value.starts_with(&pattern),
            TextPosition::Contains => value.contains(&pattern),
            TextPosition::EndsWith => value.ends_with(&pattern),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPosition {
    Equals,
    StartsWith,
    Contains,
    EndsWith,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    UserId,
    Name,
    CreatedAt,
    LastLoginAt,
    Email,
    Username,
    GivenName,
    FamilyName,
    NickName,
    Disabled,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    // --- realms and credentials of callers ---
    async fn find_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> StoreResult<Option<Realm>>;
    async fn get_realm(&self, id: &RealmId) -> StoreResult<Option<Realm>>;
    async fn find_realm_by_org(&self, org_id: &str) -> StoreResult<Option<Realm>>;
    /// Gives a realm its organization id unless it has one; returns the realm as stored.
    async fn assign_org(&self, realm: &RealmId, org_id: &str) -> StoreResult<Option<Realm>>;
    /// Writes `write` in one transaction; `Ok(false)`, and nothing written, when the user it
    /// changes is no longer there or no longer at the revision read, or the code it uses was
    /// used meanwhile.
    async fn write_user(&self, write: &UserWrite) -> StoreResult<bool>;
    async fn find_contact_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        kind: ContactKind,
    ) -> StoreResult<Option<ContactCode>>;
    /// Takes one attempt; `Ok(false)` when none is left.
    async fn spend_contact_attempt(
        &self,
        realm: &RealmId,
        user: &UserId,
        kind: ContactKind,
    ) -> StoreResult<bool>;
    /// Deletes `code` if it is still the pending verification and has an attempt left;
    /// `Ok(true)` for the one caller that used it.
    async fn use_contact_code(&self, code: &ContactCode) -> StoreResult<bool>;
    /// Stores an out-of-band code, replacing the user's earlier one of its purpose, with the
    /// message that carries it (a used-up limit: `LimitExceeded`, nothing written).
    async fn put_oob_code(&self, code: &OobCode, outgoing: &[Outgoing]) -> StoreResult<()>;
    async fn find_oob_code(&self, key: &[u8]) -> StoreResult<Option<OobCode>>;
    /// The user's code for `request`, if one was issued (it may have expired).
    async fn find_user_oob_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        request: OobRequest,
    ) -> StoreResult<Option<OobCode>>;
    /// The realm's out-of-band codes that have not expired at `now` (the dev outbox).
    async fn list_oob_codes(
        &self,
        realm: &RealmId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OobCode>>;
    /// Adds recovery codes (MACs) to the user's unless it would then hold more than `max`;
    /// `Ok(false)` when it would.
    async fn add_recovery_codes(
        &self,
        realm: &RealmId,
        user: &UserId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
        max: i64,
    ) -> StoreResult<bool>;
    /// Deletes the recovery code stored as one of `hashes` (its MACs under each master key);
    /// `Ok(true)` for the one caller that used it.
    async fn use_recovery_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        hashes: &[Vec<u8>],
    ) -> StoreResult<bool>;
    /// Deletes the user's recovery codes; how many there were.
    async fn remove_recovery_codes(&self, realm: &RealmId, user: &UserId) -> StoreResult<u64>;
    async fn count_recovery_codes(&self, realm: &RealmId, user: &UserId) -> StoreResult<i64>;
    /// Stores a new session and queues the messages carrying its challenges' codes.
    async fn insert_login_session(
        &self,
        session: &LoginSession,
        outgoing: &[Outgoing],
    ) -> StoreResult<()>;
    async fn get_login_session(&self, id: &str) -> StoreResult<Option<LoginSession>>;
    /// Writes `session` if it is still at `read_at` (its sequence when read), with the
    /// messages carrying its new challenges' codes; `Ok(false)` when another change came first.
    async fn update_login_session(
        &self,
        session: &LoginSession,
        read_at: i64,
        outgoing: &[Outgoing],
    ) -> StoreResult<bool>;
    async fn delete_login_session(&self, id: &str) -> StoreResult<bool>;
    /// Sets the owner's metadata entries (key, value), in one transaction; an entry whose value
    /// is unchanged keeps its change time. The latest change time of the entries: `at`, unless
    /// none changed. `Gone` when the user is.
    async fn set_metadata(
        &self,
        owner: MetadataOwner<'_>,
        entries: &[(String, Vec<u8>)],
        at: OffsetDateTime,
    ) -> StoreResult<OffsetDateTime>;
    /// Removes the owner's metadata of `keys`, all or none: `false`, and nothing removed, when
    /// one of them is not set.
    async fn remove_metadata(&self, owner: MetadataOwner<'_>, keys: &[String])
    -> StoreResult<bool>;
    /// `(total matching, page)`.
    async fn query_metadata(
        &self,
        owner: MetadataOwner<'_>,
        query: &MetadataQuery,
    ) -> StoreResult<(i64, Vec<Metadata>)>;
    /// `(total matching, page)`.
    async fn query_login_sessions(
        &self,
        query: &SessionQuery,
    ) -> StoreResult<(i64, Vec<LoginSession>)>;
    async fn insert_machine_user(&self, user: &MachineUser) -> StoreResult<()>;
    async fn get_machine_user(&self, id: &UserId) -> StoreResult<Option<MachineUser>>;
    async fn find_machine_user(
        &self,
        realm: &RealmId,
        username: &str,
    ) -> StoreResult<Option<MachineUser>>;
    /// Stores a personal access token (by SHA-256) of a machine user.
    async fn insert_pat(
        &self,
        token_hash: &[u8],
        owner: &MachineUser,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The machine user a personal access token speaks for.
    async fn find_pat(&self, token_hash: &[u8]) -> StoreResult<Option<MachineUser>>;
    /// Writes a realm's display name and MFA configuration; `Ok(false)` when it is gone.
    async fn update_realm(&self, realm: &Realm) -> StoreResult<bool>;
    /// Up to `limit` tenants of a project whose ids sort after `after` (`""` for the first),
    /// ordered by tenant id.
    async fn list_tenants(
        &self,
        project_id: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Realm>>;
    /// Deletes a realm and everything in it.
    async fn delete_realm(&self, id: &RealmId) -> StoreResult<bool>;
    /// Creates the realm unless it exists; returns it either way (several nodes may race here).
    async fn ensure_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<Realm>;
    /// Creates the tenant's realm; `None` when the project has a tenant of that id already.
    async fn create_realm(
        &self,
        project_id: &str,
        tenant_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Realm>>;
    /// The project an API key (by SHA-256) belongs to.
    async fn find_api_key(&self, key_hash: &[u8]) -> StoreResult<Option<String>>;
    async fn insert_api_key(
        &self,
        key_hash: &[u8],
        project_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn admin_token_exists(&self, token_hash: &[u8]) -> StoreResult<bool>;
    async fn insert_admin_token(
        &self,
        token_hash: &[u8],
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    // --- users ---
    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn get_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<Option<User>>;
    async fn find_user_by_email(
        &self,
        realm: &RealmId,
        email: &EmailAddress,
    ) -> StoreResult<Option<User>>;
    /// The realms holding a user of that id (ids are random, so at most one in practice).
    async fn user_realms(&self, id: &UserId) -> StoreResult<Vec<RealmId>>;
    /// The realms holding a user with that email address.
    async fn email_realms(&self, email: &EmailAddress) -> StoreResult<Vec<RealmId>>;
    async fn find_user_by_phone(&self, realm: &RealmId, phone: &str) -> StoreResult<Option<User>>;
    /// The realm's user with the account `raw_id` at the identity provider `provider_id`.
    async fn find_user_by_identity(
        &self,
        realm: &RealmId,
        provider_id: &str,
        raw_id: &str,
    ) -> StoreResult<Option<User>>;
    /// The realm's user with that ZITADEL username, matched without regard to case.
    async fn find_user_by_username(&self, realm: &RealmId, name: &str)
    -> StoreResult<Option<User>>;
    /// The realms holding a user with that ZITADEL username, matched without regard to case.
    async fn username_realms(&self, name: &str) -> StoreResult<Vec<RealmId>>;
    /// Writes `user` in place of the user with its id, if there is one, and of everything
    /// `delete_user` deletes with it (factors, identities, ZITADEL sessions), in one
    /// transaction: a refused row (its email taken by another user) leaves the old user as it
    /// was. Refresh tokens stay, as on deletion; `user.valid_since` decides whether they hold.
    async fn replace_user(&self, user: User) -> StoreResult<User>;
    /// Deletes the user and everything hanging off it; `Ok(false)` when there was none.
    async fn delete_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<bool>;
    /// Deletes every user of the realm and everything hanging off them (the emulator's reset).
    async fn delete_all_users(&self, realm: &RealmId) -> StoreResult<()>;
    /// Users ordered by id, strictly after `after` (keyset pagination for `batchGet`).
    async fn list_users(
        &self,
        realm: &RealmId,
        after: Option<&UserId>,
        limit: i64,
    ) -> StoreResult<Vec<User>>;
    /// `(total matching, page)`.
    async fn query_users(
        &self,
        scope: &UserScope,
        query: &UserQuery,
        with_users: bool,
    ) -> StoreResult<(i64, Vec<User>)>;

    // --- sessions ---
    async fn insert_refresh_token(&self, record: &RefreshTokenRecord) -> StoreResult<()>;
    async fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Records when the user last did `activity`, on its own and whatever the row's revision:
    /// no decision rests on it, and a sign-in must not wait for, or undo, a change of the
    /// user made while it checked the password.
    async fn record_activity(
        &self,
        realm: &RealmId,
        id: &UserId,
        activity: Activity,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Replaces the user's password hash `old` with `new`, the same password hashed anew,
    /// whatever the row's revision; nothing changes when the hash is no longer `old`.
    async fn replace_password_hash(
        &self,
        realm: &RealmId,
        id: &UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<()>;

    // --- second factors ---
    /// The user, with their factors of `listed`, oldest first: what `get_user` and
    /// `list_factors` answer, in one query.
    async fn get_user_with_factors(
        &self,
        realm: &RealmId,
        id: &UserId,
        listed: Listed,
    ) -> StoreResult<Option<(User, Vec<Factor>)>>;
    /// The user's factors of `listed`, oldest first.
    async fn list_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        listed: Listed,
    ) -> StoreResult<Vec<Factor>>;
    async fn get_factor(
        &self,
        realm: &RealmId,
        user: &UserId,
        id: &FactorId,
    ) -> StoreResult<Option<Factor>>;
    /// Stores a factor that is not ready yet (an enrolment in progress), with the event that
    /// records it. A TOTP one replaces (deletes) the user's unfinished TOTP enrolment, as
    /// `insert_challenge` with a factor does.
    async fn insert_factor(&self, factor: &Factor, event: &Event) -> StoreResult<()>;
    /// In one transaction: consumes the challenge (when the enrolment has one), takes a slot
    /// under the ready-factor limit, makes `factor` ready (inserting it, or promoting the
    /// not-ready row of that id), records the event and the passed check and stores the
    /// refresh token. When the enrolment cannot complete, only the check is recorded. A
    /// second ready factor with the same phone, or a second OTP Email factor, is
    /// `Conflict(Unique::Factor)`.
    async fn complete_enrolment(&self, enrolment: Enrolment<'_>) -> StoreResult<EnrolOutcome>;
    /// Marks a ready or not-ready factor removed and stores the refresh token of the session
    /// that follows, in one transaction; `Ok(false)` (and nothing stored) when there was none.
    async fn remove_factor(
        &self,
        realm: &RealmId,
        user: &UserId,
        id: &FactorId,
        event: &Event,
        refresh: Option<&RefreshTokenRecord>,
    ) -> StoreResult<bool>;
    /// Replaces all of a user's factors with `factors` (all ready), and records `events`, in
    /// one transaction, whatever concurrent writes added meanwhile. A factor id another user
    /// holds is `Conflict(Unique::FactorId)`.
    async fn replace_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        factors: &[Factor],
        events: &[Event],
    ) -> StoreResult<()>;
    /// Replaces a security key's credential (its sign counter moved) if it is still `old`;
    /// `Ok(false)` when another sign-in changed it first.
    async fn swap_webauthn_credential(
        &self,
        factor: &FactorKey,
        old: &str,
        new: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Stores a passkey whose registration has begun, with the event that records it.
    async fn insert_passkey(&self, passkey: &Passkey, event: &Event) -> StoreResult<()>;
    /// The user's passkeys, open registrations too, oldest first.
    async fn list_passkeys(&self, realm: &RealmId, user: &UserId) -> StoreResult<Vec<Passkey>>;
    /// Writes a passkey's state, name and credential if its stored credential is
    /// still `old`, with `event` in the same transaction; `Ok(false)` (nothing written) when
    /// another request changed it first or it is gone.
    async fn update_passkey(
        &self,
        passkey: &Passkey,
        old: &str,
        event: Option<&Event>,
    ) -> StoreResult<bool>;
    /// Deletes a passkey, open or ready, with its event; `Ok(false)` when there was none.
    async fn remove_passkey(&self, key: &FactorKey, event: &Event) -> StoreResult<bool>;
    /// Stores a passkey registration code, with its event and the message that carries it
    /// (`LimitExceeded`, and nothing stored, when a delivery limit is used up).
    async fn insert_passkey_code(
        &self,
        code: &PasskeyCode,
        event: &Event,
        outgoing: &[Outgoing],
    ) -> StoreResult<()>;
    /// Deletes the user's registration code `id` if its hash is `hash` and it has not expired
    /// at `now`: `Ok(true)` for the one caller that found it.
    async fn use_passkey_code(
        &self,
        (realm, user): (&RealmId, &UserId),
        id: &str,
        hash: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Whether the user's registration code `id` has hash `hash` and has not expired at
    /// `now`, without using it.
    async fn passkey_code_live(
        &self,
        (realm, user): (&RealmId, &UserId),
        id: &str,
        hash: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// RFC 6238 §5.2: records `step` as the factor's last used step unless that step or a
    /// later one was already used. `Ok(false)` means a replay.
    async fn use_totp_step(
        &self,
        factor: &FactorKey,
        step: i64,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;

    // --- challenges and pending sign-ins ---
    /// Stores a challenge with what belongs to it (see [`NewChallenge`]).
    async fn insert_challenge(&self, new: NewChallenge<'_>) -> StoreResult<()>;
    /// Deletes up to `limit` each of the codes and pending sign-ins that expired before
    /// `before`, and of the security-key registrations begun before it and never finished, in
    /// one transaction; `true` when there may be more. The messages that carried the codes
    /// stay, but leave the dev outbox.
    async fn delete_expired(&self, before: OffsetDateTime, limit: i64) -> StoreResult<bool>;
    async fn find_challenge(&self, id: &[u8]) -> StoreResult<Option<Challenge>>;
    async fn insert_pending_sign_in(&self, pending: &PendingSignIn) -> StoreResult<()>;
    async fn find_pending_sign_in(&self, id: &[u8]) -> StoreResult<Option<PendingSignIn>>;
    /// In one transaction: records the passed check, uses up the TOTP step (`StepUsed`, and
    /// nothing written, when it was used before), then consumes the pending sign-in and, if
    /// this call won it, the challenge, and stores the user's last login and the refresh
    /// token. `SignInGone` when the sign-in was already used or has expired: then only the
    /// step and the check are recorded.
    async fn complete_sign_in(
        &self,
        completion: SignInCompletion<'_>,
    ) -> StoreResult<SignInOutcome>;
    /// In one transaction: records the passed check and consumes the challenge; whether this
    /// call consumed it (`false`: another request used it first, and only the check is
    /// recorded).
    async fn use_challenge(&self, challenge: &[u8], passed: &Passed) -> StoreResult<bool>;
    /// Messages whose Identity Toolkit challenge is still outstanding, oldest first (the
    /// emulator's `verificationCodes`).
    async fn outstanding_messages(&self, realm: &RealmId) -> StoreResult<Vec<Delivery>>;
    /// Forgets the realm's messages of Identity Toolkit challenges.
    async fn clear_outbox(&self, realm: &RealmId) -> StoreResult<()>;
    async fn record_event(&self, event: &Event) -> StoreResult<()>;
    /// Audit events matching `filter`, newest first.
    async fn list_events(&self, filter: &EventFilter) -> StoreResult<Vec<EventRecord>>;

    // --- brute-force protection (see `lockout`) ---
    /// Takes one attempt at a code check, all or nothing in one transaction: charges each
    /// quota (a conditional upsert of its counter), counts a failure against the factor's soft
    /// lock unless it is locked (one conditional UPDATE that also sets the next lock), and
    /// takes an attempt from the challenge or pending sign-in.
    ///
    /// It returns once every later write sees the attempt, which may be before it is durable:
    /// the write that ends the check (`end_attempt`, or the change carrying its `Passed`) is
    /// handed the returned `WriteOrder` and answers only once both are. So a code check waits
    /// for one commit, not two, and still never answers on an attempt that was not kept.
    async fn take_attempt(&self, attempt: &Attempt) -> StoreResult<(AttemptTaken, WriteOrder)>;
    /// Ends an attempt taken at `taken`. A success gives the quotas back and resets the
    /// factor's failures (and its lock); a failure keeps them. `events` are recorded in the
    /// same transaction.
    async fn end_attempt(
        &self,
        attempt: &Attempt,
        taken: WriteOrder,
        succeeded: bool,
        events: &[Event],
    ) -> StoreResult<()>;
    /// Resets the failures and lock of the user's factors that have any; returns them, with
    /// `event(factor)` recorded for each in the same transaction.
    async fn unlock_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<FactorId>>;

    // --- the delivery outbox ---
    /// Claims up to `limit` queued messages that are due, for `node`, until `now +
    /// CLAIM_LEASE`. Two nodes never claim the same message while a claim is live.
    async fn claim_deliveries(
        &self,
        node: &str,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Records how sending messages that `node` claimed ended, in one transaction; for each,
    /// `false` when the claim was lost (it expired and another node took the message).
    async fn finish_deliveries(
        &self,
        node: &str,
        attempted: &[Attempted],
    ) -> StoreResult<Vec<bool>>;
    /// The newest messages, optionally of one status, for operators.
    async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Drops up to `limit` each of the rate counters of windows that started before
    /// `counters_before` and of the sent or failed messages created before `messages_before`,
    /// in one transaction; `true` when there may be more.
    async fn prune_deliveries(
        &self,
        counters_before: OffsetDateTime,
        messages_before: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<bool>;

    // --- token-signing keys, shared by every node ---
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Inserts `key` as the next generation unless a key of its algorithm exists. Returns
    /// `Ok(false)` when one does, or another node's new key took the generation first.
    async fn insert_signing_key_if_missing(&self, key: &SigningKeyRecord) -> StoreResult<bool>;

    // --- master-key rotation ---
    /// How many records of each kind are sealed under each master key.
    async fn sealed_key_usage(&self) -> StoreResult<Vec<KeyUsage>>;
    /// Up to `limit` records of `kind` sealed under a key other than `key_id`, by id.
    async fn sealed_not_under(
        &self,
        kind: SealedKind,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedRecord>>;
    /// Replaces sealed values in one transaction: each `(was, now)` only while the record is
    /// still sealed under `was`'s key (a concurrent change wins). Returns how many changed.
    async fn reseal(
        &self,
        kind: SealedKind,
        changes: &[(SealedRecord, crate::factor::Sealed)],
    ) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::{TextMatch, TextPosition};

    #[test]
    fn text_matches_compare_as_zitadel_s_methods() {
        let exact = |at| TextMatch {
            at,
            ignore_case: false,
        };
        let folded = |at| TextMatch {
            at,
            ignore_case: true,
        };
        assert!(exact(TextPosition::Equals).matches("Globex", "Globex"));
        assert!(!exact(TextPosition::Equals).matches("Globex", "globex"));
        assert!(folded(TextPosition::Equals).matches("ÄRGER", "ärger"));
        assert!(exact(TextPosition::StartsWith).matches("Globex", "Glo"));
        assert!(!exact(TextPosition::StartsWith).matches("Globex", "lob"));
        assert!(exact(TextPosition::Contains).matches("Globex", "lob"));
        assert!(exact(TextPosition::EndsWith).matches("Globex", "bex"));
        assert!(folded(TextPosition::EndsWith).matches("Globex", "BEX"));
    }
}
