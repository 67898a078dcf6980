//! [`ColumnGen::append_rows`]: one column's cells for a range of rows, straight into an
//! Arrow builder, with the column's kind matched once per batch instead of once per cell.

use std::ops::Range;

use super::{ColumnGen, DayRange, Kind, random_uuid};
use crate::generate::columnar::{BatchCx, ColBuilder};
use crate::generate::{GenContext, MarkerPolicy, Scalar};

impl ColumnGen {
    /// Appends the cells of `rows` of table `table` to `b`: for every row, NULL where the
    /// column is not filled, else the value [`ColumnGen::value`] makes, cell for cell.
    pub(crate) fn append_rows(
        &self,
        cx: &BatchCx<'_>,
        table: &str,
        rows: Range<u64>,
        policy: &dyn MarkerPolicy,
        b: &mut ColBuilder,
        buf: &mut String,
    ) {
        let ctx = |row: u64| GenContext {
            seed: cx.seed,
            run_id: cx.run_id,
            reference_date: cx.reference_date,
            table,
            column: "",
            row,
        };
        let seed = cx.seed;
        match (&self.kind, b) {
            (Kind::Semantic(kind), ColBuilder::Utf8(b)) => {
                for row in rows {
                    if !self.fills(seed, row) {
                        b.append_null();
                        continue;
                    }
                    buf.clear();
                    let ctx = ctx(row);
                    self.semantic_text(*kind, &ctx, policy, &mut self.rng(seed, row), buf);
                    self.finish_text(&ctx, buf);
                    b.append_value(&*buf);
                }
            }
            (Kind::Uuid, ColBuilder::Utf8(b)) => {
                let mut text = uuid::Uuid::encode_buffer();
                for row in rows {
                    if !self.fills(seed, row) {
                        b.append_null();
                        continue;
                    }
                    let u = random_uuid(&mut self.rng(seed, row));
                    b.append_value(u.hyphenated().encode_lower(&mut text));
                }
            }
            (Kind::Date { lo, hi }, ColBuilder::Date(b)) => {
                let days = DayRange::new(*lo, *hi, cx.reference_date);
                for row in rows {
                    if !self.fills(seed, row) {
                        b.append_null();
                        continue;
                    }
                    b.append_value(self.date(days, seed, row, &mut self.rng(seed, row)) as i32);
                }
            }
            (Kind::Timestamp { lo, hi, .. }, ColBuilder::Ts(b)) => {
                let days = DayRange::new(*lo, *hi, cx.reference_date);
                for row in rows {
                    if !self.fills(seed, row) {
                        b.append_null();
                        continue;
                    }
                    b.append_value(Scalar::micros(days.second(&mut self.rng(seed, row))));
                }
            }
            (_, b) => {
                for row in rows {
                    if !self.fills(seed, row) {
                        b.append_null();
                        continue;
                    }
                    let s = self.scalar(&ctx(row), policy, buf);
                    b.append_scalar(s, buf);
                }
            }
        }
    }
}
