//! The text form of checks: a lexer, a parser for the file forms and the forms databases
//! print back, and the lowering of its syntax tree to [`Check`]s.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn lex(text: &str) -> Result<Vec<Tok>, String> {
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
pub(super) enum Ast {
    Pred(Check),
    Not(Box<Ast>),
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Implies(Box<Ast>, Box<Ast>),
}

#[derive(Debug)]
pub(super) enum Term {
    Column(String),
    Lit(Value),
    /// `substr(column, 1, n)`
    Prefix(String, usize),
}

pub(super) struct Parser {
    pub(super) t: Vec<Tok>,
    pub(super) i: usize,
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

    pub(super) fn expr(&mut self) -> Result<Ast, String> {
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

pub(super) fn parse_number(n: &str) -> Result<Value, String> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    n.parse::<Decimal>()
        .map(Value::Numeric)
        .map_err(|_| format!("{n} is not a number"))
}

pub(super) fn like_prefix(pattern: &str) -> Result<String, String> {
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

pub(super) fn lower(ast: Ast) -> Result<Vec<Check>, String> {
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

pub(super) fn single(ast: Ast) -> Result<Check, String> {
    let mut v = lower(ast)?;
    if v.len() == 1 {
        Ok(v.remove(0))
    } else {
        Err("a conjunction cannot be part of an implication".into())
    }
}

pub(super) fn negate(c: Check) -> Result<Check, String> {
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
pub(super) fn merge_ranges(checks: Vec<Check>) -> Vec<Check> {
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
