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

use crate::error::StoreError;
use crate::{EmailAddress, NewUser, Realm, RealmId, User, UserId};

pub type StoreResult<T> = Result<T, StoreError>;

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

/// Identity Toolkit `accounts:query`: filters are OR-ed; an empty list matches everyone.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub filters: Vec<UserFilter>,
    pub sort_by: UserSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub enum UserFilter {
    Id(UserId),
    Email(EmailAddress),
    PhoneNumber(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    UserId,
    Name,
    CreatedAt,
    LastLoginAt,
    Email,
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
    /// Creates the realm unless it exists; returns it either way (several nodes may race here).
    async fn ensure_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<Realm>;
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
    async fn find_user_by_phone(&self, realm: &RealmId, phone: &str) -> StoreResult<Option<User>>;
    /// Writes every mutable attribute of `user`; `Ok(false)` when the user no longer exists.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Deletes the user and everything hanging off it; `Ok(false)` when there was none.
    async fn delete_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<bool>;
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
        realm: &RealmId,
        query: &UserQuery,
        with_users: bool,
    ) -> StoreResult<(i64, Vec<User>)>;

    // --- sessions ---
    async fn insert_refresh_token(&self, record: &RefreshTokenRecord) -> StoreResult<()>;
    async fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Records that a refresh happened (`lastRefreshAt`).
    async fn touch_user_refresh(
        &self,
        realm: &RealmId,
        id: &UserId,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    // --- token-signing keys, shared by every node ---
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Inserts the first key. Returns `Ok(false)` when another node stored one first.
    async fn insert_first_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<bool>;
}
