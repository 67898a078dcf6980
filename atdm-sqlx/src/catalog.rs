//! The run catalog and ledger: which runs exist, their token hashes and leases, and which rows
//! each run owns. They live in the target database, so they commit with the seed.
//!
//! PostgreSQL keeps them in a dedicated schema (`atdm.runs`, `atdm.ledger`); SQLite and MySQL
//! in prefixed tables (`atdm_runs`, `atdm_ledger`). Times are microseconds since the Unix
//! epoch, UTC.

use atdm_core::schema::Dialect;

/// Names and DDL of the catalog tables for one dialect.
#[derive(Debug, Clone)]
pub(crate) struct CatalogSql {
    pub(crate) runs: String,
    pub(crate) ledger: String,
    pub(crate) dialect: Dialect,
}

impl CatalogSql {
    pub(crate) fn new(dialect: Dialect) -> Self {
        let (runs, ledger) = match dialect {
            Dialect::Postgres => (
                "\"atdm\".\"runs\"".to_owned(),
                "\"atdm\".\"ledger\"".to_owned(),
            ),
            _ => (dialect.quote("atdm_runs"), dialect.quote("atdm_ledger")),
        };
        CatalogSql {
            runs,
            ledger,
            dialect,
        }
    }

    /// Idempotent DDL for the catalog.
    pub(crate) fn ddl(&self) -> Vec<String> {
        let text = match self.dialect {
            Dialect::MySql => "LONGTEXT",
            _ => "TEXT",
        };
        let mut out = Vec::new();
        if self.dialect == Dialect::Postgres {
            out.push("CREATE SCHEMA IF NOT EXISTS \"atdm\"".to_owned());
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (
  run_id VARCHAR(64) NOT NULL PRIMARY KEY,
  scenario VARCHAR(255) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL,
  lease_expires_at BIGINT NOT NULL,
  invoker VARCHAR(255) NOT NULL,
  reference_date VARCHAR(10) NOT NULL,
  seed VARCHAR(20) NOT NULL,
  generator_version INTEGER NOT NULL,
  constraints_json {text} NOT NULL,
  data_json {text} NOT NULL,
  cleaned_at BIGINT NULL
)",
            self.runs
        ));
        let ledger_index = match self.dialect {
            Dialect::MySql => ",\n  INDEX ix_atdm_ledger_table (table_name)",
            _ => "",
        };
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (
  run_id VARCHAR(64) NOT NULL,
  seq INTEGER NOT NULL,
  table_name VARCHAR(255) NOT NULL,
  row_key {text} NOT NULL,
  PRIMARY KEY (run_id, seq){ledger_index}
)",
            self.ledger
        ));
        match self.dialect {
            Dialect::Postgres => {
                out.push("CREATE INDEX IF NOT EXISTS ix_atdm_ledger_table ON \"atdm\".\"ledger\" (table_name)".into());
                out.push("CREATE INDEX IF NOT EXISTS ix_atdm_runs_lease ON \"atdm\".\"runs\" (status, lease_expires_at)".into());
            }
            Dialect::Sqlite => {
                out.push("CREATE INDEX IF NOT EXISTS ix_atdm_ledger_table ON \"atdm_ledger\" (table_name)".into());
                out.push("CREATE INDEX IF NOT EXISTS ix_atdm_runs_lease ON \"atdm_runs\" (status, lease_expires_at)".into());
            }
            Dialect::MySql => {}
        }
        out
    }

    pub(crate) fn p(&self, n: usize) -> String {
        crate::db::placeholder(self.dialect, n, None)
    }

    pub(crate) fn insert_run(&self) -> String {
        let ps: Vec<String> = (1..=13).map(|n| self.p(n)).collect();
        format!(
            "INSERT INTO {} (run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json) VALUES ({})",
            self.runs,
            ps.join(", ")
        )
    }

    pub(crate) fn select_run(&self) -> String {
        format!(
            "SELECT run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json, cleaned_at FROM {} WHERE run_id = {}",
            self.runs,
            self.p(1)
        )
    }

    pub(crate) fn select_runs(&self) -> String {
        format!(
            "SELECT run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json, cleaned_at FROM {} ORDER BY created_at, run_id",
            self.runs
        )
    }

    /// Claims a ready run for cleaning; affects one row only for the first caller.
    pub(crate) fn mark_cleaned(&self) -> String {
        format!(
            "UPDATE {} SET status = 'cleaned', cleaned_at = {} WHERE run_id = {} AND status = 'ready'",
            self.runs,
            self.p(1),
            self.p(2)
        )
    }

    pub(crate) fn expired_runs(&self) -> String {
        format!(
            "SELECT run_id FROM {} WHERE status = 'ready' AND lease_expires_at < {} ORDER BY created_at, run_id",
            self.runs,
            self.p(1)
        )
    }

    pub(crate) fn ready_runs(&self) -> String {
        format!(
            "SELECT run_id FROM {} WHERE status = 'ready' ORDER BY created_at, run_id",
            self.runs
        )
    }

    pub(crate) fn delete_ledger_of_run(&self) -> String {
        format!("DELETE FROM {} WHERE run_id = {}", self.ledger, self.p(1))
    }

    /// Keys of a table owned by runs that are not cleaned.
    pub(crate) fn owned_keys_of_table(&self) -> String {
        format!(
            "SELECT l.row_key FROM {} l JOIN {} r ON r.run_id = l.run_id WHERE r.status = 'ready' AND l.table_name = {}",
            self.ledger,
            self.runs,
            self.p(1)
        )
    }

    pub(crate) fn insert_ledger(&self, rows: usize) -> String {
        let mut values = Vec::with_capacity(rows);
        for r in 0..rows {
            let b = r * 4;
            values.push(format!(
                "({}, {}, {}, {})",
                self.p(b + 1),
                self.p(b + 2),
                self.p(b + 3),
                self.p(b + 4)
            ));
        }
        format!(
            "INSERT INTO {} (run_id, seq, table_name, row_key) VALUES {}",
            self.ledger,
            values.join(", ")
        )
    }
}
