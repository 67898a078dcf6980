//! Notes read off a checked schema: native columns that need values, foreign-key cycles,
//! triggers, and integer columns that look like undeclared references.

use atdm_core::generate::native_supported;
use atdm_core::schema::{ColumnType, Schema, Table};

/// NOT NULL columns of a native type ATDM makes no values of, without a default.
pub(super) fn native_notes(schema: &Schema) -> Vec<String> {
    let mut notes = Vec::new();
    for t in &schema.tables {
        for c in &t.columns {
            let ColumnType::Native { dialect, name } = &c.ty else {
                continue;
            };
            let has_default = c.default.is_some() || c.default_sql.is_some();
            if c.nullable
                || has_default
                || c.generated.is_some()
                || native_supported(*dialect, name)
            {
                continue;
            }
            notes.push(format!(
                "column {}.{} of type {name} is NOT NULL without a default, and ATDM makes no values of that type: give it a value in scenarios (set = {{ {} = \"...\" }}), a registered generator (generator = \"...\" in schema.toml), or a default in the database, or requests that write {} fail before anything is written",
                t.name, c.name, c.name, t.name
            ));
        }
    }
    notes
}

/// One note per foreign-key cycle: its tables, its foreign keys, how rows are written.
pub(super) fn cycle_notes(schema: &Schema) -> Vec<String> {
    let mut notes = Vec::new();
    for group in schema.fk_cycles() {
        let names: Vec<&str> = group
            .iter()
            .map(|&i| schema.tables[i].name.as_str())
            .collect();
        let mut fks = Vec::new();
        let mut required = Vec::new();
        for &i in &group {
            let t = &schema.tables[i];
            for fk in &t.foreign_keys {
                if fk.references == t.name || !names.contains(&fk.references.as_str()) {
                    continue;
                }
                fks.push(format!(
                    "{}({}) -> {}",
                    t.name,
                    fk.columns.join(", "),
                    fk.references
                ));
                for c in &fk.columns {
                    if t.get_column(c).is_some_and(|c| !c.nullable) {
                        required.push(format!("{}.{c}", t.name));
                    }
                }
            }
        }
        let required = if required.is_empty() {
            String::new()
        } else {
            format!(" (NOT NULL: {})", required.join(", "))
        };
        notes.push(format!(
            "foreign keys form a cycle between {}: {}{required}; every foreign key is kept, and the rows of these tables are written in one transaction that closes the cycle before it commits",
            names.join(", "),
            fks.join(", ")
        ));
    }
    notes
}

/// One note per table with triggers.
pub(super) fn trigger_notes(schema: &Schema) -> Vec<String> {
    schema
        .tables
        .iter()
        .filter(|t| !t.triggers.is_empty())
        .map(|t| {
            let list: Vec<String> = t
                .triggers
                .iter()
                .map(|tr| {
                    format!(
                        "{} ({} {}) {}",
                        tr.name,
                        tr.timing,
                        tr.events.join(", "),
                        tr.effect
                    )
                })
                .collect();
            let on_insert: Vec<_> = t
                .triggers
                .iter()
                .filter(|tr| tr.events.iter().any(|e| e == "insert"))
                .collect();
            let changes_row = on_insert
                .iter()
                .any(|tr| tr.effect.contains("change the row"));
            let several = list.len() > 1;
            format!(
                "table {} has trigger{}: {}; {}",
                t.name,
                if several { "s" } else { "" },
                list.join("; "),
                match (on_insert.is_empty(), changes_row, several) {
                    (false, true, _) => {
                        "seeding fires on insert, so stored rows may differ from the generated ones"
                    }
                    (false, false, _) => {
                        "seeding fires on insert, so other tables may get rows that no run owns"
                    }
                    (true, _, false) => "a seed only inserts rows, so seeding does not fire it",
                    (true, _, true) => "a seed only inserts rows, so seeding does not fire them",
                }
            )
        })
        .collect()
}

/// A plural or singular word in one form: `categories` and `category` give `category`.
fn singular(w: &str) -> String {
    let w = w.to_ascii_lowercase();
    if let Some(stem) = w.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for end in ["sses", "xes", "zes", "ches", "shes"] {
        if let Some(stem) = w.strip_suffix(end) {
            return format!("{stem}{}", &end[..end.len() - 2]);
        }
    }
    match w.strip_suffix('s') {
        Some(stem) if !w.ends_with("ss") && !w.ends_with("us") && !stem.is_empty() => {
            stem.to_owned()
        }
        _ => w,
    }
}

