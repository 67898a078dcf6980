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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Str(s) => write!(f, "'{s}'"),
            Tok::Num(s) => write!(f, "{s}"),
            Tok::Op(s) => write!(f, "`{s}`"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::LBracket => f.write_str("`[`"),
            Tok::RBracket => f.write_str("`]`"),
            Tok::Comma => f.write_str("`,`"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if chars.get(i + 1).is_some() => {
                            // MySQL prints escapes inside literals (`'FAKE\\_%'`).
                            s.push('\\');
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '"' | '`' => {
                let close = c;
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != close {
                    s.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    return Err("unterminated quoted identifier".into());
                }
                i += 1;
                out.push(Tok::Ident(s));
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push(Tok::Op("::"));
                i += 2;
            }
            '<' | '>' | '=' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "<=" => "<=",
                    ">=" => ">=",
                    "<>" | "!=" => "<>",
                    "==" => "=",
                    _ => "",
                };
                if !op.is_empty() {
                    out.push(Tok::Op(op));
                    i += 2;
                } else {
                    out.push(Tok::Op(match c {
                        '<' => "<",
                        '>' => ">",
                        '=' => "=",
                        _ => return Err("`!` must be followed by `=`".into()),
                    }));
                    i += 1;
                }
            }
            '-' | '0'..='9' | '.' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(chars[start..i].iter().collect()));
            }
            _ if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            _ => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(out)
}

#[derive(Debug)]
enum Ast {
    Pred(Check),
    Not(Box<Ast>),
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Implies(Box<Ast>, Box<Ast>),
}

#[derive(Debug)]
enum Term {
    Column(String),
    Lit(Value),
    /// `substr(column, 1, n)`
    Prefix(String, usize),
}

