//! Plans a scenario whole and reports the memory it takes: what a request holds for the
//! rows it cannot stream (an entry that other entries refer to in full).
//!
//! `cargo run --release -p atdm-examples --example plan_memory -- DIR SCENARIO KNOB ROWS`
//!
//! For example `bench/users_keyed many_users users 1000000`. Prints one JSON line: rows,
//! and the process's resident memory (Linux `/proc/self/status`) before planning, holding the
//! plan, and at its peak, with the held bytes per row. One thread plans, so the figures
//! repeat to within a few pages from run to run.

use std::collections::BTreeMap;

use atdm_core::{ExistingRows, RunContext, Value};
use chrono::NaiveDate;

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn resident() -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> Result<u64, Box<dyn std::error::Error>> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("no {name} in /proc/self/status"))?;
        let kb: u64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, scenario, knob, rows] = args.as_slice() else {
        return Err("usage: plan_memory DIR SCENARIO KNOB ROWS".into());
    };
    let rows: i64 = rows.parse()?;
    let pack = atdm_sqlx::pack_from_dir(std::path::Path::new(dir))?;
    let constraints = BTreeMap::from([(knob.clone(), Value::Int(rows))]);
    let ctx = RunContext::new(
        "01J0000000000000000000MEMR",
        NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date"),
    );
    let existing = ExistingRows::new();
    let (before, _) = resident()?;
    let plan = pack.plan(scenario, &constraints, &ctx, &existing)?;
    let (holding, peak) = resident()?;
    let planned = plan.row_count();
    let held = holding.saturating_sub(before);
    println!(
        "{{\"rows\": {planned}, \"rss_before\": {before}, \"rss_holding\": {holding}, \"rss_peak\": {peak}, \"held_bytes_per_row\": {:.1}}}",
        held as f64 / planned.max(1) as f64
    );
    drop(plan);
    Ok(())
}
