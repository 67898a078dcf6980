//! Restoring the tables of a foreign-key cycle: emptied and written together, the way the
//! database allows (as seeds and resets do, see `engine::cycle`): SQLite checks foreign keys
//! at commit (the restore defers them anyway); MySQL and MariaDB switch the checks off for the
//! group and the engine checks every foreign key of the group's tables before commit;
//! PostgreSQL empties the group with one statement and writes it from staging tables (a
//! temporary copy of each table, filled by COPY) with one statement, so a cycle of any size,
//! deferrable or not, is restored.

use atdm_core::Value;
use atdm_core::schema::ColumnType;

use super::restore::Loaded;
use crate::Engine;
use crate::backend::{CycleWrites, Stmt, Tx};
use crate::engine::check_written;
use crate::error::Error;

impl Engine {
    /// The positions in `loaded` of each foreign-key cycle's tables (two or more).
    pub(super) fn restore_groups(&self, loaded: &[Loaded]) -> Vec<Vec<usize>> {
        let schema = self.schema();
        schema
            .fk_cycles()
            .into_iter()
            .map(|members| {
                members
                    .iter()
                    .filter_map(|&i| {
                        let name = &schema.tables[i].name;
                        loaded.iter().position(|l| &l.part.name == name)
                    })
                    .collect::<Vec<usize>>()
            })
            .filter(|g| g.len() > 1)
            .collect()
    }

    /// Deletes every row of a cycle's tables; returns the rows each held.
    pub(super) async fn empty_group(
        &self,
        tx: &mut Tx,
        group: &[&Loaded],
        ctx: &str,
    ) -> Result<Vec<u64>, Error> {
        let db = self.db();
        let deletes: Vec<Stmt> = group
            .iter()
            .map(|l| Stmt::new(format!("DELETE FROM {}", l.part.sql_name)))
            .collect();
        let counts = match db.cycle_writes() {
            CycleWrites::Deferred { .. } => {
                let mut out = Vec::new();
                for s in deletes {
                    out.push(tx.execute(s).await.map_err(Error::db(ctx))?);
                }
                out
            }
            CycleWrites::Unchecked { off, on } => {
                tx.queue(Stmt::new(off));
                let mut out = Vec::new();
                let mut failed = None;
                for s in deletes {
                    match tx.execute(s).await {
                        Ok(n) => out.push(n),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let back_on = tx.execute(Stmt::new(on)).await;
                if let Some(e) = failed {
                    return Err(Error::db(ctx)(e));
                }
                back_on.map_err(Error::db(ctx))?;
                out
            }
            CycleWrites::OneStatement { combine } => {
                let types = vec![ColumnType::BigInt; deletes.len()];
                let row = tx
                    .fetch_all(combine(deletes), &types)
                    .await
                    .map_err(Error::db(ctx))?;
                row.into_iter()
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| match v {
                        Value::Int(n) => u64::try_from(n).unwrap_or_default(),
                        _ => 0,
                    })
                    .collect()
            }
        };
        Ok(counts)
    }

    /// Writes a cycle's tables; returns the rows written to each.
    pub(super) async fn write_group(
        &self,
        tx: &mut Tx,
        group: &[&Loaded],
        ctx: &str,
        corrupt: &(dyn Fn(&super::Part, String) -> Error + Sync),
    ) -> Result<Vec<u64>, Error> {
        let db = self.db();
        let mut counts = Vec::with_capacity(group.len());
        match db.cycle_writes() {
            CycleWrites::Deferred { .. } => {
                for l in group {
                    counts.push(self.write_table(tx, l, None, false, ctx, corrupt).await?);
                }
            }
            CycleWrites::Unchecked { off, on } => {
                tx.queue(Stmt::new(off));
                let mut failed = None;
                for l in group {
                    match self.write_table(tx, l, None, false, ctx, corrupt).await {
                        Ok(n) => counts.push(n),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let back_on = tx.execute(Stmt::new(on)).await;
                if let Some(e) = failed {
                    return Err(e);
                }
                back_on.map_err(Error::db(ctx))?;
                for l in group {
                    check_written(tx, &**db, self.schema(), &l.part.table, None)
                        .await
                        .map_err(Error::db(ctx))?;
                }
            }
            CycleWrites::OneStatement { combine } => {
                let d = db.dialect();
                let mut inserts = Vec::with_capacity(group.len());
                let mut stages = Vec::with_capacity(group.len());
                for (i, l) in group.iter().enumerate() {
                    let stage = d.quote(&format!("atdm_stage_{i}"));
                    let names: Vec<String> = l
                        .cols
                        .iter()
                        .filter(|c| c.written)
                        .map(|c| d.quote(&c.name))
                        .collect();
                    let list = names.join(", ");
                    tx.execute(Stmt::new(format!(
                        "CREATE TEMPORARY TABLE {stage} AS SELECT {list} FROM {} WHERE 1 = 0",
                        l.part.sql_name
                    )))
                    .await
                    .map_err(Error::db(ctx))?;
                    counts.push(
                        self.write_table(tx, l, Some(&stage), false, ctx, corrupt)
                            .await?,
                    );
                    let identity = l
                        .part
                        .table
                        .columns
                        .iter()
                        .any(|c| c.generated == Some(atdm_core::schema::Generated::Identity));
                    inserts.push(Stmt::new(format!(
                        "INSERT INTO {} ({list}){} SELECT {list} FROM {stage}",
                        l.part.sql_name,
                        if identity { db.identity_insert() } else { "" }
                    )));
                    stages.push(stage);
                }
                tx.fetch_all(combine(inserts), &[])
                    .await
                    .map_err(Error::db(ctx))?;
                for stage in stages {
                    tx.queue(Stmt::new(format!("DROP TABLE {stage}")));
                }
            }
        }
        Ok(counts)
    }
}
