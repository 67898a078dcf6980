//! Rows that exist before a run and that a scenario may point at.

use std::collections::{BTreeMap, HashSet};

use atdm_core::Value;
use atdm_core::plan::ExistingRows;
use atdm_core::schema::ColumnType;

use super::{Engine, key_columns};
use crate::backend::Stmt;
use crate::error::Error;

impl Engine {
    /// For each table the scenario reads, up to 1,000 rows in key order, leaving out rows
    /// other runs own (they may disappear when those runs are reset).
    pub(super) async fn existing_rows(&self, scenario: &str) -> Result<ExistingRows, Error> {
        let tables = self.pack().existing_tables(scenario)?;
        let mut out = ExistingRows::new();
        let db = self.db();
        let d = db.dialect();
        for name in tables {
            let t = self
                .schema()
                .table(&name)
                .expect("tables come from the schema")
                .clone();
            let owned = self.owned_keys(&name).await?;
            let cols: Vec<String> = t.columns.iter().map(|c| db.select_expr(c)).collect();
            let order: Vec<String> = key_columns(&t).iter().map(|c| d.quote(c)).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {} LIMIT 1000",
                cols.join(", "),
                d.quote_table(&t),
                order.join(", ")
            );
            let types: Vec<ColumnType> = t.columns.iter().map(|c| c.ty.clone()).collect();
            let fetched = self
                .db()
                .fetch_all(Stmt::new(sql), &types)
                .await
                .map_err(Error::db(format!("cannot read existing rows of {name}")))?;
            let kc: Vec<usize> = key_columns(&t)
                .iter()
                .filter_map(|k| t.columns.iter().position(|c| &c.name == k))
                .collect();
            let rows = fetched
                .into_iter()
                .filter(|r| {
                    let key: Vec<&Value> = kc.iter().map(|&i| &r[i]).collect();
                    !owned.contains(&serde_json::to_string(&key).expect("values serialize"))
                })
                .map(|r| {
                    t.columns
                        .iter()
                        .map(|c| c.name.clone())
                        .zip(r)
                        .collect::<BTreeMap<String, Value>>()
                })
                .collect();
            out.insert(name, rows);
        }
        Ok(out)
    }

    /// The ledger keys (as stored) of rows of `table` owned by runs that are not cleaned.
    async fn owned_keys(&self, table: &str) -> Result<HashSet<String>, Error> {
        let stmt = Stmt::new(self.inner.catalog.owned_keys_of_table()).text(table);
        let rows = self
            .db()
            .fetch_all(stmt, &[ColumnType::Text])
            .await
            .map_err(Error::db("cannot read the run ledger"))?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| match r.pop() {
                Some(Value::Text(k)) => Some(k),
                _ => None,
            })
            .collect())
    }
}
