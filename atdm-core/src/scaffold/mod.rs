//! Scaffolding: a scenario directory written from a schema, ready to request.
//!
//! [`scaffold`] turns a [`Schema`] (usually one `atdm-sqlx` introspected from a live
//! database) into the files of a scenario directory that `atdm_sqlx::pack_from_dir` loads as
//! they are:
//!
//! | file | holds |
//! |---|---|
//! | `schema.toml` | the schema ([`Schema::to_toml`]), the introspection notes as `#` comments above it |
//! | `every_table.toml` | scenario [`EVERY_TABLE`]: one valid row in every table that can hold one |
//! | `one_<table>.toml` | scenario `one_<table>`: one row of that table and the rows it needs |
//!
//! Rows go in foreign-key order ([`Schema::fk_order`]). A NOT NULL foreign key points at the
//! row of its table by `"@alias"`; a nullable one points at the row of its table when that
//! row comes earlier, and is left NULL otherwise. Inside a foreign-key cycle
//! ([`Schema::fk_cycles`]) the row of the table earlier in order points forward at the row of
//! the later one. A column that two foreign keys share (a `tenant` in two composite keys) is
//! made equal to one cell, so both keys hold. A `one_<table>` scenario holds the table's row
//! and the transitive closure of its NOT NULL foreign keys.
//!
//! Every scenario is checked before it is written: built into a [`Pack`], planned with three
//! run ids and run through the validator gate. A table whose row cannot pass (a NOT NULL
//! column of a type ATDM makes no values for, a check no generated value meets) is left out
//! of `every_table` with a `#` comment that says why and holds its `[[rows]]` entry, commented
//! out, to fill in; it gets no `one_<table>` file, and neither do the tables that need it.
//!
//! The output is deterministic: the same schema and notes give the same bytes.
//!
//! ```
//! # use atdm_core::schema::Schema;
//! let schema = Schema::from_toml(r#"
//! name = "shop"
//!
//! [[tables]]
//! name = "customer"
//! primary_key = ["customer_id"]
//! columns = [{ name = "customer_id", type = "text" }, { name = "email", type = "text" }]
//!
//! [[tables]]
//! name = "orders"
//! primary_key = ["order_id"]
//! columns = [{ name = "order_id", type = "text" }, { name = "customer_id", type = "text" }]
//! foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
//! "#, "shop.toml")?;
//! let scaffold = atdm_core::scaffold::scaffold(&schema, &[])?;
//! assert_eq!(scaffold.scenarios, ["every_table", "one_customer", "one_orders"]);
//! assert!(scaffold.file("every_table.toml").unwrap().text.contains("customer_id = \"@customer\""));
//! let pack = scaffold.pack("shop")?; // what `pack_from_dir` builds from the written files
//! assert_eq!(pack.catalog().len(), 3);
//! # Ok::<(), atdm_core::Error>(())
//! ```

mod rows;
mod text;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::Error;
use crate::generate::{ColumnGen, GenContext, GeneratorRegistry, ReservedMarkers};
use crate::pack::Pack;
use crate::plan::{ExistingRows, RunContext};
use crate::schema::{Generated, Schema};
use crate::value::Value;
use rows::{Layout, RowPlan};

/// The id (and file stem) of the scenario with one row in every table.
pub const EVERY_TABLE: &str = "every_table";

/// The name of the schema file of a scenario directory.
pub const SCHEMA_FILE: &str = "schema.toml";

/// The prefix of the per-table scenarios' ids and file names (`one_customer`).
pub const ONE_TABLE_PREFIX: &str = "one_";

/// How the reason of a table left out for want of another table's row begins.
const NEEDS: &str = "it needs a row of";

/// The run ids each scenario is planned with before it is written.
const CHECK_RUN_IDS: [&str; 3] = [
    "01JSCAFFD0000000000000000A",
    "01JSCAFFD0000000000000000B",
    "01JSCAFFD0000000000000000C",
];

/// One file of a scenario directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaffoldFile {
    /// The file name (`schema.toml`, `every_table.toml`, `one_customer.toml`).
    pub name: String,
    /// The file's text (TOML).
    pub text: String,
}

/// A table that `every_table` leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The table.
    pub table: String,
    /// Why its row cannot be seeded as written, and what to do.
    pub reason: String,
}

/// The files of a scenario directory for a schema; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scaffold {
    /// The files, in the order they are listed: `schema.toml`, `every_table.toml`, then
    /// `one_<table>.toml` in foreign-key order.
    pub files: Vec<ScaffoldFile>,
    /// The scenario ids: [`EVERY_TABLE`], then `one_<table>` in foreign-key order.
    pub scenarios: Vec<String>,
    /// The number of tables in the schema.
    pub tables: usize,
    /// The tables `every_table` leaves out, in foreign-key order.
    pub left_out: Vec<LeftOut>,
}

