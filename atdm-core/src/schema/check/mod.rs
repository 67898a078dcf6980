//! Check constraints: the model, a parser for their text form, three-valued evaluation and
//! rendering to SQL.
//!
//! The text form is what schema files use:
//!
//! | form | example |
//! |---|---|
//! | value in a list | `status in ('active', 'inactive')` |
//! | range | `quantity between 1 and 100`, `price >= 0` |
//! | prefix | `first_name starts with 'FAKE_'` |
//! | comparison between columns | `effective_to >= effective_from` |
//! | null tests | `denial_reason is not null` |
//! | implication | `status = 'denied' implies denial_reason is not null` |
//!
//! The parser also reads the forms databases print back for such checks
//! (`((status)::text = ANY (ARRAY['a'::text, 'b'::text]))`, `(a <> 'x' OR b IS NOT NULL)`,
//! `substr(c, 1, 5) = 'FAKE_'`, `c LIKE 'FAKE\_%'`), so introspection and files share one
//! model.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::Value;

mod parse;
#[cfg(test)]
mod tests;

use parse::{Parser, lex, lower};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `ord` (left compared with right) satisfies the operator.
    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }

    fn negated(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }

    fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// Another column of the same row.
    Column(String),
    /// A literal.
    Value(Value),
}

/// One check constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Check {
    /// The column's value is one of `values`.
    In {
        /// The column.
        column: String,
        /// The allowed values.
        values: Vec<Value>,
    },
    /// `low <= column <= high`.
    Between {
        /// The column.
        column: String,
        /// The inclusive lower bound.
        low: Value,
        /// The inclusive upper bound.
        high: Value,
    },
    /// The column's text starts with `prefix`.
    Prefix {
        /// The column.
        column: String,
        /// The required prefix.
        prefix: String,
    },
    /// `column op right`, where right is a literal (a one-sided range) or another column.
    Compare {
        /// The left column.
        column: String,
        /// The operator.
        op: CmpOp,
        /// A literal or a column.
        right: Operand,
    },
    /// `column IS NULL` or, negated, `column IS NOT NULL`.
    Null {
        /// The column.
        column: String,
        /// True for `IS NOT NULL`.
        negated: bool,
    },
    /// `when implies then`: if `when` holds, `then` must hold.
    Implies {
        /// The condition.
        when: Box<Check>,
        /// What the condition requires.
        then: Box<Check>,
    },
}