struct Parser {
    t: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.t.get(self.i), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), String> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(format!("expected `{kw}` {}", self.here()))
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.t.get(self.i) == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(format!("expected {tok} {}", self.here()))
        }
    }

    fn here(&self) -> String {
        match self.t.get(self.i) {
            Some(t) => format!("at {t}"),
            None => "at the end".into(),
        }
    }

    fn expr(&mut self) -> Result<Ast, String> {
        let first = self.and_expr()?;
        if self.eat_kw("implies") {
            let then = self.and_expr()?;
            return Ok(Ast::Implies(Box::new(first), Box::new(then)));
        }
        let mut parts = vec![first];
        while self.eat_kw("or") {
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Ast::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Ast, String> {
        let mut parts = vec![self.unary()?];
        while self.eat_kw("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Ast::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Ast, String> {
        if self.eat_kw("not") {
            return Ok(Ast::Not(Box::new(self.unary()?)));
        }
        if self.t.get(self.i) == Some(&Tok::LParen) {
            // A parenthesised expression, unless it is a parenthesised operand like `(col)::text`.
            let save = self.i;
            self.i += 1;
            if let Ok(inner) = self.expr()
                && self.eat(&Tok::RParen)
                && !self.at_predicate_tail()
            {
                return Ok(inner);
            }
            self.i = save;
        }
        self.predicate()
    }

    fn at_predicate_tail(&self) -> bool {
        matches!(self.t.get(self.i), Some(Tok::Op(op)) if *op != "::")
            || ["in", "between", "like", "is", "starts"]
                .iter()
                .any(|k| self.peek_kw(k))
    }

    fn casts(&mut self) {
        while self.eat(&Tok::Op("::")) {
            // A type name, possibly of several words (`character varying`) or with arguments.
            while let Some(Tok::Ident(_)) = self.t.get(self.i) {
                if ["and", "or", "implies", "in", "between", "like", "is"]
                    .iter()
                    .any(|k| self.peek_kw(k))
                {
                    break;
                }
                self.i += 1;
            }
            if self.t.get(self.i) == Some(&Tok::LParen) {
                while self.i < self.t.len() && !self.eat(&Tok::RParen) {
                    self.i += 1;
                }
            }
            if self.eat(&Tok::LBracket) {
                self.eat(&Tok::RBracket);
            }
        }
    }

    fn term(&mut self) -> Result<Term, String> {
        let term = match self.t.get(self.i).cloned() {
            Some(Tok::LParen) => {
                self.i += 1;
                let t = self.term()?;
                self.expect(&Tok::RParen)?;
                t
            }
            Some(Tok::Str(s)) => {
                self.i += 1;
                Term::Lit(Value::Text(s))
            }
            Some(Tok::Num(n)) => {
                self.i += 1;
                Term::Lit(parse_number(&n)?)
            }
            Some(Tok::Ident(id)) => {
                self.i += 1;
                let lower = id.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => Term::Lit(Value::Bool(true)),
                    "false" => Term::Lit(Value::Bool(false)),
                    "null" => Term::Lit(Value::Null),
                    "substr" | "substring" if self.t.get(self.i) == Some(&Tok::LParen) => {
                        self.i += 1;
                        let col = match self.term()? {
                            Term::Column(c) => c,
                            _ => return Err("substr() must take a column".into()),
                        };
                        if !self.eat(&Tok::Comma) {
                            self.expect_kw("from")?;
                        }
                        let start = self.num_arg()?;
                        if !self.eat(&Tok::Comma) {
                            self.expect_kw("for")?;
                        }
                        let len = self.num_arg()?;
                        self.expect(&Tok::RParen)?;
                        if start != 1 {
                            return Err("only prefixes (substr(col, 1, n)) are supported".into());
                        }
                        Term::Prefix(col, len)
                    }
                    _ => Term::Column(id.rsplit('.').next().unwrap_or(&id).to_owned()),
                }
            }
            _ => return Err(format!("expected a column or a value {}", self.here())),
        };
        self.casts();
        Ok(term)
    }

    fn num_arg(&mut self) -> Result<usize, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                n.parse().map_err(|_| format!("{n} is not a count"))
            }
            _ => Err(format!("expected a number {}", self.here())),
        }
    }

    fn literal_list(&mut self, close: &Tok) -> Result<Vec<Value>, String> {
        let mut values = Vec::new();
        loop {
            match self.term()? {
                Term::Lit(v) => values.push(v),
                _ => return Err("a list may hold only literals".into()),
            }
            if self.eat(close) {
                return Ok(values);
            }
            self.expect(&Tok::Comma)?;
        }
    }

    fn predicate(&mut self) -> Result<Ast, String> {
        let left = self.term()?;
        let column = |t: &Term| -> Result<String, String> {
            match t {
                Term::Column(c) => Ok(c.clone()),
                _ => Err("a check must start with a column".into()),
            }
        };
        if self.eat_kw("not") {
            self.expect_kw("in")?;
            return Err(
                "`not in` lists are not supported; list the allowed values with `in`".into(),
            );
        }
        if self.eat_kw("in") {
            self.expect(&Tok::LParen)?;
            let values = self.literal_list(&Tok::RParen)?;
            return Ok(Ast::Pred(Check::In {
                column: column(&left)?,
                values,
            }));
        }
        if self.eat_kw("between") {
            let low = self.lit()?;
            self.expect_kw("and")?;
            let high = self.lit()?;
            return Ok(Ast::Pred(Check::Between {
                column: column(&left)?,
                low,
                high,
            }));
        }
        if self.eat_kw("is") {
            let negated = self.eat_kw("not");
            self.expect_kw("null")?;
            return Ok(Ast::Pred(Check::Null {
                column: column(&left)?,
                negated,
            }));
        }
        if self.eat_kw("starts") {
            self.expect_kw("with")?;
            let prefix = match self.lit()? {
                Value::Text(s) => s,
                _ => return Err("`starts with` takes a text".into()),
            };
            return Ok(Ast::Pred(Check::Prefix {
                column: column(&left)?,
                prefix,
            }));
        }
        if self.eat_kw("like") {
            let pattern = match self.lit()? {
                Value::Text(s) => s,
                _ => return Err("`like` takes a text".into()),
            };
            let prefix = like_prefix(&pattern)?;
            return Ok(Ast::Pred(Check::Prefix {
                column: column(&left)?,
                prefix,
            }));
        }
        let op = match self.t.get(self.i) {
            Some(Tok::Op(op)) if *op != "::" => *op,
            _ => return Err(format!("expected an operator {}", self.here())),
        };
        self.i += 1;
        let op = match op {
            "=" => CmpOp::Eq,
            "<>" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        if op == CmpOp::Eq && self.eat_kw("any") {
            // PostgreSQL's rendering of IN: col = ANY (ARRAY['a'::text, 'b'::text])
            self.expect(&Tok::LParen)?;
            let mut extra = 0;
            while self.eat(&Tok::LParen) {
                extra += 1;
            }
            self.expect_kw("array")?;
            self.expect(&Tok::LBracket)?;
            let values = self.literal_list(&Tok::RBracket)?;
            self.casts();
            for _ in 0..extra {
                self.expect(&Tok::RParen)?;
                self.casts();
            }
            self.expect(&Tok::RParen)?;
            return Ok(Ast::Pred(Check::In {
                column: column(&left)?,
                values,
            }));
        }
        let right = self.term()?;
        let pred = match (left, right) {
            (Term::Column(c), Term::Column(r)) => Check::Compare {
                column: c,
                op,
                right: Operand::Column(r),
            },
            (Term::Column(c), Term::Lit(v)) => Check::Compare {
                column: c,
                op,
                right: Operand::Value(v),
            },
            (Term::Lit(v), Term::Column(c)) => Check::Compare {
                column: c,
                op: op.flipped(),
                right: Operand::Value(v),
            },
            (Term::Prefix(c, n), Term::Lit(Value::Text(p)))
                if op == CmpOp::Eq && p.chars().count() == n =>
            {
                Check::Prefix {
                    column: c,
                    prefix: p,
                }
            }
            _ => return Err("unsupported comparison".into()),
        };
        Ok(Ast::Pred(pred))
    }

    fn lit(&mut self) -> Result<Value, String> {
        match self.term()? {
            Term::Lit(v) => Ok(v),
            _ => Err(format!("expected a literal {}", self.here())),
        }
    }
}