impl Scaffold {
    /// A file by name.
    pub fn file(&self, name: &str) -> Option<&ScaffoldFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The pack the files make, built as `atdm_sqlx::pack_from_dir` builds it from a
    /// directory holding them (without reference rows and registered generators or
    /// validators).
    pub fn pack(&self, name: impl Into<String>) -> Result<Pack, Error> {
        let schema_text = self
            .file(SCHEMA_FILE)
            .map(|f| f.text.as_str())
            .unwrap_or_default();
        let schema = Schema::from_toml(schema_text, SCHEMA_FILE)?;
        let mut scenario_files: Vec<&ScaffoldFile> = self
            .files
            .iter()
            .filter(|f| f.name != SCHEMA_FILE)
            .collect();
        scenario_files.sort_by(|a, b| a.name.cmp(&b.name));
        Pack::builder(name, schema)
            .scenarios(
                scenario_files
                    .into_iter()
                    .map(|f| (f.name.clone(), f.text.clone())),
            )
            .build()
    }
}

/// Writes the scenario directory of `schema`; `notes` (what introspection left out or
/// simplified) become comments at the top of `schema.toml`. Fails only when the schema's
/// TOML does not read back ([`Error::Schema`]).
pub fn scaffold(schema: &Schema, notes: &[String]) -> Result<Scaffold, Error> {
    let schema_text = text::schema_file(schema, notes);
    // Check against the schema as the directory will hold it.
    let schema = Schema::from_toml(&schema_text, SCHEMA_FILE)?;
    let order = schema.fk_order()?;
    let mut pos = vec![0; schema.tables.len()];
    for (p, &t) in order.iter().enumerate() {
        pos[t] = p;
    }
    let layout = Layout {
        alias: aliases(&schema),
        schema: &schema,
        order,
        pos,
    };
    let n = schema.tables.len();
    let mut reason: Vec<Option<String>> = vec![None; n];
    let mut one_rows: Vec<Option<Vec<RowPlan>>> = vec![None; n];
    for &t in &layout.order {
        let inside = layout.closure(t);
        let needs_left_out = (0..n).find(|&p| p != t && inside[p] && reason[p].is_some());
        if let Some(p) = needs_left_out {
            reason[t] = Some(format!(
                "{NEEDS} {}, which is left out; add that table's row first",
                schema.tables[p].name
            ));
            continue;
        }
        let checked = layout
            .rows(&inside, true)
            .map_err(|(_, m)| m)
            .and_then(|rows| check(&layout, &one_id(&layout, t), &rows).map(|()| rows));
        match checked {
            Ok(rows) => one_rows[t] = Some(rows),
            Err(m) => reason[t] = Some(m),
        }
    }
    let every = every_table(&layout, &mut reason);
    let included = reason.iter().filter(|r| r.is_none()).count();
    let mut every_text = if every.is_empty() {
        String::new()
    } else {
        text::scenario(
            &schema,
            &layout.alias,
            &format!(
                "{EVERY_TABLE}: one row in every table that can hold one, written by `atdm introspect --out`.\n\n\
                 Rows go in foreign-key order. A NOT NULL foreign key points at the row of its table \
                 (\"@alias\"); every column not in `set` is generated from its type, name and checks. \
                 Edit freely: fix a value in `set`, add knobs, seed more rows with `count`. See \
                 \"Your own database in five minutes\" in docs/scenarios.md."
            ),
            EVERY_TABLE,
            &format!("One row in every table that can hold one ({included} of {n} tables)."),
            &every,
        )
    };
    let mut left_out = Vec::new();
    for &t in &layout.order {
        let Some(why) = &reason[t] else { continue };
        let name = &schema.tables[t].name;
        left_out.push(LeftOut {
            table: name.clone(),
            reason: why.clone(),
        });
        every_text.push('\n');
        let what = if why.starts_with(NEEDS) {
            "add that table's row first"
        } else {
            "give the columns named above a value in `set` (a literal the database reads as their type), or a `generator` or `default` in schema.toml"
        };
        text::comment(
            &mut every_text,
            &format!(
                "Left out of {EVERY_TABLE}: table {name}.\nWhy: {why}\nTo add it: {what}, then remove the \"# \" in front of these lines:"
            ),
        );
        every_text.push_str("#\n");
        if let Ok(rows) = layout.rows(&layout.closure(t), false) {
            for r in rows.iter().filter(|r| r.table == t) {
                text::commented_out(&mut every_text, &text::row(&schema, &layout.alias, r));
            }
        }
    }
    let mut files = vec![ScaffoldFile {
        name: SCHEMA_FILE.into(),
        text: schema_text,
    }];
    let mut scenarios = Vec::new();
    if every.is_empty() {
        // No table can hold a row: the explanations go below the schema (a scenario file
        // without rows would not load).
        let schema_file = &mut files[0].text;
        schema_file
            .push_str("\n# No table can hold a row yet, so there is no every_table scenario.\n");
        schema_file.push_str(&every_text);
    } else {
        files.push(ScaffoldFile {
            name: format!("{EVERY_TABLE}.toml"),
            text: every_text,
        });
        scenarios.push(EVERY_TABLE.to_owned());
    }
    for &t in &layout.order {
        let Some(rows) = &one_rows[t] else { continue };
        if reason[t].is_some() {
            continue;
        }
        let id = one_id(&layout, t);
        let name = &schema.tables[t].name;
        let needs: Vec<&str> = rows
            .iter()
            .filter(|r| r.table != t)
            .map(|r| schema.tables[r.table].name.as_str())
            .collect();
        let description = if needs.is_empty() {
            format!("One row of {name}.")
        } else {
            format!(
                "One row of {name}, with the rows it needs: {}.",
                needs.join(", ")
            )
        };
        let header = format!(
            "{id}: one row of {name} and the rows its NOT NULL foreign keys need, written by `atdm introspect --out`. Every column not in `set` is generated."
        );
        files.push(ScaffoldFile {
            name: format!("{id}.toml"),
            text: text::scenario(&schema, &layout.alias, &header, &id, &description, rows),
        });
        scenarios.push(id);
    }
    Ok(Scaffold {
        files,
        scenarios,
        tables: n,
        left_out,
    })
}

