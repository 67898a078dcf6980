//! Writing a masked copy into a database.
//!
//! Tables are written parents first. Tables the job creates (PostgreSQL, MySQL, MariaDB) get
//! their foreign keys after every row is written, as `pg_restore` does: no row waits on a key
//! check, and adding the key checks every row at once. Otherwise (existing tables, SQLite) a
//! foreign key between tables of one cycle, or of a table to itself, is written NULL with its
//! row and set by an `UPDATE` once every table is written, so every row exists before
//! anything points at it, whatever the database and however its constraints are declared;
//! such foreign keys must be nullable. PostgreSQL loads through `COPY`; MySQL, MariaDB and
//! SQLite through multi-row `INSERT`s.

use std::time::Duration;

use atdm_core::Value;
use atdm_core::mask::{MaskPlan, Masker, TransactionMode};
use atdm_core::schema::{Dialect, Generated, Schema, Table};

use super::rows::TableMask;
use super::scan::{self, Rows};
use super::subset::{Kept, identity};
use super::{MaskProgress, MaskedTable};
use crate::backend::{Db, Tx, literals};
use crate::error::Error;
use crate::generate::push_sql_literal;

/// About the most bytes per `INSERT` statement.
const BYTES_PER_INSERT: usize = 4 << 20;

/// Rows per `UPDATE` script of cycle keys.
const UPDATES_PER_SCRIPT: usize = 500;

/// A target database, checked and ready.
pub(super) struct Target {
    db: Db,
    mode: TransactionMode,
    /// Statements run after every row is written (the foreign keys of created tables).
    after: Vec<String>,
}

/// A foreign key written after every table: its table and columns (positions).
struct Late {
    table: usize,
    columns: Vec<usize>,
}

/// The foreign keys written last: those of a table to itself, and those to a table of its own
/// cycle that is written after it (in `order`).
fn late_keys(schema: &Schema, order: &[usize]) -> Vec<Late> {
    let cycles = schema.fk_cycles();
    let group = |i: usize| cycles.iter().position(|g| g.contains(&i));
    let at = |i: usize| order.iter().position(|&o| o == i);
    let mut out = Vec::new();
    for (ti, t) in schema.tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            let Some(ri) = schema.table_index(&fk.references) else {
                continue;
            };
            let back = group(ti).is_some() && group(ti) == group(ri) && at(ri) > at(ti);
            if ri == ti || back {
                out.push(Late {
                    table: ti,
                    columns: fk
                        .columns
                        .iter()
                        .filter_map(|c| t.columns.iter().position(|x| &x.name == c))
                        .collect(),
                });
            }
        }
    }
    out
}

