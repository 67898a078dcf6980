//! Insert order: tables after the tables they reference, the tables of a foreign-key cycle
//! together.

use std::collections::BTreeSet;

use super::Schema;
use crate::error::SchemaError;

impl Schema {
    /// Table positions in insert order: every table after the tables it references
    /// (self-references aside), ties in declared order, a table some trigger writes after the trigger's table. Tables whose foreign keys form a
    /// cycle ([`Schema::fk_cycles`]) come together, in declared order. Deletes go in the
    /// reverse order. Never fails (the `Result` is kept for compatibility).
    pub fn fk_order(&self) -> Result<Vec<usize>, SchemaError> {
        Ok(self.fk_groups().into_iter().flatten().collect())
    }

    /// The groups of tables whose foreign keys form a cycle (each group in declared order,
    /// groups in insert order). Rows of such tables are written together: see the engine's
    /// docs for how each database checks their foreign keys.
    pub fn fk_cycles(&self) -> Vec<Vec<usize>> {
        self.fk_groups()
            .into_iter()
            .filter(|g| g.len() > 1)
            .collect()
    }

    /// The strongly connected components of the foreign-key graph, in insert order.
    fn fk_groups(&self) -> Vec<Vec<usize>> {
        let n = self.tables.len();
        let deps: Vec<BTreeSet<usize>> = self
            .tables
            .iter()
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.references != t.name)
                    .filter_map(|fk| self.table_index(&fk.references))
                    .collect()
            })
            .collect();
        // Which tables each table reaches through foreign keys (transitively).
        let reach: Vec<BTreeSet<usize>> = (0..n)
            .map(|start| {
                let mut seen = BTreeSet::new();
                let mut stack: Vec<usize> = deps[start].iter().copied().collect();
                while let Some(i) = stack.pop() {
                    if seen.insert(i) {
                        stack.extend(deps[i].iter().copied());
                    }
                }
                seen
            })
            .collect();
        // Groups: tables that reach each other; each group named by its first table.
        let mut group_of = vec![usize::MAX; n];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..n {
            if group_of[i] != usize::MAX {
                continue;
            }
            let members: Vec<usize> = (i..n)
                .filter(|&j| j == i || (reach[i].contains(&j) && reach[j].contains(&i)))
                .collect();
            for &m in &members {
                group_of[m] = groups.len();
            }
            groups.push(members);
        }
        // Groups in dependency order, ties by their first table's declared position.
        let gdeps: Vec<BTreeSet<usize>> = groups
            .iter()
            .enumerate()
            .map(|(g, members)| {
                members
                    .iter()
                    .flat_map(|&m| deps[m].iter().map(|&d| group_of[d]))
                    .filter(|&d| d != g)
                    .collect()
            })
            .collect();
        // Among the groups that can go next, those no trigger of a table still to come writes
        // into: a trigger may write rows into other tables (a film's text into a search
        // table), and rows planned for those then come after and see them.
        let written_by_later = |g: usize, done: &[bool]| {
            groups[g].iter().any(|&m| {
                let name = &self.tables[m].name;
                (0..groups.len()).filter(|&o| o != g && !done[o]).any(|o| {
                    groups[o].iter().any(|&w| {
                        self.tables[w]
                            .triggers
                            .iter()
                            .any(|t| t.writes.iter().any(|x| x == name))
                    })
                })
            })
        };
        let mut done = vec![false; groups.len()];
        let mut out = Vec::with_capacity(groups.len());
        while out.len() < groups.len() {
            let ready: Vec<usize> = (0..groups.len())
                .filter(|&g| !done[g] && gdeps[g].iter().all(|&d| done[d]))
                .collect();
            let next = ready
                .iter()
                .copied()
                .find(|&g| !written_by_later(g, &done))
                .or_else(|| ready.first().copied())
                .expect("the graph of groups has no cycle");
            done[next] = true;
            out.push(groups[next].clone());
        }
        out
    }
}