/// The rows of `every_table`: every table not left out. Tries nullable links first, then
/// without them; while it still fails, leaves out the first table (in insert order) at which
/// the rows fail, with the tables that need it.
fn every_table(layout: &Layout<'_>, reason: &mut [Option<String>]) -> Vec<RowPlan> {
    let n = reason.len();
    let leave_out = |reason: &mut [Option<String>], t: usize, why: String| {
        reason[t] = Some(why);
        for (d, r) in reason.iter_mut().enumerate() {
            if r.is_none() && layout.closure(d)[t] {
                *r = Some(format!(
                    "{NEEDS} {}, which is left out; add that table's row first",
                    layout.schema.tables[t].name
                ));
            }
        }
    };
    loop {
        let inside: Vec<bool> = reason.iter().map(Option::is_none).collect();
        if !inside.contains(&true) {
            return Vec::new();
        }
        let mut last = String::new();
        for links in [true, false] {
            match layout.rows(&inside, links) {
                Ok(rows) => match check(layout, EVERY_TABLE, &rows) {
                    Ok(()) => return rows,
                    Err(m) => last = m,
                },
                Err((t, m)) => {
                    leave_out(reason, t, m);
                    last.clear();
                    break;
                }
            }
        }
        if last.is_empty() {
            continue;
        }
        // The shortest prefix (in insert order, closed under NOT NULL foreign keys) that
        // fails names the table to leave out.
        let mut culprit = None;
        for k in 1..=layout.order.len() {
            let prefix: Vec<bool> = (0..n).map(|t| inside[t] && layout.pos[t] < k).collect();
            let closed: Vec<bool> = (0..n)
                .map(|t| {
                    prefix[t]
                        && layout
                            .closure(t)
                            .iter()
                            .enumerate()
                            .all(|(p, &needed)| !needed || prefix[p])
                })
                .collect();
            if !closed[layout.order[k - 1]] {
                continue;
            }
            let fails = match layout.rows(&closed, false) {
                Ok(rows) => check(layout, EVERY_TABLE, &rows).err(),
                Err((_, m)) => Some(m),
            };
            if let Some(m) = fails {
                culprit = Some((layout.order[k - 1], m));
                break;
            }
        }
        let (t, m) = culprit.unwrap_or_else(|| {
            let t = *layout
                .order
                .iter()
                .rev()
                .find(|&&t| inside[t])
                .expect("some table is inside");
            (t, last)
        });
        leave_out(
            reason,
            t,
            format!("its row fails together with the others: {m}"),
        );
    }
}

/// The id of a table's own scenario.
fn one_id(layout: &Layout<'_>, t: usize) -> String {
    format!("{ONE_TABLE_PREFIX}{}", layout.alias[t])
}

