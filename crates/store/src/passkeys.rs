//! Passkey rows. A registration and every sign-in change a passkey only if its credential is
//! still the one read (compare-and-set): of two sign-ins racing with one key, one moves the
//! sign counter and the other finds it moved, as security keys do (`factors.rs`).

use sqlx::any::AnyRow;
use tessera_core::store::{Event, StoreResult};
use tessera_core::{FactorId, FactorKey, FactorState, Passkey, PasskeyCode, RealmId, UserId};
use time::OffsetDateTime;

use crate::challenges::insert_event;
use crate::conn::Conn;
use crate::db_err;
use crate::rows::{corrupt, get, get_opt_time, millis};
use crate::together::{self, Statement, run_together, won};

const COLUMNS: &str = "realm_id, user_id, id, state, name, credential, created_at";

fn from_row(row: &AnyRow) -> StoreResult<Passkey> {
    Ok(Passkey {
        realm: RealmId(get(row, "realm_id")?),
        user: UserId::parse(&get::<String>(row, "user_id")?).ok_or_else(|| corrupt("user id"))?,
        id: FactorId::parse(&get::<String>(row, "id")?).ok_or_else(|| corrupt("passkey id"))?,
        state: FactorState::parse(&get::<String>(row, "state")?)
            .ok_or_else(|| corrupt("passkey state"))?,
        name: get(row, "name")?,
        credential: get(row, "credential")?,
        created_at: get_opt_time(row, "created_at")?.ok_or_else(|| corrupt("created_at"))?,
    })
}

/// Inserts a passkey whose registration has begun, with its event.
pub(crate) async fn insert(
    conn: &mut Conn<'_>,
    passkey: &Passkey,
    event: &Event,
) -> StoreResult<()> {
    let insert = sqlx::query(
        "INSERT INTO passkeys (realm_id, user_id, id, state, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&passkey.realm.0)
    .bind(passkey.user.as_str())
    .bind(passkey.id.as_str())
    .bind(passkey.state.as_str())
    .bind(passkey.name.as_deref())
    .bind(passkey.credential.as_str())
    .bind(millis(passkey.created_at));
    run_together(conn, vec![insert, insert_event(event)]).await
}

/// The user's passkeys, open registrations too, oldest first.
pub(crate) async fn list(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
) -> StoreResult<Vec<Passkey>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys WHERE realm_id = $1 AND user_id = $2 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

fn for_key(sql: &'static str, key: &FactorKey) -> Statement {
    sqlx::query(sql)
        .bind(&key.realm.0)
        .bind(key.user.as_str())
        .bind(key.id.as_str())
}

/// Writes `passkey`'s state, name and credential if its stored credential is still
/// `old`, with `event` in the same transaction; `false` (nothing written) when it is not.
pub(crate) async fn update(
    conn: &mut Conn<'_>,
    passkey: &Passkey,
    old: &str,
    event: Option<&Event>,
) -> StoreResult<bool> {
    let sql = "UPDATE passkeys SET state = $4, name = $5, credential = $6 \
               WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND credential = $7";
    let update = for_key(sql, &passkey.key())
        .bind(passkey.state.as_str())
        .bind(passkey.name.as_deref())
        .bind(passkey.credential.as_str())
        .bind(old);
    match event {
        Some(event) => won_with_event(conn, update, event).await,
        None => won(conn, update).await,
    }
}

/// Deletes a passkey, with its event; `false` (nothing written) when there is none.
pub(crate) async fn remove(
    conn: &mut Conn<'_>,
    key: &FactorKey,
    event: &Event,
) -> StoreResult<bool> {
    let sql = "DELETE FROM passkeys WHERE realm_id = $1 AND user_id = $2 AND id = $3";
    won_with_event(conn, for_key(sql, key), event).await
}

/// `change` (of one row) and, when it won, `event`, in one transaction.
async fn won_with_event(
    conn: &mut Conn<'_>,
    change: Statement,
    event: &Event,
) -> StoreResult<bool> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    if !won(&mut tx, change).await? {
        return Ok(false);
    }
    together::run(&mut tx, insert_event(event)).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Stores a registration code, with its event.
pub(crate) async fn insert_code(
    conn: &mut Conn<'_>,
    code: &PasskeyCode,
    event: &Event,
) -> StoreResult<()> {
    let insert = sqlx::query(
        "INSERT INTO passkey_codes (realm_id, user_id, id, code_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&code.realm.0)
    .bind(code.user.as_str())
    .bind(code.id.clone())
    .bind(code.hash.clone())
    .bind(millis(code.expires_at));
    run_together(conn, vec![insert, insert_event(event)]).await
}

/// `verb` applied to the registration code `id` if its hash is `hash` and it is live at `now`.
fn live_code(
    verb: &'static str,
    (realm, user): (&RealmId, &UserId),
    id: &str,
    hash: &[u8],
    now: OffsetDateTime,
) -> Statement {
    let sql = format!(
        "{verb} FROM passkey_codes WHERE realm_id = $1 AND user_id = $2 AND id = $3 \
         AND code_hash = $4 AND expires_at > $5"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(id.to_owned())
        .bind(hash.to_vec())
        .bind(millis(now))
}

/// Deletes the registration code `id` if its hash is `hash` and it is live at `now`; `true`
/// for the one caller that found it.
pub(crate) async fn use_code(
    conn: &mut Conn<'_>,
    user: (&RealmId, &UserId),
    id: &str,
    hash: &[u8],
    now: OffsetDateTime,
) -> StoreResult<bool> {
    won(conn, live_code("DELETE", user, id, hash, now)).await
}

/// Whether the registration code `id` has hash `hash` and is live at `now`.
pub(crate) async fn code_live(
    conn: &mut Conn<'_>,
    user: (&RealmId, &UserId),
    id: &str,
    hash: &[u8],
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let found = live_code("SELECT 1", user, id, hash, now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}
