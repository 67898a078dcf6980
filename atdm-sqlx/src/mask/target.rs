//! Writing a masked copy into a database.
//!
//! Tables are written parents first. Tables the job creates (PostgreSQL, MySQL, MariaDB) get
//! their foreign keys after every row is written, and on PostgreSQL their primary keys,
//! unique constraints and indexes too, as `pg_restore` does ([`Schema::ddl_sections`]): no
//! row waits on a key check, and each index is built in one pass over the rows. Otherwise
//! (existing tables, SQLite) a foreign key between tables of one cycle, or of a table to
//! itself, is written NULL with its row and set by an `UPDATE` once every table is written,
//! so every row exists before anything points at it, whatever the database and however its
//! constraints are declared; such foreign keys must be nullable. PostgreSQL loads through
//! `COPY` (from a PostgreSQL source, rows travel as `COPY` text: see [`super::raw`]); MySQL,
//! MariaDB and SQLite through multi-row `INSERT`s. Where tables do not wait on each other,
//! several are written at once ([`lanes`]).

use std::time::Duration;

use atdm_core::Value;
use atdm_core::mask::{MaskPlan, Masker, TransactionMode};
use atdm_core::schema::{Dialect, Generated, Schema, Table};

use super::raw::{self, Raw};
use super::rows::{self, TableMask, Work};
use super::scan::{self, Rows};
use super::subset::{Kept, identity};
use super::{MaskProgress, MaskedTable};
use crate::backend::{BulkLoad, CycleWrites, Db, Literals, TextCopy, Tx, literals};
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
    /// Statements run after every row is written (the keys, indexes and foreign keys of
    /// created tables).
    after: Vec<String>,
    /// Statements that create the tables in the write transaction, so a failed job leaves
    /// nothing (`transaction = "whole"`, where DDL is transactional: PostgreSQL, SQLite).
    create_in_tx: Vec<String>,
    /// Tables a `"whole"` job creates before its write transaction, where DDL commits at once
    /// (MySQL, MariaDB), quoted: a failed job drops them again.
    created: Vec<String>,
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

/// A table's rows masked and encoded for the target, on the masking thread.
struct Encode {
    mask: TableMask,
    /// The columns written (not the computed ones).
    written: Vec<usize>,
    /// The identity columns, and the cycle keys written last.
    id: Vec<usize>,
    late: Vec<usize>,
    bulk: Option<BulkLoad>,
    lits: &'static Literals,
    /// `INSERT INTO table (columns) VALUES`, where there is no bulk path.
    head: String,
}

/// Encoded rows for the target.
pub(super) struct Piece {
    pub(super) bytes: Vec<u8>,
    pub(super) rows: u64,
    /// The identity and cycle keys of the rows whose cycle keys were written NULL.
    pub(super) updates: Vec<Vec<Value>>,
}

/// Where a row's cycle keys (`late`) are set: writes them NULL and returns the row's identity
/// and those keys, to set them once every row exists.
pub(super) fn hold_late(row: &mut [Value], id: &[usize], late: &[usize]) -> Option<Vec<Value>> {
    if late.iter().all(|&c| row[c].is_null()) {
        return None;
    }
    let held = id.iter().chain(late).map(|&i| row[i].clone()).collect();
    for &c in late {
        row[c] = Value::Null;
    }
    Some(held)
}

impl Work for Encode {
    type Chunk = Vec<Vec<Value>>;
    type Piece = Piece;
    type Done = ();

    fn chunk(
        &mut self,
        rows: Vec<Vec<Value>>,
        out: &tokio::sync::mpsc::Sender<Piece>,
    ) -> Result<bool, Error> {
        let mut masked = self.mask.mask(rows)?;
        if masked.is_empty() {
            return Ok(true);
        }
        let mut updates = Vec::new();
        if !self.late.is_empty() {
            for row in &mut masked {
                updates.extend(hold_late(row, &self.id, &self.late));
            }
        }
        let rows = masked.len() as u64;
        let written = &self.written;
        let bytes = match self.bulk {
            Some(bulk) => {
                use rayon::prelude::*;
                // Encoded on every core, in order.
                let parts: Vec<String> = masked
                    .par_chunks(512)
                    .map(|rows| {
                        let mut data = String::with_capacity(rows.len() * written.len() * 16);
                        for row in rows {
                            bulk.row(&mut data, written.iter().map(|&i| &row[i]));
                        }
                        data
                    })
                    .collect();
                parts.concat()
            }
            None => {
                let mut sql = String::with_capacity(self.head.len() + masked.len() * 64);
                let mut first = true;
                let mut in_sql = 0u64;
                for row in &masked {
                    // Well inside MySQL's smallest usual max_allowed_packet.
                    if sql.len() >= BYTES_PER_INSERT {
                        let piece = Piece {
                            bytes: std::mem::take(&mut sql).into_bytes(),
                            rows: std::mem::take(&mut in_sql),
                            updates: Vec::new(),
                        };
                        if out.blocking_send(piece).is_err() {
                            return Ok(false);
                        }
                        first = true;
                    }
                    sql.push_str(if first { &self.head } else { ",\n" });
                    first = false;
                    sql.push('(');
                    for (k, &i) in written.iter().enumerate() {
                        if k > 0 {
                            sql.push_str(", ");
                        }
                        push_sql_literal(&mut sql, self.lits, &row[i]);
                    }
                    sql.push(')');
                    in_sql += 1;
                }
                return Ok(out
                    .blocking_send(Piece {
                        bytes: sql.into_bytes(),
                        rows: in_sql,
                        updates,
                    })
                    .is_ok());
            }
        };
        Ok(out
            .blocking_send(Piece {
                bytes: bytes.into_bytes(),
                rows,
                updates,
            })
            .is_ok())
    }

