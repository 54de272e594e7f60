//! Identity Toolkit's out-of-band codes (`tessera_core::oob`): one per user and purpose (a
//! sign-in link, one per address), found by the code's key, and used once, by the user write
//! that makes the change it allows (`UserWrite::used_oob`, `user_write.rs`).

use sqlx::any::AnyRow;
use tessera_core::factor::Sealed;
use tessera_core::oob::{OobCode, OobRequest};
use tessera_core::store::{Outgoing, StoreResult};
use tessera_core::{EmailAddress, RealmId, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::rows::{corrupt, get, get_time, millis};
use crate::together::{Statement, run};
use crate::{db_err, deliveries};

const COLUMNS: &str = "realm_id, user_id, request_type, code_key, email, new_email, expires_at, master_key_id, sealed";

fn from_row(row: &AnyRow) -> StoreResult<OobCode> {
    let email = |col| {
        get::<Option<String>>(row, col)?
            .map(|raw| EmailAddress::parse(&raw).ok_or_else(|| corrupt("oob code email")))
            .transpose()
    };
    Ok(OobCode {
        key: get(row, "code_key")?,
        realm: RealmId(get(row, "realm_id")?),
        user: get::<Option<String>>(row, "user_id")?
            .map(|raw| UserId::parse(&raw).ok_or_else(|| corrupt("user id")))
            .transpose()?,
        request: OobRequest::parse(&get::<String>(row, "request_type")?)
            .ok_or_else(|| corrupt("oob request type"))?,
        email: email("email")?.ok_or_else(|| corrupt("oob code email"))?,
        new_email: email("new_email")?,
        expires_at: get_time(row, "expires_at")?,
        sealed: Sealed {
            master_key_id: get(row, "master_key_id")?,
            bytes: get(row, "sealed")?,
        },
    })
}

/// Stores `code`, replacing the user's earlier one of its purpose (a sign-in link, the
/// address's), with the message that carries it, once the message's limits are charged.
pub(crate) async fn put(
    conn: &mut Conn<'_>,
    code: &OobCode,
    outgoing: &[Outgoing],
) -> StoreResult<()> {
    deliveries::limited(conn, outgoing, async |conn| {
        let mut tx = conn.begin().await.map_err(db_err)?;
        let replaced = match code.user {
            Some(_) => "(realm_id, user_id, request_type)",
            None => "(realm_id, email, request_type) WHERE user_id IS NULL",
        };
        let sql = format!(
            "INSERT INTO oob_codes (realm_id, user_id, request_type, code_key, email, new_email, \
             expires_at, master_key_id, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT {replaced} DO UPDATE SET code_key = excluded.code_key, \
             email = excluded.email, new_email = excluded.new_email, expires_at = excluded.expires_at, \
             master_key_id = excluded.master_key_id, sealed = excluded.sealed"
        );
        let upsert = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&code.realm.0)
        .bind(code.user.as_ref().map(UserId::as_str))
        .bind(code.request.as_str())
        .bind(code.key.as_slice())
        .bind(code.email.as_str())
        .bind(code.new_email.as_ref().map(EmailAddress::as_str))
        .bind(millis(code.expires_at))
        .bind(&code.sealed.master_key_id)
        .bind(code.sealed.bytes.as_slice());
        run(&mut tx, upsert).await?;
        deliveries::queue(&mut tx, outgoing).await?;
        tx.commit().await.map_err(db_err)
    })
    .await
}

pub(crate) async fn find(conn: &mut Conn<'_>, key: &[u8]) -> StoreResult<Option<OobCode>> {
    let sql = format!("SELECT {COLUMNS} FROM oob_codes WHERE code_key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn find_of(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    request: OobRequest,
) -> StoreResult<Option<OobCode>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oob_codes WHERE realm_id = $1 AND user_id = $2 AND request_type = $3"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(request.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(from_row).transpose()
}

/// The realm's codes that have not expired at `now`.
pub(crate) async fn list(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    now: OffsetDateTime,
) -> StoreResult<Vec<OobCode>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oob_codes WHERE realm_id = $1 AND expires_at > $2 \
         ORDER BY email, request_type"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(millis(now))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

/// The statement that uses up the code keyed `key`.
pub(crate) fn used(key: &[u8]) -> Statement {
    sqlx::query("DELETE FROM oob_codes WHERE code_key = $1").bind(key.to_vec())
}
