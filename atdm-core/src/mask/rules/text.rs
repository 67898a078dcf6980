//! Rules as text: a transform as a rules file writes it, and the starting file `--suggest`
//! writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Value;
use crate::mask::{Class, Generalization, Transform, text_form};

/// A rules file that starts from `findings`: every column with a suggested transform other
/// than keep, with a comment saying why, and the locale and transaction mode spelled out.
/// `findings` are `(table, column, class, reason, suggested)`.
pub fn suggest_file(
    findings: &[(String, String, Class, String, Transform)],
    inherited: &BTreeMap<(String, String), (String, String)>,
) -> String {
    let mut out = String::new();
    out.push_str(
        "# Rules for `atdm mask`, written by `atdm mask --suggest` from the source's columns\n\
         # and a sample of their values. Read every rule before using it.\n\n\
         locale = \"en\"\ntransaction = \"table\"\n",
    );
    let mut by_table: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for f in findings {
        if f.4 == Transform::Keep || inherited.contains_key(&(f.0.clone(), f.1.clone())) {
            continue;
        }
        by_table.entry(f.0.as_str()).or_default().push(f);
    }
    for (table, list) in by_table {
        let _ = write!(out, "\n[tables.{}]\n", toml_key(table));
        for (_, column, class, reason, t) in list {
            let _ = writeln!(out, "# {}: {reason}", class.as_str());
            let _ = writeln!(out, "{} = {}", toml_key(column), rule_text(t));
        }
    }
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        toml::Value::String(k.to_owned()).to_string()
    }
}

/// A transform as a rules file writes it.
pub fn rule_text(t: &Transform) -> String {
    let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
    match t {
        Transform::Keep
        | Transform::Null
        | Transform::Pseudonymize
        | Transform::Email
        | Transform::NationalId
        | Transform::Iban => s(t.name()),
        Transform::Constant { value } => {
            let v = match value {
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                other => s(&text_form(other).unwrap_or_default()),
            };
            format!("{{ transform = \"constant\", value = {v} }}")
        }
        Transform::Fake { kind } => {
            format!("{{ transform = \"fake\", kind = {} }}", s(kind.as_str()))
        }
        Transform::Phone { keep_digits } => {
            format!("{{ transform = \"phone\", keep_digits = {keep_digits} }}")
        }
        Transform::Card { keep_digits, luhn } => {
            format!("{{ transform = \"card\", keep_digits = {keep_digits}, luhn = {luhn} }}")
        }
        Transform::Shift { days, by } => match by {
            Some(b) => format!("{{ transform = \"shift\", days = {days}, by = {} }}", s(b)),
            None => format!("{{ transform = \"shift\", days = {days} }}"),
        },
        Transform::Generalize { to } => match to {
            Generalization::Month => "{ transform = \"generalize\", to = \"month\" }".into(),
            Generalization::Year => "{ transform = \"generalize\", to = \"year\" }".into(),
            Generalization::Prefix(k) => {
                format!("{{ transform = \"generalize\", to = \"prefix\", keep = {k} }}")
            }
            Generalization::Band(w) => {
                format!("{{ transform = \"generalize\", to = \"band\", width = {w} }}")
            }
        },
        Transform::Noise { bound, percent } => match (bound, percent) {
            (Some(b), _) => format!("{{ transform = \"noise\", bound = {b:?} }}"),
            (_, Some(p)) => format!("{{ transform = \"noise\", percent = {p:?} }}"),
            _ => "\"keep\"".into(),
        },
    }
}
