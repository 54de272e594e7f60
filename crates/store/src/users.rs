//! User rows: inserts, keyed reads, whole-row updates, listing and the admin query.

use sqlx::AssertSqlSafe;
use tessera_core::error::StoreError;
use tessera_core::store::{RefreshTokenRecord, StoreResult, UserFilter, UserQuery, UserSort};
use tessera_core::{Gender, NewUser, RealmId, User, UserId};

use crate::conn::Conn;
use crate::db_err;
use crate::rows::{USER_COLUMNS, millis, user_from_row};
use crate::together::Statement;

pub(crate) async fn insert(conn: &mut Conn<'_>, new: NewUser) -> StoreResult<User> {
    let user = new.into_user();
    bind_user(sqlx::query(
        "INSERT INTO users (realm_id, id, email, email_verified, phone_number, display_name, photo_url, \
         password_hash, password_updated_at, disabled, valid_since, custom_attributes, created_at, \
         last_login_at, last_refresh_at, username, given_name, family_name, nick_name, \
         preferred_language, gender) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21)",
    ), &user)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(user)
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

/// Writes every column of `user` back to its row.
pub(crate) fn update(user: &User) -> Statement {
    bind_user(
        sqlx::query(
            "UPDATE users SET email = $3, email_verified = $4, phone_number = $5, display_name = $6, \
         photo_url = $7, password_hash = $8, password_updated_at = $9, disabled = $10, valid_since = $11, \
         custom_attributes = $12, created_at = $13, last_login_at = $14, last_refresh_at = $15, \
         username = $16, given_name = $17, family_name = $18, nick_name = $19, \
         preferred_language = $20, gender = $21 WHERE realm_id = $1 AND id = $2",
        ),
        user,
    )
}

pub(crate) fn insert_refresh_token(r: &RefreshTokenRecord) -> Statement {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, realm_id, user_id, issued_at, sign_in_provider, auth_time, \
         second_factor_kind, second_factor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.token_hash.as_slice())
    .bind(&r.realm.0)
    .bind(r.user.as_str())
    .bind(millis(r.issued_at))
    .bind(&r.sign_in_provider)
    .bind(millis(r.auth_time))
    .bind(r.second_factor.as_ref().map(|f| f.kind.as_str()))
    .bind(r.second_factor.as_ref().map(|f| f.id.as_str()))
}

/// Binds the sixteen user columns in `USER_COLUMNS` order, shared by insert and update.
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

pub(crate) async fn query(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    q: &UserQuery,
    with_users: bool,
) -> StoreResult<(i64, Vec<User>)> {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    for filter in &q.filters {
        let (column, value) = match filter {
            UserFilter::Id(id) => ("id", id.as_str().to_owned()),
            UserFilter::Email(e) => ("email", e.as_str().to_owned()),
            UserFilter::PhoneNumber(p) => ("phone_number", p.clone()),
        };
        values.push(value);
        conditions.push(format!("{column} = ${}", values.len() + 1));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" AND ({})", conditions.join(" OR "))
    };

    let count_sql = format!("SELECT COUNT(*) FROM users WHERE realm_id = $1{filter}");
    let mut count = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(count_sql)).bind(&realm.0);
    for v in &values {
        count = count.bind(v.as_str());
    }
    let (total,) = count.fetch_one(&mut *conn).await.map_err(db_err)?;
    if !with_users {
        return Ok((total, Vec::new()));
    }

    let column = match q.sort_by {
        UserSort::UserId => "id",
        UserSort::Name => "display_name",
        UserSort::CreatedAt => "created_at",
        UserSort::LastLoginAt => "last_login_at",
        UserSort::Email => "email",
    };
    let direction = if q.descending { "DESC" } else { "ASC" };
    let n = values.len();
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE realm_id = $1{filter} \
         ORDER BY {column} {direction} NULLS LAST, id {direction} LIMIT ${} OFFSET ${}",
        n + 2,
        n + 3
    );
    let mut page = sqlx::query(AssertSqlSafe(sql)).bind(&realm.0);
    for v in &values {
        page = page.bind(v.as_str());
    }
    let rows = page
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let users = rows
        .iter()
        .map(user_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, users))
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
