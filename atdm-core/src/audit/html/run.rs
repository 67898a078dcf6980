//! The run as the page reads it: its events, and its outcome in words.

use super::*;

/// A run's trail, with what the sections ask of it.
pub(super) struct Run<'a> {
    pub(super) trail: &'a AuditTrail,
    pub(super) events: &'a [AuditEvent],
    /// `Some(name)` for a strategy run (`strategy-<name>-<ULID>`, or a trail of baseline
    /// actions only).
    pub(super) strategy: Option<String>,
}

/// The run's outcome in words: the page's headline.
pub(super) struct Verdict {
    pub(super) tone: Tone,
    pub(super) words: String,
    pub(super) detail: String,
}

impl<'a> Run<'a> {
    pub(super) fn new(trail: &'a AuditTrail) -> Self {
        let events = trail.events.as_slice();
        let strategy = trail
            .run_id
            .strip_prefix("strategy-")
            .map(|rest| match rest.rsplit_once('-') {
                Some((name, _)) => name.to_owned(),
                None => rest.to_owned(),
            })
            .or_else(|| {
                let baseline = events.iter().any(|e| {
                    matches!(
                        e.action,
                        AuditAction::SnapshotStarted
                            | AuditAction::SnapshotCompleted
                            | AuditAction::SnapshotFailed
                            | AuditAction::RestoreStarted
                            | AuditAction::RestoreCompleted
                            | AuditAction::RestoreFailed
                            | AuditAction::MaskStarted
                            | AuditAction::MaskCompleted
                            | AuditAction::MaskFailed
                    )
                });
                let requested = events.iter().any(|e| {
                    matches!(
                        e.action,
                        AuditAction::RequestReceived | AuditAction::SeedCompleted
                    )
                });
                (baseline && !requested).then(|| "baseline".to_owned())
            });
        Run {
            trail,
            events,
            strategy,
        }
    }

