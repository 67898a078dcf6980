//! A small SQL text scanner for what catalogs print: literals, casts, quoted identifiers,
//! comments and balanced parentheses.

use super::RawDefault;

/// A default as SQLite and MariaDB print it: a quoted string, a number, a boolean, `NULL`, or
/// an expression.
pub(crate) fn literal_default(d: Option<&str>) -> RawDefault {
    let Some(d) = d else {
        return RawDefault::None;
    };
    let e = d.trim();
    let inner = strip_outer_parens(e);
    if inner.is_empty() || inner.eq_ignore_ascii_case("null") {
        return RawDefault::None;
    }
    if let Some((text, rest)) = leading_string_literal(inner) {
        if rest.trim().is_empty() {
            return RawDefault::Literal {
                text,
                sql: e.to_owned(),
            };
        }
        return RawDefault::Expr(e.to_owned());
    }
    if is_number(inner) || inner.eq_ignore_ascii_case("true") || inner.eq_ignore_ascii_case("false")
    {
        return RawDefault::Literal {
            text: inner.to_ascii_lowercase(),
            sql: e.to_owned(),
        };
    }
    RawDefault::Expr(e.to_owned())
}

/// `(x)` becomes `x`, as often as the parentheses wrap the whole text.
pub(crate) fn strip_outer_parens(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let c: Vec<char> = s.chars().collect();
        if c.first() == Some(&'(') && matching_paren(&c, 0, c.len()) == Some(c.len() - 1) {
            s = s[1..s.len() - 1].trim();
        } else {
            return s;
        }
    }
}

/// A leading `'...'` literal (with `''` for a quote) and the text after it.
pub(crate) fn leading_string_literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    let mut out = String::new();
    let mut pending_quote: Option<usize> = None;
    for (i, ch) in chars {
        if let Some(q) = pending_quote.take() {
            if ch == '\'' {
                out.push('\'');
                continue;
            }
            return Some((out, &s[q + 1..]));
        }
        if ch == '\'' {
            pending_quote = Some(i);
        } else {
            out.push(ch);
        }
    }
    pending_quote.map(|q| (out, &s[q + 1..]))
}

/// Splits `x::type...` at its first top-level `::` (outside literals).
pub(crate) fn split_cast(s: &str) -> (&str, &str) {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut depth = 0usize;
    while i < c.len() {
        if let Some(j) = skip_non_code(&c, i, c.len()) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && c.get(i + 1) == Some(&':') => {
                let byte = c[..i].iter().map(|ch| ch.len_utf8()).sum::<usize>();
                return (&s[..byte], &s[byte..]);
            }
            _ => {}
        }
        i += 1;
    }
    (s, "")
}

/// Whether `s` is empty or only casts (`::text`, `::character varying`, `::"my type"`).
pub(crate) fn is_cast_chain(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix("::") else {
        return false;
    };
    rest.split("::").all(|part| {
        let p = part.trim();
        !p.is_empty()
            && p.chars().all(|c| {
                c.is_alphanumeric()
                    || matches!(c, '_' | ' ' | '.' | '"' | '(' | ')' | '[' | ']' | ',')
            })
    })
}

pub(crate) fn is_number(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s).trim_start();
    let mut digits = 0;
    let mut dots = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// The numbers in the parentheses of a formatted type (`numeric(8,2)` gives 8 and 2).
