//! The connection a query function is given: one of sqlx's, or SQLite's writer run in place.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement, savepoint and
//! release is two hand-offs between threads (the statement sent there, its answer sent back).
//! A write of a few statements made ten or more, and on the VMs measured those hand-offs, not
//! SQLite, were most of a write's time (BENCHMARKS.md, "Not done yet" of the eighth session).
//! SQLite's writer and readers therefore run their statements in place, through rusqlite
//! (linked to the same SQLite library as sqlx), on the thread of the task that holds them. A
//! statement there is microseconds of work in the page cache: the only I/O is the log's
//! `pwrite`s at the batch's commit (a write's savepoint journal stays in memory:
//! `.cargo/config.toml`), the fsync being the group commit's (`durability.rs`), and the only
//! wait for a lock is the batch's `BEGIN IMMEDIATE`, which `writer.rs` retries without
//! blocking.
//!
//! The query functions keep writing `sqlx::query(…).bind(…)` against `&mut Conn`, which
//! implements sqlx's `Executor`: for the writer it takes each query's SQL and arguments, binds
//! them as sqlx-sqlite would (`$N` by number), and answers `AnyRow`s holding what sqlx-sqlite's
//! rows hold (a value's own type: integer, real, text, blob or null), so the same decoding and
//! the same `db_err` serve both. `Conn::begin` is the transaction (a savepoint when nested) on
//! either.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, ffi};
use sqlx::any::{AnyQueryResult, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::{Any, AnyConnection, Database, Either, Execute, Executor};
use sqlx_core::any::{AnyArguments, AnyColumn, AnyRow, AnyStatement, AnyValueKind};
use sqlx_core::describe::Describe;
use sqlx_core::ext::ustr::UStr;
use sqlx_core::sql_str::SqlStr;
use sqlx_core::transaction::TransactionManager;

use crate::open::SQLITE_SETTINGS;

type Manager = <Any as Database>::TransactionManager;

/// What every query function runs its statements on.
pub(crate) enum Conn<'c> {
    /// PostgreSQL's pooled connections.
    Sqlx(&'c mut AnyConnection),
    /// SQLite's writer and readers.
    InPlace(&'c mut InPlace),
}

impl<'c> Conn<'c> {
    /// Begins a transaction, or a savepoint inside the open one; it rolls back when dropped
    /// without `commit`.
    pub(crate) async fn begin(&mut self) -> Result<Tx<'_, 'c>, sqlx::Error> {
        match self {
            Conn::Sqlx(conn) => Manager::begin(conn, None).await?,
            Conn::InPlace(conn) => conn.begin()?,
        }
        Ok(Tx {
            conn: self,
            open: true,
        })
    }
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conn::Sqlx(conn) => conn.fmt(f),
            Conn::InPlace(_) => f.write_str("InPlace"),
        }
    }
}

/// A transaction on a `Conn`: what sqlx's `Transaction` is, for either kind.
pub(crate) struct Tx<'t, 'c> {
    conn: &'t mut Conn<'c>,
    open: bool,
}

impl Tx<'_, '_> {
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self.conn {
            // Rolled back when dropped if the commit fails, as sqlx's `Transaction` is.
            Conn::Sqlx(conn) => Manager::commit(conn).await?,
            // Over even if it fails (`InPlace::end`).
            Conn::InPlace(conn) => {
                self.open = false;
                conn.commit()?
            }
        }
        self.open = false;
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        match self.conn {
            Conn::Sqlx(conn) => Manager::rollback(conn).await?,
            Conn::InPlace(conn) => {
                self.open = false;
                conn.rollback()?
            }
        }
        self.open = false;
        Ok(())
    }
}

impl Drop for Tx<'_, '_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        match self.conn {
            // Queued, and sent before the connection's next statement, as sqlx does.
            Conn::Sqlx(conn) => Manager::start_rollback(conn),
            Conn::InPlace(conn) => {
                if let Err(e) = conn.rollback() {
                    tracing::error!(error = %e, "rolling back SQLite's writer failed");
                }
            }
        }
    }
}

impl<'c> Deref for Tx<'_, 'c> {
    type Target = Conn<'c>;

    fn deref(&self) -> &Conn<'c> {
        self.conn
    }
}

impl<'c> DerefMut for Tx<'_, 'c> {
    fn deref_mut(&mut self) -> &mut Conn<'c> {
        self.conn
    }
}

