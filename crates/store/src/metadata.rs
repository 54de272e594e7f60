//! Metadata entries of users and organizations: set by upsert, removed all-or-none, searched
//! by key. A user's live in `user_metadata`, an organization's (its realm's) in `org_metadata`.

use sqlx::any::AnyRow;
use tessera_core::error::StoreError;
use tessera_core::metadata::{Metadata, MetadataOwner};
use tessera_core::store::{MetadataQuery, StoreResult};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::params::{Params, direction, in_list, text_match};
use crate::rows::{get, get_opt_time, get_time, millis};
use crate::users;

/// The owner's table, and the columns that name the owner there with their values.
fn place(owner: MetadataOwner<'_>) -> (&'static str, Vec<(&'static str, String)>) {
    match owner {
        MetadataOwner::User(realm, user) => (
            "user_metadata",
            vec![
                ("realm_id", realm.0.clone()),
                ("user_id", user.as_str().to_owned()),
            ],
        ),
        MetadataOwner::Org(realm) => ("org_metadata", vec![("realm_id", realm.0.clone())]),
    }
}

/// The owner's table, and the condition that selects its rows, with `p`'s values.
fn rows_of(owner: MetadataOwner<'_>, p: &mut Params) -> (&'static str, String) {
    let (table, columns) = place(owner);
    let condition: Vec<String> = columns
        .into_iter()
        .map(|(column, value)| format!("{column} = {}", p.text(value)))
        .collect();
    (table, condition.join(" AND "))
}

/// Sets every entry in one transaction, and answers their latest change time (earlier than
/// `at` when no value changed). A user's row is locked first, so that a user deleted meanwhile
/// leaves no entries behind (`Gone`); an organization's entries go with its realm.
pub async fn set(
    conn: &mut Conn<'_>,
    owner: MetadataOwner<'_>,
    entries: &[(String, Vec<u8>)],
    at: OffsetDateTime,
) -> StoreResult<OffsetDateTime> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    if let MetadataOwner::User(realm, user) = owner {
        users::lock(&mut tx, realm, user).await?;
    }
    upsert(&mut tx, owner, entries, at).await?;
    let mut p = Params::default();
    let (table, of_owner) = rows_of(owner, &mut p);
    let keys = in_list("key", entries.iter().map(|(key, _)| key.clone()), &mut p);
    let latest = p
        .bound(format!(
            "SELECT MAX(changed_at) AS latest FROM {table} WHERE {of_owner} AND {keys}"
        ))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let latest = get_opt_time(&latest, "latest")?.unwrap_or(at);
    tx.commit().await.map_err(db_err)?;
    Ok(latest)
}

/// Inserts or replaces the entries, in the caller's transaction; an unchanged value keeps its
/// change time.
pub(crate) async fn upsert(
    conn: &mut Conn<'_>,
    owner: MetadataOwner<'_>,
    entries: &[(String, Vec<u8>)],
    at: OffsetDateTime,
) -> StoreResult<()> {
    let (table, columns) = place(owner);
    let owner_columns: Vec<&str> = columns.iter().map(|(column, _)| *column).collect();
    let owner_columns = owner_columns.join(", ");
    let n = columns.len();
    let owner_placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({owner_columns}, key, value, created_at, changed_at) \
         VALUES ({}, ${}, ${}, ${}, ${}) \
         ON CONFLICT ({owner_columns}, key) DO UPDATE SET value = excluded.value, \
         changed_at = excluded.changed_at WHERE {table}.value <> excluded.value",
        owner_placeholders.join(", "),
        n + 1,
        n + 2,
        n + 3,
        n + 3
    );
    for (key, value) in entries {
        let query = columns.iter().fold(
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
            |q, (_, v)| q.bind(v.as_str()),
        );
        query
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
    owner: MetadataOwner<'_>,
    keys: &[String],
) -> StoreResult<bool> {
    let mut distinct = keys.to_vec();
    distinct.sort();
    distinct.dedup();
    let mut p = Params::default();
    let (table, of_owner) = rows_of(owner, &mut p);
    let listed = in_list("key", distinct.iter().cloned(), &mut p);
    let mut tx = conn.begin().await.map_err(db_err)?;
    let done = p
        .bound(format!("DELETE FROM {table} WHERE {of_owner} AND {listed}"))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if usize::try_from(done.rows_affected()).ok() != Some(distinct.len()) {
        return Ok(false);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// A page of the owner's entries that `q` finds, oldest first unless descending, and how many
/// it finds in all.
pub async fn query(
    conn: &mut Conn<'_>,
    owner: MetadataOwner<'_>,
    q: &MetadataQuery,
) -> StoreResult<(i64, Vec<Metadata>)> {
    let mut p = Params::default();
    let (table, mut matching) = rows_of(owner, &mut p);
    for (how, key) in &q.keys {
        let value = p.text(key.clone());
        matching = format!("{matching} AND {}", text_match("key", *how, &value));
    }
    let order = direction(q.ascending);
    let (total, rows) = p
        .page(
            conn,
            "key, value, created_at, changed_at",
            &format!("{table} WHERE {matching}"),
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
