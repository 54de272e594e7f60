//! The SQL store: one implementation of `tessera_core::Store` for SQLite and PostgreSQL.
//!
//! Both engines run the same SQL text through sqlx's `Any` driver (`$N` placeholders work
//! on both), so behaviour cannot drift between them; only the migrations differ, one
//! directory per engine. (The one difference in how it is sent: on PostgreSQL a write of
//! independent inserts and deletes goes as one statement, the same texts joined in a `WITH`,
//! `together.rs`.) Values cross the boundary as the few types both engines share:
//! text, 64-bit integers (times in Unix milliseconds), booleans and byte strings.
//!
//! SQLite is opened in WAL mode with one writer connection and a few readers, all owned here
//! rather than pooled by sqlx (`writer.rs`, `readers.rs`): SQLite allows one writer at a time
//! anyway, queueing writers for our connection is cheaper than letting them collide on
//! `SQLITE_BUSY`, and the writes queued together share a transaction. The writer runs its
//! statements in place rather than on a thread of sqlx's (`conn.rs`). PostgreSQL uses one
//! pool for both, also our own (`postgres_pool.rs`). Every query function takes the `Conn` it
//! is given (`SqlStore::durably`, `SqlStore::reading`).

mod attempts;
mod challenges;
mod conn;
mod contacts;
mod counters;
mod deliveries;
mod durability;
mod factors;
mod login_sessions;
mod machines;
mod metadata;
mod oob_codes;
mod open;
mod params;
mod passkeys;
mod postgres_pool;
mod readers;
mod realms;
mod recovery_codes;
mod rows;
mod sealed;
mod sweep;
mod together;
mod user_write;
mod users;
mod writer;

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use std::sync::Arc;
use tessera_core::challenge::{Challenge, PendingSignIn};
use tessera_core::contact::{ContactCode, ContactKind};
use tessera_core::delivery::{Delivery, DeliveryStatus};
use tessera_core::error::{Parent, StoreError, Unique};
use tessera_core::factor::Sealed;
use tessera_core::login_session::LoginSession;
use tessera_core::metadata::{Metadata, MetadataOwner};
use tessera_core::oob::{OobCode, OobRequest};
use tessera_core::store::{
    Activity, Attempted, EnrolOutcome, Enrolment, Event, KeyUsage, MetadataQuery, NewChallenge,
    Outgoing, RefreshTokenRecord, SealedKind, SealedRecord, SessionQuery, SignInCompletion,
    SignInOutcome, SigningKeyRecord, StoreResult, UserQuery, UserScope, UserWrite, WriteOrder,
};
use tessera_core::store::{Attempt, AttemptTaken, EventFilter, EventRecord, Listed, Passed};
use tessera_core::{
    EmailAddress, Factor, FactorId, FactorKey, MachineUser, NewUser, Passkey, PasskeyCode, Realm,
    RealmId, Store, User, UserId,
};
use time::OffsetDateTime;

pub use open::{Engine, OpenOptions, migrator};

use conn::Conn;
use postgres_pool::PostgresPool;
use readers::Readers;
use writer::SqliteWriter;

use rows::{millis, realm_from_row, refresh_from_row, signing_key_from_row};

pub struct SqlStore {
    backend: Backend,
}

/// The connections queries run on.
enum Backend {
    /// SQLite's one writer, whose writes share transactions and fsyncs (`writer.rs`), and its
    /// readers (`readers.rs`).
    Sqlite {
        writer: Arc<SqliteWriter>,
        readers: Readers,
    },
    /// One PostgreSQL pool for reads and writes, whose commits are durable by themselves.
    Postgres(PostgresPool),
}

impl SqlStore {
    /// Runs a write on a writer connection, then returns once it is on disk.
    async fn durably<T>(
        &self,
        write: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.durably_after(WriteOrder::DURABLE, write).await
    }