fn parse_number(n: &str) -> Result<Value, String> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    n.parse::<Decimal>()
        .map(Value::Numeric)
        .map_err(|_| format!("{n} is not a number"))
}

fn like_prefix(pattern: &str) -> Result<String, String> {
    let mut prefix = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                // `\\_` (MySQL's printed form) and `\_` both mean a literal underscore.
                while chars.peek() == Some(&'\\') {
                    chars.next();
                }
                if let Some(n) = chars.next() {
                    prefix.push(n);
                }
            }
            '%' if chars.peek().is_none() => return Ok(prefix),
            '%' => return Err("only prefix patterns (`'abc%'`) are supported".into()),
            other => prefix.push(other),
        }
    }
    Err("only prefix patterns (`'abc%'`) are supported".into())
}

fn lower(ast: Ast) -> Result<Vec<Check>, String> {
    match ast {
        Ast::Pred(c) => Ok(vec![c]),
        Ast::And(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(lower(p)?);
            }
            Ok(merge_ranges(out))
        }
        Ast::Implies(a, b) => Ok(vec![Check::Implies {
            when: Box::new(single(*a)?),
            then: Box::new(single(*b)?),
        }]),
        Ast::Not(inner) => Ok(vec![negate(single(*inner)?)?]),
        Ast::Or(mut parts) if parts.len() == 2 => {
            // `NOT a OR b`, `col <> x OR b` and `col IS NULL OR b` are implications.
            let b = single(parts.pop().expect("two parts"))?;
            let a = single(parts.pop().expect("two parts"))?;
            Ok(vec![Check::Implies {
                when: Box::new(negate(a)?),
                then: Box::new(b),
            }])
        }
        Ast::Or(_) => Err("only two-part `or` (an implication) is supported".into()),
    }
}

fn single(ast: Ast) -> Result<Check, String> {
    let mut v = lower(ast)?;
    if v.len() == 1 {
        Ok(v.remove(0))
    } else {
        Err("a conjunction cannot be part of an implication".into())
    }
}

