//! Factor rows, and the transactions that keep the enrolment rules atomic: the challenge is
//! consumed, a slot under the ready-factor limit is taken (a conditional UPDATE of
//! `users.ready_factors`) and the factor becomes ready, all or nothing.

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use tessera_core::factor::MAX_READY_FACTORS;
use tessera_core::store::{
    EnrolOutcome, Enrolment, Event, Listed, RefreshTokenRecord, StoreResult,
};
use tessera_core::totp::{TotpAlgorithm, TotpSpec};
use tessera_core::{
    EmailAddress, Factor, FactorData, FactorId, FactorKey, FactorKind, FactorState, PhoneNumber,
    RealmId, StoreError, Unique, User, UserId, factor::Sealed,
};
use time::OffsetDateTime;

use crate::attempts;
use crate::challenges::{consume, insert_event};
use crate::conn::Conn;
use crate::db_err;
use crate::rows::{USER_COLUMNS, corrupt, get, get_opt_time, millis, user_from_row};
use crate::together::{Statement, run, run_together, won};
use crate::users::insert_refresh_token;

const FACTOR_COLUMNS: &str = "id, realm_id, user_id, kind, state, display_name, secret_sealed, master_key_id, \
     algorithm, digits, period_sec, phone_number, email, webauthn_credential, created_at, enrolled_at, last_used_at, \
     last_used_step";

fn factor_from_row(row: &AnyRow) -> StoreResult<Factor> {
    factor_from(Columns { row, joined: false })
}

/// The columns of one factor in a row: named as in the table, or as [`user_with_factors`]
/// names them apart from the user's (`joined`). Read as nullable, since a left join's are.
#[derive(Clone, Copy)]
struct Columns<'r> {
    row: &'r AnyRow,
    joined: bool,
}

/// Each factor column's name in the join, made once rather than on every row read.
static JOINED_NAMES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    factor_columns()
        .map(|column| (column, format!("{JOINED}{column}")))
        .collect()
});

/// The names in [`FACTOR_COLUMNS`].
fn factor_columns() -> impl Iterator<Item = &'static str> {
    FACTOR_COLUMNS.split(',').map(str::trim)
}

impl Columns<'_> {
    fn name(self, column: &'static str) -> StoreResult<&'static str> {
        if !self.joined {
            return Ok(column);
        }
        JOINED_NAMES
            .get(column)
            .map(String::as_str)
            .ok_or_else(|| corrupt(column))
    }

    fn text(self, column: &'static str) -> StoreResult<Option<String>> {
        get(self.row, self.name(column)?)
    }

    fn bytes(self, column: &'static str) -> StoreResult<Option<Vec<u8>>> {
        get(self.row, self.name(column)?)
    }

    fn optional_number(self, column: &'static str) -> StoreResult<Option<i64>> {
        get(self.row, self.name(column)?)
    }

    /// Zero when null (a factor kind without TOTP parameters).
    fn number(self, column: &'static str) -> StoreResult<i64> {
        Ok(self.optional_number(column)?.unwrap_or_default())
    }

    fn time(self, column: &'static str) -> StoreResult<Option<OffsetDateTime>> {
        get_opt_time(self.row, self.name(column)?)
    }

    /// A column that is never null in the table.
    fn required(self, column: &'static str) -> StoreResult<String> {
        self.text(column)?.ok_or_else(|| corrupt(column))
    }
}

