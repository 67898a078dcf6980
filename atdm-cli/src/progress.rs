//! Progress on stderr, shown only when stderr is a terminal and the output is for people:
//! pipes, CI logs and JSON output stay quiet. A spinner with the elapsed time for long work
//! (request, reset, snapshot, restore, reset-all, introspect); a bar per table for work that
//! goes row by row (generate, mask).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{HumanCount, MultiProgress, ProgressBar, ProgressState, ProgressStyle};

use crate::output::Output;

/// A running spinner; cleared when finished or dropped.
pub(crate) struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    /// Starts a spinner saying `message`, if stderr is a terminal and the output is not JSON.
    pub(crate) fn start(out: &Output, message: &str) -> Spinner {
        if out.is_json() || !std::io::stderr().is_terminal() {
            return Spinner { bar: None };
        }
        let bar = ProgressBar::new_spinner().with_message(message.to_owned());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner { bar: Some(bar) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar per table (rows, rows/s, and the ETA where the total is known).
pub(crate) struct Bars {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars, if stderr is a terminal and the output is not JSON; else nothing is shown.
    pub(crate) fn new(out: &Output) -> Bars {
        let show = !out.is_json() && std::io::stderr().is_terminal();
        Bars {
            multi: show.then(MultiProgress::new),
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// `done` rows of `table` (of `total`, when known). Tables may go on at once.
    pub(crate) fn update(&self, table: &str, done: u64, total: Option<u64>) {
        let Some(multi) = &self.multi else { return };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(table.to_owned()).or_insert_with(|| {
            let (bar, template) = match total {
                Some(n) => (
                    ProgressBar::new(n),
                    "{prefix:>16} [{bar:30}] {human_pos}/{human_len} rows {rate} ETA {eta}",
                ),
                None => (
                    ProgressBar::no_length(),
                    "{prefix:>16} {human_pos} rows {rate} ({elapsed})",
                ),
            };
            let bar = multi.add(bar);
            if let Ok(style) = ProgressStyle::with_template(template) {
                // Whole rows per second (indicatif's own rate shows three decimals).
                let rate = |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}/s", HumanCount(s.per_sec() as u64));
                };
                bar.set_style(style.progress_chars("=> ").with_key("rate", rate));
            }
            bar.set_prefix(table.to_owned());
            bar
        });
        bar.set_position(done);
        if Some(done) == total {
            bar.finish();
        }
    }

    /// Removes the bars.
    pub(crate) fn clear(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}