impl<'c, 'x: 'c> Executor<'c> for &'c mut Conn<'x> {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Conn::Sqlx(conn) => conn.fetch_many(query),
            Conn::InPlace(conn) => Box::pin(stream::iter(match conn.run(query) {
                Ok(steps) => steps.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            })),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Conn::Sqlx(conn) => conn.fetch_optional(query),
            Conn::InPlace(conn) => Box::pin(future::ready(conn.run(query).map(|steps| {
                steps.into_iter().find_map(|step| match step {
                    Either::Right(row) => Some(row),
                    Either::Left(_) => None,
                })
            }))),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Sqlx(conn) => conn.prepare_with(sql, parameters),
            Conn::InPlace(_) => Box::pin(future::ready(Err(in_place_only("prepare_with")))),
        }
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Sqlx(conn) => conn.describe(sql),
            Conn::InPlace(_) => Box::pin(future::ready(Err(in_place_only("describe")))),
        }
    }
}

/// sqlx's statement objects, used by its compile-time macros, which the store does not use:
/// the writer prepares and caches a statement per SQL text itself.
fn in_place_only(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{what} is not offered by SQLite's in-place writer"))
}

/// What one checkpoint did, as `PRAGMA wal_checkpoint` reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkpointed {
    /// Another checkpoint was running, so this one copied nothing.
    pub busy: bool,
    /// The log's length in pages.
    pub log_pages: i64,
    /// How many of them are in the database file now: all of them once the log is copied
    /// whole, which lets the next write start it over.
    pub copied_pages: i64,
}

/// A SQLite connection run on the calling thread.
pub(crate) struct InPlace {
    conn: rusqlite::Connection,
    /// Open transactions: 0 outside, 1 in the batch, more in savepoints inside it.
    depth: usize,
    /// Each query's columns by its SQL text, as rows carry them: built once, not for every
    /// query (a name map and a shared name per column), beside SQLite's own statement cache.
    /// The store names every column it selects (no `SELECT *`), so a text's columns are fixed.
    /// Keyed by sqlx's `SqlStr`, which for the store's static SQL is a pointer to copy.
    columns: foldhash::HashMap<SqlStr, Columns>,
}

/// A query's columns as `AnyRow`s carry them.
struct Columns {
    list: Vec<AnyColumn>,
    by_name: Arc<sqlx_core::HashMap<UStr, usize>>,
}

impl Columns {
    fn of(statement: &rusqlite::Statement<'_>) -> Self {
        let list: Vec<AnyColumn> = statement
            .column_names()
            .iter()
            .enumerate()
            .map(|(ordinal, name)| AnyColumn {
                ordinal,
                name: UStr::new(name),
                type_info: AnyTypeInfo {
                    kind: AnyTypeInfoKind::Null,
                },
            })
            .collect();
        let by_name = Arc::new(
            list.iter()
                .map(|column| (column.name.clone(), column.ordinal))
                .collect(),
        );
        Columns { list, by_name }
    }
}

/// Statements kept prepared (and their columns): every statement the store runs, with room
/// to spare.
const STATEMENT_CACHE: usize = 256;

thread_local! {
    /// The log's length in pages after the latest commit on this thread, as SQLite's WAL hook
    /// tells it (the hook runs within the commit, on the committing thread).
    static LOG_PAGES: Cell<i32> = const { Cell::new(0) };
}

impl InPlace {
    /// Opens (creating) the file with `SQLITE_SETTINGS`, waiting for another's lock for `busy`
    /// at most (the writer never does: `writer.rs`).
    pub(crate) fn open(file: &Path, busy: Duration) -> Result<Self, sqlx::Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(file, flags).map_err(error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(busy).map_err(error)?;
        for pragma in SQLITE_SETTINGS {
            conn.execute_batch(pragma).map_err(error)?;
        }
        Ok(InPlace {
            conn,
            depth: 0,
            columns: foldhash::HashMap::default(),
        })
    }

    /// The writer: like `open` without a busy timeout, and with SQLite's automatic checkpoint
    /// replaced by a hook that notes the log's length for `writer.rs`, which checkpoints off
    /// the request path (an automatic checkpoint would run within a commit, on its thread).
    pub(crate) fn open_writer(file: &Path) -> Result<Self, sqlx::Error> {
        let writer = Self::open(file, Duration::ZERO)?;
        writer.conn.wal_hook(Some(|_, pages| {
            LOG_PAGES.set(pages);
            Ok(())
        }));
        Ok(writer)
    }

    /// Commits the outermost transaction: the log's length in pages after it (0 for a
    /// connection from `open`, or if nothing was written).
    pub(crate) fn commit_batch(&mut self) -> Result<i32, sqlx::Error> {
        LOG_PAGES.set(0);
        self.commit()?;
        Ok(LOG_PAGES.get())
    }