    pub(super) fn first(&self, a: AuditAction) -> Option<&'a AuditEvent> {
        self.events.iter().find(|e| e.action == a)
    }

    pub(super) fn last(&self, a: AuditAction) -> Option<&'a AuditEvent> {
        self.events.iter().rev().find(|e| e.action == a)
    }

    pub(super) fn any(&self, a: AuditAction) -> bool {
        self.first(a).is_some()
    }

    pub(super) fn request(&self) -> Option<&'a Json> {
        self.first(AuditAction::RequestReceived).map(|e| &e.inputs)
    }

    /// A dry run (`Engine::plan`): planned and validated, never meant to be written.
    pub(super) fn dry_run(&self) -> bool {
        self.request()
            .and_then(|i| i.get("dry_run"))
            .and_then(Json::as_bool)
            == Some(true)
    }

    pub(super) fn plan(&self) -> Option<&'a Json> {
        self.last(AuditAction::PlanResolved).map(|e| &e.outputs)
    }

    /// The tables of the plan in the order they are written (foreign-key order).
    pub(super) fn table_order(&self) -> Vec<String> {
        self.plan()
            .and_then(|o| o.get("tables"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|t| str_at(t, &["table"])).collect())
            .unwrap_or_default()
    }

    pub(super) fn scenario(&self) -> Option<String> {
        self.request()
            .and_then(|i| str_at(i, &["scenario"]))
            .or_else(|| self.plan().and_then(|o| str_at(o, &["scenario"])))
            .or_else(|| {
                self.first(AuditAction::PlanRejected)
                    .and_then(|e| str_at(&e.inputs, &["scenario"]))
            })
    }

    pub(super) fn request_id(&self) -> Option<String> {
        self.first(AuditAction::RequestReceived)
            .and_then(|e| str_at(&e.outputs, &["request_id"]))
            .or_else(|| {
                self.last(AuditAction::SeedCompleted)
                    .and_then(|e| str_at(&e.outputs, &["request_id"]))
            })
    }

    pub(super) fn reference_date(&self) -> Option<String> {
        self.plan()
            .and_then(|o| str_at(o, &["reference_date"]))
            .or_else(|| self.request().and_then(|i| str_at(i, &["reference_date"])))
    }

    pub(super) fn seed(&self) -> Option<String> {
        self.plan()
            .and_then(|o| str_at(o, &["seed"]))
            .or_else(|| self.request().and_then(|i| str_at(i, &["seed"])))
    }

    /// Who acted, in order of first appearance, with the actions they took.
    pub(super) fn invokers(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for e in self.events {
            if !seen.contains(&e.invoker.as_str()) {
                seen.push(&e.invoker);
            }
        }
        match seen.as_slice() {
            [] => NOT_RECORDED.to_owned(),
            [one] => text(one),
            many => many
                .iter()
                .take(8)
                .map(|who| {
                    let first = self
                        .events
                        .iter()
                        .find(|e| e.invoker == *who)
                        .map(|e| e.action.as_str())
                        .unwrap_or_default();
                    format!("{} <span class=\"none\">(from {first})</span>", text(who))
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The validators that refused the plan, in the order of their failures.
    pub(super) fn refusing_validators(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(e) = self.last(AuditAction::PlanRejected)
            && let Some(failures) = e.outputs.get("failures").and_then(Json::as_array)
        {
            for f in failures {
                if let Some(v) = str_at(f, &["validator"])
                    && !names.contains(&v)
                {
                    names.push(v);
                }
            }
        }
        names
    }

    /// The failures of the last rejection, as recorded.
    pub(super) fn failures(&self) -> &'a [Json] {
        self.last(AuditAction::PlanRejected)
            .and_then(|e| e.outputs.get("failures"))
            .and_then(Json::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Why nothing was written, for a rejected run: "the plan was rejected by V" or "the
    /// request was refused by the planner (CODE)".
    pub(super) fn rejection(&self) -> String {
        if self.refusing_validators().is_empty() {
            format!("the request was refused by {}", self.rejected_by())
        } else {
            format!("the plan was rejected by {}", self.rejected_by())
        }
    }

    /// Who refused a rejected plan, in words.
    pub(super) fn rejected_by(&self) -> String {
        let names = self.refusing_validators();
        let code = self
            .last(AuditAction::PlanRejected)
            .and_then(|e| error_code(&e.outputs));
        match (names.is_empty(), code) {
            (true, Some(code)) => format!("the planner ({code})"),
            (true, None) => "the planner".to_owned(),
            (false, _) if names.len() > 3 => format!(
                "{} and {} more validators",
                names[..3].join(", "),
                names.len() - 3
            ),
            (false, _) => names.join(", "),
        }
    }

    /// The last reset outcome (completed or failed), if any.
    pub(super) fn reset_outcome(&self) -> Option<&'a AuditEvent> {
        self.events.iter().rev().find(|e| {
            matches!(
                e.action,
                AuditAction::ResetCompleted | AuditAction::ResetFailed
            )
        })
    }

    pub(super) fn verdict(&self) -> Verdict {
        let v = |tone, words: &str, detail: String| Verdict {
            tone,
            words: words.to_owned(),
            detail,
        };
        let Some(last) = self.events.last() else {
            return v(
                Tone::Unknown,
                "Unknown run: no events recorded",
                "The audit store holds no event for this run id. Check the id (see \"How to find a run id\" below) and the store.".into(),
            );
        };
        if let Some(name) = &self.strategy {
            return self.strategy_verdict(name);
        }
        if self.any(AuditAction::PlanRejected) {
            return v(
                Tone::Rejected,
                "Rejected",
                format!(
                    "The request was refused by {}; nothing was written to the database.",
                    self.rejected_by()
                ),
            );
        }
        if self.dry_run() && !self.any(AuditAction::SeedStarted) {
            let passed = self.any(AuditAction::ValidatorsPassed);
            return v(
                if passed { Tone::Ok } else { Tone::Pending },
                if passed {
                    "Dry run: the plan passed, nothing written"
                } else {
                    "Dry run: no decision recorded"
                },
                "A dry run (Engine::plan) plans and validates a request without writing to the database."
                    .to_owned(),
            );
        }
        if let Some(e) = self.last(AuditAction::SeedFailed) {
            return v(
                Tone::Failed,
                "Seed failed and rolled back",
                format!(
                    "The database refused the plan at {}; the transaction rolled back and nothing was written. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        let written = self
            .last(AuditAction::SeedCompleted)
            .and_then(|e| total(e.outputs.get("rows")));
        // The reset that deleted the rows is what happened to the run; repeats that found
        // nothing left (or failed) afterwards do not change that.
        let cleaning = self.events.iter().rev().find(|e| {
            e.action == AuditAction::ResetCompleted
                && str_at(&e.outputs, &["status"]).as_deref() != Some("already_cleaned")
        });
        if let Some(e) = cleaning.or_else(|| self.reset_outcome()) {
            // reset_all records its reset_completed in each run's trail, with no
            // reset_started there: the strategy is then in the event's own inputs.
            let strategy = str_at(&e.inputs, &["strategy"]).or_else(|| {
                self.events
                    .iter()
                    .rev()
                    .find(|x| x.action == AuditAction::ResetStarted && x.timestamp <= e.timestamp)
                    .and_then(|x| str_at(&x.inputs, &["strategy"]))
            });
            if e.action == AuditAction::ResetCompleted {
                let deleted = total(e.outputs.get("deleted")).unwrap_or(0);
                let how = match strategy.as_deref() {
                    Some("reap") => "reaped after its lease ended",
                    Some("reset_all") => "by reset_all",
                    _ => "by reset_run",
                };
                let again = str_at(&e.outputs, &["status"]).as_deref() == Some("already_cleaned");
                let later = self
                    .events
                    .iter()
                    .filter(|x| {
                        x.timestamp > e.timestamp
                            && matches!(
                                x.action,
                                AuditAction::ResetCompleted
                                    | AuditAction::ResetFailed
                                    | AuditAction::ResetRejected
                            )
                    })
                    .count() as u64;
                let repeats = if later > 0 {
                    format!(
                        " {} after it changed nothing.",
                        capitalize(&plural(later, "reset attempt", "reset attempts"))
                    )
                } else {
                    String::new()
                };
                return v(
                    Tone::Cleaned,
                    "Cleaned",
                    if again {
                        format!(
                            "The run's rows had already been deleted; the reset at {} found nothing left ({how}).",
                            time_short(&e.timestamp)
                        )
                    } else {
                        format!(
                            "The run's rows were deleted at {} ({how}): {} removed.{repeats}",
                            time_short(&e.timestamp),
                            plural(deleted, "row", "rows")
                        )
                    },
                );
            }
            return v(
                Tone::Failed,
                "Seeded; reset failed",
                format!(
                    "The reset at {} failed and rolled back, so the rows are still present. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        if let Some(e) = self.last(AuditAction::SeedCompleted) {
            let lease = str_at(&e.outputs, &["lease_expires_at"])
                .map(|l| format!(" Its lease ends at {l}; then the engine reaps it."))
                .unwrap_or_default();
            return v(
                Tone::Ok,
                "Seeded and still present",
                format!(
                    "{} written at {} and not reset yet.{lease}",
                    written.map_or_else(
                        || "The rows were".to_owned(),
                        |n| plural(n, "row was", "rows were")
                    ),
                    time_short(&e.timestamp)
                ),
            );
        }
        if !self.any(AuditAction::RequestReceived)
            && !self.any(AuditAction::SeedStarted)
            && let Some(e) = self.last(AuditAction::ResetRejected)
        {
            return v(
                Tone::Rejected,
                "Reset refused; no seed recorded",
                format!(
                    "No request was recorded for this run id; a reset of it was refused at {}. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        v(
            Tone::Pending,
            "No outcome recorded",
            format!(
                "The trail ends with {} at {}; the process may have stopped before the run finished (an unfinished seed transaction rolls back).",
                last.action.as_str(),
                time_short(&last.timestamp)
            ),
        )
    }

    pub(super) fn strategy_verdict(&self, name: &str) -> Verdict {
        let v = |tone, words: String, detail: String| Verdict {
            tone,
            words,
            detail,
        };
        let last = self.events.iter().rev().find(|e| {
            !matches!(
                e.action,
                AuditAction::ResetStarted
                    | AuditAction::SnapshotStarted
                    | AuditAction::RestoreStarted
                    | AuditAction::MaskStarted
            )
        });
        let Some(e) = last else {
            let first = &self.events[0];
            return v(
                Tone::Pending,
                format!("Strategy {name}: started, no outcome recorded"),
                format!(
                    "{} at {}; no later event was recorded.",
                    action_words(first.action),
                    time_short(&first.timestamp)
                ),
            );
        };
        let when = time_short(&e.timestamp);
        let baseline = str_at(&e.outputs, &["baseline_id"])
            .map(|b| format!("baseline {b}"))
            .unwrap_or_else(|| "the baseline".to_owned());
        let err = error_text(&e.outputs).unwrap_or_default();
        match e.action {
            AuditAction::SnapshotCompleted => v(
                Tone::Ok,
                "Snapshot written".into(),
                format!(
                    "{} was written at {when}: {}.",
                    capitalize(&baseline),
                    plural(total(e.outputs.get("rows")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::RestoreCompleted => v(
                Tone::Ok,
                "Baseline restored".into(),
                format!(
                    "{} was restored at {when}: {}.",
                    capitalize(&baseline),
                    plural(total(e.outputs.get("rows")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::SnapshotFailed => v(
                Tone::Failed,
                "Snapshot failed".into(),
                format!("The snapshot failed at {when}. {err}"),
            ),
            AuditAction::RestoreFailed => v(
                Tone::Failed,
                "Restore failed and rolled back".into(),
                format!("The restore failed at {when}; the database is as before. {err}"),
            ),
            AuditAction::ResetCompleted => v(
                Tone::Cleaned,
                format!("Cleaned by {name}"),
                format!(
                    "{name} deleted {} at {when}.",
                    plural(total(e.outputs.get("deleted")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::ResetRejected => v(
                Tone::Rejected,
                format!("{} refused", capitalize(name)),
                format!("{name} was refused at {when}; nothing was deleted. {err}"),
            ),
            AuditAction::ResetFailed => v(
                Tone::Failed,
                format!("{} failed and rolled back", capitalize(name)),
                format!("{name} failed at {when}; nothing was deleted. {err}"),
            ),
            other => v(
                Tone::Pending,
                format!("Strategy {name}"),
                format!("The last event is {} at {when}.", other.as_str()),
            ),
        }
    }
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