fn factor_from(c: Columns<'_>) -> StoreResult<Factor> {
    let data = match c.required("kind")?.as_str() {
        "totp" => FactorData::Totp {
            secret: Sealed {
                master_key_id: c
                    .text("master_key_id")?
                    .ok_or_else(|| corrupt("totp key id"))?,
                bytes: c
                    .bytes("secret_sealed")?
                    .ok_or_else(|| corrupt("totp secret"))?,
            },
            spec: TotpSpec {
                algorithm: c
                    .text("algorithm")?
                    .as_deref()
                    .and_then(TotpAlgorithm::parse)
                    .ok_or_else(|| corrupt("totp algorithm"))?,
                digits: u8::try_from(c.number("digits")?).map_err(|_| corrupt("totp digits"))?,
                period_secs: u64::try_from(c.number("period_sec")?)
                    .map_err(|_| corrupt("totp period"))?,
            },
        },
        "sms_otp" => FactorData::SmsOtp {
            phone: c
                .text("phone_number")?
                .as_deref()
                .and_then(PhoneNumber::parse)
                .ok_or_else(|| corrupt("factor phone"))?,
        },
        "email_otp" => FactorData::EmailOtp {
            email: c
                .text("email")?
                .as_deref()
                .and_then(EmailAddress::parse)
                .ok_or_else(|| corrupt("factor email"))?,
        },
        "webauthn" => FactorData::WebAuthn {
            credential: c
                .text("webauthn_credential")?
                .ok_or_else(|| corrupt("webauthn credential"))?,
        },
        _ => return Err(corrupt("factor kind")),
    };
    Ok(Factor {
        id: FactorId::parse(&c.required("id")?).ok_or_else(|| corrupt("factor id"))?,
        realm: RealmId(c.required("realm_id")?),
        user: UserId::parse(&c.required("user_id")?).ok_or_else(|| corrupt("user id"))?,
        state: FactorState::parse(&c.required("state")?).ok_or_else(|| corrupt("factor state"))?,
        display_name: c.text("display_name")?,
        data,
        created_at: c.time("created_at")?.ok_or_else(|| corrupt("created_at"))?,
        enrolled_at: c.time("enrolled_at")?,
        last_used_at: c.time("last_used_at")?,
        last_used_step: c.optional_number("last_used_step")?,
    })
}

pub(crate) async fn list(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    listed: Listed,
) -> StoreResult<Vec<Factor>> {
    let states = states(listed);
    let sql = format!(
        "SELECT {FACTOR_COLUMNS} FROM factors WHERE realm_id = $1 AND user_id = $2 AND {states} \
         ORDER BY created_at, id"
    );
    let rows = user_rows(conn, &sql, realm, user).await?;
    rows.iter().map(factor_from_row).collect()
}

/// The rows `sql` selects for a user: `$1` the realm, `$2` the user.
async fn user_rows(
    conn: &mut Conn<'_>,
    sql: &str,
    realm: &RealmId,
    user: &UserId,
) -> StoreResult<Vec<AnyRow>> {
    sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// The condition on a factor's `state` column for `listed`.
fn states(listed: Listed) -> &'static str {
    match listed {
        Listed::Ready => "state = 'ready'",
        Listed::NotRemoved => "state <> 'removed'",
    }
}

/// A user and their factors of `listed`, oldest first, in one query rather than two: a left
/// join, one row per factor, or one row of nulls on the factors' side for a user without any.
pub(crate) async fn user_with_factors(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    listed: Listed,
) -> StoreResult<Option<(User, Vec<Factor>)>> {
    static READY: LazyLock<String> = LazyLock::new(|| joined_sql(Listed::Ready));
    static NOT_REMOVED: LazyLock<String> = LazyLock::new(|| joined_sql(Listed::NotRemoved));
    let sql = match listed {
        Listed::Ready => READY.as_str(),
        Listed::NotRemoved => NOT_REMOVED.as_str(),
    };
    let rows = user_rows(conn, sql, realm, user).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut factors = Vec::with_capacity(rows.len());
    for row in &rows {
        let columns = Columns { row, joined: true };
        if columns.text("id")?.is_some() {
            factors.push(factor_from(columns)?);
        }
    }
    Ok(Some((user_from_row(first)?, factors)))
}

/// How [`user_with_factors`] names the factors' columns apart from the user's.
const JOINED: &str = "f_";

/// The query of [`user_with_factors`], built once per `listed`.
fn joined_sql(listed: Listed) -> String {
    let user_columns: Vec<String> = USER_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    let factor_columns: Vec<String> = factor_columns()
        .map(|c| format!("f.{c} AS {JOINED}{c}"))
        .collect();
    format!(
        "SELECT {}, {} FROM users u \
         LEFT JOIN factors f ON f.realm_id = u.realm_id AND f.user_id = u.id AND f.{states} \
         WHERE u.realm_id = $1 AND u.id = $2 ORDER BY f.created_at, f.id",
        user_columns.join(", "),
        factor_columns.join(", "),
        states = states(listed)
    )
}

