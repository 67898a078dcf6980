//! Rows of a foreign-key cycle (a store whose manager is a staff member of the store): written
//! and deleted together, in the seed's or the reset's one transaction.
//!
//! A plan's row may point at a row of its cycle that is written after it, so the rows of a
//! cycle's tables are written as one group: first the keys the database would assign are drawn
//! ([`crate::backend::Backend::allocate_keys`]: from the column's sequence on PostgreSQL,
//! past the largest existing value elsewhere), so every value is known; then the rows go out
//! the way the database allows ([`CycleWrites`]): SQLite checks foreign keys at commit,
//! PostgreSQL checks them at the end of one statement of writable common table expressions,
//! MySQL and MariaDB switch the checks off for the group's statements and the engine checks
//! every foreign key of the rows it wrote (or, on reset, every reference to the rows it
//! deleted) before it commits. Nothing here needs more than the right to write the tables.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use atdm_core::plan::TablePlan;
use atdm_core::schema::{ColumnType, Schema, Table};
use atdm_core::{Cell, CellRef, Plan, Value};

use super::{Engine, col_type};
use crate::backend::{Backend, CycleWrites, DbResult, Stmt, Tx};

/// The plan tables (positions in `plan.tables`) written together: the planned tables of every
/// foreign-key cycle of which the plan holds two tables or more.
pub(super) fn cycle_groups(schema: &Schema, plan: &Plan) -> Vec<Range<usize>> {
    let position = |name: &str| plan.tables.iter().position(|t| &*t.table == name);
    let mut groups = Vec::new();
    for members in schema.fk_cycles() {
        let planned: Vec<usize> = members
            .iter()
            .filter_map(|&i| position(&schema.tables[i].name))
            .collect();
        if let (true, Some(&lo), Some(&hi)) = (
            planned.len() > 1,
            planned.iter().min(),
            planned.iter().max(),
        ) {
            groups.push(lo..hi + 1);
        }
    }
    groups.sort_by_key(|r| r.start);
    groups
}

/// A failure of the engine's own, reported like a database's.
pub(super) fn refused(message: String) -> sqlx::Error {
    sqlx::Error::Protocol(message)
}

