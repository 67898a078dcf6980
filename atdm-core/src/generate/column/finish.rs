//! The last step of a generated text value: its prefix (a `starts with` check), its unique
//! suffix, and the cut to `varchar(n)` that keeps both, and an email's domain.

use super::{ColumnGen, Kind};
use crate::generate::{GenContext, Semantic};

impl ColumnGen {
    /// Prefixes, makes unique and cuts generated text. A unique column's suffix
    /// (`-<seed tag><row>`; for an email `.<seed tag><row>` before the `@`) always survives a
    /// `varchar(n)`: the text before it is shortened, and an email's domain is kept.
    #[inline]
    pub(super) fn finish_text(&self, ctx: &GenContext<'_>, buf: &mut String) {
        let unique = self.unique && matches!(self.kind, Kind::Semantic(_) | Kind::Words);
        if self.why.prefix.is_none() && !unique && self.semantic != Some(Semantic::Email) {
            // Most text: only the cut.
            if let Some(max) = self.max_len {
                truncate_chars(buf, max);
            }
            return;
        }
        self.finish_marked_text(ctx, buf);
    }

    /// [`ColumnGen::finish_text`] of text with a prefix, a unique suffix or an email domain.
    /// Kept out of line, so the common path inlines without its register pressure.
    #[inline(never)]
    fn finish_marked_text(&self, ctx: &GenContext<'_>, buf: &mut String) {
        if let Some(p) = &self.why.prefix
            && !buf.starts_with(p.as_str())
        {
            buf.insert_str(0, p);
        }
        let unique = self.unique && matches!(self.kind, Kind::Semantic(_) | Kind::Words);
        let tag = (ctx.seed >> 40) as u32 & 0xFF_FFFF;
        let email = self.semantic == Some(Semantic::Email);
        let mut suffix = Suffix::new();
        if unique {
            suffix.push(match (email, &self.kind) {
                (true, _) => '.',
                (false, Kind::Words) => ' ',
                (false, _) => '-',
            });
            push_hex6(&mut suffix, tag);
            suffix.push_str(itoa::Buffer::new().format(ctx.row));
        }
        let suffix = suffix.as_str();
        let budget = self.max_len.map(|m| m.saturating_sub(suffix.len()));
        if email {
            if let Some(b) = budget {
                shorten_local_part(buf, b);
            }
            // The first `@`, as `find('@')` gives it (a byte scan: the text is short).
            let at = buf.bytes().position(|b| b == b'@').unwrap_or(buf.len());
            buf.insert_str(at, suffix);
        } else {
            if let Some(b) = budget {
                truncate_chars(buf, b);
            }
            buf.push_str(suffix);
        }
        if let Some(max) = self.max_len {
            truncate_chars(buf, max);
        }
    }
}

/// Cuts `s` to its first `n` characters.
fn truncate_chars(s: &mut String, n: usize) {
    // No text has more characters than bytes: most values are short enough to skip the walk.
    if s.len() > n
        && let Some((cut, _)) = s.char_indices().nth(n)
    {
        s.truncate(cut);
    }
}

/// A unique value's suffix (a separator, six hex digits and a row number), made on the stack
/// because every row of a unique text column has one.
type Suffix = arrayvec::ArrayString<32>;

/// Appends `v` (below 2^24) as six lower-case hex digits, as `{v:06x}` does.
fn push_hex6(out: &mut Suffix, v: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..6).rev() {
        out.push(char::from(HEX[((v >> (shift * 4)) & 0xF) as usize]));
    }
}

/// Cuts an email that is longer than `max` characters in its local part, so the domain (and
/// its synthetic marker) survives `varchar(n)`.
fn shorten_local_part(email: &mut String, max: usize) {
    if email.len() <= max {
        return;
    }
    let len = email.chars().count();
    let Some(at) = email.find('@') else { return };
    let local = email[..at].chars().count();
    let keep = local.saturating_sub(len.saturating_sub(max));
    if len > max && keep >= 1 {
        let cut = email[..at].char_indices().nth(keep).map_or(at, |(i, _)| i);
        email.replace_range(cut..at, "");
    }
}

#[cfg(test)]
mod digits_tests {
    #[test]
    fn hex_and_decimal_match_the_formatter() {
        for v in [0u32, 1, 0xabc, 0xFF_FFFF] {
            let mut s = super::Suffix::new();
            super::push_hex6(&mut s, v);
            assert_eq!(s.as_str(), format!("{v:06x}"));
        }
        for v in [0u64, 7, 10, 99_999, u64::MAX] {
            for width in [0usize, 2, 3, 5, 24] {
                let mut s = String::new();
                crate::generate::push_num(&mut s, v, width);
                assert_eq!(s, format!("{v:0width$}"), "{v} {width}");
            }
        }
    }
}
