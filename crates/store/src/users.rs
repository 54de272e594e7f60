//! User rows: inserts, keyed reads, whole-row updates, activity times, listing and the admin
//! query.

use sqlx::AssertSqlSafe;
use tessera_core::error::{Parent, StoreError};
use tessera_core::store::{
    Activity, RefreshTokenRecord, StoreResult, TextField, TextMatch, UserFilter, UserQuery,
    UserScope, UserSort,
};
use tessera_core::{AccountState, Gender, Identity, NewUser, RealmId, User, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::params::{Params, direction, in_list, joined, text_match};
use crate::rows::{USER_COLUMNS, get, millis, user_from_row};
use crate::together::{Statement, run, run_together};

/// Inserts the user's row, and its identities into the realm's index with it.
pub(crate) async fn insert(conn: &mut Conn<'_>, new: NewUser) -> StoreResult<User> {
    let user = new.into_user();
    if user.identities.is_empty() {
        run(conn, insert_row(&user)).await?;
    } else {
        let mut tx = conn.begin().await.map_err(db_err)?;
        insert_indexed(&mut tx, &user).await?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(user)
}

/// Inserts the user's row and indexes its identities, in the caller's transaction.
pub(crate) async fn insert_indexed(tx: &mut Conn<'_>, user: &User) -> StoreResult<()> {
    run(tx, insert_row(user)).await?;
    if !user.identities.is_empty() {
        run_together(tx, index_identities(user)).await?;
    }
    Ok(())
}

/// Deletes the user's row, and with it everything keyed by it, and its ZITADEL sessions; the
/// revision the row was at, `None` when there was none.
pub(crate) async fn delete(
    tx: &mut Conn<'_>,
    realm: &RealmId,
    id: &UserId,
) -> StoreResult<Option<i64>> {
    let row = sqlx::query("DELETE FROM users WHERE realm_id = $1 AND id = $2 RETURNING revision")
        .bind(&realm.0)
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query("DELETE FROM login_sessions WHERE realm_id = $1 AND user_id = $2")
        .bind(&realm.0)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    row.as_ref().map(|row| get(row, "revision")).transpose()
}

/// The statement that inserts `user`'s row.
fn insert_row(user: &User) -> Statement {
    bind_user(
        sqlx::query(
            "INSERT INTO users (realm_id, id, email, email_verified, phone_number, display_name, photo_url, \
         password_hash, password_updated_at, disabled, valid_since, custom_attributes, created_at, \
         last_login_at, last_refresh_at, username, given_name, family_name, nick_name, \
         preferred_language, gender, locked, email_link_sign_in, identities, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25)",
        ),
        user,
    )
}

/// `column` is one of our own column names, never caller input.
pub(crate) async fn find_by(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    column: &str,
    value: &str,
) -> StoreResult<Option<User>> {
    find_where(conn, realm, &format!("{column} = $2"), value).await
}

/// The realm's user whose username is `name`, whatever the case of either.
pub(crate) async fn find_by_username(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    name: &str,
) -> StoreResult<Option<User>> {
    find_where(conn, realm, &username_is("$2"), name).await
}

/// A username equal to the value of `parameter`, without regard to case. The `IS NOT NULL`
/// lets both lookups use migration 0013's partial indexes.
fn username_is(parameter: &str) -> String {
    format!("lower(username) = lower({parameter}) AND username IS NOT NULL")
}

/// The realm's user matching `condition` (our own SQL, never caller input) on `value` (`$2`).
async fn find_where(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    condition: &str,
    value: &str,
) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE realm_id = $1 AND {condition}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Writes every column of `user` back to its row, if the row is still at the revision `user`
/// was read at; it then counts one revision up. Nothing, when another write came first.
pub(crate) fn update(user: &User) -> Statement {
    bind_user(
        sqlx::query(
            "UPDATE users SET email = $3, email_verified = $4, phone_number = $5, display_name = $6, \
         photo_url = $7, password_hash = $8, password_updated_at = $9, disabled = $10, valid_since = $11, \
         custom_attributes = $12, created_at = $13, last_login_at = $14, last_refresh_at = $15, \
         username = $16, given_name = $17, family_name = $18, nick_name = $19, \
         preferred_language = $20, gender = $21, locked = $22, email_link_sign_in = $23, \
         identities = $24, revision = revision + 1 \
         WHERE realm_id = $1 AND id = $2 AND revision = $25",
        ),
        user,
    )
}

/// The statement that records when the user last did `activity` (`Store::record_activity`).
pub(crate) fn record_activity(
    realm: &RealmId,
    id: &UserId,
    activity: Activity,
    at: OffsetDateTime,
) -> Statement {
    let sql = match activity {
        Activity::SignIn => "UPDATE users SET last_login_at = $1 WHERE realm_id = $2 AND id = $3",
        Activity::Refresh => {
            "UPDATE users SET last_refresh_at = $1 WHERE realm_id = $2 AND id = $3"
        }
    };
    sqlx::query(sql)
        .bind(millis(at))
        .bind(&realm.0)
        .bind(id.as_str())
}

/// The statement of `Store::replace_password_hash`.
pub(crate) fn replace_password_hash(
    realm: &RealmId,
    id: &UserId,
    old: &str,
    new: &str,
) -> Statement {
    sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE realm_id = $2 AND id = $3 AND password_hash = $4",
    )
    .bind(new)
    .bind(&realm.0)
    .bind(id.as_str())
    .bind(old)
}

pub(crate) fn insert_refresh_token(r: &RefreshTokenRecord) -> Statement {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, realm_id, user_id, issued_at, sign_in_provider, auth_time, \
         second_factor_kind, second_factor_id, developer_claims) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.token_hash.as_slice())
    .bind(&r.realm.0)
    .bind(r.user.as_str())
    .bind(millis(r.issued_at))
    .bind(&r.sign_in_provider)
    .bind(millis(r.auth_time))
    .bind(r.second_factor.as_ref().map(|f| f.kind.as_str()))
    .bind(r.second_factor.as_ref().map(|f| f.id.as_str()))
    .bind(r.developer_claims.as_deref())
}