impl Engine {
    /// Writes the rows of the plan tables `group` (one foreign-key cycle) together; records
    /// the keys it drew in `assigned`.
    pub(super) async fn write_cycle(
        &self,
        tx: &mut Tx,
        plan: &Plan,
        group: Range<usize>,
        assigned: &mut HashMap<CellRef, Value>,
    ) -> DbResult<()> {
        let db = self.db();
        let d = db.dialect();
        let schema = self.schema();
        // 1. Draw every key the database would assign, so every value is known.
        for tp in &plan.tables[group.clone()] {
            let t = schema
                .table(&tp.table)
                .expect("plans use the pack's schema");
            self.draw_keys(tx, t, tp, assigned, true).await?;
        }
        // 2. One INSERT per table, placeholders numbered on across the group.
        let mut n = 0;
        let mut inserts = Vec::new();
        let mut keys_written: Vec<(usize, Vec<Value>)> = Vec::new();
        for (gi, tp) in plan.tables[group.clone()].iter().enumerate() {
            let t = schema
                .table(&tp.table)
                .expect("plans use the pack's schema");
            let value = |ri: usize, ci: usize| -> Option<Value> {
                match &tp.rows[ri][ci] {
                    Cell::Value(v) => Some(v.clone()),
                    Cell::Ref(r) => assigned.get(r).cloned(),
                    // Only streamed rows hold one, resolved before they are written.
                    Cell::Streamed(_) => None,
                    Cell::Default => assigned
                        .get(&cell_ref(&tp.table, ri, &tp.columns[ci]))
                        .cloned(),
                }
            };
            // Columns the database fills in every row are left out.
            let written: Vec<usize> = (0..tp.columns.len())
                .filter(|&ci| (0..tp.rows.len()).any(|ri| value(ri, ci).is_some()))
                .collect();
            let mut rows = Vec::with_capacity(tp.rows.len());
            for ri in 0..tp.rows.len() {
                let mut row = Vec::with_capacity(written.len());
                for &ci in &written {
                    row.push(value(ri, ci).ok_or_else(|| {
                        refused(format!(
                            "{}.{} of a row of the foreign-key cycle is left to the database in some rows and not in others; set it in every row or in none",
                            t.name, tp.columns[ci]
                        ))
                    })?);
                }
                rows.push(row);
            }
            if let [pk] = t.primary_key.as_slice()
                && let Some(pi) = written.iter().position(|&ci| &tp.columns[ci] == pk)
            {
                keys_written.push((gi, rows.iter().map(|r| r[pi].clone()).collect()));
            }
            let names: Vec<String> = written.iter().map(|&ci| d.quote(&tp.columns[ci])).collect();
            let identity = written.iter().any(|&ci| {
                t.get_column(&tp.columns[ci])
                    .is_some_and(|c| c.generated == Some(atdm_core::schema::Generated::Identity))
            });
            let mut values = Vec::with_capacity(rows.len());
            let mut binds = Vec::new();
            for row in rows {
                let ps: Vec<String> = written
                    .iter()
                    .map(|&ci| {
                        n += 1;
                        db.param(n, t, &tp.columns[ci])
                    })
                    .collect();
                values.push(format!("({})", ps.join(", ")));
                for (v, &ci) in row.into_iter().zip(&written) {
                    binds.push((v, col_type(t, &tp.columns[ci])));
                }
            }
            inserts.push(Stmt {
                sql: format!(
                    "INSERT INTO {} ({}){} VALUES {}",
                    d.quote_table(t),
                    names.join(", "),
                    if identity { db.identity_insert() } else { "" },
                    values.join(", ")
                ),
                binds,
            });
        }
        // 3. Out together, as the database allows.
        match db.cycle_writes() {
            CycleWrites::Deferred { defer } => {
                tx.queue(Stmt::new(defer));
                for s in inserts {
                    tx.queue(s);
                }
            }
            CycleWrites::OneStatement { combine } => {
                tx.fetch_all(combine(inserts), &[]).await?;
            }
            CycleWrites::Unchecked { off, on } => {
                tx.queue(Stmt::new(off));
                let mut result = Ok(());
                for s in inserts {
                    if let Err(e) = tx.execute(s).await {
                        result = Err(e);
                        break;
                    }
                }
                let back_on = tx.execute(Stmt::new(on)).await;
                result?;
                back_on?;
                for (gi, keys) in keys_written {
                    let t = schema
                        .table(&plan.tables[group.start + gi].table)
                        .expect("plans use the pack's schema");
                    check_written(tx, &**db, schema, t, Some(&keys)).await?;
                }
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Draws the planned rows' integer primary keys that are left open ([`Cell::Default`])
    /// into `assigned`: those the database does not assign itself (a key without identity or
    /// default continues the table's largest key), and with `all` those it does too (rows of
    /// a cycle must know their keys before they are written).
    pub(super) async fn draw_keys(
        &self,
        tx: &mut Tx,
        t: &Table,
        tp: &TablePlan,
        assigned: &mut HashMap<CellRef, Value>,
        all: bool,
    ) -> DbResult<()> {
        for (ci, col) in tp.columns.iter().enumerate() {
            let Some(c) = t.get_column(col) else { continue };
            let db_fills = c.is_db_assigned() || c.default_sql.is_some();
            if t.primary_key != [col.as_str()] || (db_fills && !all) {
                continue;
            }
            let open: Vec<usize> = (0..tp.rows.len())
                .filter(|&ri| {
                    matches!(tp.rows[ri][ci], Cell::Default)
                        && !assigned.contains_key(&cell_ref(&tp.table, ri, col))
                })
                .collect();
            if open.is_empty() {
                continue;
            }
            let Some((lo, hi)) = c.ty.int_range() else {
                return Err(refused(format!(
                    "{}.{col} is assigned by the database and is not an integer, so its rows of the foreign-key cycle cannot be written together; give it a value in the scenario",
                    t.name
                )));
            };
            let keys = self.db().allocate_keys(tx, t, col, open.len()).await?;
            for (ri, k) in open.into_iter().zip(keys) {
                if k < lo || k > hi {
                    return Err(refused(format!(
                        "the next key of {}.{col} would be {k}, outside its type {}",
                        t.name, c.ty
                    )));
                }
                assigned.insert(cell_ref(&tp.table, ri, col), Value::Int(k));
            }
        }
        Ok(())
    }
}

/// The value of a planned cell, where it is known: planned, or assigned (drawn, or read back
/// from an earlier insert).
pub(super) fn known<'a>(
    tp: &TablePlan,
    row: usize,
    column: usize,
    cell: &'a Cell,
    assigned: &'a HashMap<CellRef, Value>,
) -> Option<&'a Value> {
    match cell {
        Cell::Value(v) => Some(v),
        Cell::Ref(r) => assigned.get(r),
        // Only streamed rows hold one, resolved before they are written.
        Cell::Streamed(_) => None,
        Cell::Default => assigned.get(&cell_ref(&tp.table, row, &tp.columns[column])),
    }
}

pub(super) fn cell_ref(table: &str, row: usize, column: &str) -> CellRef {
    CellRef {
        table: table.to_owned(),
        row,
        column: column.to_owned(),
    }
}

/// Fails unless every foreign key of the rows of `t` with primary keys `keys` (all its rows
/// with `None`) points at a row.
pub(crate) async fn check_written(
    tx: &mut Tx,
    db: &dyn Backend,
    schema: &Schema,
    t: &Table,
    keys: Option<&[Value]>,
) -> DbResult<()> {
    let d = db.dialect();
    let (pk, keys) = match (t.primary_key.as_slice(), keys) {
        ([pk], Some(keys)) => (Some(pk), keys),
        (_, Some(_)) => return Ok(()),
        (_, None) => (None, &[][..]),
    };
    for fk in &t.foreign_keys {
        let Some(target) = schema.table(&fk.references) else {
            continue;
        };
        let targets = t.fk_target_columns(fk, schema);
        let not_null: Vec<String> = fk
            .columns
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", d.quote(c)))
            .collect();
        let joined: Vec<String> = fk
            .columns
            .iter()
            .zip(targets)
            .map(|(c, r)| format!("p.{} = c.{}", d.quote(r), d.quote(c)))
            .collect();
        let mut conds = not_null;
        if let Some(pk) = pk {
            let ps: Vec<String> = (1..=keys.len()).map(|i| db.placeholder(i)).collect();
            conds.insert(0, format!("c.{} IN ({})", d.quote(pk), ps.join(", ")));
        }
        let sql = format!(
            "SELECT COUNT(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
            d.quote_table(t),
            conds.join(" AND "),
            d.quote_table(target),
            joined.join(" AND ")
        );
        let ty = pk.map(|pk| col_type(t, pk)).unwrap_or(ColumnType::Text);
        let stmt = Stmt {
            sql,
            binds: keys.iter().map(|k| (k.clone(), ty.clone())).collect(),
        };
        let rows = tx.fetch_all(stmt, &[ColumnType::BigInt]).await?;
        if let Some(Value::Int(bad)) = rows.first().and_then(|r| r.first())
            && *bad > 0
        {
            return Err(refused(format!(
                "{bad} rows of {} written in a foreign-key cycle point at no row of {} through ({}); nothing was written",
                t.name,
                fk.references,
                fk.columns.join(", ")
            )));
        }
    }
    Ok(())
}

/// Fails unless no row of any table points at the rows of `t` (a table of a cycle) with
/// primary keys `keys`, deleted while foreign-key checks were off.
pub(super) async fn check_deleted(
    tx: &mut Tx,
    db: &dyn Backend,
    schema: &Schema,
    t: &Table,
    keys: &[Value],
) -> DbResult<()> {
    let d = db.dialect();
    let [pk] = t.primary_key.as_slice() else {
        return Ok(());
    };
    let mut by_child: BTreeMap<&str, Vec<&atdm_core::schema::ForeignKey>> = BTreeMap::new();
    for child in &schema.tables {
        for fk in child
            .foreign_keys
            .iter()
            .filter(|fk| fk.references == t.name)
        {
            by_child.entry(child.name.as_str()).or_default().push(fk);
        }
    }
    for (child_name, fks) in by_child {
        let child = schema.table(child_name).expect("from the schema");
        for fk in fks {
            let targets = child.fk_target_columns(fk, schema);
            let [col] = fk.columns.as_slice() else {
                continue;
            };
            if targets.first() != Some(pk) {
                continue;
            }
            let ps: Vec<String> = (1..=keys.len()).map(|i| db.placeholder(i)).collect();
            let sql = format!(
                "SELECT COUNT(*) FROM {} WHERE {} IN ({})",
                d.quote_table(child),
                d.quote(col),
                ps.join(", ")
            );
            let ty = col_type(t, pk);
            let stmt = Stmt {
                sql,
                binds: keys.iter().map(|k| (k.clone(), ty.clone())).collect(),
            };
            let rows = tx.fetch_all(stmt, &[ColumnType::BigInt]).await?;
            if let Some(Value::Int(left)) = rows.first().and_then(|r| r.first())
                && *left > 0
            {
                return Err(refused(format!(
                    "{left} rows of {child_name} still point at rows of {} the reset deletes (through {col}); nothing was deleted",
                    t.name
                )));
            }
        }
    }
    Ok(())
}
