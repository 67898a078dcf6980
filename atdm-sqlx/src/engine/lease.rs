//! Lease renewal: a run whose test is still going does not get reaped.

use atdm_core::Value;
use atdm_core::schema::ColumnType;
use atdm_core::token::verify_token;
use chrono::{DateTime, Utc};

use super::{Engine, micros};
use crate::backend::Stmt;
use crate::catalog::check_run_id;
use crate::error::Error;

impl Engine {
    /// Extends a ready run's lease to a full lease from now (the engine's
    /// [`lease`](crate::EngineBuilder::lease)), so that a test that runs longer than its lease
    /// is not reaped mid-test; returns when the lease now ends. `#[atdm_scenario]` renews the
    /// runs of running tests by itself. A cleaned run keeps its lease (nothing to renew); an
    /// unknown run is [`Error::RunNotFound`], a wrong token [`Error::TokenMismatch`] (nothing
    /// changes).
    pub async fn renew_lease(&self, run_id: &str, token: &str) -> Result<DateTime<Utc>, Error> {
        check_run_id(run_id)?;
        let cat = &self.inner.catalog;
        let read = Error::db("cannot renew the lease");
        let rows = self
            .db()
            .fetch_all(
                Stmt::new(format!(
                    "SELECT token_hash, lease_expires_at FROM {} WHERE run_id = {}",
                    cat.runs,
                    cat.p(1)
                ))
                .text(run_id),
                &[ColumnType::Text, ColumnType::BigInt],
            )
            .await
            .map_err(read)?;
        let Some(row) = rows.first() else {
            return Err(Error::RunNotFound {
                run_id: run_id.to_owned(),
            });
        };
        let hash = match &row[0] {
            Value::Text(h) => h.as_str(),
            _ => "",
        };
        if !verify_token(token, hash) {
            return Err(Error::TokenMismatch {
                run_id: run_id.to_owned(),
            });
        }
        // As the catalog stores it: in microseconds.
        let until = super::from_micros(micros(self.lease_from(Utc::now())));
        let mut conn = self
            .db()
            .acquire()
            .await
            .map_err(Error::db("cannot renew the lease"))?;
        let changed = conn
            .execute_counted(vec![
                Stmt::new(format!(
                    "UPDATE {} SET lease_expires_at = {} WHERE run_id = {} AND status = 'ready'",
                    cat.runs,
                    cat.p(1),
                    cat.p(2)
                ))
                .int(micros(until))
                .text(run_id),
            ])
            .await
            .map_err(Error::db("cannot renew the lease"))?;
        if changed.first().copied().unwrap_or(0) == 1 {
            Ok(until)
        } else {
            // Cleaned meanwhile: its lease no longer matters.
            Ok(match row[1] {
                Value::Int(us) => super::from_micros(us),
                _ => until,
            })
        }
    }

    /// How long a run's lease lasts ([`EngineBuilder::lease`](crate::EngineBuilder::lease)).
    pub fn lease(&self) -> std::time::Duration {
        self.inner.lease
    }
}
