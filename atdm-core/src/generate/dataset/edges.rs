//! Edge-case rows: a row per edge case of a table's columns after its generated rows (see
//! [`crate::edge`]).

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::edge::{EdgeCase, Validity};
use crate::schema::{Schema, Table};
use crate::value::Value;

/// Which edge cases a dataset adds as rows at the end of each table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeCases {
    /// None: every row is generated.
    #[default]
    None,
    /// A row per valid class of every column.
    Valid,
    /// The valid classes and the dangerous ones (attack payloads every database stores).
    Dangerous,
}

/// An edge case a table's rows hold: the case and the row (from 0) that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRow {
    /// The row.
    pub row: u64,
    /// The case.
    #[serde(flatten)]
    pub case: EdgeCase,
}

/// An edge case no row could hold, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeSkipped {
    /// The case.
    #[serde(flatten)]
    pub case: EdgeCase,
    /// Why.
    pub reason: String,
}

/// How many rows of other values an edge case is tried with before it is skipped.
const EDGE_ATTEMPTS: u64 = 8;

impl Dataset<'_> {
    /// Makes the edge-case rows of member `m`: each case's cells on the next row, the row
    /// rules made to hold around them, kept when every check of the table holds.
    pub(super) fn add_edge_rows(
        &mut self,
        schema: &Schema,
        table: &Table,
        m: usize,
        mode: EdgeCases,
    ) {
        let cases = crate::edge::edge_cases(schema, table, self.reference_date);
        let limit = self.members[m]
            .groups
            .iter()
            .map(|g| g.m.min(u128::from(u64::MAX)) as u64)
            .min()
            .unwrap_or(u64::MAX);
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut held: Vec<EdgeRow> = Vec::new();
        let mut skipped: Vec<EdgeSkipped> = Vec::new();
        let names: Vec<String> = self.members[m]
            .generator
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        for case in cases {
            let wanted = match case.validity {
                Validity::Valid => true,
                Validity::Dangerous => mode == EdgeCases::Dangerous,
                Validity::Invalid => false,
            };
            if !wanted {
                continue;
            }
            let skip = |reason: String| EdgeSkipped {
                case: case.clone(),
                reason,
            };
            if !case.rejected_by.is_empty() {
                let by: Vec<&str> = case.rejected_by.iter().map(|d| d.as_str()).collect();
                skipped.push(skip(format!("{} would refuse it", by.join(", "))));
                continue;
            }
            let row = self.members[m].rows + rows.len() as u64;
            if row >= limit {
                skipped.push(skip(
                    "no unused combination of parent rows is left for its key".into(),
                ));
                continue;
            }
            let cells: Option<Vec<(usize, Value)>> = case
                .cells
                .iter()
                .map(|(c, v)| names.iter().position(|n| n == c).map(|i| (i, v.clone())))
                .collect();
            let Some(cells) = cells else {
                skipped.push(skip("the column is not generated".into()));
                continue;
            };
            let cx = self.cx();
            let external = |c: usize, r: u64| self.external(m, c, r);
            let mut found = Err(String::new());
            for attempt in 0..EDGE_ATTEMPTS {
                let values = self.members[m]
                    .generator
                    .row_with(&cx, row, &external, &cells, attempt);
                let get = |c: &str| names.iter().position(|n| n == c).map(|i| &values[i]);
                let broken = table
                    .checks
                    .iter()
                    .find(|ch| ch.eval(&get) == Some(false))
                    .map(|check| format!("with the row's other values it breaks {check}"))
                    .or_else(|| {
                        table
                            .columns
                            .iter()
                            .find(|c| !c.nullable && get(&c.name).is_some_and(Value::is_null))
                            .map(|c| {
                                format!("the row rules leave the NOT NULL column {} empty", c.name)
                            })
                    });
                match broken {
                    None => {
                        found = Ok(values);
                        break;
                    }
                    Some(reason) => found = Err(reason),
                }
            }
            let values = match found {
                Ok(v) => v,
                Err(reason) => {
                    skipped.push(skip(reason));
                    continue;
                }
            };
            held.push(EdgeRow { row, case });
            rows.push(values);
        }
        let member = &mut self.members[m];
        member.edges = rows;
        member.edge_rows = held;
        member.edge_skipped = skipped;
    }
}

/// A dataset's edge cases, table by table: the rows that hold valid (and, when asked,
/// dangerous) classes, the classes no row could hold, and the invalid classes as
/// negative-test fixtures (never rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeCatalog {
    /// The tables, parents before children.
    pub tables: Vec<TableEdges>,
}

/// One table's edge cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEdges {
    /// The table.
    pub table: String,
    /// The rows that hold a class.
    pub rows: Vec<EdgeRow>,
    /// The classes no row could hold, and why.
    pub skipped: Vec<EdgeSkipped>,
    /// The invalid classes: values the database or the application should reject.
    pub negative: Vec<EdgeCase>,
}

impl Dataset<'_> {
    /// The edge-case catalog of the dataset's tables (empty rows without edge cases).
    pub fn edge_catalog(&self, schema: &Schema) -> EdgeCatalog {
        let tables = self
            .members
            .iter()
            .filter_map(|m| {
                let t = schema.table(&m.name)?;
                let negative = crate::edge::edge_cases(schema, t, self.reference_date)
                    .into_iter()
                    .filter(|c| c.validity == Validity::Invalid)
                    .collect();
                Some(TableEdges {
                    table: m.name.clone(),
                    rows: m.edge_rows.clone(),
                    skipped: m.edge_skipped.clone(),
                    negative,
                })
            })
            .collect();
        EdgeCatalog { tables }
    }
}
