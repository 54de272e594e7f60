//! The SQL store: one implementation of `tessera_core::Store` for SQLite and PostgreSQL.
//!
//! Both engines run the same SQL text through sqlx's `Any` driver (`$N` placeholders work
//! on both), so behaviour cannot drift between them; only the migrations differ, one
//! directory per engine. Values cross the boundary as the few types both engines share:
//! text, 64-bit integers (times in Unix milliseconds), booleans and byte strings.
//!
//! SQLite is opened in WAL mode with one writer connection and a pool of readers: SQLite
//! allows one writer at a time anyway, and queueing writers in our pool is cheaper than
//! letting them collide on `SQLITE_BUSY`. PostgreSQL uses one pool for both.

mod open;
mod rows;
mod users;

use async_trait::async_trait;
use sqlx::{AnyPool, AssertSqlSafe};
use tessera_core::error::{StoreError, Unique};
use tessera_core::store::{RefreshTokenRecord, SigningKeyRecord, StoreResult, UserQuery};
use tessera_core::{EmailAddress, NewUser, Realm, RealmId, Store, User, UserId};
use time::OffsetDateTime;

pub use open::{Engine, OpenOptions};

use rows::{millis, realm_from_row, refresh_from_row, signing_key_from_row};

pub struct SqlStore {
    write: AnyPool,
    read: AnyPool,
    engine: Engine,
}

impl SqlStore {
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Closes every connection; used on shutdown so SQLite checkpoints its WAL.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Turns a sqlx error into the store's error, logging the detail that clients never see.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let named = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            let which = if named.contains("email") {
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
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => {
            tracing::error!(error = %e, "database unavailable");
            StoreError::Unavailable(e.to_string())
        }
        _ => {
            tracing::error!(error = %e, "database error");
            StoreError::Internal(e.to_string())
        }
    }
}

const REALM_COLUMNS: &str = "id, project_id, tenant_id";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> StoreResult<Option<Realm>> {
        let sql =
            format!("SELECT {REALM_COLUMNS} FROM realms WHERE project_id = $1 AND tenant_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(tenant_id.unwrap_or_default())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(realm_from_row).transpose()
    }

    async fn get_realm(&self, id: &RealmId) -> StoreResult<Option<Realm>> {
        let sql = format!("SELECT {REALM_COLUMNS} FROM realms WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&id.0)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(realm_from_row).transpose()
    }

    async fn ensure_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<Realm> {
        let id = match tenant_id {
            Some(t) => format!("{project_id}/{t}"),
            None => project_id.to_owned(),
        };
        sqlx::query(
            "INSERT INTO realms (id, project_id, tenant_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(project_id)
        .bind(tenant_id.unwrap_or_default())
        .bind(millis(now))
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        let sql =
            format!("SELECT {REALM_COLUMNS} FROM realms WHERE project_id = $1 AND tenant_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(tenant_id.unwrap_or_default())
            .fetch_one(&self.write)
            .await
            .map_err(db_err)?;
        realm_from_row(&row)
    }

    async fn find_api_key(&self, key_hash: &[u8]) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT project_id FROM api_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(&self.read)
                .await
                .map_err(db_err)?;
        Ok(row.map(|(p,)| p))
    }

    async fn insert_api_key(
        &self,
        key_hash: &[u8],
        project_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_keys (key_hash, project_id, created_at) VALUES ($1, $2, $3)")
            .bind(key_hash)
            .bind(project_id)
            .bind(millis(now))
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn admin_token_exists(&self, token_hash: &[u8]) -> StoreResult<bool> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT label FROM admin_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await
                .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn insert_admin_token(
        &self,
        token_hash: &[u8],
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO admin_tokens (token_hash, label, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(label)
            .bind(millis(now))
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        users::insert(&self.write, user).await
    }

    async fn get_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<Option<User>> {
        users::find_by(&self.read, realm, "id", id.as_str()).await
    }

    async fn find_user_by_email(
        &self,
        realm: &RealmId,
        email: &EmailAddress,
    ) -> StoreResult<Option<User>> {
        users::find_by(&self.read, realm, "email", email.as_str()).await
    }

    async fn find_user_by_phone(&self, realm: &RealmId, phone: &str) -> StoreResult<Option<User>> {
        users::find_by(&self.read, realm, "phone_number", phone).await
    }

    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        users::update(&self.write, user).await
    }

    async fn delete_user(&self, realm: &RealmId, id: &UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE realm_id = $1 AND id = $2")
            .bind(&realm.0)
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(
        &self,
        realm: &RealmId,
        after: Option<&UserId>,
        limit: i64,
    ) -> StoreResult<Vec<User>> {
        users::list(&self.read, realm, after, limit).await
    }

    async fn query_users(
        &self,
        realm: &RealmId,
        query: &UserQuery,
        with_users: bool,
    ) -> StoreResult<(i64, Vec<User>)> {
        users::query(&self.read, realm, query, with_users).await
    }

    async fn insert_refresh_token(&self, r: &RefreshTokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, realm_id, user_id, issued_at, sign_in_provider, auth_time) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.token_hash.as_slice())
        .bind(&r.realm.0)
        .bind(r.user.as_str())
        .bind(millis(r.issued_at))
        .bind(&r.sign_in_provider)
        .bind(millis(r.auth_time))
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let row = sqlx::query(
            "SELECT token_hash, realm_id, user_id, issued_at, sign_in_provider, auth_time \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn touch_user_refresh(
        &self,
        realm: &RealmId,
        id: &UserId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_refresh_at = $1 WHERE realm_id = $2 AND id = $3")
            .bind(millis(at))
            .bind(&realm.0)
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, master_key_id, sealed_private_key, certificate_pem, created_at \
             FROM signing_keys ORDER BY generation DESC",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn insert_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, generation, algorithm, master_key_id, sealed_private_key, certificate_pem, created_at) \
             VALUES ($1, 1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&k.kid)
        .bind(&k.algorithm)
        .bind(&k.master_key_id)
        .bind(k.sealed_private_key.as_slice())
        .bind(&k.certificate_pem)
        .bind(millis(k.created_at))
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