impl Check {
    /// The columns the check reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Check::In { column, .. }
            | Check::Between { column, .. }
            | Check::Prefix { column, .. }
            | Check::Null { column, .. } => vec![column],
            Check::Compare { column, right, .. } => match right {
                Operand::Column(other) => vec![column, other],
                Operand::Value(_) => vec![column],
            },
            Check::Implies { when, then } => {
                let mut c = when.columns();
                c.extend(then.columns());
                c
            }
        }
    }

    /// Evaluates the check on a row with SQL's three-valued logic: `Some(true)` or
    /// `Some(false)`, or `None` when the outcome is unknown (a NULL is involved). A database
    /// accepts a row unless a check is `Some(false)`.
    pub fn eval<'v>(&self, get: &dyn Fn(&str) -> Option<&'v Value>) -> Option<bool> {
        let val = |c: &str| get(c).filter(|v| !v.is_null());
        match self {
            Check::In { column, values } => {
                let v = val(column)?;
                Some(
                    values
                        .iter()
                        .any(|x| v == x || v.compare(x) == Some(Ordering::Equal)),
                )
            }
            Check::Between { column, low, high } => {
                let v = val(column)?;
                Some(v.compare(low)? != Ordering::Less && v.compare(high)? != Ordering::Greater)
            }
            Check::Prefix { column, prefix } => match val(column)? {
                Value::Text(s) => Some(s.starts_with(prefix.as_str())),
                _ => None,
            },
            Check::Compare { column, op, right } => {
                let l = val(column)?;
                let r = match right {
                    Operand::Column(c) => val(c)?,
                    Operand::Value(v) => v,
                };
                Some(op.holds(l.compare(r)?))
            }
            Check::Null { column, negated } => {
                let is_null = get(column).is_none_or(|v| v.is_null());
                Some(is_null != *negated)
            }
            Check::Implies { when, then } => match (when.eval(get), then.eval(get)) {
                (Some(false), _) | (_, Some(true)) => Some(true),
                (Some(true), Some(false)) => Some(false),
                _ => None,
            },
        }
    }

    /// Renders the check as a SQL boolean expression. `quote` quotes an identifier for the
    /// target database; literals are rendered as SQL literals (they come from the declared
    /// schema, never from callers).
    pub fn to_sql(&self, quote: &dyn Fn(&str) -> String) -> String {
        match self {
            Check::In { column, values } => {
                let list: Vec<String> = values.iter().map(sql_literal).collect();
                format!("{} IN ({})", quote(column), list.join(", "))
            }
            Check::Between { column, low, high } => format!(
                "{} BETWEEN {} AND {}",
                quote(column),
                sql_literal(low),
                sql_literal(high)
            ),
            Check::Prefix { column, prefix } => format!(
                "substr({}, 1, {}) = {}",
                quote(column),
                prefix.chars().count(),
                sql_literal(&Value::Text(prefix.clone()))
            ),
            Check::Compare { column, op, right } => {
                let r = match right {
                    Operand::Column(c) => quote(c),
                    Operand::Value(v) => sql_literal(v),
                };
                format!("{} {} {}", quote(column), op.as_str(), r)
            }
            Check::Null { column, negated } => format!(
                "{} IS {}NULL",
                quote(column),
                if *negated { "NOT " } else { "" }
            ),
            Check::Implies { when, then } => {
                format!("(NOT ({}) OR ({}))", when.to_sql(quote), then.to_sql(quote))
            }
        }
    }

    /// Replaces the literals of the check by values of the column types, using `ty_of` to
    /// find a column's type. Used when a schema is built, so `effective_from >= '2020-01-01'`
    /// on a date column compares dates.
    pub(crate) fn coerce_literals(
        &mut self,
        ty_of: &dyn Fn(&str) -> Option<crate::schema::ColumnType>,
    ) -> Result<(), String> {
        let fix = |column: &str, v: &mut Value| -> Result<(), String> {
            if let Some(ty) = ty_of(column) {
                let taken = std::mem::replace(v, Value::Null);
                *v = taken
                    .coerce(&ty)
                    .map_err(|e| format!("literal for column {column}: {e}"))?;
            }
            Ok(())
        };
        match self {
            Check::In { column, values } => {
                for v in values {
                    fix(column, v)?;
                }
            }
            Check::Between { column, low, high } => {
                fix(column, low)?;
                fix(column, high)?;
            }
            Check::Compare {
                column,
                right: Operand::Value(v),
                ..
            } => fix(column, v)?,
            Check::Implies { when, then } => {
                when.coerce_literals(ty_of)?;
                then.coerce_literals(ty_of)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Renders a value as a SQL literal (for DDL only; seeded values are always bound).
pub(crate) fn sql_literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Numeric(d) => d.to_string(),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        other => match other.to_json() {
            serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
            j => format!("'{}'", j.to_string().replace('\'', "''")),
        },
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::In { column, values } => {
                let list: Vec<String> = values.iter().map(lit_text).collect();
                write!(f, "{column} in ({})", list.join(", "))
            }
            Check::Between { column, low, high } => {
                write!(
                    f,
                    "{column} between {} and {}",
                    lit_text(low),
                    lit_text(high)
                )
            }
            Check::Prefix { column, prefix } => {
                write!(
                    f,
                    "{column} starts with {}",
                    lit_text(&Value::Text(prefix.clone()))
                )
            }
            Check::Compare { column, op, right } => match right {
                Operand::Column(c) => write!(f, "{column} {} {c}", op.as_str()),
                Operand::Value(v) => write!(f, "{column} {} {}", op.as_str(), lit_text(v)),
            },
            Check::Null { column, negated } => {
                write!(f, "{column} is {}null", if *negated { "not " } else { "" })
            }
            Check::Implies { when, then } => write!(f, "{when} implies {then}"),
        }
    }
}

fn lit_text(v: &Value) -> String {
    match v {
        Value::Int(_) | Value::Numeric(_) | Value::Bool(_) | Value::Null => {
            sql_literal(v).to_lowercase()
        }
        other => sql_literal(other),
    }
}

/// Why a check text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckParseError {
    /// The text that was parsed.
    pub text: String,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for CheckParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read check {:?}: {}; supported forms: `col in ('a', 'b')`, `col between 1 and 9`, \
             `col >= 0`, `col starts with 'X'`, `col_a >= col_b`, `col is not null`, `<check> implies <check>`",
            self.text, self.message
        )
    }
}

impl std::error::Error for CheckParseError {}

/// Parses a check text into one or more checks (a conjunction `a and b` gives two).
pub fn parse_checks(text: &str) -> Result<Vec<Check>, CheckParseError> {
    let err = |m: String| CheckParseError {
        text: text.to_owned(),
        message: m,
    };
    let tokens = lex(text).map_err(err)?;
    let mut p = Parser { t: tokens, i: 0 };
    let ast = p.expr().map_err(err)?;
    if p.i != p.t.len() {
        return Err(err(format!("unexpected {}", p.t[p.i])));
    }
    lower(ast).map_err(err)
}

impl FromStr for Check {
    type Err = CheckParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut checks = parse_checks(text)?;
        if checks.len() != 1 {
            return Err(CheckParseError {
                text: text.into(),
                message: "write one check per entry instead of joining them with `and`".into(),
            });
        }
        Ok(checks.remove(0))
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
