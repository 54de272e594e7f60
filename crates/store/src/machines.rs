//! Machine users and their personal access tokens (kept as SHA-256 only).

use tessera_core::error::StoreError;
use tessera_core::{MachineUser, RealmId, Role, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::rows::{corrupt, millis};
use tessera_core::clock::from_unix_millis;

type Row = (String, String, String, String, i64);

const COLUMNS: &str = "m.id, m.realm_id, m.username, m.role, m.created_at";

fn machine_from_row(
    (id, realm, username, role, created_at): Row,
) -> Result<MachineUser, StoreError> {
    Ok(MachineUser {
        id: UserId::parse(&id).ok_or_else(|| corrupt("machine user id"))?,
        realm: RealmId(realm),
        username,
        role: Role::parse(&role).ok_or_else(|| corrupt("machine user role"))?,
        created_at: from_unix_millis(created_at),
    })
}

pub async fn insert(conn: &mut Conn<'_>, user: &MachineUser) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO machine_users (id, realm_id, username, role, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.id.as_str())
    .bind(&user.realm.0)
    .bind(&user.username)
    .bind(user.role.as_str())
    .bind(millis(user.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn get(conn: &mut Conn<'_>, id: &UserId) -> Result<Option<MachineUser>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM machine_users m WHERE m.id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.map(machine_from_row).transpose()
}

pub async fn find(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    username: &str,
) -> Result<Option<MachineUser>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM machine_users m WHERE m.realm_id = $1 AND m.username = $2");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(username)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.map(machine_from_row).transpose()
}

pub async fn insert_pat(
    conn: &mut Conn<'_>,
    token_hash: &[u8],
    owner: &MachineUser,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pats (token_hash, realm_id, principal, machine_user_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(&owner.realm.0)
    .bind(&owner.username)
    .bind(owner.id.as_str())
    .bind(millis(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn find_pat(
    conn: &mut Conn<'_>,
    token_hash: &[u8],
) -> Result<Option<MachineUser>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pats p JOIN machine_users m ON m.id = p.machine_user_id WHERE p.token_hash = $1"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.map(machine_from_row).transpose()
}