pub(crate) fn paren_args(formatted: &str) -> Vec<u32> {
    let (Some(open), Some(close)) = (formatted.find('('), formatted.find(')')) else {
        return Vec::new();
    };
    if close < open {
        return Vec::new();
    }
    formatted[open + 1..close]
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// The expression of `CHECK (expr) [NOT VALID]`.
pub(crate) fn check_body(def: &str) -> Option<String> {
    let c: Vec<char> = def.chars().collect();
    let toks = tokens(&c, 0, c.len());
    match toks.as_slice() {
        [Tok::Word(w), Tok::Group(s, e), ..] if w.eq_ignore_ascii_case("CHECK") => {
            Some(c[*s..*e].iter().collect::<String>().trim().to_owned())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// A small SQL scanner: literals, quoted identifiers, comments and balanced parentheses.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare word.
    Word(String),
    /// A quoted identifier, unquoted.
    Quoted(String),
    /// A parenthesised group: the char range of its content.
    Group(usize, usize),
    /// A string literal.
    Str,
    /// Anything else.
    Other,
}

/// The end (exclusive) of a quoted run starting at `i` (`'...'`, `"..."`, `` `...` ``,
/// `[...]`), doubled quotes included; `limit` when unterminated.
pub(crate) fn skip_quoted(c: &[char], i: usize, limit: usize) -> usize {
    let close = match c[i] {
        '[' => ']',
        q => q,
    };
    let mut j = i + 1;
    while j < limit {
        if c[j] == close {
            if close != ']' && j + 1 < limit && c[j + 1] == close {
                j += 2;
                continue;
            }
            return j + 1;
        }
        if c[j] == '\\' && close == '\'' && j + 1 < limit {
            j += 2;
            continue;
        }
        j += 1;
    }
    limit
}

/// If a literal, quoted identifier or comment starts at `i`, the index after it.
pub(crate) fn skip_non_code(c: &[char], i: usize, limit: usize) -> Option<usize> {
    match c[i] {
        '\'' | '"' | '`' | '[' => Some(skip_quoted(c, i, limit)),
        '-' if i + 1 < limit && c[i + 1] == '-' => {
            let mut j = i + 2;
            while j < limit && c[j] != '\n' {
                j += 1;
            }
            Some(j)
        }
        '/' if i + 1 < limit && c[i + 1] == '*' => {
            let mut j = i + 2;
            while j + 1 < limit && !(c[j] == '*' && c[j + 1] == '/') {
                j += 1;
            }
            Some((j + 2).min(limit))
        }
        _ => None,
    }
}

/// The index of the `)` closing the `(` at `open`.
pub(crate) fn matching_paren(c: &[char], open: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < limit {
        if let Some(j) = skip_non_code(c, i, limit) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first `ch` outside literals, quoted identifiers and comments.
pub(crate) fn find_top_level(c: &[char], from: usize, limit: usize, ch: char) -> Option<usize> {
    let mut i = from;
    while i < limit {
        if let Some(j) = skip_non_code(c, i, limit) {
            i = j;
            continue;
        }
        if c[i] == ch {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The comma-separated parts of `c[a..b]`, commas inside parentheses aside.
pub(crate) fn split_top_level(c: &[char], a: usize, b: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = a;
    let mut i = a;
    while i < b {
        if let Some(j) = skip_non_code(c, i, b) {
            i = j;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push((start, b));
    out
}

/// The top-level tokens of `c[a..b]`.
pub(crate) fn tokens(c: &[char], a: usize, b: usize) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = a;
    while i < b {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        match ch {
            '\'' => {
                i = skip_quoted(c, i, b);
                out.push(Tok::Str);
            }
            '"' | '`' | '[' => {
                let end = skip_quoted(c, i, b);
                let close = if ch == '[' { ']' } else { ch };
                let inner_end = if end > i + 1 && c[end - 1] == close {
                    end - 1
                } else {
                    end
                };
                let text: String = c[i + 1..inner_end].iter().collect();
                let doubled: String = [close, close].iter().collect();
                out.push(Tok::Quoted(if ch == '[' {
                    text
                } else {
                    text.replace(&doubled, &close.to_string())
                }));
                i = end;
            }
            '-' if i + 1 < b && c[i + 1] == '-' => {
                i = skip_non_code(c, i, b).unwrap_or(b);
            }
            '/' if i + 1 < b && c[i + 1] == '*' => {
                i = skip_non_code(c, i, b).unwrap_or(b);
            }
            '(' => {
                let close = matching_paren(c, i, b).unwrap_or(b);
                out.push(Tok::Group(i + 1, close));
                i = close + 1;
            }
            _ if ch.is_alphanumeric() || ch == '_' || ch == '$' => {
                let start = i;
                while i < b && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                    i += 1;
                }
                out.push(Tok::Word(c[start..i].iter().collect()));
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_read_as_literals_or_expressions() {
        let lit = |t: &str| RawDefault::Literal {
            text: t.into(),
            sql: String::new(),
        };
        let strip = |d: RawDefault| match d {
            RawDefault::Literal { text, .. } => lit(&text),
            other => other,
        };
        assert_eq!(strip(literal_default(Some("'basic'"))), lit("basic"));
        assert_eq!(literal_default(Some("NULL")), RawDefault::None);
        assert_eq!(
            literal_default(Some("current_timestamp(6)")),
            RawDefault::Expr("current_timestamp(6)".into())
        );
        assert_eq!(strip(literal_default(Some("TRUE"))), lit("true"));
    }

    #[test]
    fn check_bodies_are_cut_from_their_definition() {
        assert_eq!(
            check_body("CHECK ((a > 0)) NOT VALID").as_deref(),
            Some("(a > 0)")
        );
    }
}
