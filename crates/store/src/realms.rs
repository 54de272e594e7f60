//! Realm rows beyond lookup: configuration updates, tenant listing, deletion.

use sqlx::AssertSqlSafe;
use tessera_core::store::StoreResult;
use tessera_core::{Realm, RealmId};

use crate::conn::Conn;
use crate::rows::realm_from_row;
use crate::{REALM_COLUMNS, db_err};

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
        "UPDATE realms SET display_name = $1, mfa_config = $2, webauthn_config = $3 WHERE id = $4",
    )
    .bind(realm.display_name.as_deref())
    .bind(mfa)
    .bind(relying_party)
    .bind(&realm.id.0)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn tenants(conn: &mut Conn<'_>, project_id: &str) -> StoreResult<Vec<Realm>> {
    let sql = format!(
        "SELECT {REALM_COLUMNS} FROM realms WHERE project_id = $1 AND tenant_id <> '' ORDER BY tenant_id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(project_id)
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
