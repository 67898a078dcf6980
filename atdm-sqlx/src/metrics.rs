//! The engine's metrics.
//!
//! Every measurement goes through the [`metrics`] facade, so whatever recorder the
//! application installed (its own Prometheus, StatsD or OpenTelemetry exporter) sees it, and
//! also into a recorder of the engine's own, which [`crate::Engine::metrics_text`] renders in
//! the Prometheus text format without any exporter installed.
//!
//! The metrics and their labels are listed in the crate documentation.

use std::time::Duration;

use atdm_core::audit::AuditEvent;
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

/// Audit write latency buckets, in seconds: 100 us to 5 s.
const WRITE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The engine's own recorder; every measurement also goes to the global one.
pub(crate) struct Metrics {
    local: PrometheusRecorder,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let local = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("atdm_audit_write_seconds".into()),
                WRITE_BUCKETS,
            )
            .expect("the buckets are not empty")
            .build_recorder();
        let m = Metrics { local };
        // Shown from the start, so a scrape can tell "none dropped" from "not measured".
        m.record(|| {
            counter!("atdm_audit_events_dropped_total").increment(0);
            counter!("atdm_audit_write_failures_total").increment(0);
        });
        m
    }

    /// Runs `f` against the engine's recorder and against the global one.
    fn record(&self, f: impl Fn()) {
        metrics::with_local_recorder(&self.local, &f);
        f();
    }

    /// The engine's metrics in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        self.local.handle().render()
    }

    pub(crate) fn audit_written(&self, events: &[AuditEvent], took: Duration) {
        self.record(|| {
            histogram!("atdm_audit_write_seconds").record(took.as_secs_f64());
            for e in events {
                counter!(
                    "atdm_audit_events_total",
                    "action" => e.action.as_str(),
                    "status" => e.status.as_str()
                )
                .increment(1);
            }
        });
    }

    pub(crate) fn audit_write_failed(&self) {
        self.record(|| counter!("atdm_audit_write_failures_total").increment(1));
    }

    pub(crate) fn audit_dropped(&self, n: usize) {
        self.record(|| counter!("atdm_audit_events_dropped_total").increment(n as u64));
    }

    pub(crate) fn request(&self, scenario: &str, status: &'static str) {
        self.record(|| {
            counter!("atdm_requests_total", "scenario" => scenario.to_owned(), "status" => status)
                .increment(1)
        });
    }

    pub(crate) fn seeded_rows(&self, rows: &std::collections::BTreeMap<String, u64>) {
        self.record(|| {
            for (table, n) in rows {
                counter!("atdm_seeded_rows_total", "table" => table.clone()).increment(*n);
            }
        });
    }

    pub(crate) fn validator_rejections<'a>(&self, validators: impl Iterator<Item = &'a str>) {
        let names: Vec<String> = validators.map(str::to_owned).collect();
        self.record(|| {
            for v in &names {
                counter!("atdm_validator_rejections_total", "validator" => v.clone()).increment(1);
            }
        });
    }

    pub(crate) fn reset(&self, strategy: &'static str, status: &'static str) {
        self.record(|| {
            counter!("atdm_resets_total", "strategy" => strategy, "status" => status).increment(1)
        });
    }
}
