//! Pending verifications of users' email addresses and phone numbers, and invitations.
//! Attempts and single use are conditional statements, so racing nodes cannot both win.

use tessera_core::clock::from_unix_millis;
use tessera_core::contact::{ContactCode, ContactKind, InviteMail};
use tessera_core::error::StoreError;
use tessera_core::{RealmId, UserId};

use crate::conn::Conn;
use crate::db_err;
use crate::rows::{get, get_bool, millis};
use crate::together::{Statement, won};

type Key<'a> = (&'a RealmId, &'a UserId, ContactKind);

/// Starts a verification, replacing a pending one of its user and kind.
pub(crate) async fn put(conn: &mut Conn<'_>, code: &ContactCode) -> Result<(), StoreError> {
    let mail = code.invite_mail.as_ref();
    sqlx::query(
        "INSERT INTO contact_codes (realm_id, user_id, kind, value, code_hash, expires_at, \
         attempts_left, invite_mailed, link_template, app_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (realm_id, user_id, kind) DO UPDATE SET value = excluded.value, \
         code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
         attempts_left = excluded.attempts_left, invite_mailed = excluded.invite_mailed, \
         link_template = excluded.link_template, app_name = excluded.app_name",
    )
    .bind(&code.realm.0)
    .bind(code.user.as_str())
    .bind(code.kind.as_str())
    .bind(&code.value)
    .bind(&code.code_hash)
    .bind(millis(code.expires_at))
    .bind(code.attempts_left)
    .bind(mail.is_some())
    .bind(mail.and_then(|m| m.link_template.as_deref()))
    .bind(mail.and_then(|m| m.app_name.as_deref()))
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn<'_>,
    (realm, user, kind): Key<'_>,
) -> Result<Option<ContactCode>, StoreError> {
    let row = sqlx::query(
        "SELECT value, code_hash, expires_at, attempts_left, invite_mailed, link_template, \
         app_name FROM contact_codes WHERE realm_id = $1 AND user_id = $2 AND kind = $3",
    )
    .bind(&realm.0)
    .bind(user.as_str())
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mail = || -> Result<_, StoreError> {
        Ok(InviteMail {
            link_template: get(&row, "link_template")?,
            app_name: get(&row, "app_name")?,
        })
    };
    Ok(Some(ContactCode {
        realm: realm.clone(),
        user: user.clone(),
        kind,
        value: get(&row, "value")?,
        code_hash: get(&row, "code_hash")?,
        expires_at: from_unix_millis(get(&row, "expires_at")?),
        attempts_left: get(&row, "attempts_left")?,
        invite_mail: get_bool(&row, "invite_mailed")?.then(mail).transpose()?,
    }))
}

/// `sql` with the contact code's key bound as `$1`..`$3`.
fn keyed(sql: &'static str, (realm, user, kind): Key<'_>) -> Statement {
    sqlx::query(sql)
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(kind.as_str())
}

pub async fn spend_attempt(conn: &mut Conn<'_>, key: Key<'_>) -> Result<bool, StoreError> {
    let sql = "UPDATE contact_codes SET attempts_left = attempts_left - 1 \
               WHERE realm_id = $1 AND user_id = $2 AND kind = $3 AND attempts_left > 0";
    won(conn, keyed(sql, key)).await
}

/// The statement that drops a pending verification, whatever its code.
pub(crate) fn take(key: Key<'_>) -> Statement {
    let sql = "DELETE FROM contact_codes WHERE realm_id = $1 AND user_id = $2 AND kind = $3";
    keyed(sql, key)
}

/// The code the caller proved, if nothing replaced or used it up since it was read.
pub async fn use_code(conn: &mut Conn<'_>, code: &ContactCode) -> Result<bool, StoreError> {
    let sql = "DELETE FROM contact_codes WHERE realm_id = $1 AND user_id = $2 AND kind = $3 \
               AND code_hash = $4 AND attempts_left > 0";
    let key = (&code.realm, &code.user, code.kind);
    won(conn, keyed(sql, key).bind(&code.code_hash)).await
}
