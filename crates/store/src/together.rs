//! Writes of several statements whose results nobody reads (inserts, unconditional deletes),
//! run as one.
//!
//! On PostgreSQL every statement is a round trip, and so are a transaction's `BEGIN` and
//! `COMMIT`: a TOTP enrolment `start` took six. With the database on the same two cores,
//! about half of its CPU went to switching tasks and moving packets for them (BENCHMARKS.md,
//! thirteenth session), and pgbench ran the same inserts 35–40 % faster as one statement. So
//! such a write is sent as one: every statement but one becomes part of a data-modifying
//! `WITH` (`WITH s2 AS (INSERT …), s1 AS (INSERT …) DELETE …`), atomic on its own.
//!
//! PostgreSQL runs those parts on one snapshot: none sees another's rows. So a write may be
//! run together only if no statement depends on another's effect, and no two change the same
//! row (only one of the changes would land). Foreign keys are the exception that makes the
//! useful cases work: they are checked, and their cascades run, at the end of the statement,
//! once every part has run.
//!
//! The order the parts run in still matters, for the row locks they take: transactions that
//! lock the same rows in different orders can deadlock, and PostgreSQL then aborts one of
//! them. It runs the main statement first, then the `WITH`'s parts from the last to the first
//! (its documentation leaves the order open; `tests::parts_run_in_the_order_given_on_postgres`
//! holds it to this). So the first statement given is the main one and the rest go in the
//! `WITH` last first: the statements run in the order given, as they do on SQLite.
//!
//! Inside a transaction the same holds for its unconditional parts: a `finalize` runs its
//! conditional updates one by one, since each one's row count decides what comes next, and
//! what depends on nothing (the passed check's factor reset, the event, the refresh token)
//! together, each where the store's order of locks puts it (`attempts.rs`).
//!
//! SQLite's writer runs in place, where a statement is a function call, not a round trip,
//! and it has no data-modifying `WITH`: there the statements run one by one in a savepoint.

use std::fmt::Write;

use sqlx::any::AnyArguments;
use sqlx::{Any, AssertSqlSafe, Execute};
use tessera_core::store::StoreResult;

use crate::conn::Conn;
use crate::db_err;

/// One statement with its arguments bound, to be run by [`run`] or [`run_together`].
pub(crate) type Statement = sqlx::query::Query<'static, Any, AnyArguments>;

/// Runs one statement, ignoring what it returns.
pub(crate) async fn run(conn: &mut Conn<'_>, statement: Statement) -> StoreResult<()> {
    affected(conn, statement).await.map(drop)
}

