//! One table's rows masked: the kept ones, each value through its column's transform.

use std::collections::HashSet;

use atdm_core::Value;
use atdm_core::mask::{MaskKey, Masker, RowContext, Transform, tuple_digest};
use atdm_core::schema::Table;

use super::subset::identity;
use crate::error::Error;

/// How one table's rows are masked.
pub(super) struct TableMask<'a> {
    table: &'a Table,
    transforms: &'a [Transform],
    masker: &'a Masker,
    key: &'a MaskKey,
    identity: Vec<usize>,
    /// Per column, the columns naming the entity its transform is keyed by (shift, noise).
    entity: Vec<Vec<usize>>,
    kept: Option<&'a HashSet<u128>>,
}

impl<'a> TableMask<'a> {
    pub(super) fn new(
        table: &'a Table,
        transforms: &'a [Transform],
        masker: &'a Masker,
        kept: Option<&'a HashSet<u128>>,
    ) -> TableMask<'a> {
        let identity = identity(table);
        let entity = transforms
            .iter()
            .map(|t| match t {
                Transform::Shift { by: Some(by), .. } => table
                    .columns
                    .iter()
                    .position(|c| &c.name == by)
                    .into_iter()
                    .collect(),
                _ => identity.clone(),
            })
            .collect();
        TableMask {
            table,
            transforms,
            masker,
            key: masker.key(),
            identity,
            entity,
            kept,
        }
    }

    /// Whether the subset keeps `row` (every row without a subset).
    pub(super) fn keeps(&self, row: &[Value]) -> bool {
        self.kept.is_none_or(|k| {
            let id: Vec<&Value> = self.identity.iter().map(|&i| &row[i]).collect();
            k.contains(&tuple_digest(self.key, &id))
        })
    }

    /// The kept rows of `chunk`, masked, on every core (in order: the output does not depend
    /// on the thread count).
    pub(super) fn mask(&self, chunk: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, Error> {
        use rayon::prelude::*;
        chunk
            .into_par_iter()
            .filter(|row| self.keeps(row))
            .map_init(Vec::new, |entity, row| self.mask_row(row, entity))
            .collect()
    }

    /// One row, masked (the cells that keep their value are moved, not copied).
    fn mask_row(&self, mut row: Vec<Value>, entity: &mut Vec<Value>) -> Result<Vec<Value>, Error> {
        let mut out: Vec<Option<Value>> = Vec::with_capacity(row.len());
        for (i, t) in self.transforms.iter().enumerate() {
            if matches!(t, Transform::Keep) {
                out.push(None);
                continue;
            }
            entity.clear();
            if matches!(t, Transform::Shift { .. } | Transform::Noise { .. }) {
                entity.extend(self.entity[i].iter().map(|&e| row[e].clone()));
            }
            let m = self
                .masker
                .apply(
                    t,
                    &self.table.name,
                    &self.table.columns[i],
                    &row[i],
                    RowContext { entity },
                )
                .map_err(|e| Error::MaskFailed {
                    message: e.to_string(),
                })?;
            out.push(Some(m));
        }
        for (cell, m) in row.iter_mut().zip(out) {
            if let Some(m) = m {
                *cell = m;
            }
        }
        Ok(row)
    }
}
