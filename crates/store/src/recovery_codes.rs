//! Users' recovery codes, kept as MACs. A code is used by deleting it, so of two concurrent
//! uses exactly one succeeds.

use sqlx::AssertSqlSafe;
use tessera_core::error::StoreError;
use tessera_core::{RealmId, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::rows::millis;
use crate::users;

/// Adds `hashes` to the user's codes unless it would then hold more than `max`; `false` when
/// it would, `Gone` when the user is. The count is read in the same transaction, after the
/// user's row is locked: SQLite's one writer makes that exact anyway, and on PostgreSQL the
/// lock makes concurrent adds for one user wait their turn and count what the one before
/// them added, so that together they cannot pass `max`.
pub async fn add(
    conn: &mut Conn<'_>,
    (realm, user): (&RealmId, &UserId),
    hashes: &[Vec<u8>],
    at: OffsetDateTime,
    max: i64,
) -> Result<bool, StoreError> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    users::lock(&mut tx, realm, user).await?;
    let held = count(&mut tx, (realm, user)).await?;
    if held + i64::try_from(hashes.len()).unwrap_or(i64::MAX) > max {
        return Ok(false);
    }
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (realm_id, user_id, code_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(hash.as_slice())
        .bind(millis(at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Deletes the code stored as one of `hashes`; `true` for the one caller that found it.
pub async fn use_code(
    conn: &mut Conn<'_>,
    (realm, user): (&RealmId, &UserId),
    hashes: &[Vec<u8>],
) -> Result<bool, StoreError> {
    let placeholders: Vec<String> = (0..hashes.len()).map(|i| format!("${}", i + 3)).collect();
    if placeholders.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "DELETE FROM recovery_codes WHERE realm_id = $1 AND user_id = $2 AND code_hash IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str());
    for hash in hashes {
        query = query.bind(hash.as_slice());
    }
    let done = query.execute(conn).await.map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

/// Deletes every code of the user; how many there were.
pub async fn remove(
    conn: &mut Conn<'_>,
    (realm, user): (&RealmId, &UserId),
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM recovery_codes WHERE realm_id = $1 AND user_id = $2")
        .bind(&realm.0)
        .bind(user.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

pub async fn count(
    conn: &mut Conn<'_>,
    (realm, user): (&RealmId, &UserId),
) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE realm_id = $1 AND user_id = $2")
            .bind(&realm.0)
            .bind(user.as_str())
            .fetch_one(conn)
            .await
            .map_err(db_err)?;
    Ok(n)
}
