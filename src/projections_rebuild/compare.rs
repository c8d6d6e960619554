//! What `verify` compares: per table of two builds, the row count and an md5 of every
//! row (as JSON without the projection's impure columns, in text order), and a few rows
//! only one side has when they differ.

use std::collections::BTreeSet;

use fleetlog_processor::ImpureColumn;
use sqlx::PgConnection;

/// How many differing rows are shown per side.
const SHOWN: i64 = 3;

/// One table of the comparison.
#[derive(Debug)]
pub(crate) struct TableResult {
    pub(crate) table: String,
    /// `(rows, md5)` in the live build; `None` when the table is missing there.
    pub(crate) live: Option<(i64, Option<String>)>,
    /// The same in the rebuilt build.
    pub(crate) rebuilt: Option<(i64, Option<String>)>,
    /// Rows only the live build has (at most a few).
    pub(crate) only_live: Vec<String>,
    /// Rows only the rebuilt build has (at most a few).
    pub(crate) only_rebuilt: Vec<String>,
}

impl TableResult {
    /// Whether both builds hold the same rows.
    pub(crate) fn same(&self) -> bool {
        self.live.is_some() && self.live == self.rebuilt
    }
}

/// `"name"`, for a table name read from the catalog.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn tables(conn: &mut PgConnection, schema: &str) -> sqlx::Result<BTreeSet<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    )
    .bind(schema)
    .fetch_all(conn)
    .await?;
    Ok(names.into_iter().collect())
}

/// The rows of `schema.table` as JSON text without `excluded` columns (a subquery).
fn rows_sql(schema: &str, table: &str) -> String {
    format!(
        "SELECT (to_jsonb(t) - $1::text[])::text AS r FROM {schema}.{} t",
        quote_ident(table)
    )
}

async fn fingerprint(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    excluded: &[String],
) -> sqlx::Result<(i64, Option<String>)> {
    let sql = format!(
        "SELECT count(*), md5(string_agg(r, E'\\n' ORDER BY r)) FROM ({}) s",
        rows_sql(schema, table)
    );
    sqlx::query_as(&sql).bind(excluded).fetch_one(conn).await
}

async fn only_in(
    conn: &mut PgConnection,
    (a, b): (&str, &str),
    table: &str,
    excluded: &[String],
) -> sqlx::Result<Vec<String>> {
    let sql = format!(
        "SELECT r FROM ({} EXCEPT {}) s ORDER BY r LIMIT {SHOWN}",
        rows_sql(a, table),
        rows_sql(b, table)
    );
    sqlx::query_scalar(&sql)
        .bind(excluded)
        .fetch_all(conn)
        .await
}

/// Compare every table of schemas `live` and `rebuilt` (plain identifiers made by
/// `schema_name`), leaving out `impure` columns.
///
/// # Errors
/// When the database fails.
pub(crate) async fn compare(
    conn: &mut PgConnection,
    live: &str,
    rebuilt: &str,
    impure: &[ImpureColumn],
) -> sqlx::Result<Vec<TableResult>> {
    let live_tables = tables(conn, live).await?;
    let rebuilt_tables = tables(conn, rebuilt).await?;
    let mut results = Vec::new();
    for table in live_tables.union(&rebuilt_tables) {
        let excluded: Vec<String> = impure
            .iter()
            .filter(|c| c.table == table)
            .map(|c| c.column.to_owned())
            .collect();
        let mut result = TableResult {
            table: table.clone(),
            live: None,
            rebuilt: None,
            only_live: Vec::new(),
            only_rebuilt: Vec::new(),
        };
        if live_tables.contains(table) {
            result.live = Some(fingerprint(conn, live, table, &excluded).await?);
        }
        if rebuilt_tables.contains(table) {
            result.rebuilt = Some(fingerprint(conn, rebuilt, table, &excluded).await?);
        }
        if !result.same() && result.live.is_some() && result.rebuilt.is_some() {
            result.only_live = only_in(conn, (live, rebuilt), table, &excluded).await?;
            result.only_rebuilt = only_in(conn, (rebuilt, live), table, &excluded).await?;
        }
        results.push(result);
    }
    Ok(results)
}