/// Runs one statement; how many rows it changed.
pub(crate) async fn affected(conn: &mut Conn<'_>, statement: Statement) -> StoreResult<u64> {
    let done = sqlx::Executor::execute(&mut *conn, statement)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// Whether `statement`, a "use once / take one attempt" change of one row, changed it:
/// whoever did won; everybody else gets `false`.
pub(crate) async fn won(conn: &mut Conn<'_>, statement: Statement) -> StoreResult<bool> {
    Ok(affected(conn, statement).await? == 1)
}

/// Runs `statements` as one atomic write, as one statement on PostgreSQL (see the module's
/// doc for what they may not do).
pub(crate) async fn run_together(
    conn: &mut Conn<'_>,
    statements: Vec<Statement>,
) -> StoreResult<()> {
    if statements.is_empty() {
        return Ok(());
    }
    match conn {
        Conn::Sqlx(_) => run(conn, combined(statements).map_err(db_err)?).await,
        Conn::InPlace(_) => {
            let mut tx = conn.begin().await.map_err(db_err)?;
            for statement in statements {
                run(&mut tx, statement).await?;
            }
            tx.commit().await.map_err(db_err)
        }
    }
}

/// `statements` as one, their parameters numbered on: the first is the main statement and
/// the others go in its `WITH`, last first, so that PostgreSQL runs them in the order given.
fn combined(statements: Vec<Statement>) -> Result<Statement, sqlx::Error> {
    let mut texts = Vec::with_capacity(statements.len());
    let mut arguments = AnyArguments::default();
    for mut statement in statements {
        let bound = statement
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        texts.push(numbered_from(
            statement.sql().as_str(),
            arguments.values.0.len(),
        ));
        arguments.values.0.extend(bound.values.0);
    }
    let sql = match texts.split_first() {
        Some((main, parts)) if !parts.is_empty() => {
            let with: Vec<String> = parts
                .iter()
                .enumerate()
                .rev()
                .map(|(i, part)| format!("s{} AS ({part})", i + 1))
                .collect();
            format!("WITH {} {main}", with.join(", "))
        }
        _ => texts.concat(),
    };
    Ok(sqlx::query_with(AssertSqlSafe(sql), arguments))
}

/// `sql` with every parameter `$N` renumbered `$(N + offset)`. The store's SQL holds no `$`
/// but its parameters (no string literal or dollar quoting has one).
fn numbered_from(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        match rest[..digits].parse::<usize>() {
            Ok(n) => _ = write!(out, "{}", n + offset),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::AnyConnection;

    use super::*;
    use crate::conn::InPlace;
    use crate::open::scratch_url;
    use crate::postgres_pool::tests::pool;
    use crate::writer::sqlite_file;

    fn statement(sql: String) -> Statement {
        sqlx::query(AssertSqlSafe(sql))
    }

    /// What `run_together` must do on either engine, on tables `parent` and `child` (suffixed
    /// with `tag`): a parent inserted beside its child satisfies the child's foreign key, a
    /// delete beside them cascades, and a part that fails leaves nothing of the others.
    async fn parents_and_children(conn: &mut Conn<'_>, tag: &str) -> StoreResult<Vec<i64>> {
        let (parent, child) = (format!("parent{tag}"), format!("child{tag}"));
        for sql in [
            format!("DROP TABLE IF EXISTS {child}"),
            format!("DROP TABLE IF EXISTS {parent}"),
            format!("CREATE TABLE {parent} (id BIGINT PRIMARY KEY)"),
            format!(
                "CREATE TABLE {child} (id BIGINT PRIMARY KEY, \
                 parent BIGINT NOT NULL REFERENCES {parent} (id) ON DELETE CASCADE)"
            ),
            format!("INSERT INTO {parent} VALUES (1)"),
            format!("INSERT INTO {child} VALUES (1, 1)"),
        ] {
            run(conn, statement(sql)).await?;
        }
        let insert_parent =
            |id: i64| statement(format!("INSERT INTO {parent} VALUES ($1)")).bind(id);
        let insert_child = |id: i64, of: i64| {
            statement(format!("INSERT INTO {child} VALUES ($1, $2)"))
                .bind(id)
                .bind(of)
        };
        run_together(
            conn,
            vec![
                statement(format!("DELETE FROM {parent} WHERE id = $1")).bind(1_i64),
                insert_parent(2),
                insert_child(2, 2),
            ],
        )
        .await?;
        let orphan = run_together(conn, vec![insert_parent(3), insert_child(3, 99)]).await;
        assert!(orphan.is_err(), "{orphan:?}");
        let ids: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id FROM {parent} UNION ALL SELECT 10 * id + parent FROM {child} ORDER BY 1"
        )))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        for table in [child, parent] {
            run(conn, statement(format!("DROP TABLE {table}"))).await?;
        }
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    #[tokio::test]
    async fn statements_run_together_as_one_write_on_sqlite() -> StoreResult<()> {
        let url = scratch_url("together")?;
        let mut conn = InPlace::open(&sqlite_file(&url)?, Duration::ZERO).map_err(db_err)?;
        let ids = parents_and_children(&mut Conn::InPlace(&mut conn), "").await?;
        assert_eq!(ids, [2, 22]);
        Ok(())
    }

    #[tokio::test]
    async fn statements_run_together_as_one_write_on_postgres() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let tag = format!("_together_{}", std::process::id());
        let ids = pool
            .run(async |conn: &mut AnyConnection| {
                parents_and_children(&mut Conn::Sqlx(conn), &tag).await
            })
            .await?;
        pool.close().await;
        assert_eq!(ids, [2, 22]);
        Ok(())
    }

    /// Each part takes the next value of a sequence, which no snapshot hides: the values
    /// show the order the parts ran in, and so the order they took their row locks in.
    #[tokio::test]
    async fn parts_run_in_the_order_given_on_postgres() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let (table, sequence) = (
            format!("parts_{}", std::process::id()),
            format!("parts_order_{}", std::process::id()),
        );
        let order = pool
            .run(async |conn: &mut AnyConnection| {
                let conn = &mut Conn::Sqlx(conn);
                for sql in [
                    format!("DROP TABLE IF EXISTS {table}"),
                    format!("DROP SEQUENCE IF EXISTS {sequence}"),
                    format!("CREATE SEQUENCE {sequence}"),
                    format!("CREATE TABLE {table} (part TEXT NOT NULL, n BIGINT NOT NULL)"),
                ] {
                    run(conn, statement(sql)).await?;
                }
                let parts = ["a", "b", "c", "d"].map(|part| {
                    statement(format!(
                        "INSERT INTO {table} VALUES ($1, nextval('{sequence}'))"
                    ))
                    .bind(part)
                });
                run_together(conn, parts.into()).await?;
                let order: Vec<(String,)> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT part FROM {table} ORDER BY n"
                )))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                run(conn, statement(format!("DROP TABLE {table}"))).await?;
                run(conn, statement(format!("DROP SEQUENCE {sequence}"))).await?;
                Ok(order)
            })
            .await?;
        pool.close().await;
        let order: Vec<&str> = order.iter().map(|(part,)| part.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        Ok(())
    }

    #[test]
    fn parameters_are_numbered_on_from_the_offset() {
        assert_eq!(
            numbered_from("UPDATE t SET a = $1 WHERE b = $2 AND c = $10 AND d = $1", 3),
            "UPDATE t SET a = $4 WHERE b = $5 AND c = $13 AND d = $4"
        );
        assert_eq!(numbered_from("SELECT $1", 0), "SELECT $1");
        assert_eq!(numbered_from("SELECT 1", 5), "SELECT 1");
    }

    #[test]
    fn statements_become_one_with_their_arguments_in_order() -> Result<(), sqlx::Error> {
        let statements = vec![
            sqlx::query("DELETE FROM a WHERE x = $1 AND y = $2")
                .bind("one")
                .bind(2_i64),
            sqlx::query("INSERT INTO b (x) VALUES ($1)").bind("three"),
            sqlx::query("INSERT INTO c (x, y) VALUES ($1, $2)")
                .bind(4_i64)
                .bind("five"),
        ];
        let mut one = combined(statements)?;
        let arguments = one
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        assert_eq!(
            one.sql().as_str(),
            "WITH s2 AS (INSERT INTO c (x, y) VALUES ($4, $5)), \
             s1 AS (INSERT INTO b (x) VALUES ($3)) DELETE FROM a WHERE x = $1 AND y = $2"
        );
        let values: Vec<String> = arguments
            .values
            .0
            .iter()
            .map(|v| format!("{v:?}"))
            .collect();
        assert_eq!(values.len(), 5);
        assert!(values[0].contains("one") && values[2].contains("three"));
        assert!(values[3].contains('4') && values[4].contains("five"));
        Ok(())
    }

    #[test]
    fn one_statement_is_left_as_it_is() -> Result<(), sqlx::Error> {
        let mut one = combined(vec![
            sqlx::query("INSERT INTO b (x) VALUES ($1)").bind(1_i64),
        ])?;
        assert!(one.take_arguments().map_err(sqlx::Error::Encode)?.is_some());
        assert_eq!(one.sql().as_str(), "INSERT INTO b (x) VALUES ($1)");
        Ok(())
    }
}
