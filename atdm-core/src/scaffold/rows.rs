//! Which value each row of a scaffold scenario sets: foreign keys pointing at the rows of their
//! tables, and columns that several foreign keys share made equal.

use crate::schema::{ColumnType, ForeignKey, Schema, Table};

/// One `set` entry of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetEntry {
    /// The column.
    pub(super) column: String,
    /// The value, as scenario text (`@customer`, `@orders.tenant`, `{run_id}-{row}`).
    pub(super) value: String,
    /// A comment for the reader.
    pub(super) comment: String,
    /// The table of a row planned after this one that the value points at (a forward
    /// reference inside a foreign-key cycle).
    pub(super) forward: Option<usize>,
}

/// One `[[rows]]` entry: a row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowPlan {
    /// The table's position in the schema.
    pub(super) table: usize,
    /// The values set, in column order.
    pub(super) set: Vec<SetEntry>,
    /// Comments about what is left open.
    pub(super) notes: Vec<String>,
}

/// What the rows of a scaffold scenario are planned against.
pub(super) struct Layout<'a> {
    pub(super) schema: &'a Schema,
    /// Table positions in insert order.
    pub(super) order: Vec<usize>,
    /// Per table: its position in `order`.
    pub(super) pos: Vec<usize>,
    /// Per table: its alias (an identifier, unique without regard to case).
    pub(super) alias: Vec<String>,
}

/// Whether a foreign key must point at a row: some of its columns are NOT NULL.
pub(super) fn required(table: &Table, fk: &ForeignKey) -> bool {
    fk.columns
        .iter()
        .any(|c| table.get_column(c).is_some_and(|c| !c.nullable))
}

/// A column that a template with the run id can fill.
fn plain_text(ty: &ColumnType) -> bool {
    matches!(ty, ColumnType::Text | ColumnType::Varchar(_))
}