/// `NULL` for none, the common case.
fn identities_json(identities: &[Identity]) -> Option<String> {
    if identities.is_empty() {
        None
    } else {
        serde_json::to_string(identities).ok()
    }
}

/// The statements that make the realm's index of identities hold exactly `user`'s for them.
pub(crate) fn index_identities(user: &User) -> Vec<Statement> {
    let cleared =
        sqlx::query("DELETE FROM federated_identities WHERE realm_id = $1 AND user_id = $2")
            .bind(&user.realm.0)
            .bind(user.id.as_str());
    let inserted = user.identities.iter().map(|identity| {
        sqlx::query(
            "INSERT INTO federated_identities (realm_id, provider_id, raw_id, user_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.realm.0)
        .bind(&identity.provider_id)
        .bind(&identity.raw_id)
        .bind(user.id.as_str())
    });
    std::iter::once(cleared).chain(inserted).collect()
}

/// The realm's user with the account `raw_id` at `provider_id`.
pub(crate) async fn find_by_identity(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    provider_id: &str,
    raw_id: &str,
) -> StoreResult<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE realm_id = $1 AND id = \
         (SELECT user_id FROM federated_identities \
          WHERE realm_id = $1 AND provider_id = $2 AND raw_id = $3)"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(provider_id)
        .bind(raw_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Binds the user columns in `USER_COLUMNS` order, shared by insert and update.
fn bind_user(q: Statement, u: &User) -> Statement {
    q.bind(&u.realm.0)
        .bind(u.id.as_str())
        .bind(u.email.as_ref().map(|e| e.as_str()))
        .bind(u.email_verified)
        .bind(u.phone_number.as_deref())
        .bind(u.display_name.as_deref())
        .bind(u.photo_url.as_deref())
        .bind(u.password_hash.as_deref())
        .bind(u.password_updated_at.map(millis))
        .bind(u.disabled)
        .bind(millis(u.valid_since))
        .bind(u.custom_attributes.as_deref())
        .bind(millis(u.created_at))
        .bind(u.last_login_at.map(millis))
        .bind(u.last_refresh_at.map(millis))
        .bind(u.username.as_deref())
        .bind(u.profile.given_name.as_deref())
        .bind(u.profile.family_name.as_deref())
        .bind(u.profile.nick_name.as_deref())
        .bind(u.profile.preferred_language.as_deref())
        .bind(u.profile.gender.map(Gender::as_str))
        .bind(u.locked)
        .bind(u.email_link_sign_in)
        .bind(identities_json(&u.identities))
        .bind(u.revision)
}

pub(crate) async fn list(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    after: Option<&UserId>,
    limit: i64,
) -> StoreResult<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE realm_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(after.map(UserId::as_str).unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(user_from_row).collect()
}

/// A page of the users in `scope` that `q` matches, and how many match in all.
pub(crate) async fn query(
    conn: &mut Conn<'_>,
    scope: &UserScope,
    q: &UserQuery,
    with_users: bool,
) -> StoreResult<(i64, Vec<User>)> {
    let mut params = Params::default();
    let in_realms = match scope {
        UserScope::Realm(realm) => format!("realm_id = {}", params.text(realm.0.clone())),
        UserScope::Project(project) => format!(
            "realm_id IN (SELECT id FROM realms WHERE project_id = {})",
            params.text(project.clone())
        ),
    };
    let filter = if q.filters.is_empty() {
        String::new()
    } else {
        format!(
            " AND {}",
            joined(&q.filters, &mut params, " OR ", "1 = 0", condition)
        )
    };
    let from = format!("users WHERE {in_realms}{filter}");
    if !with_users {
        let total = params
            .count(conn, format!("SELECT COUNT(*) AS n FROM {from}"))
            .await?;
        return Ok((total, Vec::new()));
    }
    let column = match q.sort_by {
        UserSort::UserId => "id",
        UserSort::Name => "display_name",
        UserSort::CreatedAt => "created_at",
        UserSort::LastLoginAt => "last_login_at",
        UserSort::Email => "email",
        UserSort::Username => "username",
        UserSort::GivenName => "given_name",
        UserSort::FamilyName => "family_name",
        UserSort::NickName => "nick_name",
        UserSort::Disabled => "disabled",
    };
    let order = direction(!q.descending);
    let (total, rows) = params
        .page(
            conn,
            USER_COLUMNS,
            &from,
            &format!("{column} {order} NULLS LAST, id {order}"),
            (q.limit, q.offset),
        )
        .await?;
    let users = rows
        .iter()
        .map(user_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, users))
}

/// The SQL of a filter, the same on SQLite and PostgreSQL: caller values only ever go in as
/// parameters, and the text comparisons use functions both engines have (`substr`, `length`,
/// `replace`, `lower`) rather than `LIKE`, whose case rules differ between them.
fn condition(filter: &UserFilter, p: &mut Params) -> String {
    match filter {
        UserFilter::Email(e) => format!("email = {}", p.text(e.as_str().to_owned())),
        UserFilter::PhoneNumber(n) => format!("phone_number = {}", p.text(n.clone())),
        UserFilter::Text(field, how, value) => text_condition(*field, *how, p.text(value.clone())),
        UserFilter::Ids(ids) => in_list("id", ids.iter().map(|i| i.as_str().to_owned()), p),
        UserFilter::Emails(emails) => {
            in_list("lower(email)", emails.iter().map(|e| e.to_lowercase()), p)
        }
        UserFilter::Realm(realm) => format!("realm_id = {}", p.text(realm.0.clone())),
        UserFilter::State(AccountState::Active) => "(NOT disabled AND NOT locked)".to_owned(),
        UserFilter::State(AccountState::Disabled) => "disabled".to_owned(),
        UserFilter::State(AccountState::Locked) => "(locked AND NOT disabled)".to_owned(),
        UserFilter::Every(true) => "1 = 1".to_owned(),
        UserFilter::Every(false) => "1 = 0".to_owned(),
        UserFilter::And(filters) => joined(filters, p, " AND ", "1 = 1", condition),
        UserFilter::Or(filters) => joined(filters, p, " OR ", "1 = 0", condition),
        UserFilter::Not(inner) => format!("NOT ({})", condition(inner, p)),
    }
}

/// A comparison of `field` with the parameter `value`; an absent field compares as empty, so
/// that a negated query keeps the users without it.
fn text_condition(field: TextField, how: TextMatch, value: String) -> String {
    let expression = match field {
        TextField::Username => "COALESCE(username, '')",
        TextField::GivenName => "COALESCE(given_name, '')",
        TextField::FamilyName => "COALESCE(family_name, '')",
        TextField::NickName => "COALESCE(nick_name, '')",
        TextField::DisplayName => "COALESCE(display_name, '')",
        TextField::Email => "COALESCE(email, '')",
        TextField::Phone => "COALESCE(phone_number, '')",
        TextField::LoginName => "COALESCE(username, email, '')",
    };
    text_match(expression, how, &value)
}

/// Locks the user's row until the transaction ends, so that changes hanging off the user wait
/// for each other (on PostgreSQL; SQLite's one writer orders them anyway) and cannot outlive
/// its deletion; `Gone` when there is no such user.
pub(crate) async fn lock(conn: &mut Conn<'_>, realm: &RealmId, user: &UserId) -> StoreResult<()> {
    let lock = "UPDATE users SET ready_factors = ready_factors WHERE realm_id = $1 AND id = $2";
    let locked = sqlx::query(lock)
        .bind(&realm.0)
        .bind(user.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if locked.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Gone(Parent::User))
    }
}

/// The realms with a user whose `column` (`id` or `email`) is `value`.
pub(crate) async fn realms_of(
    conn: &mut Conn<'_>,
    column: &'static str,
    value: &str,
) -> StoreResult<Vec<RealmId>> {
    realms_where(conn, &format!("{column} = $1"), value).await
}

/// The realms with a user whose username is `name`, whatever the case of either.
pub(crate) async fn username_realms(conn: &mut Conn<'_>, name: &str) -> StoreResult<Vec<RealmId>> {
    realms_where(conn, &username_is("$1"), name).await
}

/// The realms with a user matching `condition` (our own SQL, never caller input) on `value`
/// (`$1`).
async fn realms_where(
    conn: &mut Conn<'_>,
    condition: &str,
    value: &str,
) -> StoreResult<Vec<RealmId>> {
    let sql = format!("SELECT realm_id FROM users WHERE {condition} ORDER BY realm_id");
    let realms: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(value)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(realms.into_iter().map(RealmId).collect())
}