/// The table names a column's name may name, most specific first: `manager_staff_id` gives
/// `manager_staff`, `staff`; `customerid` gives `customer` and its shorter endings.
fn candidates(column: &str) -> Vec<String> {
    let lower = column.to_ascii_lowercase();
    let stem = match lower.strip_suffix("_id") {
        Some(s) => s,
        None => match lower.strip_suffix("id") {
            Some(s) if !s.is_empty() => s.trim_end_matches('_'),
            _ => return Vec::new(),
        },
    };
    if stem.is_empty() {
        return Vec::new();
    }
    let mut out = vec![stem.to_owned()];
    if stem.contains('_') {
        let mut rest = stem;
        while let Some((_, tail)) = rest.split_once('_') {
            if !tail.is_empty() {
                out.push(tail.to_owned());
            }
            rest = tail;
        }
    } else {
        // `salespersonid`: endings of at least four letters.
        let chars: Vec<char> = stem.chars().collect();
        for start in 1..chars.len() {
            if chars.len() - start >= 4 {
                out.push(chars[start..].iter().collect());
            }
        }
    }
    out
}

/// Integer columns without a foreign key whose name names another table's key.
pub(super) fn reference_hints(schema: &Schema) -> Vec<String> {
    let mut notes = Vec::new();
    let keyed: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| {
            t.primary_key.len() == 1
                && t.get_column(&t.primary_key[0])
                    .is_some_and(|c| c.ty.is_integer())
        })
        .collect();
    for t in &schema.tables {
        for c in &t.columns {
            if !c.ty.is_integer()
                || c.generated.is_some()
                || t.foreign_keys.iter().any(|fk| fk.columns.contains(&c.name))
            {
                continue;
            }
            let own_key = t.primary_key.len() == 1 && t.primary_key[0] == c.name;
            // A table's own key named after the table (`customer.customer_id`) is no reference.
            if own_key
                && candidates(&c.name)
                    .iter()
                    .any(|cand| singular(cand) == singular(t.sql_name()))
            {
                continue;
            }
            let found = candidates(&c.name).into_iter().find_map(|cand| {
                let cand = singular(&cand);
                let mut matches = keyed
                    .iter()
                    .filter(|target| singular(target.sql_name()) == cand)
                    .filter(|target| !(own_key && target.name == t.name));
                // Where two schemas share the name, prefer the column's own schema.
                let first = matches.next()?;
                let same_schema = std::iter::once(first)
                    .chain(matches)
                    .find(|target| target.schema == t.schema);
                Some(same_schema.unwrap_or(first))
            });
            let Some(target) = found else {
                continue;
            };
            // A table's own key column named after the table is not a reference.
            if own_key && target.name == t.name {
                continue;
            }
            let key = &target.primary_key[0];
            notes.push(format!(
                "column {}.{} has no foreign key, but its name looks like a reference to {}.{key}; if it is one, declare it in schema.toml on table {}: foreign_keys = [{{ columns = [\"{}\"], references = \"{}\", ref_columns = [\"{key}\"] }}], so generated values point at existing rows",
                t.name, c.name, target.name, t.name, c.name, target.name
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use atdm_core::schema::Column;

    use super::*;

    #[test]
    fn names_are_matched_in_either_number() {
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("Staff"), "staff");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("address"), "address");
        assert_eq!(singular("stores"), "store");
        assert_eq!(candidates("manager_staff_id"), ["manager_staff", "staff"]);
        assert_eq!(candidates("CustomerID")[0], "customer");
        assert!(candidates("salespersonid").contains(&"person".to_owned()));
        assert!(candidates("id").is_empty() && candidates("paid").len() <= 1);
    }

    #[test]
    fn undeclared_references_get_a_note() {
        let int = || ColumnType::Integer;
        let staff = Table::new("staff")
            .column(Column::new("staff_id", int()))
            .column(Column::new("store_id", int()))
            .primary_key(["staff_id"])
            .foreign_key(["store_id"], "stores", ["store_id"]);
        let stores = Table::new("stores")
            .column(Column::new("store_id", int()))
            .column(Column::new("manager_staff_id", int()))
            .column(Column::new("address_id", int()).nullable())
            .primary_key(["store_id"]);
        let s = Schema::new("s", vec![staff, stores]).unwrap();
        let notes = reference_hints(&s);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "column stores.manager_staff_id has no foreign key, but its name looks like a reference to staff.staff_id"
            ),
            "{notes:?}"
        );
    }
}
