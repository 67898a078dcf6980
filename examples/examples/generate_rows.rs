//! Generates rows of one table of a pack directory in memory and discards them: the
//! generation benchmark's subject (bench/generate.py), and what callgrind counts.
//!
//! `cargo run --release -p atdm-examples --example generate_rows -- DIR TABLE ROWS [THREADS]`
//!
//! Prints one JSON line: rows, threads, wall seconds.

use std::collections::BTreeMap;
use std::time::Instant;

use atdm_core::generate::Dataset;
use chrono::NaiveDate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, table, rows, rest @ ..] = args.as_slice() else {
        return Err("usage: generate_rows DIR TABLE ROWS [THREADS]".into());
    };
    let rows: u64 = rows.parse()?;
    let threads: usize = rest.first().map(|t| t.parse()).transpose()?.unwrap_or(1);
    let pack = atdm_sqlx::pack_from_dir(std::path::Path::new(dir))?;
    let counts = BTreeMap::from([(table.clone(), rows)]);
    let date = NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date");
    let options = atdm_sqlx::dataset_options(&pack, 7, date);
    let dataset = Dataset::new(
        pack.schema(),
        &counts,
        pack.generators(),
        pack.markers(),
        &options,
    )?;
    // The batches `atdm generate` makes of this table.
    let most = atdm_sqlx::GenerateOptions::new(counts.clone(), 7, date).batch_rows;
    let batch = atdm_sqlx::batch_rows_of(&dataset, table, rows, most);
    let started = Instant::now();
    let ranges: Vec<(u64, u64)> = (0..rows)
        .step_by(batch as usize)
        .map(|s| (s, (s + batch).min(rows)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let made = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(a, b)) = ranges.get(i) else { break };
                    let out = dataset.batch(table, a..b).expect("a dataset table");
                    made.fetch_add(out.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    println!(
        "{{\"rows\": {}, \"threads\": {threads}, \"seconds\": {:.6}}}",
        made.into_inner(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
