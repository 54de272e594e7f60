//! Realm rows beyond lookup: creation, configuration updates, tenant listing, deletion.

use sqlx::AssertSqlSafe;
use tessera_core::store::StoreResult;
use tessera_core::{Realm, RealmId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::rows::{millis, realm_from_row};
use crate::{REALM_COLUMNS, db_err};

/// Inserts the project (no tenant) or tenant's realm unless one of that id exists; whether it
/// did.
pub(crate) async fn insert(
    conn: &mut Conn<'_>,
    project_id: &str,
    tenant_id: Option<&str>,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let id = match tenant_id {
        Some(t) => format!("{project_id}/{t}"),
        None => project_id.to_owned(),
    };
    let done = sqlx::query(
        "INSERT INTO realms (id, project_id, tenant_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(project_id)
    .bind(tenant_id.unwrap_or_default())
    .bind(millis(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// The project (no tenant) or tenant's realm.
pub(crate) async fn find(
    conn: &mut Conn<'_>,
    project_id: &str,
    tenant_id: Option<&str>,
) -> StoreResult<Option<Realm>> {
    let sql =
        format!("SELECT {REALM_COLUMNS} FROM realms WHERE project_id = $1 AND tenant_id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(project_id)
        .bind(tenant_id.unwrap_or_default())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(realm_from_row).transpose()
}

pub(crate) async fn update(conn: &mut Conn<'_>, realm: &Realm) -> StoreResult<bool> {
    let mfa = serde_json::to_string(&realm.mfa)
        .map_err(|e| tessera_core::StoreError::Internal(e.to_string()))?;
    let relying_party = realm
        .relying_party
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| tessera_core::StoreError::Internal(e.to_string()))?;
    let done = sqlx::query(
        "UPDATE realms SET display_name = $1, mfa_config = $2, webauthn_config = $3, \
         improved_email_privacy = $4, phone_sign_in = $5 WHERE id = $6",
    )
    .bind(realm.display_name.as_deref())
    .bind(mfa)
    .bind(relying_party)
    .bind(realm.improved_email_privacy)
    .bind(realm.phone_sign_in)
    .bind(&realm.id.0)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// A project's own realm has the tenant id `""`, which no `after` lets through.
pub(crate) async fn tenants(
    conn: &mut Conn<'_>,
    project_id: &str,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<Realm>> {
    let sql = format!(
        "SELECT {REALM_COLUMNS} FROM realms WHERE project_id = $1 AND tenant_id > $2 \
         ORDER BY tenant_id LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(project_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(realm_from_row).collect()
}

/// Users, and through them factors, challenges and sessions, go with the realm (cascade).
pub(crate) async fn delete(conn: &mut Conn<'_>, id: &RealmId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM realms WHERE id = $1")
        .bind(&id.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}
