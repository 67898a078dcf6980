//! Subsetting: which rows of each table a job keeps.
//!
//! The roots' rows that pass their filters (and their share) are kept; then every row a kept
//! row references through a foreign key, and with `children` every row that references a
//! root's row or such a child (not the rows kept only as parents: one shared parent would
//! pull in everything), until a whole pass over the tables keeps nothing new. Kept rows only grow, so the
//! passes end, cycles and self-references included; each pass reads only the columns it
//! needs. Rows are known by the keyed digest of their primary key (of all their columns
//! where the table has none): 16 bytes per kept row.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use atdm_core::Value;
use atdm_core::mask::{MaskKey, Subset, rules::sampled, tuple_digest};
use atdm_core::schema::{Schema, Table};

use super::scan;
use crate::backend::Db;
use crate::error::Error;

/// The kept rows of each table: digests of their identity (see [`identity`]).
pub(crate) type Kept = HashMap<String, Arc<HashSet<u128>>>;

/// The columns a row is known by: its primary key, or all of its columns.
pub(super) fn identity(table: &Table) -> Vec<usize> {
    if table.primary_key.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        table
            .primary_key
            .iter()
            .filter_map(|k| table.columns.iter().position(|c| &c.name == k))
            .collect()
    }
}

/// One foreign key as positions: in the referencing table and in the referenced one.
struct Link {
    from: usize,
    to: usize,
    columns: Vec<usize>,
    targets: Vec<usize>,
}

fn positions(t: &Table, names: &[String]) -> Vec<usize> {
    names
        .iter()
        .filter_map(|n| t.columns.iter().position(|c| &c.name == n))
        .collect()
}

/// Computes the kept rows, reading the source in one read transaction.
pub(super) async fn kept(
    db: &Db,
    schema: &Schema,
    subset: &Subset,
    key: &MaskKey,
) -> Result<Kept, Error> {
    let mut links = Vec::new();
    for (ti, t) in schema.tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            let Some(ri) = schema.table_index(&fk.references) else {
                continue;
            };
            links.push(Link {
                from: ti,
                to: ri,
                columns: positions(t, &fk.columns),
                targets: positions(&schema.tables[ri], t.fk_target_columns(fk, schema)),
            });
        }
    }
    let n = schema.tables.len();
    let mut kept: Vec<HashSet<u128>> = vec![HashSet::new(); n];
    // Per link: the referenced tuples kept rows need (parents), and the referenced tuples of
    // kept rows (for children).
    let mut needed: Vec<HashSet<u128>> = vec![HashSet::new(); links.len()];
    let mut offered: Vec<HashSet<u128>> = vec![HashSet::new(); links.len()];
    let roots: BTreeMap<usize, Vec<&atdm_core::mask::SubsetRoot>> = {
        let mut m: BTreeMap<usize, Vec<_>> = BTreeMap::new();
        for r in &subset.roots {
            if let Some(i) = schema.table_index(&r.table) {
                m.entry(i).or_default().push(r);
            }
        }
        m
    };
    let mut tx = db
        .begin_snapshot()
        .await
        .map_err(Error::db("cannot open a read transaction on the source"))?;
    let mut first = true;
    #[allow(clippy::needless_range_loop)] // `ti` indexes several lists and the schema
    loop {
        let mut changed = false;
        for ti in 0..n {
            let t = &schema.tables[ti];
            let is_root = roots.contains_key(&ti);
            let outgoing: Vec<usize> = (0..links.len()).filter(|&l| links[l].from == ti).collect();
            let incoming: Vec<usize> = (0..links.len()).filter(|&l| links[l].to == ti).collect();
            // A table can gain rows only as a root (first pass), when some row needs it, or
            // with children, when it points at a kept row.
            let wanted = incoming.iter().any(|&l| !needed[l].is_empty());
            let child = subset.children && outgoing.iter().any(|&l| !offered[l].is_empty());
            if !(wanted || child || first && is_root) {
                continue;
            }
            let id = identity(t);
            let mut cols: Vec<usize> = id.clone();
            for &l in &outgoing {
                cols.extend(&links[l].columns);
            }
            for &l in &incoming {
                cols.extend(&links[l].targets);
            }
            if let Some(rs) = roots.get(&ti) {
                for r in rs {
                    for f in &r.filters {
                        cols.extend(positions(t, std::slice::from_ref(&f.column)));
                    }
                }
            }
            cols.sort_unstable();
            cols.dedup();
            let at = |i: usize| cols.iter().position(|&c| c == i).expect("selected");
            let pk_at: Vec<usize> = id.iter().map(|&i| at(i)).collect();
            let tuple = |row: &[Value], of: &[usize]| -> Option<u128> {
                let vals: Vec<&Value> = of.iter().map(|&i| &row[at(i)]).collect();
                if vals.iter().any(|v| v.is_null()) {
                    return None;
                }
                Some(tuple_digest(key, &vals))
            };
            let root_rules = roots.get(&ti).cloned().unwrap_or_default();
            let mut gained = false;
            scan::stream(&mut tx, db, t, &cols, |chunk| {
                for row in chunk {
                    let pk_vals: Vec<&Value> = pk_at.iter().map(|&i| &row[i]).collect();
                    let me = tuple_digest(key, &pk_vals);
                    if kept[ti].contains(&me) {
                        continue;
                    }
                    let as_root = first
                        && root_rules.iter().any(|r| {
                            r.filters.iter().all(|f| {
                                let c = positions(t, std::slice::from_ref(&f.column))[0];
                                f.matches(&row[at(c)])
                            }) && r.percent.is_none_or(|p| {
                                let pk: Vec<Value> = pk_vals.iter().map(|v| (*v).clone()).collect();
                                sampled(key, &t.name, &pk, p)
                            })
                        });
                    let as_parent = !as_root
                        && incoming.iter().any(|&l| {
                            tuple(&row, &links[l].targets).is_some_and(|d| needed[l].contains(&d))
                        });
                    let as_child = !as_root
                        && !as_parent
                        && subset.children
                        && outgoing.iter().any(|&l| {
                            tuple(&row, &links[l].columns).is_some_and(|d| offered[l].contains(&d))
                        });
                    if !(as_root || as_parent || as_child) {
                        continue;
                    }
                    kept[ti].insert(me);
                    gained = true;
                    for &l in &outgoing {
                        if let Some(d) = tuple(&row, &links[l].columns) {
                            needed[l].insert(d);
                        }
                    }
                    // Children follow from the roots' rows and their children, not from the
                    // rows kept only because something needs them (else one shared parent
                    // would pull in the whole database).
                    if as_root || as_child {
                        for &l in &incoming {
                            if let Some(d) = tuple(&row, &links[l].targets) {
                                offered[l].insert(d);
                            }
                        }
                    }
                }
                Ok(())
            })
            .await?;
            changed |= gained;
        }
        if !changed {
            break;
        }
        first = false;
    }
    tx.commit()
        .await
        .map_err(Error::db("cannot close the read transaction on the source"))?;
    Ok(schema
        .tables
        .iter()
        .zip(kept)
        .map(|(t, k)| (t.name.clone(), Arc::new(k)))
        .collect())
}
