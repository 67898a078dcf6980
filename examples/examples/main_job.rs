//! The main job, on the embedded default (an SQLite file in `./.atdm/`):
//! request `claim_denial_active_member`, show the ids and the token, run the query a test
//! would run, reset, show what was deleted, and where the audit trail and its page are.
//!
//! `cargo run -p atdm-examples --example main_job`

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use sqlx::Connection;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder(healthcare::pack()).connect().await?;
    println!("database        {}", engine.database());

    let seeded = engine
        .request("claim_denial_active_member", Request::new())
        .await?;
    println!("run             {}", seeded.run_id);
    println!("request         {}", seeded.request_id);
    for (name, key) in &seeded.data {
        println!("{name:<16}{}", key.as_str().unwrap_or_default());
    }
    println!(
        "token           {}  (shown once; needed to reset)",
        seeded.token.expose()
    );

    // What a test would check: the member's claim was denied, and why.
    let url = engine.database().to_owned();
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let (status, code, reason, network): (String, String, String, String) = sqlx::query_as(
        "SELECT c.status, c.procedure_code, c.denial_reason, p.network_status
         FROM claim c JOIN member m ON m.member_id = c.member_id JOIN provider p ON p.provider_id = c.provider_id
         WHERE m.member_id = ?",
    )
    .bind(seeded.key("member_id").unwrap_or_default())
    .fetch_one(&mut conn)
    .await?;
    println!(
        "query           claim {status}, procedure {code}, reason {reason}, provider {network}"
    );
    conn.close().await?;

    let report = engine
        .reset_run(&seeded.run_id, seeded.token.expose())
        .await?;
    let deleted: Vec<String> = report
        .deleted
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    println!("reset           {:?}: {}", report.status, deleted.join(" "));

    // Every step above is in the run's audit trail; the page shows it to a person.
    let trail = engine.audit(&seeded.run_id).await?;
    let page = std::path::Path::new(".atdm").join(format!("audit-{}.html", seeded.run_id));
    std::fs::write(&page, engine.audit_html(&seeded.run_id).await?)?;
    let steps: Vec<&str> = trail.events.iter().map(|e| e.action.as_str()).collect();
    println!("audit           {}", steps.join(", "));
    println!("audit page      {}", page.display());
    engine.close().await;
    Ok(())
}
