//! Users' metadata entries: set by upsert, removed all-or-none, searched by key.

use sqlx::any::AnyRow;
use tessera_core::error::StoreError;
use tessera_core::metadata::Metadata;
use tessera_core::store::{MetadataQuery, StoreResult};
use tessera_core::{RealmId, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::params::{Params, direction, in_list, text_match};
use crate::rows::{get, get_time, millis};
use crate::users;

type Owner<'a> = (&'a RealmId, &'a UserId);

/// Sets every entry in one transaction, after locking the user's row, so that a user deleted
/// meanwhile leaves no entries behind (`Gone`). An unchanged value keeps its change time.
pub async fn set(
    conn: &mut Conn<'_>,
    (realm, user): Owner<'_>,
    entries: &[(String, Vec<u8>)],
    at: OffsetDateTime,
) -> StoreResult<()> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    users::lock(&mut tx, realm, user).await?;
    upsert(&mut tx, (realm, user), entries, at).await?;
    tx.commit().await.map_err(db_err)
}

/// Inserts or replaces the entries, in the caller's transaction; an unchanged value keeps its
/// change time.
pub(crate) async fn upsert(
    conn: &mut Conn<'_>,
    (realm, user): Owner<'_>,
    entries: &[(String, Vec<u8>)],
    at: OffsetDateTime,
) -> StoreResult<()> {
    for (key, value) in entries {
        sqlx::query(
            "INSERT INTO user_metadata (realm_id, user_id, key, value, created_at, changed_at) \
             VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (realm_id, user_id, key) DO UPDATE SET value = excluded.value, \
             changed_at = excluded.changed_at WHERE user_metadata.value <> excluded.value",
        )
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(key.as_str())
        .bind(value.as_slice())
        .bind(millis(at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Deletes the entries of `keys` if every one of them is set; else nothing.
pub async fn remove(
    conn: &mut Conn<'_>,
    (realm, user): Owner<'_>,
    keys: &[String],
) -> StoreResult<bool> {
    let mut distinct = keys.to_vec();
    distinct.sort();
    distinct.dedup();
    let mut p = Params::default();
    let owner = format!(
        "realm_id = {} AND user_id = {}",
        p.text(realm.0.clone()),
        p.text(user.as_str().to_owned())
    );
    let listed = in_list("key", distinct.iter().cloned(), &mut p);
    let mut tx = conn.begin().await.map_err(db_err)?;
    let done = p
        .bound(format!(
            "DELETE FROM user_metadata WHERE {owner} AND {listed}"
        ))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if usize::try_from(done.rows_affected()).ok() != Some(distinct.len()) {
        return Ok(false);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// A page of the user's entries that `q` finds, oldest first unless descending, and how many
/// it finds in all.
pub async fn query(
    conn: &mut Conn<'_>,
    (realm, user): Owner<'_>,
    q: &MetadataQuery,
) -> StoreResult<(i64, Vec<Metadata>)> {
    let mut p = Params::default();
    let mut matching = format!(
        "realm_id = {} AND user_id = {}",
        p.text(realm.0.clone()),
        p.text(user.as_str().to_owned())
    );
    for (how, key) in &q.keys {
        let value = p.text(key.clone());
        matching = format!("{matching} AND {}", text_match("key", *how, &value));
    }
    let order = direction(q.ascending);
    let (total, rows) = p
        .page(
            conn,
            "key, value, created_at, changed_at",
            &format!("user_metadata WHERE {matching}"),
            &format!("created_at {order}, key {order}"),
            (q.limit, q.offset),
        )
        .await?;
    let entries = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((total, entries))
}

fn from_row(row: &AnyRow) -> Result<Metadata, StoreError> {
    Ok(Metadata {
        key: get(row, "key")?,
        value: get(row, "value")?,
        created_at: get_time(row, "created_at")?,
        changed_at: get_time(row, "changed_at")?,
    })
}
