//! Values sealed under a master key, seen by kind for key rotation: how many records each
//! key seals, the next batch not yet under the new key, and the conditional re-seal.
//!
//! A re-seal replaces a value only while its record still names the key it was read under,
//! so a rotation racing a node that changes the same record cannot overwrite the newer value,
//! and running a rotation twice changes nothing the second time.

use data_encoding::HEXLOWER;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};
use tessera_core::factor::Sealed;
use tessera_core::store::{KeyUsage, SealedKind, SealedRecord, StoreResult};

use crate::conn::Conn;
use crate::db_err;
use crate::rows::{corrupt, get};

/// Where a kind of sealed value lives: table, key columns and sealed-bytes column. Each of
/// these tables names the key in `master_key_id`. A factor's id is its user's own, so its key
/// is three columns; an out-of-band code's is its hash, bytes.
fn place(kind: SealedKind) -> (&'static str, &'static [&'static str], &'static str) {
    match kind {
        SealedKind::TotpSecret => ("factors", &["realm_id", "user_id", "id"], "secret_sealed"),
        SealedKind::SigningKey => ("signing_keys", &["kid"], "sealed_private_key"),
        SealedKind::DeliveryContent => ("deliveries", &["id"], "sealed_content"),
        SealedKind::OobCode => ("oob_codes", &["code_key"], "sealed"),
    }
}

/// Key columns that hold bytes; a record's key gives them in hex, since keys are text.
const BYTE_KEYS: [&str; 1] = ["code_key"];

/// A key column of `row`, as a record's key names it.
fn key_part(row: &AnyRow, column: &str) -> StoreResult<String> {
    if BYTE_KEYS.contains(&column) {
        get::<Vec<u8>>(row, column).map(|bytes| HEXLOWER.encode(&bytes))
    } else {
        get(row, column)
    }
}

/// `query` with a record's key part for `column` bound.
fn bind_key_part<'q>(
    query: Query<'q, Any, AnyArguments>,
    column: &str,
    value: &'q str,
) -> StoreResult<Query<'q, Any, AnyArguments>> {
    if BYTE_KEYS.contains(&column) {
        let bytes = HEXLOWER
            .decode(value.as_bytes())
            .map_err(|_| corrupt("sealed record key"))?;
        Ok(query.bind(bytes))
    } else {
        Ok(query.bind(value))
    }
}

pub(crate) async fn usage(conn: &mut Conn<'_>) -> StoreResult<Vec<KeyUsage>> {
    let mut usage = Vec::new();
    for kind in SealedKind::ALL {
        let (table, _, column) = place(kind);
        let sql = format!(
            "SELECT master_key_id, COUNT(*) FROM {table} WHERE {column} IS NOT NULL \
             GROUP BY master_key_id ORDER BY master_key_id"
        );
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        usage.extend(rows.into_iter().map(|(key, records)| KeyUsage {
            kind,
            master_key_id: key.unwrap_or_default(),
            records,
        }));
    }
    Ok(usage)
}

pub(crate) async fn not_under(
    conn: &mut Conn<'_>,
    kind: SealedKind,
    key_id: &str,
    limit: i64,
) -> StoreResult<Vec<SealedRecord>> {
    let (table, key_columns, column) = place(kind);
    let key = key_columns.join(", ");
    let sql = format!(
        "SELECT {key}, master_key_id, {column} FROM {table} \
         WHERE {column} IS NOT NULL AND (master_key_id IS NULL OR master_key_id <> $1) \
         ORDER BY {key} LIMIT $2"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(key_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(SealedRecord {
                key: key_columns
                    .iter()
                    .map(|c| key_part(row, c))
                    .collect::<StoreResult<_>>()?,
                sealed: Sealed {
                    master_key_id: get::<Option<String>>(row, "master_key_id")?.unwrap_or_default(),
                    bytes: get(row, column)?,
                },
            })
        })
        .collect()
}

pub(crate) async fn reseal(
    conn: &mut Conn<'_>,
    kind: SealedKind,
    changes: &[(SealedRecord, Sealed)],
) -> StoreResult<u64> {
    let (table, key, column) = place(kind);
    let at_key: String = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${} AND ", i + 3))
        .collect();
    let sql = format!(
        "UPDATE {table} SET {column} = $1, master_key_id = $2 \
         WHERE {at_key}master_key_id = ${}",
        key.len() + 3
    );
    let mut tx = conn.begin().await.map_err(db_err)?;
    let mut changed = 0;
    for (was, now) in changes {
        let mut update = sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(now.bytes.as_slice())
            .bind(&now.master_key_id);
        for (column, value) in key.iter().zip(&was.key) {
            update = bind_key_part(update, column, value)?;
        }
        changed += update
            .bind(&was.sealed.master_key_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    tx.commit().await.map_err(db_err)?;
    Ok(changed)
}
