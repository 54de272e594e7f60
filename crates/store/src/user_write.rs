//! A write of one user's row and what goes with it: a new user's metadata, factors added or
//! removed, verifications of
//! an address or number started or dropped, out-of-band codes used, ended or issued, and the
//! messages that carry their codes, in one transaction (`Store::write_user`).

use tessera_core::metadata::MetadataOwner;
use tessera_core::store::{StoreResult, UserRow, UserWrite};

use crate::challenges::insert_event;
use crate::conn::Conn;
use crate::together::{run, run_together, won};
use crate::{contacts, db_err, deliveries, factors, metadata, oob_codes, users};

/// Writes `write` in a transaction of its own, once its messages' limits are charged: the
/// user's row first, then their factors (the order every write that takes both locks them in
/// on PostgreSQL), then the codes, the messages and the events. `Ok(false)` when the row to
/// change is gone or has moved on from the revision read, or the code the write uses is gone.
pub(crate) async fn write(conn: &mut Conn<'_>, write: &UserWrite) -> StoreResult<bool> {
    deliveries::limited(conn, &write.outgoing, async |conn| {
        let mut tx = conn.begin().await.map_err(db_err)?;
        if let Some(row) = &write.row {
            let used_code = async |tx: &mut Conn<'_>| match &write.used_oob {
                Some(key) => won(tx, oob_codes::used(key)).await,
                None => Ok(true),
            };
            // A new user's code goes first: of requests racing with one sign-in link, the
            // losers find the code used, not the address taken by the winner's user.
            let user = match row {
                UserRow::New(user) => {
                    if !used_code(&mut tx).await? {
                        return Ok(false);
                    }
                    users::insert_indexed(&mut tx, user).await?;
                    let owner = MetadataOwner::User(&user.realm, &user.id);
                    metadata::upsert(&mut tx, owner, &write.metadata, user.created_at).await?;
                    user
                }
                UserRow::Changed(user) => {
                    if !won(&mut tx, users::update(user)).await? || !used_code(&mut tx).await? {
                        return Ok(false);
                    }
                    if write.identities_changed {
                        run_together(&mut tx, users::index_identities(user)).await?;
                    }
                    user
                }
            };
            let (realm, id) = (&user.realm, &user.id);
            let mut events = Vec::new();
            for (factor, event) in &write.added {
                run(&mut tx, factors::insert(factor)).await?;
                events.push(insert_event(event));
            }
            for (factor, event) in &write.removed {
                if won(&mut tx, factors::mark_removed(realm, id, factor)).await? {
                    events.push(insert_event(event));
                }
            }
            if !events.is_empty() {
                factors::recount(&mut tx, realm, id).await?;
            }
            run_together(&mut tx, events).await?;
            for &kind in &write.dropped {
                run(&mut tx, contacts::take((realm, id, kind))).await?;
            }
            if let Some(request) = write.ended_oob {
                run(&mut tx, oob_codes::ended(realm, id, request)).await?;
            }
        }
        if let Some(code) = &write.issued_oob {
            run(&mut tx, oob_codes::upsert(code)).await?;
        }
        for code in &write.codes {
            contacts::put(&mut tx, code).await?;
        }
        deliveries::queue(&mut tx, &write.outgoing).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    })
    .await
}