    /// Copies the log into the database file as far as readers allow, as SQLite's automatic
    /// checkpoint does (`PASSIVE`: it waits for no one).
    pub(crate) fn checkpoint(&self) -> Result<Checkpointed, sqlx::Error> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok(Checkpointed {
                    busy: row.get::<_, i64>(0)? != 0,
                    log_pages: row.get(1)?,
                    copied_pages: row.get(2)?,
                })
            })
            .map_err(error)
    }

    /// Begins the outermost transaction with `sql` (`BEGIN IMMEDIATE`).
    pub(crate) fn begin_with(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.conn.execute_batch(sql).map_err(error)?;
        self.depth = 1;
        Ok(())
    }

    pub(crate) fn begin(&mut self) -> Result<(), sqlx::Error> {
        match self.depth {
            0 => self.begin_with("BEGIN"),
            depth => {
                self.execute(&format!("SAVEPOINT tessera_{depth}"))?;
                self.depth += 1;
                Ok(())
            }
        }
    }

    pub(crate) fn commit(&mut self) -> Result<(), sqlx::Error> {
        match self.depth {
            0 => Ok(()),
            1 => self.end("COMMIT"),
            depth => self.end(&format!("RELEASE SAVEPOINT tessera_{}", depth - 1)),
        }
    }

    fn rollback(&mut self) -> Result<(), sqlx::Error> {
        match self.depth {
            0 => Ok(()),
            1 => self.end("ROLLBACK"),
            depth => {
                let name = format!("tessera_{}", depth - 1);
                self.end(&format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))
            }
        }
    }

    /// Ends the innermost transaction with `sql`; it is over even when `sql` fails (SQLite
    /// rolls a failed COMMIT back; the writer opens the connection afresh then).
    fn end(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.depth -= 1;
        self.execute(sql)
    }

    fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.conn.execute_batch(sql).map_err(error)
    }

    /// Runs one query: its rows, then how many rows it changed, as sqlx-sqlite answers.
    fn run<'q>(
        &mut self,
        mut query: impl Execute<'q, Any>,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error> {
        let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
        let sql = query.sql();
        let mut statement = self.conn.prepare_cached(sql.as_str()).map_err(error)?;
        if let Some(arguments) = arguments {
            bind(&mut statement, arguments)?;
        }
        if self.columns.len() >= STATEMENT_CACHE && !self.columns.contains_key(sql.as_str()) {
            self.columns.clear();
        }
        let columns = self
            .columns
            .entry(sql.clone())
            .or_insert_with(|| Columns::of(&statement));
        let mut steps = Vec::new();
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().map_err(error)? {
            let values = (0..columns.list.len())
                .map(|i| row.get_ref(i).map_err(error).and_then(any_value))
                .collect::<Result<_, _>>()?;
            steps.push(Either::Right(AnyRow {
                column_names: Arc::clone(&columns.by_name),
                columns: columns.list.clone(),
                values,
            }));
        }
        steps.push(Either::Left(AnyQueryResult {
            rows_affected: self.conn.changes(),
            last_insert_id: None,
        }));
        Ok(steps)
    }
}

/// Binds sqlx's arguments as sqlx-sqlite does: a `$N` (or `?N`) parameter takes argument N,
/// an anonymous one the next; a parameter past the last argument stays NULL.
fn bind(
    statement: &mut rusqlite::Statement<'_>,
    arguments: AnyArguments,
) -> Result<(), sqlx::Error> {
    let values = arguments.values.0;
    let mut next = 0;
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix(['$', '?'])
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| sqlx::Error::Protocol(format!("unsupported parameter {name}")))?,
            None => {
                next += 1;
                next
            }
        };
        let Some(value) = number.checked_sub(1).and_then(|i| values.get(i)) else {
            break;
        };
        statement
            .raw_bind_parameter(index, ToSqlOutput::Borrowed(value_ref(value)?))
            .map_err(error)?;
    }
    Ok(())
}

/// An argument as SQLite stores it (booleans as integers, as sqlx-sqlite binds them).
fn value_ref(value: &AnyValueKind) -> Result<ValueRef<'_>, sqlx::Error> {
    Ok(match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(r) => ValueRef::Real(f64::from(*r)),
        AnyValueKind::Double(d) => ValueRef::Real(*d),
        AnyValueKind::Text(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::TextSlice(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b.as_slice()),
        other => {
            return Err(sqlx::Error::Encode(
                format!("no SQLite value for {other:?}").into(),
            ));
        }
    })
}