/// The column of `target` that `"@alias"` on `table.column` stands for (as the planner reads
/// it): the column its first foreign key to `target` pairs it with, else `target`'s one-column
/// primary key.
fn implied_target(schema: &Schema, table: &Table, column: &str, target: &Table) -> Option<String> {
    for fk in &table.foreign_keys {
        if fk.references == target.name
            && let Some(i) = fk.columns.iter().position(|c| c == column)
        {
            return table.fk_target_columns(fk, schema).get(i).cloned();
        }
    }
    match target.primary_key.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Union-find over the cells (table, column) of the planned rows.
struct Cells {
    offset: Vec<usize>,
    parent: Vec<usize>,
}

impl Cells {
    fn new(schema: &Schema) -> Cells {
        let mut offset = Vec::with_capacity(schema.tables.len());
        let mut n = 0;
        for t in &schema.tables {
            offset.push(n);
            n += t.columns.len();
        }
        Cells {
            offset,
            parent: (0..n).collect(),
        }
    }

    fn id(&self, table: usize, column: usize) -> usize {
        self.offset[table] + column
    }

    fn cell(&self, id: usize) -> (usize, usize) {
        let t = self.offset.partition_point(|&o| o <= id) - 1;
        (t, id - self.offset[t])
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

impl Layout<'_> {
    /// The tables a row of `table` needs: itself and, transitively, the targets of its NOT
    /// NULL foreign keys (self-references aside).
    pub(super) fn closure(&self, table: usize) -> Vec<bool> {
        let mut inside = vec![false; self.schema.tables.len()];
        let mut stack = vec![table];
        while let Some(t) = stack.pop() {
            if std::mem::replace(&mut inside[t], true) {
                continue;
            }
            let tt = &self.schema.tables[t];
            for fk in &tt.foreign_keys {
                if fk.references != tt.name
                    && required(tt, fk)
                    && let Some(p) = self.schema.table_index(&fk.references)
                {
                    stack.push(p);
                }
            }
        }
        inside
    }

    /// The rows of the tables in `inside`, one per table, in insert order. NOT NULL foreign
    /// keys point at the row of their table (forward inside a cycle); nullable ones point at
    /// an earlier row when `nullable_links` and there is one, and are left NULL otherwise.
    /// Columns that several foreign keys share are made equal to one cell. Fails (naming the
    /// table) where a row would have to point at itself through a key that no template fills.
    pub(super) fn rows(
        &self,
        inside: &[bool],
        nullable_links: bool,
    ) -> Result<Vec<RowPlan>, (usize, String)> {
        let s = self.schema;
        let mut cells = Cells::new(s);
        // Cells whose value comes through a foreign key (not free to be the source of a class).
        let mut linked = vec![false; cells.parent.len()];
        // Per table: (child column index, target table, foreign key) of each linked key column.
        let mut via: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); s.tables.len()];
        let mut notes: Vec<Vec<String>> = vec![Vec::new(); s.tables.len()];
        for &t in self.order.iter().filter(|&&t| inside[t]) {
            let table = &s.tables[t];
            for (fi, fk) in table.foreign_keys.iter().enumerate() {
                let cols = fk.columns.join(", ");
                let p = if fk.references == table.name {
                    t
                } else {
                    match s.table_index(&fk.references) {
                        Some(p) => p,
                        None => continue,
                    }
                };
                let must = required(table, fk);
                let link = if p == t {
                    if !must {
                        notes[t].push(format!(
                            "{cols}: a nullable reference to {} itself, left NULL (it has one row here)",
                            table.name
                        ));
                    }
                    must
                } else if !inside[p] {
                    notes[t].push(format!(
                        "{cols}: a nullable reference to {}, which has no row in this scenario; left NULL",
                        fk.references
                    ));
                    false
                } else if must || (nullable_links && self.pos[p] < self.pos[t]) {
                    true
                } else {
                    notes[t].push(format!(
                        "{cols}: a nullable reference to {}, left NULL{}",
                        fk.references,
                        if nullable_links {
                            " (its row comes later)"
                        } else {
                            ""
                        }
                    ));
                    false
                };
                if !link {
                    continue;
                }
                let target = &s.tables[p];
                for (i, c) in fk.columns.iter().enumerate() {
                    let (Some(ci), Some(ri)) = (
                        table.column_index(c),
                        target.column_index(&table.fk_target_columns(fk, s)[i]),
                    ) else {
                        continue;
                    };
                    let (a, b) = (cells.id(t, ci), cells.id(p, ri));
                    cells.union(a, b);
                    linked[a] = true;
                    via[t].push((ci, p, fi));
                }
            }
        }
        // Each class of equal cells takes its value from one source: the first free cell in
        // insert order (else the first cell); every other cell points at it.
        let rank = |cells: &Cells, id: usize| {
            let (t, c) = cells.cell(id);
            (self.pos[t], c)
        };
        let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for &t in self.order.iter().filter(|&&t| inside[t]) {
            for c in 0..s.tables[t].columns.len() {
                let id = cells.id(t, c);
                let root = cells.find(id);
                members.entry(root).or_default().push(id);
            }
        }
        let mut value: Vec<Option<SetEntry>> = vec![None; cells.parent.len()];
        for ids in members.values().filter(|m| m.len() > 1) {
            let source = ids
                .iter()
                .copied()
                .filter(|&id| !linked[id])
                .min_by_key(|&id| rank(&cells, id))
                .or_else(|| ids.iter().copied().min_by_key(|&id| rank(&cells, id)))
                .expect("a class has members");
            let (st, sc) = cells.cell(source);
            let source_table = &s.tables[st];
            let source_col = &source_table.columns[sc];
            for &id in ids.iter().filter(|&&id| id != source) {
                let (t, c) = cells.cell(id);
                let table = &s.tables[t];
                let col = &table.columns[c];
                if t == st {
                    // The row points at itself: both cells get the same text.
                    let fillable =
                        |c: &crate::schema::Column| plain_text(&c.ty) && !c.is_db_assigned();
                    if !fillable(col) || !fillable(source_col) {
                        return Err((
                            t,
                            format!(
                                "{}.{} is a NOT NULL reference to the table itself, so its first row must point at itself, and {}.{} is not a text key a scenario can fill twice; set both in the scenario, or point {} at an existing row with {{ existing = \"{}\" }}",
                                table.name,
                                col.name,
                                table.name,
                                source_col.name,
                                col.name,
                                table.name
                            ),
                        ));
                    }
                    value[source] = Some(SetEntry {
                        column: source_col.name.clone(),
                        value: "{run_id}-{row}".into(),
                        comment: format!("equal to {}: the row points at itself", col.name),
                        forward: None,
                    });
                    value[id] = Some(SetEntry {
                        column: col.name.clone(),
                        value: "{run_id}-{row}".into(),
                        comment: format!(
                            "equal to {}: the row points at itself (NOT NULL foreign key to {})",
                            source_col.name, table.name
                        ),
                        forward: None,
                    });
                    continue;
                }
                let fk = via[t]
                    .iter()
                    .find(|(ci, p, _)| *ci == c && *p == st)
                    .map(|&(_, _, fi)| &table.foreign_keys[fi]);
                let alias = &self.alias[st];
                let short = implied_target(s, table, &col.name, source_table);
                let (text, comment) = match fk {
                    Some(fk) if short.as_deref() == Some(source_col.name.as_str()) => (
                        format!("@{alias}"),
                        format!(
                            "{}foreign key to {}",
                            if required(table, fk) { "" } else { "nullable " },
                            source_table.name
                        ),
                    ),
                    Some(_) => (
                        format!("@{alias}.{}", source_col.name),
                        format!("foreign key to {}", source_table.name),
                    ),
                    None => (
                        format!("@{alias}.{}", source_col.name),
                        format!(
                            "equal to {}.{}, which its foreign keys share",
                            source_table.name, source_col.name
                        ),
                    ),
                };
                value[id] = Some(SetEntry {
                    column: col.name.clone(),
                    value: text,
                    comment,
                    forward: (self.pos[st] > self.pos[t]).then_some(st),
                });
            }
        }
        Ok(self
            .order
            .iter()
            .filter(|&&t| inside[t])
            .map(|&t| RowPlan {
                table: t,
                set: (0..s.tables[t].columns.len())
                    .filter_map(|c| value[cells.id(t, c)].take())
                    .collect(),
                notes: std::mem::take(&mut notes[t]),
            })
            .collect())
    }
}
