//! Pending verifications of users' email addresses and phone numbers. Attempts and single use
//! are conditional statements, so racing nodes cannot both win.

use tessera_core::clock::from_unix_millis;
use tessera_core::contact::{ContactCode, ContactKind};
use tessera_core::error::StoreError;
use tessera_core::{RealmId, UserId};

use crate::conn::Conn;
use crate::db_err;
use crate::rows::millis;
use crate::together::{Statement, won};

type Key<'a> = (&'a RealmId, &'a UserId, ContactKind);

/// Starts a verification, replacing a pending one of its user and kind.
pub(crate) async fn put(conn: &mut Conn<'_>, code: &ContactCode) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO contact_codes (realm_id, user_id, kind, value, code_hash, expires_at, attempts_left) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (realm_id, user_id, kind) DO UPDATE SET value = excluded.value, \
         code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
         attempts_left = excluded.attempts_left",
    )
    .bind(&code.realm.0)
    .bind(code.user.as_str())
    .bind(code.kind.as_str())
    .bind(&code.value)
    .bind(&code.code_hash)
    .bind(millis(code.expires_at))
    .bind(code.attempts_left)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn<'_>,
    (realm, user, kind): Key<'_>,
) -> Result<Option<ContactCode>, StoreError> {
    let row: Option<(String, Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT value, code_hash, expires_at, attempts_left FROM contact_codes \
         WHERE realm_id = $1 AND user_id = $2 AND kind = $3",
    )
    .bind(&realm.0)
    .bind(user.as_str())
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(row.map(
        |(value, code_hash, expires_at, attempts_left)| ContactCode {
            realm: realm.clone(),
            user: user.clone(),
            kind,
            value,
            code_hash,
            expires_at: from_unix_millis(expires_at),
            attempts_left,
        },
    ))
}

/// `sql` with the contact code's key bound as `$1`..`$3`.
fn keyed(sql: &'static str, (realm, user, kind): Key<'_>) -> Statement {
    sqlx::query(sql)
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(kind.as_str())
}

pub async fn spend_attempt(conn: &mut Conn<'_>, key: Key<'_>) -> Result<bool, StoreError> {
    let sql = "UPDATE contact_codes SET attempts_left = attempts_left - 1 \
               WHERE realm_id = $1 AND user_id = $2 AND kind = $3 AND attempts_left > 0";
    won(conn, keyed(sql, key)).await
}

/// The statement that drops a pending verification, whatever its code.
pub(crate) fn take(key: Key<'_>) -> Statement {
    let sql = "DELETE FROM contact_codes WHERE realm_id = $1 AND user_id = $2 AND kind = $3";
    keyed(sql, key)
}

/// The code the caller proved, if nothing replaced or used it up since it was read.
pub async fn use_code(conn: &mut Conn<'_>, code: &ContactCode) -> Result<bool, StoreError> {
    let sql = "DELETE FROM contact_codes WHERE realm_id = $1 AND user_id = $2 AND kind = $3 \
               AND code_hash = $4 AND attempts_left > 0";
    let key = (&code.realm, &code.user, code.kind);
    won(conn, keyed(sql, key).bind(&code.code_hash)).await
}