/// An alias per table: its name with every character but ASCII letters, digits and `_` made
/// `_` (`sales.order` is `sales_order`), unique without regard to case (`_2`, `_3` added).
fn aliases(schema: &Schema) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    schema
        .tables
        .iter()
        .map(|t| {
            let mut base: String = t
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
                base.insert_str(0, "t_");
            }
            let mut alias = base.clone();
            let mut k = 2;
            while taken.contains(&alias.to_ascii_lowercase()) {
                alias = format!("{base}_{k}");
                k += 1;
            }
            taken.push(alias.to_ascii_lowercase());
            alias
        })
        .collect()
}

/// Builds the scenario into a pack, plans it with three run ids and runs the gate. A scenario
/// with forward references (a foreign-key cycle) that the planner does not accept yet is
/// checked with those references pointed at stand-in existing rows instead.
fn check(layout: &Layout<'_>, id: &str, rows: &[RowPlan]) -> Result<(), String> {
    let s = layout.schema;
    let text = text::scenario(s, &layout.alias, "", id, "", rows);
    let file = format!("{id}.toml");
    let built = Pack::builder("scaffold", s.clone())
        .scenario(file.clone(), text)
        .build();
    let forward = rows
        .iter()
        .any(|r| r.set.iter().any(|e| e.forward.is_some()));
    match built {
        Ok(pack) => plan_all(&pack, id, &ExistingRows::new()),
        Err(e) if forward && e.to_string().contains("is planned after this row") => {
            let mut stand_ins = ExistingRows::new();
            let mut cut = rows.to_vec();
            for r in &mut cut {
                for e in r.set.iter().filter_map(|e| e.forward) {
                    let target = &s.tables[e];
                    stand_ins
                        .entry(target.name.clone())
                        .or_insert_with(|| vec![stand_in(target)]);
                }
                r.set.retain(|e| e.forward.is_none());
            }
            let text = text::scenario(s, &layout.alias, "", id, "", &cut);
            let pack = Pack::builder("scaffold", s.clone())
                .scenario(file, text)
                .build()
                .map_err(|e| reason(s, &cut, e))?;
            plan_all(&pack, id, &stand_ins)
        }
        Err(e) => Err(reason(s, rows, e)),
    }
}

/// An error of a scaffold scenario, said about the table and column (`doc.embedding: ...`)
/// instead of the scenario file's field (`rows[1].set.embedding`).
fn reason(schema: &Schema, rows: &[RowPlan], e: Error) -> String {
    if let Error::Scenario(crate::error::ScenarioError::Invalid { field, message, .. }) = &e {
        let place = field
            .strip_prefix("rows[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, rest)| {
                let table = &schema.tables[rows.get(i.parse::<usize>().ok()?)?.table].name;
                Some(match rest.strip_prefix(".set.") {
                    Some(column) => format!("{table}.{column}"),
                    None => table.clone(),
                })
            });
        if let Some(place) = place {
            return format!("{place}: {message}");
        }
    }
    plan_reason(e)
}

/// A planning or validation error without the scenario's name and the check's run id.
fn plan_reason(e: Error) -> String {
    match e {
        Error::Rejected(r) => format!(
            "a generated row is rejected: {}",
            r.failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Error::Plan { message, .. } => message,
        other => other.to_string(),
    }
}

fn plan_all(pack: &Pack, id: &str, existing: &ExistingRows) -> Result<(), String> {
    let date = NaiveDate::from_ymd_opt(2026, 6, 1).expect("a valid date");
    for run_id in CHECK_RUN_IDS {
        let ctx = RunContext::new(run_id, date);
        pack.plan_validated(id, &Default::default(), &ctx, existing)
            .map_err(plan_reason)?;
    }
    Ok(())
}

/// A generated row of `table`, standing in for the row a forward reference points at.
fn stand_in(table: &crate::schema::Table) -> BTreeMap<String, Value> {
    let registry = GeneratorRegistry::default();
    let ctx = GenContext {
        seed: 0,
        run_id: CHECK_RUN_IDS[0],
        reference_date: NaiveDate::from_ymd_opt(2026, 6, 1).expect("a valid date"),
        table: &table.name,
        column: "",
        row: 1_000,
    };
    table
        .columns
        .iter()
        .filter(|c| !matches!(c.generated, Some(Generated::Computed(_))))
        .filter_map(|c| {
            let g = ColumnGen::new(table, c, &registry, None).ok()?;
            let ctx = GenContext {
                column: &c.name,
                ..ctx
            };
            Some((c.name.clone(), g.value(&ctx, &ReservedMarkers)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
