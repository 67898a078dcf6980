//! Edge cases in a scenario's plan: after the scenario's own rows, a row per edge case of the
//! columns of each table it seeds (see [`crate::edge`]), each kept only when the whole plan
//! still passes the validator gate.
//!
//! An edge row is the table's first planned row with the class's values set: its keys and
//! unique text made distinct (`-e<k>` at the end, within the column's length), the checks
//! between its columns made to hold around the class's values, and its foreign keys pointing
//! where the first row's do. Nothing points at an edge row, and the result's entity keys
//! leave them out.

use serde::{Deserialize, Serialize};

use super::run::PlannedRow;
use super::{Cell, Plan, Source};
use crate::Pack;
use crate::edge::{EdgeCase, Validity, edge_cases};
use crate::error::Error;
use crate::generate::{CellRng, EdgeCases, RowRules, name_hash};
use crate::plan::ExistingRows;
use crate::schema::{ColumnType, Table};
use crate::validate::ValidatedPlan;
use crate::value::Value;

/// An edge case a planned row holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEdge {
    /// The table.
    pub table: String,
    /// The row within the table's plan.
    pub row: usize,
    /// The column the class is about.
    pub column: String,
    /// The class.
    pub class: String,
}

/// The `k`-th edge row of table slot `t` for `case`, or `None` when the first row's keys
/// cannot be made distinct (a key the database does not assign that is a foreign key, a
/// number or a date), or a column of the case is not planned.
fn edge_row(plan: &Plan, t: usize, table: &Table, case: &EdgeCase, k: usize) -> Option<Vec<Cell>> {
    let tp = &plan.tables[t];
    let mut cells = tp.rows.first()?.clone();
    let idx = |c: &str| tp.columns.iter().position(|x| x == c);
    let fk = |c: &str| {
        table
            .foreign_keys
            .iter()
            .any(|f| f.columns.iter().any(|x| x == c))
    };
    // Every key and unique set needs one column made distinct.
    let mut sets: Vec<&[String]> = vec![&table.primary_key];
    sets.extend(table.unique.iter().map(Vec::as_slice));
    let mut changed: Vec<usize> = Vec::new();
    for set in sets.into_iter().filter(|s| !s.is_empty()) {
        let mut distinct = false;
        for c in set {
            let i = idx(c)?;
            if changed.contains(&i) {
                distinct = true;
                continue;
            }
            if fk(c) {
                continue;
            }
            let max = match table.get_column(c).map(|c| &c.ty) {
                Some(ColumnType::Varchar(n)) => Some(*n as usize),
                _ => None,
            };
            match &cells[i] {
                Cell::Default => distinct = true,
                Cell::Value(Value::Text(s)) => {
                    let suffix = format!("-e{k}");
                    let keep = max.map_or(usize::MAX, |m| m.saturating_sub(suffix.len()));
                    let head: String = s.chars().take(keep).collect();
                    cells[i] = Cell::Value(Value::Text(format!("{head}{suffix}")));
                    changed.push(i);
                    distinct = true;
                }
                Cell::Value(Value::Uuid(_)) => {
                    let mut rng =
                        CellRng::new(plan.seed, name_hash(&table.name), k as u64, name_hash(c));
                    let bytes = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
                        .to_be_bytes();
                    cells[i] = Cell::Value(Value::Uuid(
                        uuid::Builder::from_random_bytes(bytes).into_uuid(),
                    ));
                    changed.push(i);
                    distinct = true;
                }
                _ => {}
            }
            if distinct {
                break;
            }
        }
        if !distinct {
            return None;
        }
    }
    let mut fixed: Vec<usize> = Vec::new();
    for (c, v) in &case.cells {
        let i = idx(c)?;
        cells[i] = Cell::Value(v.clone());
        fixed.push(i);
    }
    let generated: Vec<bool> = (0..cells.len()).map(|i| !fixed.contains(&i)).collect();
    RowRules::new(table, &tp.columns).apply(
        &table.name,
        plan.seed,
        (tp.rows.len() + k) as u64,
        &mut PlannedRow(&mut cells),
        &generated,
        &mut |_| None,
    );
    Some(cells)
}

impl Pack {
    /// Validates `plan` as [`Pack::validate`] does, then adds a row per edge case (`mode`) of
    /// the columns of each table the plan seeds, keeping each one only when the plan still
    /// passes the gate with it (the table's first row with the class's values, its keys made
    /// distinct, the checks between its columns made to hold). `plan.edge_rows` says which
    /// row holds which class. A plan that fails the gate on its own fails as it would
    /// without edge cases.
    pub fn validate_with_edge_cases(
        &self,
        plan: Plan,
        existing: &ExistingRows,
        mode: EdgeCases,
    ) -> Result<ValidatedPlan, Error> {
        let base = self.validate(plan, existing)?;
        if mode == EdgeCases::None {
            return Ok(base);
        }
        let mut plan = base.plan().clone();
        let schema = self.schema();
        for t in 0..plan.tables.len() {
            let Some(table) = schema.table(&plan.tables[t].table) else {
                continue;
            };
            let mut k = 0;
            for case in edge_cases(schema, table, plan.reference_date) {
                let wanted = match case.validity {
                    Validity::Valid => true,
                    Validity::Dangerous => {
                        mode == EdgeCases::Dangerous && case.rejected_by.is_empty()
                    }
                    Validity::Invalid => false,
                };
                if !wanted {
                    continue;
                }
                let Some(cells) = edge_row(&plan, t, table, &case, k) else {
                    continue;
                };
                let mut trial = plan.clone();
                let tp = &mut trial.tables[t];
                let row = tp.rows.len();
                let alias = tp.aliases[0].clone();
                if let Some(sources) = &mut tp.sources {
                    let mut s = sources[0].clone();
                    for (i, (was, now)) in tp.rows[0].iter().zip(&cells).enumerate() {
                        let of_case = case.cells.iter().any(|(c, _)| *c == tp.columns[i]);
                        if of_case {
                            s[i] = Source::Edge {
                                class: case.class.clone(),
                            };
                        } else if was != now {
                            s[i] = Source::Adjusted {
                                rule: "a distinct key, or a check between columns, for an edge-case row".into(),
                                original: Box::new(s[i].clone()),
                            };
                        }
                    }
                    sources.push(s);
                }
                tp.rows.push(cells);
                tp.aliases.push(alias);
                trial.edge_rows.push(PlannedEdge {
                    table: table.name.clone(),
                    row,
                    column: case.column.clone(),
                    class: case.class.clone(),
                });
                if self.validate(trial.clone(), existing).is_ok() {
                    plan = trial;
                    k += 1;
                }
            }
        }
        self.validate(plan, existing)
    }
}
