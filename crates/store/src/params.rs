//! The caller's values of a statement built at run time (the search queries), bound in order
//! to `$1`, `$2`, …, so that a caller's value never becomes SQL text.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};
use tessera_core::store::{StoreResult, TextMatch, TextPosition};

use crate::conn::Conn;
use crate::db_err;
use crate::rows::get;

enum Value {
    Text(String),
    Int(i64),
}

#[derive(Default)]
pub(crate) struct Params(Vec<Value>);

impl Params {
    /// Adds a text value; its placeholder.
    pub(crate) fn text(&mut self, value: String) -> String {
        self.placeholder(Value::Text(value))
    }

    /// Adds an integer value; its placeholder.
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.placeholder(Value::Int(value))
    }

    fn placeholder(&mut self, value: Value) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// `sql`, which uses these placeholders, with the values bound.
    pub(crate) fn bound(&self, sql: String) -> Query<'_, Any, AnyArguments> {
        self.0.iter().fold(
            sqlx::query(AssertSqlSafe(sql)),
            |query, value| match value {
                Value::Text(text) => query.bind(text.as_str()),
                Value::Int(n) => query.bind(*n),
            },
        )
    }

    /// The first column of the one row of `sql`, a count.
    pub(crate) async fn count(&self, conn: &mut Conn<'_>, sql: String) -> StoreResult<i64> {
        let row: AnyRow = self
            .bound(sql)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
        get(&row, "n")
    }

    /// A search's answer: how many rows `from` (a table and its `WHERE` clause, with these
    /// placeholders) holds, and the page of them in `order`, `limit` rows after `offset`.
    pub(crate) async fn page(
        mut self,
        conn: &mut Conn<'_>,
        columns: &str,
        from: &str,
        order: &str,
        (limit, offset): (i64, i64),
    ) -> StoreResult<(i64, Vec<AnyRow>)> {
        let total = self
            .count(conn, format!("SELECT COUNT(*) AS n FROM {from}"))
            .await?;
        let (limit, offset) = (self.int(limit), self.int(offset));
        let sql =
            format!("SELECT {columns} FROM {from} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let rows = self
            .bound(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        Ok((total, rows))
    }
}

/// `ASC` or `DESC`.
pub(crate) fn direction(ascending: bool) -> &'static str {
    if ascending { "ASC" } else { "DESC" }
}

/// `expression` compared with the text parameter `value` as `how` says, the same on SQLite and
/// PostgreSQL: with functions both engines have (`substr`, `length`, `replace`, `lower`)
/// rather than `LIKE`, whose case rules differ between them.
pub(crate) fn text_match(expression: &str, how: TextMatch, value: &str) -> String {
    let (c, v) = if how.ignore_case {
        (format!("lower({expression})"), format!("lower({value})"))
    } else {
        (expression.to_owned(), value.to_owned())
    };
    match how.at {
        TextPosition::Equals => format!("{c} = {v}"),
        TextPosition::StartsWith => format!("substr({c}, 1, length({v})) = {v}"),
        TextPosition::EndsWith => format!(
            "(length({c}) >= length({v}) AND substr({c}, length({c}) - length({v}) + 1) = {v})"
        ),
        TextPosition::Contains => format!("(length({v}) = 0 OR replace({c}, {v}, '') <> {c})"),
    }
}

/// The conditions of `filters` (each by `condition`) joined `with` AND or OR, in parentheses;
/// `empty` when there are none. The search filters' trees nest through it.
pub(crate) fn joined<F>(
    filters: &[F],
    p: &mut Params,
    with: &str,
    empty: &str,
    condition: fn(&F, &mut Params) -> String,
) -> String {
    if filters.is_empty() {
        return empty.to_owned();
    }
    let parts: Vec<String> = filters.iter().map(|f| condition(f, p)).collect();
    format!("({})", parts.join(with))
}

/// `expression IN (…)` over `values`; false for none.
pub(crate) fn in_list(
    expression: &str,
    values: impl Iterator<Item = String>,
    p: &mut Params,
) -> String {
    let placeholders: Vec<String> = values.map(|v| p.text(v)).collect();
    if placeholders.is_empty() {
        "1 = 0".to_owned()
    } else {
        format!("{expression} IN ({})", placeholders.join(", "))
    }
}