fn negate(c: Check) -> Result<Check, String> {
    match c {
        Check::Null { column, negated } => Ok(Check::Null {
            column,
            negated: !negated,
        }),
        Check::Compare { column, op, right } => Ok(Check::Compare {
            column,
            op: op.negated(),
            right,
        }),
        Check::In { column, values } if values.len() == 1 => Ok(Check::Compare {
            column,
            op: CmpOp::Ne,
            right: Operand::Value(values.into_iter().next().expect("one value")),
        }),
        other => Err(format!("cannot negate `{other}`")),
    }
}

/// `col >= a and col <= b` becomes `col between a and b`.
fn merge_ranges(checks: Vec<Check>) -> Vec<Check> {
    if let [
        Check::Compare {
            column: c1,
            op: CmpOp::Ge,
            right: Operand::Value(low),
        },
        Check::Compare {
            column: c2,
            op: CmpOp::Le,
            right: Operand::Value(high),
        },
    ] = checks.as_slice()
        && c1 == c2
    {
        return vec![Check::Between {
            column: c1.clone(),
            low: low.clone(),
            high: high.clone(),
        }];
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Check {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn file_forms_round_trip() {
        for text in [
            "status in ('active', 'inactive')",
            "quantity between 1 and 100",
            "price >= 0",
            "first_name starts with 'FAKE_'",
            "effective_to >= effective_from",
            "denial_reason is not null",
            "status = 'denied' implies denial_reason is not null",
        ] {
            assert_eq!(one(text).to_string(), text);
        }
    }

    #[test]
    fn database_forms_parse() {
        assert_eq!(
            one(
                "((status)::text = ANY ((ARRAY['active'::character varying, 'inactive'::character varying])::text[]))"
            ),
            one("status in ('active', 'inactive')")
        );
        assert_eq!(
            one("((status <> 'denied'::text) OR (denial_reason IS NOT NULL))"),
            one("status = 'denied' implies denial_reason is not null")
        );
        assert_eq!(
            one("(NOT (\"status\" = 'denied') OR (\"denial_reason\" IS NOT NULL))"),
            one("status = 'denied' implies denial_reason is not null")
        );
        assert_eq!(
            one("substr(`first_name`,1,5) = 'FAKE_'"),
            one("first_name starts with 'FAKE_'")
        );
        assert_eq!(
            one("first_name like 'FAKE\\\\_%'"),
            one("first_name starts with 'FAKE_'")
        );
        assert_eq!(
            one("((qty >= 1) AND (qty <= 9))"),
            one("qty between 1 and 9")
        );
        assert_eq!(
            one("(effective_to >= effective_from)"),
            one("effective_to >= effective_from")
        );
        assert_eq!(one("0 <= price"), one("price >= 0"));
    }

    #[test]
    fn rendered_sql_parses_back() {
        for text in [
            "status in ('a', 'b')",
            "first_name starts with 'FAKE_'",
            "a = 'x' implies b is not null",
            "n between 1 and 5",
        ] {
            let c = one(text);
            let sql = c.to_sql(&|i| format!("\"{i}\""));
            assert_eq!(one(&sql), c, "{sql}");
        }
    }

    #[test]
    fn errors_name_the_supported_forms() {
        let e = "status ~ 'x'".parse::<Check>().unwrap_err();
        assert!(e.to_string().contains("supported forms"), "{e}");
        assert!("name like '%x'".parse::<Check>().is_err());
    }

    #[test]
    fn three_valued_evaluation() {
        let c = one("status = 'denied' implies denial_reason is not null");
        let eval = |status: Option<&str>, reason: Option<&str>| {
            let (s, r) = (status.map(Value::from), reason.map(Value::from));
            c.eval(&|col: &str| match col {
                "status" => s.as_ref(),
                "denial_reason" => r.as_ref(),
                _ => None,
            })
        };
        assert_eq!(eval(Some("denied"), None), Some(false));
        assert_eq!(eval(Some("denied"), Some("x")), Some(true));
        assert_eq!(eval(Some("paid"), None), Some(true));
        assert_eq!(
            eval(None, None),
            None,
            "unknown, so a database accepts the row"
        );
        let range = one("n between 1 and 5");
        let six = Value::Int(6);
        assert_eq!(range.eval(&|_| Some(&six)), Some(false));
        assert_eq!(range.eval(&|_| None), None);
    }
}
