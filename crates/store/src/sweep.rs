//! The periodic sweep's deletes, a chunk per transaction: on SQLite a sweep holds the one
//! writer that every request's write waits for, so a backlog (a day of codes, a month of
//! messages) is deleted a chunk at a time, each found through an index, never in one long
//! transaction.

use tessera_core::store::StoreResult;
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::rows::millis;

/// One kind of row to delete: a `DELETE` of at most `$2` rows dated before `$1`, and that date.
pub(crate) type Delete = (&'static str, OffsetDateTime);

/// Runs each delete with `limit`, all in one transaction; `true` when any deleted `limit`
/// rows, so there may be more.
pub(crate) async fn delete_chunk(
    conn: &mut Conn<'_>,
    deletes: &[Delete],
    limit: i64,
) -> StoreResult<bool> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    let mut more = false;
    for (sql, before) in deletes {
        let done = sqlx::query(*sql)
            .bind(millis(*before))
            .bind(limit)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        more |= i64::try_from(done.rows_affected()).unwrap_or(i64::MAX) >= limit;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(more)
}
