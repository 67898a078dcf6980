//! Setup: the run catalog, and (when asked) the pack's tables and reference rows, created under
//! the backend's setup lock so that parallel processes do not race.
//!
//! A role that may only read and write rows (no CREATE, not the tables' owner) still starts:
//! when the database refuses a statement for lack of privilege and everything the setup
//! would create is already there (the owner set it up once, with `atdm setup`), the rest of
//! the DDL is skipped and only the reference rows (DML) are checked. When something is
//! missing, the error says to have the owner run `atdm setup`.
//!
//! A setup that succeeded leaves its fingerprint (a SHA-256 of the ATDM version, every DDL
//! statement and every reference row) in the catalog's `setup` table. A later start with the
//! same fingerprint, and every table of the setup readable, skips the DDL and the reference-row
//! checks: one query, instead of a lock and a statement per table, index and reference row.

use atdm_core::Value;
use atdm_core::schema::ColumnType;

use super::{Engine, col_type, key_columns};
use crate::backend::{Stmt, Tx};
use crate::error::{Error, db_message};

/// The fingerprint of a setup: SHA-256 (hex) of the ATDM version, its statements and its
/// reference rows.
fn fingerprint(statements: &[String], reference: &[RefInsert]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for sql in statements {
        h.update(b"\0");
        h.update(sql.as_bytes());
    }
    for r in reference {
        h.update(b"\0");
        h.update(format!("{:?}", r.insert).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A reference row: a statement that counts it by key, and one that inserts it.
struct RefInsert {
    table: String,
    check: Stmt,
    insert: Stmt,
}

impl Engine {
    /// Creates the catalog, and (if asked) the pack's tables and reference rows, under the
    /// backend's setup lock.
    ///
    /// Unless `full`, nothing is done when the fingerprint of this setup is there already
    /// (see the module docs).
    pub(super) async fn setup(&self, apply_schema: bool, full: bool) -> Result<(), Error> {
        let db = self.db();
        let mut statements = self.inner.catalog.ddl();
        let reference = if apply_schema {
            statements.extend(self.schema().ddl(db.dialect()));
            self.reference_inserts()?
        } else {
            Vec::new()
        };
        let fingerprint = fingerprint(&statements, &reference);
        if !full && self.set_up_before(&fingerprint, apply_schema).await {
            return Ok(());
        }
        let ctx = "cannot set up the run catalog and schema";
        let lock = db.setup_lock();
        let mut s = db.session().await.map_err(Error::db(ctx))?;
        s.execute(Stmt::new(lock.lock))
            .await
            .map_err(Error::db(ctx))?;
        let mut result = self
            .set_up(&mut s, &statements, &reference, apply_schema)
            .await;
        let end = if result.is_ok() {
            lock.commit
        } else {
            lock.rollback
        };
        if let Some(end) = end
            && let Err(e) = s.execute(Stmt::new(end)).await
            && result.is_ok()
        {
            result = Err(Error::Database {
                context: ctx.into(),
                message: db_message(&e),
            });
        }
        if let Some(unlock) = lock.unlock {
            let _ = s.execute(Stmt::new(unlock)).await;
        }
        if result.is_ok() {
            // Outside the setup's transaction: a role that may not write it (or a parallel
            // start that wrote it first) only means the next start checks everything again.
            let record = Stmt::new(format!(
                "INSERT INTO {} (fingerprint, set_up_at) VALUES ({}, {})",
                self.inner.catalog.setup,
                self.inner.catalog.p(1),
                self.inner.catalog.p(2)
            ))
            .text(fingerprint)
            .int(super::micros(chrono::Utc::now()));
            if let Err(e) = s.execute(record).await {
                tracing::debug!(error = %e, "the setup's fingerprint was not recorded");
            }
        }
        s.release();
        result
    }

    /// Whether a setup with this fingerprint succeeded before and every table it makes (the
    /// catalog's, and the pack's when `apply_schema`) can be read: one query, which fails
    /// (and so says no) when a table is missing.
    async fn set_up_before(&self, fingerprint: &str, apply_schema: bool) -> bool {
        let cat = &self.inner.catalog;
        let d = self.db().dialect();
        let mut sql = format!(
            "SELECT fingerprint FROM {} WHERE fingerprint = {}",
            cat.setup,
            cat.p(1)
        );
        let mut tables = vec![cat.runs.clone(), cat.ledger.clone(), cat.outbox.clone()];
        if apply_schema {
            tables.extend(self.schema().tables.iter().map(|t| d.quote_table(t)));
        }
        for t in tables {
            sql.push_str(&format!(" UNION ALL SELECT NULL FROM {t} WHERE 1 = 0"));
        }
        let found = self
            .db()
            .fetch_all(Stmt::new(sql).text(fingerprint), &[ColumnType::Text])
            .await;
        matches!(found, Ok(rows) if !rows.is_empty())
    }

    async fn set_up(
        &self,
        s: &mut Tx,
        statements: &[String],
        reference: &[RefInsert],
        apply_schema: bool,
    ) -> Result<(), Error> {
        for sql in statements {
            match s.execute(Stmt::new(sql.clone())).await {
                Ok(_) => {}
                Err(e) if self.db().is_permission_denied(&e) => {
                    self.all_there(s, !apply_schema, &e).await?;
                    tracing::debug!(error = %e, "the role may not run the setup's DDL; everything it creates is there");
                    break;
                }
                Err(e) => {
                    return Err(Error::Database {
                        context: format!(
                            "cannot set up the run catalog and schema (statement: {sql})"
                        ),
                        message: db_message(&e),
                    });
                }
            }
        }
        for r in reference {
            let found = s
                .fetch_all(r.check.clone(), &[atdm_core::schema::ColumnType::BigInt])
                .await
                .map_err(Error::db("cannot read the reference rows"))?;
            if matches!(found.first().and_then(|row| row.first()), Some(Value::Int(n)) if *n > 0) {
                continue;
            }
            s.execute(r.insert.clone())
                .await
                .map_err(Error::db(format!(
                    "cannot insert a reference row of {}",
                    r.table
                )))?;
        }
        Ok(())
    }

    /// `Ok` when the run catalog (and, unless `catalog_only`, every table of the pack) can be
    /// read: a role without DDL privileges then needs none. Otherwise the error says what is
    /// missing and to have the owner run `atdm setup`.
    async fn all_there(
        &self,
        s: &mut Tx,
        catalog_only: bool,
        denied: &sqlx::Error,
    ) -> Result<(), Error> {
        let d = self.db().dialect();
        let cat = &self.inner.catalog;
        let mut tables = vec![cat.runs.clone(), cat.ledger.clone(), cat.outbox.clone()];
        if !catalog_only {
            tables.extend(self.schema().tables.iter().map(|t| d.quote_table(t)));
        }
        for t in &tables {
            if s.fetch_all(Stmt::new(format!("SELECT 1 FROM {t} WHERE 1 = 0")), &[])
                .await
                .is_err()
            {
                return Err(Error::Database {
                    context: format!(
                        "the run catalog and the pack's tables are not set up ({t} cannot be read), and this role may not create them"
                    ),
                    message: format!(
                        "{}; have the database's owner run `atdm setup` once (or connect an Engine as the owner), then use this role",
                        db_message(denied)
                    ),
                });
            }
        }
        Ok(())
    }

    /// For every reference row: a statement that counts it by key, and one that inserts it.
    fn reference_inserts(&self) -> Result<Vec<RefInsert>, Error> {
        let db = self.db();
        let d = db.dialect();
        let schema = self.schema();
        let mut out = Vec::new();
        for ti in schema.fk_order().map_err(|e| Error::Core(e.into()))? {
            let t = &schema.tables[ti];
            let Some(rows) = self.pack().reference_rows().get(&t.name) else {
                continue;
            };
            for row in rows {
                let key = key_columns(t);
                let cond: Vec<String> = key
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{} = {}", d.quote(c), db.param(i + 1, t, c)))
                    .collect();
                let check = Stmt {
                    sql: format!(
                        "SELECT COUNT(*) FROM {} WHERE {}",
                        d.quote_table(t),
                        cond.join(" AND ")
                    ),
                    binds: key
                        .iter()
                        .map(|c| {
                            (
                                row.get(c.as_str()).cloned().unwrap_or(Value::Null),
                                col_type(t, c),
                            )
                        })
                        .collect(),
                };
                let cols: Vec<&String> = row.keys().collect();
                let ps: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| db.param(i + 1, t, c))
                    .collect();
                let insert = Stmt {
                    sql: format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        d.quote_table(t),
                        cols.iter()
                            .map(|c| d.quote(c))
                            .collect::<Vec<_>>()
                            .join(", "),
                        ps.join(", ")
                    ),
                    binds: cols
                        .iter()
                        .map(|c| (row[*c].clone(), col_type(t, c)))
                        .collect(),
                };
                out.push(RefInsert {
                    table: t.name.clone(),
                    check,
                    insert,
                });
            }
        }
        Ok(out)
    }
}