    fn finish(self) -> Result<(), Error> {
        Ok(())
    }

    fn abandon(self) {}
}

impl Target {
    /// Connects to the target, creates the tables when asked (none of them may exist then;
    /// with `transaction = "whole"` on PostgreSQL and SQLite they are created in the write
    /// transaction instead), and checks that every table exists and is empty and that every
    /// foreign key written last is nullable; writes nothing else.
    pub(super) async fn open(
        url: &str,
        schema: &Schema,
        create: bool,
        mode: TransactionMode,
        order: &[usize],
    ) -> Result<Target, Error> {
        let db = Db::connect(url, super::MAX_LANES + 1, Duration::from_secs(30)).await?;
        let (mut before, after) = if create {
            let ddl = schema.ddl_sections(db.dialect());
            (ddl.before, ddl.after)
        } else {
            (Vec::new(), Vec::new())
        };
        let create_in_tx = if mode == TransactionMode::Whole && db.dialect() != Dialect::MySql {
            std::mem::take(&mut before)
        } else {
            Vec::new()
        };
        let created = if create && mode == TransactionMode::Whole && create_in_tx.is_empty() {
            order
                .iter()
                .map(|&i| db.dialect().quote_table(&schema.tables[i]))
                .collect()
        } else {
            Vec::new()
        };
        let target = Target {
            db,
            mode,
            after,
            create_in_tx,
            created,
        };
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
            target.check(schema, before, create).await
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

    async fn check(&self, schema: &Schema, before: Vec<String>, create: bool) -> Result<(), Error> {
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
            if !self.create_in_tx.is_empty() {
                // Made with the rows, in the write transaction.
                return Ok(());
            }
            for stmt in before {
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

    /// After a failed job: drops the tables it created outside its transaction (a
    /// `"whole"` job on MySQL or MariaDB), children first, so it leaves nothing. Returns the
    /// failure `e`, which names the tables if they cannot be dropped.
    pub(super) async fn undo(&self, e: Error) -> Error {
        if self.created.is_empty() {
            return e;
        }
        let mut script: Vec<String> = self
            .created
            .iter()
            .rev()
            .map(|t| format!("DROP TABLE IF EXISTS {t}"))
            .collect();
        // Keys added after the data may already tie the tables to each other.
        if let CycleWrites::Unchecked { off, on } = self.db.cycle_writes() {
            script.insert(0, off.to_owned());
            script.push(on.to_owned());
        }
        let dropped = async {
            let mut session = self.db.session().await?;
            for stmt in script {
                session.execute_script(stmt).await?;
            }
            Ok::<_, sqlx::Error>(())
        };
        match dropped.await {
            Ok(()) => e,
            Err(d) => Error::MaskFailed {
                message: format!(
                    "{e}; but the tables the job created could not be dropped ({}), and stay \
                     empty or partly written: {}",
                    crate::error::db_message(&d),
                    self.created.join(", ")
                ),
            },
        }
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
        let lanes = self.lanes(source, schema, order.len());
        if lanes > 1 {
            return self
                .write_lanes(lanes, source, schema, plan, masker, order, kept, progress)
                .await;
        }
        let late = self.late_keys(schema, order);
        let mut read = source
            .begin_snapshot()
            .await
            .map_err(Error::db("cannot open a read transaction on the source"))?;
        if let Some(copy) = self.text_copy(source) {
            read.execute_script(copy.setup.to_owned())
                .await
                .map_err(Error::db(
                    "cannot set up the read transaction on the source",
                ))?;
        }
        let mut tx: Option<Tx> = None;
        let mut done = Vec::new();
        let mut pending: Vec<(usize, Vec<Vec<Value>>)> = Vec::new();
        for &ti in order {
            let t = &schema.tables[ti];
            if tx.is_none() {
                let mut w = self.begin().await?;
                for stmt in &self.create_in_tx {
                    w.execute_script(stmt.clone())
                        .await
                        .map_err(Error::db("cannot create the target's tables"))?;
                }
                tx = Some(w);
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
            let (source_rows, rows, updates) = self
                .write_table(w, &mut read, source, t, mask, &late_cols, progress)
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
        self.complete(tx, schema, order).await?;
        Ok(done)
    }

    /// Adds the keys written after the data, moves the identity sequences past the copied
    /// keys, and commits `tx`.
    async fn complete(&self, mut tx: Tx, schema: &Schema, order: &[usize]) -> Result<(), Error> {
        for stmt in &self.after {
            tx.execute_script(stmt.clone())
                .await
                .map_err(|e| Error::MaskFailed {
                    message: format!(
                        "the copy's keys do not hold ({stmt}): {}; {}",
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
        Ok(())
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

    /// Streams one table from the source into the target; returns the rows read and written
    /// and, for rows whose cycle keys are set, their identity and those keys.
    #[allow(clippy::too_many_arguments)]
    async fn write_table(
        &self,
        w: &mut Tx,
        read: &mut Tx,
        source: &Db,
        t: &Table,
        mask: TableMask,
        late: &[usize],
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<(u64, u64, Vec<Vec<Value>>), Error> {
        let d = self.db.dialect();
        let written: Vec<usize> = (0..t.columns.len())
            .filter(|&i| !matches!(t.columns[i].generated, Some(Generated::Computed(_))))
            .collect();
        let names: Vec<String> = written
            .iter()
            .map(|&i| d.quote(&t.columns[i].name))
            .collect();
        let quoted = d.quote_table(t);
        let bulk = self.db.bulk_load();
        let all: Vec<usize> = (0..t.columns.len()).collect();
        let id = identity(t);
        // Masked and encoded on a thread of their own, while the source is read and the
        // target written here.
        if let (Some(copy), Some(bulk)) = (self.text_copy(source), bulk) {
            let columns: Vec<String> = t
                .columns
                .iter()
                .map(|c| source.dialect().quote(&c.name))
                .collect();
            let types = scan::read_specs(source, t)
                .into_iter()
                .map(|c| c.ty)
                .collect();
            let work = Raw::new(mask, copy, bulk, types, written, id, late.to_vec());
            let (input, pieces, end) = rows::spawn("atdm-mask", work)?;
            let statement = (copy.statement)(&source.dialect().quote_table(t), &columns);
            let read_ctx = format!("cannot read table {} of the source", t.name);
            let stream = read
                .copy_out(statement)
                .await
                .map_err(Error::db(&read_ctx))?;
            let feed = raw::feed(stream, input, &read_ctx);
            return self.load(w, t, &names, feed, pieces, end, progress).await;
        }
        let mut rows = Rows::open(read, source, t, &all).await?;
        let encode = Encode {
            id,
            late: late.to_vec(),
            head: format!("INSERT INTO {quoted} ({}) VALUES\n", names.join(", ")),
            lits: literals(d),
            bulk,
            written,
            mask,
        };
        let (input, pieces, end) = rows::spawn("atdm-mask", encode)?;
        self.load(
            w,
            t,
            &names,
            rows::feed(&mut rows, input),
            pieces,
            end,
            progress,
        )
        .await
    }

    /// The source's bulk read path, where it writes the text the target's bulk path reads.
    fn text_copy(&self, source: &Db) -> Option<TextCopy> {
        let same = source.dialect() == self.db.dialect() && self.db.bulk_load().is_some();
        source.text_copy().filter(|_| same)
    }

    /// Writes the pieces of a masking thread into table `t` (its columns `names`) while
    /// `feed` reads the source into it; returns the rows read and written and the cycle keys
    /// to set.
    #[allow(clippy::too_many_arguments)]
    async fn load(
        &self,
        w: &mut Tx,
        t: &Table,
        names: &[String],
        feed: impl Future<Output = Result<u64, Error>>,
        mut pieces: tokio::sync::mpsc::Receiver<Piece>,
        end: rows::End<()>,
        progress: &(dyn Fn(MaskProgress<'_>) + Sync),
    ) -> Result<(u64, u64, Vec<Vec<Value>>), Error> {
        let quoted = self.db.dialect().quote_table(t);
        let ctx = format!("the target refused rows of {}", t.name);
        let bulk = self.db.bulk_load();
        let mut count = 0u64;
        let mut updates = Vec::new();
        let (bytes, mut into_target) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
        let forward = async {
            let bytes = bytes;
            while let Some(piece) = pieces.recv().await {
                count += piece.rows;
                updates.extend(piece.updates);
                if bytes.send(piece.bytes).await.is_err() {
                    // The target stopped; its error is reported.
                    break;
                }
                progress(MaskProgress {
                    table: &t.name,
                    done: count,
                });
            }
            drop(pieces);
        };
        let consume = async {
            match bulk {
                Some(bulk) => w
                    .copy_in((bulk.statement)(&quoted, names), into_target)
                    .await
                    .map(|_| ()),
                None => {
                    while let Some(sql) = into_target.recv().await {
                        let sql = String::from_utf8(sql).expect("SQL text is UTF-8");
                        w.execute_script(sql).await?;
                    }
                    Ok(())
                }
            }
        };
        let (read_out, (), consumed) = tokio::join!(feed, forward, consume);
        let masked = end.wait().await;
        let read = read_out?;
        masked?;
        consumed.map_err(Error::db(&ctx))?;
        Ok((read, count, updates))
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

mod lanes;
#[cfg(test)]
mod tests;
