//! Restores on tables with triggers. Where the database can switch a table's own triggers
//! off inside the transaction (PostgreSQL, for the table's owner) the restore does so and they
//! never fire. Elsewhere (SQLite, MySQL, MariaDB) they fire as rows are written: a BEFORE
//! INSERT trigger rewrites a value, an AFTER INSERT trigger writes rows of another table
//! (which the restore then inserts ignoring the rows that exist). So after writing every table
//! the restore reads each table back, compares its content checksum with the baseline's, and
//! puts differing rows back (delete what the baseline lacks, update what differs, insert what
//! is missing) until every table matches, three rounds at most; a trigger that keeps changing
//! rows fails the restore, which rolls back.

use std::collections::{BTreeMap, HashMap};

use atdm_core::Value;
use futures::TryStreamExt;

use super::codec::{Checksum, ColSpec, bind_form, row_digest, stored_value};
use super::objects::read_batch;
use super::restore::Loaded;
use crate::Engine;
use crate::backend::{Stmt, Tx};
use crate::engine::key_columns;
use crate::error::Error;

/// Rounds of reading back and putting rows back before a restore gives up.
const ROUNDS: usize = 3;

impl Engine {
    /// Puts back what triggers changed while the baseline was written; see the module docs.
    pub(super) async fn reconcile(
        &self,
        tx: &mut Tx,
        loaded: &[Loaded],
        ctx: &str,
        corrupt: &(dyn Fn(&super::Part, String) -> Error + Sync),
    ) -> Result<(), Error> {
        for round in 0..=ROUNDS {
            let mut differ = Vec::new();
            for l in loaded {
                let rows = self.stored_rows(tx, l, ctx).await?;
                let mut sum = Checksum::default();
                let mut scratch = Vec::new();
                for r in &rows {
                    sum.add(&row_digest(r, &mut scratch));
                }
                if sum.hex() != l.checksum {
                    differ.push((l, rows));
                }
            }
            if differ.is_empty() {
                return Ok(());
            }
            if round == ROUNDS {
                let names: Vec<&str> = differ.iter().map(|(l, _)| l.part.name.as_str()).collect();
                return Err(Error::Database {
                    context: ctx.into(),
                    message: format!(
                        "triggers keep changing the restored rows of {} (their content still differs from the baseline after {ROUNDS} rounds of putting them back); switch those triggers off for the restore or restore as the tables' owner",
                        names.join(", ")
                    ),
                });
            }
            for (l, current) in differ {
                self.put_back(tx, l, current, ctx, corrupt).await?;
            }
        }
        Ok(())
    }

