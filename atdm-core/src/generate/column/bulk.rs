//! [`ColumnGen::append_rows`]: one column's cells for a range of rows, straight into an
//! Arrow builder, with the column's kind matched once per batch instead of once per cell.

use std::ops::Range;

use super::{ColumnGen, DayRange, Kind, random_uuid};
use crate::generate::columnar::{BatchCx, ColBuilder};
use crate::generate::rng::RowKey;
use crate::generate::{GenContext, MarkerPolicy, Scalar};
use crate::value::Value;

impl ColumnGen {
    /// Appends the cells of `rows` of table `table` to `b`: for every row, NULL where the
    /// column is not filled, else the value [`ColumnGen::value`] makes, cell for cell.
    /// `keys` are the rows' keys ([`RowKey::range`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append_rows(
        &self,
        cx: &BatchCx<'_>,
        table: &str,
        rows: Range<u64>,
        keys: &[RowKey],
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
                for (row, &key) in rows.clone().zip(keys) {
                    if !self.fills_at(key) {
                        b.append_null();
                        continue;
                    }
                    buf.clear();
                    let ctx = ctx(row);
                    self.semantic_text(
                        *kind,
                        &ctx,
                        key,
                        policy,
                        &mut key.cell(self.column_hash),
                        buf,
                    );
                    self.finish_text(&ctx, buf);
                    b.append_value(&*buf);
                }
            }
            (Kind::OneOf(list), b) => {
                for (row, &key) in rows.clone().zip(keys) {
                    if !self.fills_at(key) {
                        b.append_null();
                        continue;
                    }
                    let ctx = ctx(row);
                    match self.one_of(list, seed, row, &mut key.cell(self.column_hash)) {
                        Value::Text(t) => {
                            buf.clear();
                            buf.push_str(t);
                            self.finish_text(&ctx, buf);
                            b.append_scalar(Scalar::Text, buf);
                        }
                        other => b.append_scalar(Scalar::Other(self.listed(other)), buf),
                    }
                }
            }
            (Kind::Uuid, ColBuilder::Utf8(b)) => {
                let mut text = uuid::Uuid::encode_buffer();
                for &key in keys {
                    if !self.fills_at(key) {
                        b.append_null();
                        continue;
                    }
                    let u = random_uuid(&mut key.cell(self.column_hash));
                    b.append_value(u.hyphenated().encode_lower(&mut text));
                }
            }
            (Kind::Date { lo, hi }, ColBuilder::Date(b)) => {
                let days = DayRange::new(*lo, *hi, cx.reference_date);
                for (row, &key) in rows.clone().zip(keys) {
                    if !self.fills_at(key) {
                        b.append_null();
                        continue;
                    }
                    b.append_value(
                        self.date(days, seed, row, &mut key.cell(self.column_hash)) as i32
                    );
                }
            }
            (Kind::Timestamp { lo, hi, .. }, ColBuilder::Ts(b)) => {
                let days = DayRange::new(*lo, *hi, cx.reference_date);
                for &key in keys {
                    if !self.fills_at(key) {
                        b.append_null();
                        continue;
                    }
                    b.append_value(Scalar::micros(days.second(&mut key.cell(self.column_hash))));
                }
            }
            (_, b) => {
                for (row, &key) in rows.clone().zip(keys) {
                    if !self.fills_at(key) {
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
