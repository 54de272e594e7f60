//! Identity Toolkit's out-of-band codes (`tessera_core::oob`): one per user and purpose (a
//! sign-in link, one per address; a recovery link, one per user and address), found by the
//! code's key, and used once, by the user write that makes the change it allows
//! (`UserWrite::used_oob`, `user_write.rs`), which also issues a recovery link
//! (`UserWrite::issued_oob`).

use sqlx::any::AnyRow;
use tessera_core::factor::Sealed;
use tessera_core::oob::{OobCode, OobRequest};
use tessera_core::store::{Outgoing, StoreResult};
use tessera_core::{EmailAddress, FactorId, RealmId, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::rows::{corrupt, get, get_time, millis};
use crate::together::{Statement, run};
use crate::{db_err, deliveries};

const COLUMNS: &str = "realm_id, user_id, request_type, code_key, email, new_email, factor_id, expires_at, \
     master_key_id, sealed";

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
        factor: get::<Option<String>>(row, "factor_id")?
            .map(|raw| FactorId::parse(&raw).ok_or_else(|| corrupt("factor id")))
            .transpose()?,
        expires_at: get_time(row, "expires_at")?,
        sealed: Sealed {
            master_key_id: get(row, "master_key_id")?,
            bytes: get(row, "sealed")?,
        },
    })
}

/// Stores `code` with the message that carries it, once the message's limits are charged.
pub(crate) async fn put(
    conn: &mut Conn<'_>,
    code: &OobCode,
    outgoing: &[Outgoing],
) -> StoreResult<()> {
    deliveries::limited(conn, outgoing, async |conn| {
        let mut tx = conn.begin().await.map_err(db_err)?;
        run(&mut tx, upsert(code)).await?;
        deliveries::queue(&mut tx, outgoing).await?;
        tx.commit().await.map_err(db_err)
    })
    .await
}

/// The statement that stores `code`, replacing the user's earlier one of its purpose (a
/// sign-in link, the address's; a recovery link, the user's for the same address; a link
/// that removes a factor, the factor's).
pub(crate) fn upsert(code: &OobCode) -> Statement {
    let replaced = match (&code.user, code.request) {
        (Some(_), OobRequest::RecoverEmail) => {
            "(realm_id, user_id, email) WHERE request_type = 'RECOVER_EMAIL'"
        }
        (Some(_), OobRequest::RevertSecondFactorAddition) => {
            "(realm_id, user_id, factor_id) WHERE request_type = 'REVERT_SECOND_FACTOR_ADDITION'"
        }
        (Some(_), _) => {
            "(realm_id, user_id, request_type) \
             WHERE request_type NOT IN ('RECOVER_EMAIL', 'REVERT_SECOND_FACTOR_ADDITION')"
        }
        (None, _) => "(realm_id, email, request_type) WHERE user_id IS NULL",
    };
    let sql = format!(
        "INSERT INTO oob_codes (realm_id, user_id, request_type, code_key, email, new_email, \
         factor_id, expires_at, master_key_id, sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT {replaced} DO UPDATE SET code_key = excluded.code_key, \
         email = excluded.email, new_email = excluded.new_email, expires_at = excluded.expires_at, \
         master_key_id = excluded.master_key_id, sealed = excluded.sealed"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code.realm.0.clone())
        .bind(code.user.as_ref().map(|user| user.as_str().to_owned()))
        .bind(code.request.as_str())
        .bind(code.key.clone())
        .bind(code.email.as_str().to_owned())
        .bind(
            code.new_email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
        )
        .bind(code.factor.as_ref().map(|id| id.as_str().to_owned()))
        .bind(millis(code.expires_at))
        .bind(code.sealed.master_key_id.clone())
        .bind(code.sealed.bytes.clone())
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

/// The statement that ends the user's codes of purpose `request`.
pub(crate) fn ended(realm: &RealmId, user: &UserId, request: OobRequest) -> Statement {
    sqlx::query("DELETE FROM oob_codes WHERE realm_id = $1 AND user_id = $2 AND request_type = $3")
        .bind(realm.0.clone())
        .bind(user.as_str().to_owned())
        .bind(request.as_str())
}