/// The schema without its foreign keys, and the statements that add them: tables ATDM
/// creates get their foreign keys after the data, as `pg_restore` does, so no row waits on a
/// key check and a cycle needs no second pass. On MySQL each key's columns keep an index (as
/// the key would make), so column types and lookups stay the same. SQLite cannot add a
/// foreign key to a table: there they stay.
fn split_foreign_keys(schema: &Schema, d: Dialect) -> (Schema, Vec<String>) {
    if d == Dialect::Sqlite {
        return (schema.clone(), Vec::new());
    }
    let mut bare = schema.clone();
    let mut add = Vec::new();
    for t in &mut bare.tables {
        for (i, fk) in std::mem::take(&mut t.foreign_keys).into_iter().enumerate() {
            let Some(target) = schema.table(&fk.references) else {
                continue;
            };
            let list = |cols: &[String]| {
                cols.iter()
                    .map(|c| d.quote(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let prefix: String = t
                .name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(40)
                .collect();
            add.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                d.quote_table(t),
                d.quote(&format!("fk_{prefix}_{i}")),
                list(&fk.columns),
                d.quote_table(target),
                list(
                    schema
                        .table(&t.name)
                        .expect("a table")
                        .fk_target_columns(&fk, schema)
                )
            ));
            if d == Dialect::MySql {
                t.indexes.push(fk.columns.clone());
            }
        }
    }
    (bare, add)
}

impl Target {
    /// Connects to the target, creates the tables when asked (none of them may exist then),
    /// and checks that every table exists and is empty and that every foreign key written
    /// last is nullable; writes nothing else.
    pub(super) async fn open(
        url: &str,
        schema: &Schema,
        create: bool,
        mode: TransactionMode,
        order: &[usize],
    ) -> Result<Target, Error> {
        let db = Db::connect(url, 2, Duration::from_secs(30)).await?;
        let (bare, after) = if create {
            split_foreign_keys(schema, db.dialect())
        } else {
            (schema.clone(), Vec::new())
        };
        let target = Target { db, mode, after };
        let checked = async {
            for late in target.late_keys(schema, order) {
                let t = &schema.tables[late.table];
                if t.primary_key.is_empty() {
                    return Err(Error::MaskTarget {
                        message: format!(
                            "{} is in a cycle of foreign keys and has no primary key; a copy \
                             writes such keys after every row exists, and finds the rows by \
                             their key",
                            t.name
                        ),
                    });
                }
                if let Some(&c) = late.columns.iter().find(|&&c| !t.columns[c].nullable) {
                    return Err(Error::MaskTarget {
                        message: format!(
                            "{}.{} is a NOT NULL foreign key in a cycle of foreign keys; a copy \
                             into existing tables writes such keys after every row exists, so \
                             it must be nullable (or let --create make the tables)",
                            t.name, t.columns[c].name
                        ),
                    });
                }
            }
            target.check(schema, &bare, create).await
        };
        match checked.await {
            Ok(()) => Ok(target),
            Err(e) => {
                target.close().await;
                Err(e)
            }
        }
    }

    /// The foreign keys written after every table: none when they are added after the data.
    fn late_keys(&self, schema: &Schema, order: &[usize]) -> Vec<Late> {
        if self.after.is_empty() {
            late_keys(schema, order)
        } else {
            Vec::new()
        }
    }

    async fn check(&self, schema: &Schema, bare: &Schema, create: bool) -> Result<(), Error> {
        let db = &self.db;
        let mut tx = db
            .session()
            .await
            .map_err(Error::db("cannot reach the target"))?;
        if create {
            for t in &schema.tables {
                if scan::count(&mut tx, db, t).await.is_ok() {
                    return Err(Error::MaskTarget {
                        message: format!(
                            "target table {} exists; --create makes new tables (drop it, or \
                             leave out --create to fill existing empty tables)",
                            t.name
                        ),
                    });
                }
            }
            for stmt in bare.ddl(db.dialect()) {
                tx.execute_script(stmt)
                    .await
                    .map_err(Error::db("cannot create the target's tables"))?;
            }
        }
        for t in &schema.tables {
            let n = scan::count(&mut tx, db, t)
                .await
                .map_err(|e| Error::MaskTarget {
                    message: format!(
                        "the target has no table {} that can be read ({e}); pass --create to \
                         create the source's tables",
                        t.name
                    ),
                })?;
            if n > 0 {
                return Err(Error::MaskTarget {
                    message: format!(
                        "target table {} holds {n} rows; a masked copy goes into empty tables",
                        t.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// Closes the connections.
    pub(super) async fn close(&self) {
        self.db.close().await;
    }

    /// Writes every table in `order` from the source, masked.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write(
        &self,
        source: &Db,
        schema: &Schema,
        plan: &MaskPlan,
        masker: &Masker,
        order: &[usize],
        kept: Option<&Kept>,
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<Vec<MaskedTable>, Error> {
        let late = self.late_keys(schema, order);
        let mut read = source
            .begin_snapshot()
            .await
            .map_err(Error::db("cannot open a read transaction on the source"))?;
        let mut tx: Option<Tx> = None;
        let mut done = Vec::new();
        let mut pending: Vec<(usize, Vec<Vec<Value>>)> = Vec::new();
        for &ti in order {
            let t = &schema.tables[ti];
            if tx.is_none() {
                tx = Some(self.begin().await?);
            }
            let w = tx.as_mut().expect("open");
            let late_cols: Vec<usize> = late
                .iter()
                .filter(|l| l.table == ti)
                .flat_map(|l| l.columns.iter().copied())
                .collect();
            let mask = TableMask::new(
                t,
                &plan.tables[&t.name],
                masker,
                kept.and_then(|k| k.get(&t.name)),
            );
            let source_rows = scan::count(&mut read, source, t).await?;
            let (rows, updates) = self
                .write_table(w, &mut read, source, t, &mask, &late_cols, progress)
                .await
                .map_err(|e| self.failed(e, t, &done))?;
            if !updates.is_empty() {
                pending.push((ti, updates));
            }
            done.push(MaskedTable {
                table: t.name.clone(),
                source_rows,
                rows,
                file: None,
                sha256: None,
            });
            if self.mode == TransactionMode::Table {
                tx.take().expect("open").commit().await.map_err(|e| {
                    self.failed(Error::db("cannot commit")(e), t, &done[..done.len() - 1])
                })?;
            }
        }
        read.commit()
            .await
            .map_err(Error::db("cannot close the read transaction on the source"))?;
        let mut tx = match tx {
            Some(tx) => tx,
            None => self.begin().await?,
        };
        for (ti, updates) in &pending {
            let t = &schema.tables[*ti];
            let cols: Vec<usize> = late
                .iter()
                .filter(|l| l.table == *ti)
                .flat_map(|l| l.columns.iter().copied())
                .collect();
            self.set_late(&mut tx, t, &cols, updates)
                .await
                .map_err(|e| self.failed(e, t, &done))?;
        }
        for stmt in &self.after {
            tx.execute_script(stmt.clone())
                .await
                .map_err(|e| Error::MaskFailed {
                    message: format!(
                        "the copy's foreign keys do not hold ({stmt}): {}; {}",
                        crate::error::db_message(&e),
                        match self.mode {
                            TransactionMode::Whole => "nothing was written",
                            TransactionMode::Table => {
                                "the tables stay written, without this key (transaction = \"table\")"
                            }
                        }
                    ),
                })?;
        }
        let identity: Vec<(String, Vec<String>)> = order
            .iter()
            .map(|&ti| {
                let t = &schema.tables[ti];
                let cols: Vec<String> = t
                    .columns
                    .iter()
                    .filter(|c| c.generated == Some(Generated::Identity))
                    .map(|c| c.name.clone())
                    .collect();
                (self.db.dialect().quote_table(t), cols)
            })
            .filter(|(_, cols)| !cols.is_empty())
            .collect();
        self.db
            .after_restore(&mut tx, &identity)
            .await
            .map_err(Error::db("cannot move the target's identity sequences"))?;
        tx.commit()
            .await
            .map_err(Error::db("cannot commit the target"))?;
        Ok(done)
    }

    async fn begin(&self) -> Result<Tx, Error> {
        self.db
            .begin()
            .await
            .map_err(Error::db("cannot open a write transaction on the target"))
    }

    /// The error of a failed table, saying what stays written.
    fn failed(&self, e: Error, t: &Table, done: &[MaskedTable]) -> Error {
        let kept = match self.mode {
            TransactionMode::Whole => "nothing was written".to_owned(),
            TransactionMode::Table if done.is_empty() => "nothing was written".to_owned(),
            TransactionMode::Table => format!(
                "the tables written before it stay ({}), as transaction = \"table\"",
                done.iter()
                    .map(|d| d.table.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Error::MaskFailed {
            message: format!("table {}: {e}; {kept}", t.name),
        }
    }

    /// Streams one table from the source into the target; returns the rows written and, for
    /// rows whose cycle keys are set, their identity and those keys.
    #[allow(clippy::too_many_arguments)]
    async fn write_table(
        &self,
        w: &mut Tx,
        read: &mut Tx,
        source: &Db,
        t: &Table,
        mask: &TableMask<'_>,
        late: &[usize],
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<(u64, Vec<Vec<Value>>), Error> {
        let d = self.db.dialect();
        let all: Vec<usize> = (0..t.columns.len()).collect();
        let written: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| !matches!(t.columns[i].generated, Some(Generated::Computed(_))))
            .collect();
        let names: Vec<String> = written
            .iter()
            .map(|&i| d.quote(&t.columns[i].name))
            .collect();
        let quoted = d.quote_table(t);
        let id = identity(t);
        let lits = literals(d);
        let bulk = self.db.bulk_load();
        let head = format!("INSERT INTO {quoted} ({}) VALUES\n", names.join(", "));
        let ctx = format!("the target refused rows of {}", t.name);
        let mut rows = Rows::open(read, source, t, &all).await?;
        // The source is read and masked while the target takes the previous piece: a few
        // pieces in flight, so memory stays flat.
        let (send, mut receive) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let produce = async {
            let send = send;
            let mut count = 0u64;
            let mut updates = Vec::new();
            while let Some(chunk) = rows.next_chunk().await? {
                let mut masked = mask.mask(chunk)?;
                if masked.is_empty() {
                    continue;
                }
                for row in &mut masked {
                    if late.iter().any(|&c| !row[c].is_null()) {
                        let mut u: Vec<Value> = id.iter().map(|&i| row[i].clone()).collect();
                        u.extend(late.iter().map(|&c| row[c].clone()));
                        updates.push(u);
                        for &c in late {
                            row[c] = Value::Null;
                        }
                    }
                }
                count += masked.len() as u64;
                let piece = match bulk {
                    Some(bulk) => {
                        use rayon::prelude::*;
                        // Encoded on every core, in order.
                        let parts: Vec<String> = masked
                            .par_chunks(512)
                            .map(|rows| {
                                let mut data = String::with_capacity(rows.len() * names.len() * 16);
                                for row in rows {
                                    bulk.row(&mut data, written.iter().map(|&i| &row[i]));
                                }
                                data
                            })
                            .collect();
                        parts.concat()
                    }
                    None => {
                        let mut sql = String::with_capacity(head.len() + masked.len() * 64);
                        let mut first = true;
                        for row in &masked {
                            // Well inside MySQL's smallest usual max_allowed_packet.
                            if sql.len() >= BYTES_PER_INSERT {
                                let full = std::mem::take(&mut sql);
                                if send.send(full.into_bytes()).await.is_err() {
                                    break;
                                }
                                first = true;
                            }
                            sql.push_str(if first { &head } else { ",\n" });
                            first = false;
                            sql.push('(');
                            for (k, &i) in written.iter().enumerate() {
                                if k > 0 {
                                    sql.push_str(", ");
                                }
                                push_sql_literal(&mut sql, lits, &row[i]);
                            }
                            sql.push(')');
                        }
                        sql
                    }
                };
                if send.send(piece.into_bytes()).await.is_err() {
                    // The target stopped; its error is reported.
                    break;
                }
                progress(MaskProgress {
                    table: &t.name,
                    done: count,
                });
            }
            Ok::<_, Error>((count, updates))
        };
        let consume = async {
            match bulk {
                Some(bulk) => w
                    .copy_in((bulk.statement)(&quoted, &names), receive)
                    .await
                    .map(|_| ()),
                None => {
                    while let Some(sql) = receive.recv().await {
                        let sql = String::from_utf8(sql).expect("SQL text is UTF-8");
                        w.execute_script(sql).await?;
                    }
                    Ok(())
                }
            }
        };
        let (produced, consumed) = tokio::join!(produce, consume);
        consumed.map_err(Error::db(&ctx))?;
        produced
    }

    /// Sets the cycle keys of the rows in `updates` (identity values, then the keys).
    async fn set_late(
        &self,
        tx: &mut Tx,
        t: &Table,
        cols: &[usize],
        updates: &[Vec<Value>],
    ) -> Result<(), Error> {
        let d: Dialect = self.db.dialect();
        let lits = literals(d);
        let id = identity(t);
        let quoted = d.quote_table(t);
        let ctx = format!("cannot set the foreign keys of {} in a cycle", t.name);
        for batch in updates.chunks(UPDATES_PER_SCRIPT) {
            let mut sql = String::new();
            for u in batch {
                sql.push_str("UPDATE ");
                sql.push_str(&quoted);
                sql.push_str(" SET ");
                for (k, &c) in cols.iter().enumerate() {
                    if k > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&d.quote(&t.columns[c].name));
                    sql.push_str(" = ");
                    push_sql_literal(&mut sql, lits, &u[id.len() + k]);
                }
                sql.push_str(" WHERE ");
                for (k, &i) in id.iter().enumerate() {
                    if k > 0 {
                        sql.push_str(" AND ");
                    }
                    sql.push_str(&d.quote(&t.columns[i].name));
                    sql.push_str(" = ");
                    push_sql_literal(&mut sql, lits, &u[k]);
                }
                sql.push_str(";\n");
            }
            tx.execute_script(sql).await.map_err(Error::db(&ctx))?;
        }
        Ok(())
    }
}