    /// `durably`, for a write that depends on the earlier one at `after`: it returns once both
    /// are on disk, and fails if the earlier one was lost (`writer.rs`).
    async fn durably_after<T>(
        &self,
        after: WriteOrder,
        write: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.write(after, write).await,
            Backend::Postgres(pool) => {
                pool.run(async |conn| write(&mut Conn::Sqlx(conn)).await)
                    .await
            }
        }
    }

    /// Runs a write that every later write sees, returning where it stands, possibly before
    /// it is on disk: a later write handed that (`durably_after`) makes sure it is.
    async fn ordered<T>(
        &self,
        write: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<(T, WriteOrder)> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.write_ordered(write).await,
            Backend::Postgres(_) => Ok((self.durably(write).await?, WriteOrder::DURABLE)),
        }
    }

    /// Runs a read on a reader connection.
    async fn reading<T>(
        &self,
        read: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match &self.backend {
            Backend::Sqlite { readers, .. } => readers.read(read).await,
            Backend::Postgres(pool) => {
                pool.run(async |conn| read(&mut Conn::Sqlx(conn)).await)
                    .await
            }
        }
    }

    /// The one text column `sql` selects for a secret's hash (`$1`): an API key's project, an
    /// admin token's label.
    async fn text_by_hash(&self, sql: &'static str, hash: &[u8]) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = self
            .reading(async |conn| {
                sqlx::query_as(sql)
                    .bind(hash)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)
            })
            .await?;
        Ok(row.map(|(text,)| text))
    }

    /// Stores a secret's hash with its text and creation time (`$1`, `$2`, `$3` of `sql`).
    async fn insert_by_hash(
        &self,
        sql: &'static str,
        hash: &[u8],
        text: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.durably(async |conn| {
            sqlx::query(sql)
                .bind(hash)
                .bind(text)
                .bind(millis(now))
                .execute(conn)
                .await
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite { .. } => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// Closes every connection; used on shutdown so SQLite checkpoints its WAL.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { writer, readers } => {
                writer.close().await;
                readers.close();
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// The error of a store that was closed.
pub(crate) fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// Turns a sqlx error into the store's error, logging the detail that clients never see.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let named = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            let which = if named.contains("federated_identities") {
                Unique::Identity
            } else if named.contains("org_id") {
                Unique::OrgId
            } else if named.contains("machine_users") {
                Unique::MachineUsername
            } else if named.contains("factors_one_unfinished_totp") {
                Unique::UnfinishedTotp
            } else if named.contains("factors") {
                Unique::Factor
            } else if named.contains("username") {
                Unique::Username
            } else if named.contains("email") {
                Unique::Email
            } else if named.contains("phone_number") {
                Unique::PhoneNumber
            } else if named.contains("users_pkey") || named.contains("users.id") {
                Unique::UserId
            } else {
                Unique::Other
            };
            StoreError::Conflict(which)
        }
        // PostgreSQL names the constraint (`users_realm_id_fkey`,
        // `factors_realm_id_user_id_fkey`, …); SQLite does not.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            tracing::warn!(error = %e, "a write referred to a row deleted meanwhile");
            let constraint = db.constraint().unwrap_or_default();
            StoreError::Gone(if constraint.ends_with("_realm_id_user_id_fkey") {
                Parent::User
            } else if constraint.ends_with("_realm_id_fkey") {
                Parent::Realm
            } else {
                Parent::Other
            })
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => {
            tracing::error!(error = %e, "database unavailable");
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db)
            if db.code().as_deref().is_some_and(server_unavailable) || sqlite_busy(db.as_ref()) =>
        {
            tracing::error!(error = %e, "database unavailable");
            StoreError::Unavailable(e.to_string())
        }
        // Class 22, "data exception": the statement is fine, a value in it is not (NUL in text,
        // 22021; a string too long for its column, 22001). SQLite stores such values as given.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
            tracing::warn!(error = %e, "value refused by the database");
            StoreError::Unstorable(e.to_string())
        }
        _ => {
            tracing::error!(error = %e, "database error");
            StoreError::Internal(e.to_string())
        }
    }
}

/// PostgreSQL's SQLSTATEs for a server that cannot serve right now, as opposed to a statement
/// that is wrong: connection exceptions (class 08), insufficient resources (class 53, e.g.
/// too many connections), and a server shutting down, crashed or still starting (57P01–57P03,
/// which a restarting server sends to connecting clients). A retry later can succeed, so
/// clients hear "unavailable", not "internal error".
fn server_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

/// SQLite's "database is locked" (`SQLITE_BUSY`, 5, in any of its extended forms): another
/// process held the file's write lock past the busy timeout. A retry later can succeed.
fn sqlite_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_BUSY: i32 = 5;
    (db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        || db.try_downcast_ref::<conn::InPlaceError>().is_some())
        && db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// `sqlite_busy` for a whole sqlx error.
pub(crate) fn sqlite_busy_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if sqlite_busy(db.as_ref()))
}