/// A column's value by its own type, as sqlx-sqlite maps it for `Any`.
fn any_value(value: ValueRef<'_>) -> Result<AnyValue, sqlx::Error> {
    let kind = match value {
        ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
        ValueRef::Integer(i) => AnyValueKind::BigInt(i),
        ValueRef::Real(r) => AnyValueKind::Double(r),
        ValueRef::Text(t) => AnyValueKind::Text(Arc::new(
            String::from_utf8(t.to_vec()).map_err(|e| sqlx::Error::Decode(e.into()))?,
        )),
        ValueRef::Blob(b) => AnyValueKind::Blob(Arc::new(b.to_vec())),
    };
    Ok(AnyValue { kind })
}

/// A rusqlite error as sqlx's: SQLite's own errors as database errors carrying the extended
/// result code, like sqlx-sqlite's, so that `db_err` maps both alike.
fn error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(InPlaceError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// An error SQLite reported to the in-place writer.
#[derive(Debug)]
pub(crate) struct InPlaceError {
    code: i32,
    message: String,
}

impl fmt::Display for InPlaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for InPlaceError {}

impl DatabaseError for InPlaceError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use tessera_core::error::{StoreError, Unique};
    use tessera_core::store::StoreResult;

    use super::*;
    use crate::db_err;
    use crate::open::{scratch_url, sqlite_connection};
    use crate::writer::sqlite_file;

    /// What a few queries answer on `conn`: values of every kind, bound by number in any order,
    /// rows changed, and a unique violation.
    async fn answers(conn: &mut Conn<'_>) -> StoreResult<Vec<String>> {
        let row = sqlx::query(
            "SELECT $2 AS two, $1 AS one, $1 + 1 AS sum, $3 AS bytes, $4 AS absent, $5 AS yes",
        )
        .bind(1_i64)
        .bind("two")
        .bind(vec![0_u8, 255])
        .bind(None::<i64>)
        .bind(true)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
        let mut seen = vec![
            row.try_get::<String, _>("two").map_err(db_err)?,
            row.try_get::<i64, _>("one").map_err(db_err)?.to_string(),
            row.try_get::<i64, _>(2).map_err(db_err)?.to_string(),
            format!("{:?}", row.try_get::<Vec<u8>, _>("bytes").map_err(db_err)?),
            format!(
                "{:?}",
                row.try_get::<Option<i64>, _>("absent").map_err(db_err)?
            ),
            row.try_get::<i64, _>("yes").map_err(db_err)?.to_string(),
        ];
        let mut tx = conn.begin().await.map_err(db_err)?;
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, email TEXT UNIQUE)")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let inserted = sqlx::query("INSERT INTO t (n, email) VALUES (1, 'a'), (2, 'b')")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        seen.push(inserted.rows_affected().to_string());
        let twice = sqlx::query("INSERT INTO t (n, email) VALUES (3, $1)")
            .bind("a")
            .execute(&mut *tx)
            .await
            .map_err(db_err);
        seen.push(format!("{twice:?}"));
        tx.rollback().await.map_err(db_err)?;
        Ok(seen)
    }

    #[tokio::test]
    async fn the_in_place_writer_answers_as_sqlx_sqlite_does() -> StoreResult<()> {
        let url = scratch_url("in-place")?;
        let mut sqlx_conn = sqlite_connection(&url).await?;
        let by_sqlx = answers(&mut Conn::Sqlx(&mut sqlx_conn)).await?;
        let mut in_place = InPlace::open(&sqlite_file(&url)?, Duration::ZERO).map_err(db_err)?;
        let in_place = answers(&mut Conn::InPlace(&mut in_place)).await?;
        assert_eq!(in_place, by_sqlx);
        assert_eq!(
            in_place[..7],
            ["two", "1", "2", "[0, 255]", "None", "1", "2"]
        );
        let conflict = format!("{:?}", Err::<(), _>(StoreError::Conflict(Unique::Email)));
        assert_eq!(in_place[7], conflict);
        Ok(())
    }

    /// Each write in a batch is a savepoint whose journal of changed pages SQLite keeps in
    /// memory only up to a size set when SQLite is built (`.cargo/config.toml`); past it, every
    /// page is written to a temporary file within the writer's turn.
    #[tokio::test]
    async fn sqlite_keeps_a_write_s_savepoint_journal_in_memory() -> StoreResult<()> {
        let url = scratch_url("spill")?;
        let conn = InPlace::open(&sqlite_file(&url)?, Duration::ZERO).map_err(db_err)?;
        let options: Vec<String> = conn
            .conn
            .prepare("PRAGMA compile_options")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(error)
            .map_err(db_err)?;
        assert!(
            options.iter().any(|o| o == "STMTJRNL_SPILL=1048576"),
            "{options:?}"
        );
        Ok(())
    }
}