pub(crate) async fn get_one(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    id: &FactorId,
) -> StoreResult<Option<Factor>> {
    let sql = format!(
        "SELECT {FACTOR_COLUMNS} FROM factors WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND state <> 'removed'"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .bind(user.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(factor_from_row).transpose()
}

/// The statement that stores `f`.
pub(crate) fn insert(f: &Factor) -> Statement {
    let credential = match &f.data {
        FactorData::WebAuthn { credential } => Some(credential.as_str()),
        _ => None,
    };
    let (secret, key_id, algorithm, digits, period, phone, email) = match &f.data {
        FactorData::Totp { secret, spec } => (
            Some(secret.bytes.as_slice()),
            Some(secret.master_key_id.as_str()),
            Some(spec.algorithm.as_str()),
            Some(i64::from(spec.digits)),
            Some(spec.period_secs as i64),
            None,
            None,
        ),
        FactorData::SmsOtp { phone } => (None, None, None, None, None, Some(phone.as_str()), None),
        FactorData::EmailOtp { email } => {
            (None, None, None, None, None, None, Some(email.as_str()))
        }
        FactorData::WebAuthn { .. } => (None, None, None, None, None, None, None),
    };
    sqlx::query(
        "INSERT INTO factors (id, realm_id, user_id, kind, state, display_name, secret_sealed, master_key_id, \
         algorithm, digits, period_sec, phone_number, email, webauthn_credential, created_at, enrolled_at, \
         last_used_at, last_used_step) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(f.id.as_str())
    .bind(&f.realm.0)
    .bind(f.user.as_str())
    .bind(f.kind().as_str())
    .bind(f.state.as_str())
    .bind(f.display_name.as_deref())
    .bind(secret)
    .bind(key_id)
    .bind(algorithm)
    .bind(digits)
    .bind(period)
    .bind(phone)
    .bind(email)
    .bind(credential)
    .bind(millis(f.created_at))
    .bind(f.enrolled_at.map(millis))
    .bind(f.last_used_at.map(millis))
    .bind(f.last_used_step)
}

/// Stores a factor whose enrolment has begun. A TOTP one replaces the user's unfinished TOTP
/// enrolment, whichever dialect started it, as ZITADEL's `RegisterTOTP` does: otherwise every
/// start that is never finished would leave one more not-ready factor, listed by ZITADEL for
/// ever. The replaced one is deleted with its session (the foreign key cascades), so finishing
/// it is `INVALID_SESSION_INFO`; marked removed instead, it would stay, and the user's listings
/// would step over every one. No event is recorded for it: its start was, and nothing was
/// enrolled.
/// The statements, to be run together (`together.rs`): the delete sees nothing of the insert.
pub(crate) fn insert_unfinished(factor: &Factor) -> Vec<Statement> {
    let sql = "DELETE FROM factors \
               WHERE realm_id = $1 AND user_id = $2 AND state = 'not_ready' AND kind = 'totp'";
    let replaced =
        (factor.kind() == FactorKind::Totp).then(|| for_user(sql, &factor.realm, &factor.user));
    replaced.into_iter().chain([insert(factor)]).collect()
}

/// Runs `statements`, which may replace the user's unfinished TOTP enrolment
/// (`insert_unfinished`), again when a concurrent start inserted one after this one's
/// statement began: on PostgreSQL the statement's delete cannot see it, and the unique index
/// `factors_one_unfinished_totp` refuses the second insert. Run again, it replaces that one,
/// as it would have had it come second. (SQLite's one writer never interleaves them.)
pub(crate) async fn replacing_unfinished(
    conn: &mut Conn<'_>,
    statements: impl Fn() -> Vec<Statement>,
) -> StoreResult<()> {
    let mut tries = 1;
    loop {
        match run_together(conn, statements()).await {
            Err(StoreError::Conflict(Unique::UnfinishedTotp)) if tries < REPLACE_TRIES => {
                tries += 1;
            }
            done => return done,
        }
    }
}

/// How often a start or a replacement runs before it gives up. Each round of concurrent ones
/// for one user commits one of them, so each needs at most one try per write racing it; a
/// person double-clicking races two or three.
const REPLACE_TRIES: u32 = 16;

/// See `Store::complete_enrolment`. The passed check goes first, in the store's order of
/// locks (`attempts.rs`); then the challenge, the user's slot and the factor's state decide,
/// one by one, whether it goes on; what is left depends on nothing, and runs together
/// (`together.rs`).
pub(crate) async fn complete_enrolment(
    conn: &mut Conn<'_>,
    enrolment: &Enrolment<'_>,
) -> StoreResult<EnrolOutcome> {
    let passed = || enrolment.passed.map(attempts::passed).unwrap_or_default();
    let mut tx = conn.begin().await.map_err(db_err)?;
    run_together(&mut tx, passed()).await?;
    match enrol(&mut tx, enrolment).await? {
        Ok(mut writes) => {
            writes.extend(enrolment.refresh.map(insert_refresh_token));
            run_together(&mut tx, writes).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(EnrolOutcome::Done)
        }
        Err(outcome) => {
            // Undo what the enrolment wrote; the check is recorded all the same.
            tx.rollback().await.map_err(db_err)?;
            run_together(conn, passed()).await?;
            Ok(outcome)
        }
    }
}

/// The enrolment's conditional writes: the writes left to do once they all went through, or
/// the outcome that stopped them, leaving the transaction to be rolled back.
async fn enrol(
    tx: &mut Conn<'_>,
    enrolment: &Enrolment<'_>,
) -> StoreResult<Result<Vec<Statement>, EnrolOutcome>> {
    let Enrolment {
        challenge,
        factor,
        totp_step,
        event,
        ..
    } = *enrolment;
    if let Some(challenge) = challenge
        && !won(tx, consume(challenge)).await?
    {
        return Ok(Err(EnrolOutcome::ChallengeGone));
    }
    let slot = sqlx::query(
        "UPDATE users SET ready_factors = ready_factors + 1 WHERE realm_id = $1 AND id = $2 AND ready_factors < $3",
    )
    .bind(&factor.realm.0)
    .bind(factor.user.as_str())
    .bind(MAX_READY_FACTORS)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if slot.rows_affected() != 1 {
        return Ok(Err(EnrolOutcome::LimitReached));
    }
    // The user's columns narrow the not-ready factors' partial index to the user's own: given
    // only the id, PostgreSQL's generic plan could scan that index whole (BENCHMARKS.md).
    let promoted = sqlx::query(
        "UPDATE factors SET state = 'ready', display_name = $1, enrolled_at = $2, last_used_step = $3, \
         webauthn_credential = COALESCE($4, webauthn_credential) \
         WHERE realm_id = $5 AND user_id = $6 AND id = $7 AND state = 'not_ready'",
    )
    .bind(factor.display_name.as_deref())
    .bind(factor.enrolled_at.map(millis))
    .bind(totp_step)
    .bind(match &factor.data {
        FactorData::WebAuthn { credential } => Some(credential.as_str()),
        _ => None,
    })
    .bind(&factor.realm.0)
    .bind(factor.user.as_str())
    .bind(factor.id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut writes = Vec::with_capacity(2);
    if promoted.rows_affected() == 0 {
        if totp_step.is_some() {
            return Ok(Err(EnrolOutcome::ChallengeGone));
        }
        writes.push(insert(factor));
    }
    writes.push(insert_event(event));
    Ok(Ok(writes))
}

pub(crate) async fn remove(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    id: &FactorId,
    event: &Event,
    refresh: Option<&RefreshTokenRecord>,
) -> StoreResult<bool> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    if !won(&mut tx, mark_removed(realm, user, id)).await? {
        return Ok(false);
    }
    recount(&mut tx, realm, user).await?;
    let writes = [insert_event(event)]
        .into_iter()
        .chain(refresh.map(insert_refresh_token))
        .collect();
    run_together(&mut tx, writes).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// The statement that marks a ready or not-ready factor removed.
pub(crate) fn mark_removed(realm: &RealmId, user: &UserId, id: &FactorId) -> Statement {
    let sql = "UPDATE factors SET state = 'removed' \
               WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND state <> 'removed'";
    for_user(sql, realm, user).bind(id.as_str())
}

/// Recomputes `ready_factors` from the rows, inside the caller's transaction; returns it.
pub(crate) async fn recount(tx: &mut Conn<'_>, realm: &RealmId, user: &UserId) -> StoreResult<i64> {
    let sql = "UPDATE users SET ready_factors = (SELECT COUNT(*) FROM factors \
               WHERE realm_id = $1 AND user_id = $2 AND state = 'ready') WHERE realm_id = $1 AND id = $2 \
               RETURNING ready_factors";
    let counted: Option<(i64,)> = sqlx::query_as(sql)
        .bind(&realm.0)
        .bind(user.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(counted.map_or(0, |(n,)| n))
}

/// `sql` with the realm bound as `$1` and the user as `$2`.
fn for_user(sql: &'static str, realm: &RealmId, user: &UserId) -> Statement {
    sqlx::query(sql).bind(&realm.0).bind(user.as_str())
}

/// `sql` with the factor's realm bound as `$1`, its user as `$2` and its id as `$3` (a factor
/// id is its user's own).
pub(crate) fn for_factor(sql: &'static str, factor: &FactorKey) -> Statement {
    for_user(sql, &factor.realm, &factor.user).bind(factor.id.as_str())
}

/// Replaces all of a user's factors with `factors`. On PostgreSQL a concurrent write that adds
/// a factor after this one's delete began escapes that delete: it shows as a phone number
/// taken, or in the recount as more ready factors than the list. Then everything is rolled
/// back and run again, replacing that factor too, as if this call had come second.
pub(crate) async fn replace(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    factors: &[Factor],
    events: &[Event],
) -> StoreResult<()> {
    if factors.len() as i64 > MAX_READY_FACTORS {
        return Err(StoreError::Internal("too many factors".into()));
    }
    let mut tries = 1;
    loop {
        let raced = match replaced(conn, realm, user, factors, events).await {
            Ok(done) => !done,
            Err(StoreError::Conflict(Unique::Factor)) => true,
            Err(e) => return Err(e),
        };
        if !raced {
            return Ok(());
        }
        if tries == REPLACE_TRIES {
            return Err(StoreError::Conflict(Unique::Other));
        }
        tries += 1;
    }
}

/// One try of `replace`: `Ok(false)`, with nothing changed, when a concurrent write left
/// more ready factors than `factors`.
async fn replaced(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    factors: &[Factor],
    events: &[Event],
) -> StoreResult<bool> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    let sql = "DELETE FROM factors WHERE realm_id = $1 AND user_id = $2";
    run(&mut tx, for_user(sql, realm, user)).await?;
    for factor in factors {
        run(&mut tx, insert(factor)).await?;
    }
    if recount(&mut tx, realm, user).await? != factors.len() as i64 {
        tx.rollback().await.map_err(db_err)?;
        return Ok(false);
    }
    run_together(&mut tx, events.iter().map(insert_event).collect()).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Uses up TOTP step `step` of a ready factor, unless it or a later one was used: run it
/// with `won`.
pub(crate) fn use_totp_step(factor: &FactorKey, step: i64, at: OffsetDateTime) -> Statement {
    let sql = "UPDATE factors SET last_used_step = $4, last_used_at = $5 \
               WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND state = 'ready' \
               AND (last_used_step IS NULL OR last_used_step < $4)";
    for_factor(sql, factor).bind(step).bind(millis(at))
}

pub(crate) async fn swap_webauthn_credential(
    conn: &mut Conn<'_>,
    factor: &FactorKey,
    old: &str,
    new: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let sql = "UPDATE factors SET webauthn_credential = $4, last_used_at = $5 \
               WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND state = 'ready' \
               AND webauthn_credential = $6";
    let swap = for_factor(sql, factor).bind(new).bind(millis(at)).bind(old);
    won(conn, swap).await
}