    /// Every row of a table as the baseline stores it, read inside the restore.
    async fn stored_rows(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        ctx: &str,
    ) -> Result<Vec<Vec<Value>>, Error> {
        let db = self.db();
        let list: Vec<String> = l
            .part
            .table
            .columns
            .iter()
            .map(|c| db.select_expr(c))
            .collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), l.part.sql_name);
        let types = l.cols.iter().map(|c| c.read_ty.clone()).collect();
        let mut out = Vec::new();
        let mut rows = tx
            .fetch(Stmt::new(sql), types)
            .await
            .map_err(Error::db(ctx))?;
        while let Some(row) = rows.try_next().await.map_err(Error::db(ctx))? {
            let mut stored = Vec::with_capacity(row.len());
            for (v, c) in row.into_iter().zip(&l.cols) {
                stored.push(stored_value(v, c).map_err(|m| Error::Database {
                    context: ctx.into(),
                    message: format!("column {} of {}: {m}", c.name, l.part.name),
                })?);
            }
            out.push(stored);
        }
        Ok(out)
    }

    /// Makes one table hold the baseline's rows again.
    async fn put_back(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        current: Vec<Vec<Value>>,
        ctx: &str,
        corrupt: &(dyn Fn(&super::Part, String) -> Error + Sync),
    ) -> Result<(), Error> {
        let keys: Vec<usize> = key_columns(&l.part.table)
            .iter()
            .filter_map(|k| l.cols.iter().position(|c| &c.name == k))
            .collect();
        let key_of = |r: &[Value]| -> String {
            let k: Vec<&Value> = keys.iter().map(|&i| &r[i]).collect();
            serde_json::to_string(&k).expect("values serialize")
        };
        let mut wanted: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
        for batch in &l.batches {
            for r in read_batch(batch, &l.cols).map_err(|m| corrupt(&l.part, m))? {
                wanted.entry(key_of(&r)).or_default().push(r);
            }
        }
        let mut have: HashMap<String, Vec<Vec<Value>>> = HashMap::new();
        for r in current {
            have.entry(key_of(&r)).or_default().push(r);
        }
        for (k, rows) in &have {
            match wanted.get(k) {
                Some(w) if w == rows => {}
                // One row per key: make it the baseline's.
                Some(w) if w.len() == 1 && rows.len() == 1 => {
                    self.update_row(tx, l, &keys, &w[0], ctx, corrupt).await?
                }
                _ => self.delete_rows(tx, l, &keys, &rows[0], ctx).await?,
            }
        }
        for (k, rows) in &wanted {
            let present = have.get(k);
            let settled = present.is_some_and(|h| h == rows || (h.len() == 1 && rows.len() == 1));
            if !settled {
                for r in rows {
                    self.insert_row(tx, l, r, ctx, corrupt).await?;
                }
            }
        }
        Ok(())
    }

    /// The condition that finds a row by its key columns (`IS NULL` for a NULL).
    fn key_condition(
        &self,
        l: &Loaded,
        keys: &[usize],
        row: &[Value],
        first: usize,
    ) -> Result<(String, Vec<(Value, atdm_core::schema::ColumnType)>), String> {
        let db = self.db();
        let d = db.dialect();
        let mut n = first;
        let mut conds = Vec::with_capacity(keys.len());
        let mut binds = Vec::new();
        for &i in keys {
            let c: &ColSpec = &l.cols[i];
            if row[i].is_null() {
                conds.push(format!("{} IS NULL", d.quote(&c.name)));
            } else {
                n += 1;
                conds.push(format!(
                    "{} = {}",
                    d.quote(&c.name),
                    db.param(n, &l.part.table, &c.name)
                ));
                binds.push((
                    bind_form(row[i].clone(), c, db.value_forms())?,
                    c.ty.clone(),
                ));
            }
        }
        Ok((conds.join(" AND "), binds))
    }

    async fn delete_rows(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        keys: &[usize],
        row: &[Value],
        ctx: &str,
    ) -> Result<(), Error> {
        let (cond, binds) =
            self.key_condition(l, keys, row, 0)
                .map_err(|message| Error::Database {
                    context: ctx.into(),
                    message,
                })?;
        let sql = format!("DELETE FROM {} WHERE {cond}", l.part.sql_name);
        tx.execute(Stmt { sql, binds })
            .await
            .map_err(Error::db(ctx))?;
        Ok(())
    }

    async fn update_row(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        keys: &[usize],
        row: &[Value],
        ctx: &str,
        corrupt: &(dyn Fn(&super::Part, String) -> Error + Sync),
    ) -> Result<(), Error> {
        let db = self.db();
        let d = db.dialect();
        let forms = db.value_forms();
        let set: Vec<usize> = (0..l.cols.len())
            .filter(|&i| l.cols[i].written && !keys.contains(&i))
            .collect();
        if set.is_empty() {
            return Ok(());
        }
        let mut assignments = Vec::with_capacity(set.len());
        let mut binds = Vec::with_capacity(set.len() + keys.len());
        for (n, &i) in set.iter().enumerate() {
            let c = &l.cols[i];
            assignments.push(format!(
                "{} = {}",
                d.quote(&c.name),
                db.param(n + 1, &l.part.table, &c.name)
            ));
            binds.push((
                bind_form(row[i].clone(), c, forms).map_err(|m| corrupt(&l.part, m))?,
                c.ty.clone(),
            ));
        }
        let (cond, key_binds) = self
            .key_condition(l, keys, row, set.len())
            .map_err(|m| corrupt(&l.part, m))?;
        binds.extend(key_binds);
        let sql = format!(
            "UPDATE {} SET {} WHERE {cond}",
            l.part.sql_name,
            assignments.join(", ")
        );
        tx.execute(Stmt { sql, binds })
            .await
            .map_err(Error::db(ctx))?;
        Ok(())
    }

    async fn insert_row(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        row: &[Value],
        ctx: &str,
        corrupt: &(dyn Fn(&super::Part, String) -> Error + Sync),
    ) -> Result<(), Error> {
        let db = self.db();
        let d = db.dialect();
        let forms = db.value_forms();
        let written: Vec<usize> = (0..l.cols.len()).filter(|&i| l.cols[i].written).collect();
        let names: Vec<String> = written.iter().map(|&i| d.quote(&l.cols[i].name)).collect();
        let ps: Vec<String> = written
            .iter()
            .enumerate()
            .map(|(n, &i)| db.param(n + 1, &l.part.table, &l.cols[i].name))
            .collect();
        let mut binds = Vec::with_capacity(written.len());
        for &i in &written {
            let c = &l.cols[i];
            binds.push((
                bind_form(row[i].clone(), c, forms).map_err(|m| corrupt(&l.part, m))?,
                c.ty.clone(),
            ));
        }
        let sql = format!(
            "{} {} ({}) VALUES ({})",
            db.insert_ignoring(),
            l.part.sql_name,
            names.join(", "),
            ps.join(", ")
        );
        tx.execute(Stmt { sql, binds })
            .await
            .map_err(Error::db(ctx))?;
        Ok(())
    }
}
