//! A spinner with the elapsed time for long work (request, reset, snapshot, restore,
//! reset-all, introspect), on stderr, shown only when stderr is a terminal and the output is
//! for people: pipes, CI logs and JSON output stay quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

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