pub(crate) const REALM_COLUMNS: &str = "id, project_id, tenant_id, org_id, display_name, mfa_config, webauthn_config, \
     improved_email_privacy, phone_sign_in, created_at";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.reading(async |conn| sqlx::query("SELECT 1").execute(conn).await.map_err(db_err))
            .await?;
        Ok(())
    }

    async fn find_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> StoreResult<Option<Realm>> {
        self.reading(async |conn| realms::find(conn, project_id, tenant_id).await)
            .await
    }

    async fn get_realm(&self, id: &RealmId) -> StoreResult<Option<Realm>> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE id = $1");
        let row = self
            .reading(async |conn| {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(&id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)
            })
            .await?;
        row.as_ref().map(realm_from_row).transpose()
    }

    async fn find_realm_by_org(&self, org_id: &str) -> StoreResult<Option<Realm>> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE org_id = $1");
        let row = self
            .reading(async |conn| {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(org_id)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)
            })
            .await?;
        row.as_ref().map(realm_from_row).transpose()
    }

    async fn assign_org(&self, realm: &RealmId, org_id: &str) -> StoreResult<Option<Realm>> {
        self.durably(async |conn| {
            sqlx::query("UPDATE realms SET org_id = $1 WHERE id = $2 AND org_id IS NULL")
                .bind(org_id)
                .bind(&realm.0)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE id = $1");
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(&realm.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            row.as_ref().map(realm_from_row).transpose()
        })
        .await
    }

    async fn write_user(&self, write: &UserWrite) -> StoreResult<bool> {
        self.durably(async |conn| user_write::write(conn, write).await)
            .await
    }

    async fn find_contact_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        kind: ContactKind,
    ) -> StoreResult<Option<ContactCode>> {
        self.reading(async |conn| contacts::find(conn, (realm, user, kind)).await)
            .await
    }

    async fn spend_contact_attempt(
        &self,
        realm: &RealmId,
        user: &UserId,
        kind: ContactKind,
    ) -> StoreResult<bool> {
        self.durably(async |conn| contacts::spend_attempt(conn, (realm, user, kind)).await)
            .await
    }

    async fn use_contact_code(&self, code: &ContactCode) -> StoreResult<bool> {
        self.durably(async |conn| contacts::use_code(conn, code).await)
            .await
    }

    async fn put_oob_code(&self, code: &OobCode, outgoing: &[Outgoing]) -> StoreResult<()> {
        self.durably(async |conn| oob_codes::put(conn, code, outgoing).await)
            .await
    }

    async fn find_oob_code(&self, key: &[u8]) -> StoreResult<Option<OobCode>> {
        self.reading(async |conn| oob_codes::find(conn, key).await)
            .await
    }

    async fn find_user_oob_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        request: OobRequest,
    ) -> StoreResult<Option<OobCode>> {
        self.reading(async |conn| oob_codes::find_of(conn, realm, user, request).await)
            .await
    }

    async fn list_oob_codes(
        &self,
        realm: &RealmId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OobCode>> {
        self.reading(async |conn| oob_codes::list(conn, realm, now).await)
            .await
    }

    async fn add_recovery_codes(
        &self,
        realm: &RealmId,
        user: &UserId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
        max: i64,
    ) -> StoreResult<bool> {
        self.durably(async |conn| recovery_codes::add(conn, (realm, user), hashes, at, max).await)
            .await
    }

    async fn use_recovery_code(
        &self,
        realm: &RealmId,
        user: &UserId,
        hashes: &[Vec<u8>],
    ) -> StoreResult<bool> {
        self.durably(async |conn| recovery_codes::use_code(conn, (realm, user), hashes).await)
            .await
    }

    async fn remove_recovery_codes(&self, realm: &RealmId, user: &UserId) -> StoreResult<u64> {
        self.durably(async |conn| recovery_codes::remove(conn, (realm, user)).await)
            .await
    }

    async fn count_recovery_codes(&self, realm: &RealmId, user: &UserId) -> StoreResult<i64> {
        self.reading(async |conn| recovery_codes::count(conn, (realm, user)).await)
            .await
    }

    async fn insert_login_session(
        &self,
        session: &LoginSession,
        outgoing: &[Outgoing],
    ) -> StoreResult<()> {
        self.durably(async |conn| {
            deliveries::limited(conn, outgoing, async |conn| {
                let mut tx = conn.begin().await.map_err(db_err)?;
                login_sessions::insert(&mut tx, session).await?;
                deliveries::queue(&mut tx, outgoing).await?;
                tx.commit().await.map_err(db_err)
            })
            .await
        })
        .await
    }

    async fn get_login_session(&self, id: &str) -> StoreResult<Option<LoginSession>> {
        self.reading(async |conn| login_sessions::get_one(conn, id).await)
            .await
    }

    async fn update_login_session(
        &self,
        session: &LoginSession,
        read_at: i64,
        outgoing: &[Outgoing],
    ) -> StoreResult<bool> {
        self.durably(async |conn| {
            deliveries::limited(conn, outgoing, async |conn| {
                let mut tx = conn.begin().await.map_err(db_err)?;
                if !login_sessions::update(&mut tx, session, read_at).await? {
                    return Ok(false);
                }
                deliveries::queue(&mut tx, outgoing).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            })
            .await
        })
        .await
    }

    async fn delete_login_session(&self, id: &str) -> StoreResult<bool> {
        self.durably(async |conn| login_sessions::delete(conn, id).await)
            .await
    }

    async fn set_metadata(
        &self,
        owner: MetadataOwner<'_>,
        entries: &[(String, Vec<u8>)],
        at: OffsetDateTime,
    ) -> StoreResult<OffsetDateTime> {
        self.durably(async |conn| metadata::set(conn, owner, entries, at).await)
            .await
    }

    async fn remove_metadata(
        &self,
        owner: MetadataOwner<'_>,
        keys: &[String],
    ) -> StoreResult<bool> {
        self.durably(async |conn| metadata::remove(conn, owner, keys).await)
            .await
    }

    async fn query_metadata(
        &self,
        owner: MetadataOwner<'_>,
        query: &MetadataQuery,
    ) -> StoreResult<(i64, Vec<Metadata>)> {
        self.reading(async |conn| metadata::query(conn, owner, query).await)
            .await
    }

    async fn query_login_sessions(
        &self,
        query: &SessionQuery,
    ) -> StoreResult<(i64, Vec<LoginSession>)> {
        self.reading(async |conn| login_sessions::query(conn, query).await)
            .await
    }

    async fn insert_machine_user(&self, user: &MachineUser) -> StoreResult<()> {
        self.durably(async |conn| machines::insert(conn, user).await)
            .await
    }

    async fn get_machine_user(&self, id: &UserId) -> StoreResult<Option<MachineUser>> {
        self.reading(async |conn| machines::get(conn, id).await)
            .await
    }

    async fn find_machine_user(
        &self,
        realm: &RealmId,
        username: &str,
    ) -> StoreResult<Option<MachineUser>> {
        self.reading(async |conn| machines::find(conn, realm, username).await)
            .await
    }

    async fn insert_pat(
        &self,
        token_hash: &[u8],
        owner: &MachineUser,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.durably(async |conn| machines::insert_pat(conn, token_hash, owner, now).await)
            .await
    }

    async fn find_pat(&self, token_hash: &[u8]) -> StoreResult<Option<MachineUser>> {
        self.reading(async |conn| machines::find_pat(conn, token_hash).await)
            .await
    }

    async fn update_realm(&self, realm: &Realm) -> StoreResult<bool> {
        self.durably(async |conn| realms::update(conn, realm).await)
            .await
    }

    async fn list_tenants(
        &self,
        project_id: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Realm>> {
        self.reading(async |conn| realms::tenants(conn, project_id, after, limit).await)
            .await
    }

    async fn delete_realm(&self, id: &RealmId) -> StoreResult<bool> {
        self.durably(async |conn| realms::delete(conn, id).await)
            .await
    }

    async fn ensure_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<Realm> {
        self.durably(async |conn| {
            realms::insert(conn, project_id, tenant_id, now).await?;
            realms::find(conn, project_id, tenant_id)
                .await?
                .ok_or_else(|| StoreError::Internal("a realm just ensured is gone".into()))
        })
        .await
    }

    async fn create_realm(
        &self,
        project_id: &str,
        tenant_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Realm>> {
        self.durably(async |conn| {
            if !realms::insert(conn, project_id, Some(tenant_id), now).await? {
                return Ok(None);
            }
            realms::find(conn, project_id, Some(tenant_id)).await
        })
        .await
    }

    async fn find_api_key(&self, key_hash: &[u8]) -> StoreResult<Option<String>> {
        self.text_by_hash(
            "SELECT project_id FROM api_keys WHERE key_hash = $1",
            key_hash,
        )
        .await
    }

    async fn insert_api_key(
        &self,
        key_hash: &[u8],
        project_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.insert_by_hash(
            "INSERT INTO api_keys (key_hash, project_id, created_at) VALUES ($1, $2, $3)",
            key_hash,
            project_id,
            now,
        )
        .await
    }

    async fn admin_token_exists(&self, token_hash: &[u8]) -> StoreResult<bool> {
        let label = self
            .text_by_hash(
                "SELECT label FROM admin_tokens WHERE token_hash = $1",
                token_hash,
            )
            .await?;
        Ok(label.is_some())
    }

    async fn insert_admin_token(
        &self,
        token_hash: &[u8],
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.insert_by_hash(
            "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES ($1, $2, $3)",
            token_hash,
            label,
            now,
        )
        .await
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        self.durably(async |conn| users::insert(conn, user).await)
            .await
    }

    async fn get_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<Option<User>> {
        self.reading(async |conn| users::find_by(conn, realm, "id", id.as_str()).await)
            .await
    }

    async fn find_user_by_email(
        &self,
        realm: &RealmId,
        email: &EmailAddress,
    ) -> StoreResult<Option<User>> {
        self.reading(async |conn| users::find_by(conn, realm, "email", email.as_str()).await)
            .await
    }

    async fn user_realms(&self, id: &UserId) -> StoreResult<Vec<RealmId>> {
        self.reading(async |conn| users::realms_of(conn, "id", id.as_str()).await)
            .await
    }

    async fn email_realms(&self, email: &EmailAddress) -> StoreResult<Vec<RealmId>> {
        self.reading(async |conn| users::realms_of(conn, "email", email.as_str()).await)
            .await
    }

    async fn find_user_by_phone(&self, realm: &RealmId, phone: &str) -> StoreResult<Option<User>> {
        self.reading(async |conn| users::find_by(conn, realm, "phone_number", phone).await)
            .await
    }

    async fn find_user_by_identity(
        &self,
        realm: &RealmId,
        provider_id: &str,
        raw_id: &str,
    ) -> StoreResult<Option<User>> {
        self.reading(async |conn| users::find_by_identity(conn, realm, provider_id, raw_id).await)
            .await
    }

    async fn find_user_by_username(
        &self,
        realm: &RealmId,
        name: &str,
    ) -> StoreResult<Option<User>> {
        self.reading(async |conn| users::find_by_username(conn, realm, name).await)
            .await
    }

    async fn username_realms(&self, name: &str) -> StoreResult<Vec<RealmId>> {
        self.reading(async |conn| users::username_realms(conn, name).await)
            .await
    }

    async fn delete_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<bool> {
        self.durably(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            let deleted = users::delete(&mut tx, realm, id).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(deleted.is_some())
        })
        .await
    }

    async fn replace_user(&self, user: User) -> StoreResult<User> {
        self.durably(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            let replaced = users::delete(&mut tx, &user.realm, &user.id).await?;
            // A write that read the old row must not land on the new one.
            let user = User {
                revision: replaced.map_or(0, |revision| revision + 1),
                ..user
            };
            users::insert_indexed(&mut tx, &user).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(user)
        })
        .await
    }

    async fn delete_all_users(&self, realm: &RealmId) -> StoreResult<()> {
        self.durably(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            for sql in [
                "DELETE FROM users WHERE realm_id = $1",
                "DELETE FROM login_sessions WHERE realm_id = $1 AND user_id IS NOT NULL",
            ] {
                sqlx::query(sql)
                    .bind(&realm.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_users(
        &self,
        realm: &RealmId,
        after: Option<&UserId>,
        limit: i64,
    ) -> StoreResult<Vec<User>> {
        self.reading(async |conn| users::list(conn, realm, after, limit).await)
            .await
    }

    async fn query_users(
        &self,
        scope: &UserScope,
        query: &UserQuery,
        with_users: bool,
    ) -> StoreResult<(i64, Vec<User>)> {
        self.reading(async |conn| users::query(conn, scope, query, with_users).await)
            .await
    }

    async fn insert_refresh_token(&self, r: &RefreshTokenRecord) -> StoreResult<()> {
        self.durably(async |conn| together::run(conn, users::insert_refresh_token(r)).await)
            .await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let row = self
            .reading(async |conn| {
                sqlx::query(
                    "SELECT token_hash, realm_id, user_id, issued_at, sign_in_provider, auth_time, \
             second_factor_kind, second_factor_id, developer_claims FROM refresh_tokens \
             WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(conn)
                .await
                .map_err(db_err)
            })
            .await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn record_activity(
        &self,
        realm: &RealmId,
        id: &UserId,
        activity: Activity,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.durably(async |conn| {
            together::run(conn, users::record_activity(realm, id, activity, at)).await
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        realm: &RealmId,
        id: &UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        self.durably(async |conn| {
            together::run(conn, users::replace_password_hash(realm, id, old, new)).await
        })
        .await
    }

    async fn get_user_with_factors(
        &self,
        realm: &RealmId,
        id: &UserId,
        listed: Listed,
    ) -> StoreResult<Option<(User, Vec<Factor>)>> {
        self.reading(async |conn| factors::user_with_factors(conn, realm, id, listed).await)
            .await
    }

    async fn list_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        listed: Listed,
    ) -> StoreResult<Vec<Factor>> {
        self.reading(async |conn| factors::list(conn, realm, user, listed).await)
            .await
    }

    async fn get_factor(
        &self,
        realm: &RealmId,
        user: &UserId,
        id: &FactorId,
    ) -> StoreResult<Option<Factor>> {
        self.reading(async |conn| factors::get_one(conn, realm, user, id).await)
            .await
    }

    async fn insert_factor(&self, factor: &Factor, event: &Event) -> StoreResult<()> {
        let statements = || {
            let mut statements = factors::insert_unfinished(factor);
            statements.push(challenges::insert_event(event));
            statements
        };
        self.durably(async |conn| factors::replacing_unfinished(conn, statements).await)
            .await
    }

    async fn complete_enrolment(&self, enrolment: Enrolment<'_>) -> StoreResult<EnrolOutcome> {
        let after = enrolment.passed.map_or(WriteOrder::DURABLE, |p| p.taken);
        self.durably_after(after, async |conn| {
            let outcome = factors::complete_enrolment(conn, &enrolment).await?;
            attempts::refund(conn, enrolment.passed).await;
            Ok(outcome)
        })
        .await
    }

    async fn remove_factor(
        &self,
        realm: &RealmId,
        user: &UserId,
        id: &FactorId,
        event: &Event,
        refresh: Option<&RefreshTokenRecord>,
    ) -> StoreResult<bool> {
        self.durably(async |conn| factors::remove(conn, realm, user, id, event, refresh).await)
            .await
    }

    async fn replace_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        list: &[Factor],
        events: &[Event],
    ) -> StoreResult<()> {
        self.durably(async |conn| factors::replace(conn, realm, user, list, events).await)
            .await
    }

    async fn swap_webauthn_credential(
        &self,
        factor: &FactorKey,
        old: &str,
        new: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.durably(async |conn| {
            factors::swap_webauthn_credential(conn, factor, old, new, at).await
        })
        .await
    }

    async fn insert_passkey(&self, passkey: &Passkey, event: &Event) -> StoreResult<()> {
        self.durably(async |conn| passkeys::insert(conn, passkey, event).await)
            .await
    }

    async fn list_passkeys(&self, realm: &RealmId, user: &UserId) -> StoreResult<Vec<Passkey>> {
        self.reading(async |conn| passkeys::list(conn, realm, user).await)
            .await
    }

    async fn update_passkey(
        &self,
        passkey: &Passkey,
        old: &str,
        event: Option<&Event>,
    ) -> StoreResult<bool> {
        self.durably(async |conn| passkeys::update(conn, passkey, old, event).await)
            .await
    }

    async fn remove_passkey(&self, key: &FactorKey, event: &Event) -> StoreResult<bool> {
        self.durably(async |conn| passkeys::remove(conn, key, event).await)
            .await
    }

    async fn insert_passkey_code(
        &self,
        code: &PasskeyCode,
        event: &Event,
        outgoing: &[Outgoing],
    ) -> StoreResult<()> {
        self.durably(async |conn| {
            deliveries::limited(conn, outgoing, async |conn| {
                let mut tx = conn.begin().await.map_err(db_err)?;
                passkeys::insert_code(&mut tx, code, event).await?;
                deliveries::queue(&mut tx, outgoing).await?;
                tx.commit().await.map_err(db_err)
            })
            .await
        })
        .await
    }

    async fn use_passkey_code(
        &self,
        user: (&RealmId, &UserId),
        id: &str,
        hash: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.durably(async |conn| passkeys::use_code(conn, user, id, hash, now).await)
            .await
    }

    async fn passkey_code_live(
        &self,
        user: (&RealmId, &UserId),
        id: &str,
        hash: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.reading(async |conn| passkeys::code_live(conn, user, id, hash, now).await)
            .await
    }

    async fn use_totp_step(
        &self,
        factor: &FactorKey,
        step: i64,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.durably(async |conn| {
            together::won(conn, factors::use_totp_step(factor, step, at)).await
        })
        .await
    }

    async fn insert_challenge(&self, new: NewChallenge<'_>) -> StoreResult<()> {
        let statements = || {
            let mut statements = new
                .factor
                .map(factors::insert_unfinished)
                .unwrap_or_default();
            // The message first: the challenge refers to it.
            statements.extend(new.outgoing.map(|out| deliveries::insert(&out.delivery)));
            let delivery = new.outgoing.map(|out| out.delivery.id.as_str());
            statements.push(challenges::insert(new.challenge, delivery));
            statements.extend(new.event.map(challenges::insert_event));
            statements
        };
        let outgoing = new.outgoing.map(std::slice::from_ref).unwrap_or_default();
        self.durably(async |conn| {
            deliveries::limited(conn, outgoing, async |conn| {
                factors::replacing_unfinished(conn, statements).await
            })
            .await
        })
        .await
    }

    async fn delete_expired(&self, before: OffsetDateTime, limit: i64) -> StoreResult<bool> {
        self.durably(async |conn| challenges::delete_expired(conn, before, limit).await)
            .await
    }

    async fn find_challenge(&self, id: &[u8]) -> StoreResult<Option<Challenge>> {
        self.reading(async |conn| challenges::find(conn, id).await)
            .await
    }

    async fn insert_pending_sign_in(&self, pending: &PendingSignIn) -> StoreResult<()> {
        self.durably(async |conn| challenges::insert_pending(conn, pending).await)
            .await
    }

    async fn find_pending_sign_in(&self, id: &[u8]) -> StoreResult<Option<PendingSignIn>> {
        self.reading(async |conn| challenges::find_pending(conn, id).await)
            .await
    }

    async fn complete_sign_in(
        &self,
        completion: SignInCompletion<'_>,
    ) -> StoreResult<SignInOutcome> {
        let after = completion.passed.map_or(WriteOrder::DURABLE, |p| p.taken);
        self.durably_after(after, async |conn| {
            let outcome = challenges::complete_sign_in(conn, &completion).await?;
            attempts::refund(conn, completion.passed).await;
            Ok(outcome)
        })
        .await
    }

    async fn use_challenge(&self, challenge: &[u8], passed: &Passed) -> StoreResult<bool> {
        self.durably_after(passed.taken, async |conn| {
            let used = challenges::use_challenge(conn, challenge, passed).await?;
            attempts::refund(conn, Some(passed)).await;
            Ok(used)
        })
        .await
    }

    async fn outstanding_messages(&self, realm: &RealmId) -> StoreResult<Vec<Delivery>> {
        self.reading(async |conn| deliveries::outstanding(conn, realm).await)
            .await
    }

    async fn clear_outbox(&self, realm: &RealmId) -> StoreResult<()> {
        self.durably(async |conn| deliveries::clear(conn, realm).await)
            .await
    }

    async fn claim_deliveries(
        &self,
        node: &str,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        // Most rounds find nothing: ask a reader first, and take the writer only for a claim.
        if !self
            .reading(async |conn| deliveries::any_due(conn, now).await)
            .await?
        {
            return Ok(Vec::new());
        }
        self.durably(async |conn| deliveries::claim(conn, self.engine(), node, now, limit).await)
            .await
    }

    async fn finish_deliveries(
        &self,
        node: &str,
        attempted: &[Attempted],
    ) -> StoreResult<Vec<bool>> {
        self.durably(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            let mut held = Vec::with_capacity(attempted.len());
            for attempt in attempted {
                held.push(deliveries::finish(&mut tx, node, attempt).await?);
            }
            tx.commit().await.map_err(db_err)?;
            Ok(held)
        })
        .await
    }

    async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        self.reading(async |conn| deliveries::list(conn, status, limit).await)
            .await
    }

    async fn prune_deliveries(
        &self,
        counters_before: OffsetDateTime,
        messages_before: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<bool> {
        self.durably(async |conn| {
            deliveries::prune(conn, counters_before, messages_before, limit).await
        })
        .await
    }

    async fn record_event(&self, event: &Event) -> StoreResult<()> {
        self.durably(async |conn| together::run(conn, challenges::insert_event(event)).await)
            .await
    }

    async fn list_events(&self, filter: &EventFilter) -> StoreResult<Vec<EventRecord>> {
        self.reading(async |conn| attempts::list_events(conn, filter).await)
            .await
    }

    async fn take_attempt(&self, attempt: &Attempt) -> StoreResult<(AttemptTaken, WriteOrder)> {
        self.ordered(async |conn| attempts::take(conn, attempt).await)
            .await
    }

    async fn end_attempt(
        &self,
        attempt: &Attempt,
        taken: WriteOrder,
        succeeded: bool,
        events: &[Event],
    ) -> StoreResult<()> {
        self.durably_after(taken, async |conn| {
            attempts::end(conn, attempt, succeeded, events).await
        })
        .await
    }

    async fn unlock_factors(
        &self,
        realm: &RealmId,
        user: &UserId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<FactorId>> {
        self.durably(async |conn| attempts::unlock(conn, realm, user, at).await)
            .await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        const SQL: &str = "SELECT kid, algorithm, master_key_id, sealed_private_key, \
                           certificate_pem, created_at FROM signing_keys ORDER BY generation DESC";
        let rows = self
            .reading(async |conn| sqlx::query(SQL).fetch_all(conn).await.map_err(db_err))
            .await?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn insert_signing_key_if_missing(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        // Two nodes racing compute the same next generation; its UNIQUE picks one winner.
        self.durably(async |conn| {
            let done = sqlx::query(
                "INSERT INTO signing_keys (kid, generation, algorithm, master_key_id, sealed_private_key, certificate_pem, created_at) \
                 SELECT $1, (SELECT COALESCE(MAX(generation), 0) + 1 FROM signing_keys), $2, $3, $4, $5, $6 \
                 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE algorithm = $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&k.kid)
            .bind(&k.algorithm)
            .bind(&k.master_key_id)
            .bind(k.sealed_private_key.as_slice())
            .bind(&k.certificate_pem)
            .bind(millis(k.created_at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn sealed_key_usage(&self) -> StoreResult<Vec<KeyUsage>> {
        self.reading(async |conn| sealed::usage(conn).await).await
    }

    async fn sealed_not_under(
        &self,
        kind: SealedKind,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedRecord>> {
        self.reading(async |conn| sealed::not_under(conn, kind, key_id, limit).await)
            .await
    }

    async fn reseal(
        &self,
        kind: SealedKind,
        changes: &[(SealedRecord, Sealed)],
    ) -> StoreResult<u64> {
        self.durably(async |conn| sealed::reseal(conn, kind, changes).await)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error as the PostgreSQL driver reports it: a SQLSTATE and a message.
    #[derive(Debug)]
    struct Refusal(&'static str);

    impl std::fmt::Display for Refusal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server said {}", self.0)
        }
    }

    impl std::error::Error for Refusal {}

    impl DatabaseError for Refusal {
        fn message(&self) -> &str {
            "refused"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn mapped(sqlstate: &'static str) -> StoreError {
        db_err(sqlx::Error::Database(Box::new(Refusal(sqlstate))))
    }

    #[test]
    fn a_server_that_cannot_serve_now_is_unavailable_not_internal() {
        // admin_shutdown (a fast or immediate stop, pg_terminate_backend), crash_shutdown,
        // cannot_connect_now ("the database system is starting up"), too_many_connections,
        // connection_failure.
        for sqlstate in ["57P01", "57P02", "57P03", "53300", "08006", "08001"] {
            assert!(
                matches!(mapped(sqlstate), StoreError::Unavailable(_)),
                "{sqlstate}"
            );
        }
        // A wrong statement stays an internal error: syntax, undefined column, query_canceled.
        for sqlstate in ["42601", "42703", "57014"] {
            assert!(
                matches!(mapped(sqlstate), StoreError::Internal(_)),
                "{sqlstate}"
            );
        }
        assert!(matches!(
            db_err(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn a_value_the_database_refuses_is_unstorable_not_internal() {
        // character_not_in_repertoire (NUL in text), untranslatable_character,
        // string_data_right_truncation, numeric_value_out_of_range.
        for sqlstate in ["22021", "22P05", "22001", "22003"] {
            assert!(
                matches!(mapped(sqlstate), StoreError::Unstorable(_)),
                "{sqlstate}"
            );
        }
    }

    /// A worker with nothing to send reads instead of writing, so it claims nothing even while
    /// another process holds SQLite's write lock, where a claim would wait for it and fail.
    #[tokio::test]
    async fn a_claim_with_nothing_due_takes_no_write_lock_and_a_lock_is_unavailable()
    -> StoreResult<()> {
        let url = open::scratch_url("idle-claim")?;
        let store = SqlStore::open(&url, &OpenOptions::default()).await?;
        store.migrate().await?;
        let mut other = open::sqlite_connection(&url).await?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .map_err(db_err)?;
        let claimed = store
            .claim_deliveries("node", OffsetDateTime::UNIX_EPOCH, 10)
            .await?;
        assert!(claimed.is_empty());

        // A write that does wait for the lock and gives up is unavailable, not internal.
        let mut third = open::sqlite_connection(&url).await?;
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut third)
            .await
            .map_err(db_err)?;
        let busy = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut third)
            .await
            .map_err(db_err);
        assert!(
            matches!(&busy, Err(StoreError::Unavailable(m)) if m.contains("database is locked")),
            "{busy:?}"
        );
        sqlx::query("ROLLBACK")
            .execute(&mut other)
            .await
            .map_err(db_err)?;
        store.close().await;
        Ok(())
    }
}
