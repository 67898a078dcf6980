//! Reading the source: a table's rows as values of the model's types, streamed.

use atdm_core::Value;
use atdm_core::schema::{ColumnType, Schema, Table};
use futures::TryStreamExt;

use crate::backend::{Db, Stmt, Tx};
use crate::baseline::codec::{ColSpec, specs};
use crate::error::Error;

/// Rows a job handles at a time.
pub(super) const CHUNK_ROWS: usize = 4096;

/// `SELECT` of `columns` (positions in the table) of `table`, with an optional `LIMIT`.
pub(super) fn select(db: &Db, table: &Table, columns: &[usize], limit: Option<usize>) -> Stmt {
    let list: Vec<String> = columns
        .iter()
        .map(|&i| db.select_expr(&table.columns[i]))
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        list.join(", "),
        db.dialect().quote_table(table)
    );
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    Stmt::new(sql)
}

/// How each column is read, and its model type.
pub(super) fn read_specs(db: &Db, table: &Table) -> Vec<ColSpec> {
    specs(table, db.value_forms())
}

/// A value as read turned into the model's type (uuid and json columns read as text on SQLite
/// and MySQL; SQLite's loose types).
pub(super) fn model_value(v: Value, ty: &ColumnType) -> Value {
    match (&v, ty) {
        (Value::Null, _) => v,
        (Value::Text(_), ColumnType::Uuid | ColumnType::Json) => v.clone().coerce(ty).unwrap_or(v),
        _ => v,
    }
}

/// The rows of some columns of a table, read a chunk at a time, as the model's types.
pub(super) struct Rows<'a> {
    rows: futures::stream::BoxStream<'a, crate::backend::DbResult<Vec<Value>>>,
    model: Vec<ColumnType>,
    ctx: String,
}

impl<'a> Rows<'a> {
    /// Starts reading `columns` (positions) of `table` in `tx`.
    pub(super) async fn open(
        tx: &'a mut Tx,
        db: &Db,
        table: &Table,
        columns: &[usize],
    ) -> Result<Rows<'a>, Error> {
        let cols = read_specs(db, table);
        let types: Vec<ColumnType> = columns.iter().map(|&i| cols[i].read_ty.clone()).collect();
        let model = columns.iter().map(|&i| cols[i].ty.clone()).collect();
        let ctx = format!("cannot read table {} of the source", table.name);
        let rows = tx
            .fetch(select(db, table, columns, None), types)
            .await
            .map_err(Error::db(&ctx))?;
        Ok(Rows { rows, model, ctx })
    }

    /// The next rows (at most [`CHUNK_ROWS`]); `None` at the end.
    pub(super) async fn next_chunk(&mut self) -> Result<Option<Vec<Vec<Value>>>, Error> {
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        while chunk.len() < CHUNK_ROWS {
            let Some(row) = self.rows.try_next().await.map_err(Error::db(&self.ctx))? else {
                break;
            };
            chunk.push(
                row.into_iter()
                    .zip(&self.model)
                    .map(|(v, ty)| model_value(v, ty))
                    .collect(),
            );
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

/// Streams the rows of `columns` of `table` in `tx`, a chunk at a time, to `each`.
pub(super) async fn stream(
    tx: &mut Tx,
    db: &Db,
    table: &Table,
    columns: &[usize],
    mut each: impl FnMut(Vec<Vec<Value>>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut rows = Rows::open(tx, db, table, columns).await?;
    while let Some(chunk) = rows.next_chunk().await? {
        each(chunk)?;
    }
    Ok(())
}

/// The first `n` rows of every table (in schema order), all columns.
pub(super) async fn sample(
    db: &Db,
    schema: &Schema,
    n: usize,
) -> Result<Vec<Vec<Vec<Value>>>, Error> {
    let mut out = Vec::with_capacity(schema.tables.len());
    for t in &schema.tables {
        let cols = read_specs(db, t);
        let all: Vec<usize> = (0..t.columns.len()).collect();
        let types: Vec<ColumnType> = cols.iter().map(|c| c.read_ty.clone()).collect();
        let rows = db
            .fetch_all(select(db, t, &all, Some(n)), &types)
            .await
            .map_err(Error::db(&format!(
                "cannot sample table {} of the source",
                t.name
            )))?;
        out.push(
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .zip(&cols)
                        .map(|(v, c)| model_value(v, &c.ty))
                        .collect()
                })
                .collect(),
        );
    }
    Ok(out)
}

/// Rows of `table` in the source.
pub(super) async fn count(tx: &mut Tx, db: &Db, table: &Table) -> Result<u64, Error> {
    let sql = format!("SELECT COUNT(*) FROM {}", db.dialect().quote_table(table));
    let rows = tx
        .fetch_all(Stmt::new(sql), &[ColumnType::BigInt])
        .await
        .map_err(Error::db(&format!(
            "cannot count the rows of {}",
            table.name
        )))?;
    Ok(match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n as u64,
        _ => 0,
    })
}
