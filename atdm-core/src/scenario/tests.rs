use super::*;
use crate::error::ScenarioError;

const BASE: &str = r#"
id = "base"
template = true
[knobs.status]
values = ["active", "inactive"]
[knobs.note]
type = "text"
nullable = true
default = { knob = "status", map = { inactive = "left" } }
[[rows]]
alias = "m"
table = "member"
set = { status = "{status}" }
"#;

#[test]
fn extends_inherits_and_overrides_defaults() {
    let child = "id = \"child\"\nextends = \"base\"\n[defaults]\nstatus = \"inactive\"\n";
    let all = parse_scenarios([("base.toml", BASE), ("child.toml", child)]).unwrap();
    let c = all.iter().find(|s| s.id == "child").unwrap();
    assert_eq!(c.rows.len(), 1);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let k = c.resolve_knobs(&BTreeMap::new(), "R", today).unwrap();
    assert_eq!(k["status"], Value::from("inactive"));
    assert_eq!(k["note"], Value::from("left"));
    let mut caller = BTreeMap::new();
    caller.insert("status".to_owned(), Value::from("active"));
    let k = c.resolve_knobs(&caller, "R", today).unwrap();
    assert_eq!(
        k["note"],
        Value::Null,
        "the caller's key wins and defaults follow it"
    );
}

#[test]
fn invalid_constraints_name_the_allowed_values() {
    let all =
        parse_scenarios([("base.toml", BASE.replace("template = true", "").as_str())]).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let mut caller = BTreeMap::new();
    caller.insert("status".to_owned(), Value::from("zombie"));
    let e = all[0].resolve_knobs(&caller, "R", today).unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::InvalidConstraint);
    assert!(e.to_string().contains("'active', 'inactive'"), "{e}");
    let mut caller = BTreeMap::new();
    caller.insert("colour".to_owned(), Value::from("red"));
    let e = all[0].resolve_knobs(&caller, "R", today).unwrap_err();
    assert!(
        e.to_string().contains("unknown constraint") && e.to_string().contains("note, status"),
        "{e}"
    );
}

#[test]
fn file_errors_name_file_and_field() {
    let e = parse_scenarios([("a.toml", "id = \"a\"\nrequirements = \"FR-1\"\n")]).unwrap_err();
    assert!(
        matches!(e, ScenarioError::Parse { .. }) && e.to_string().starts_with("a.toml:"),
        "{e}"
    );
    let e = parse_scenarios([("a.toml", "id = \"a\"\ncolour = 1\n")]).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    let e = parse_scenarios([("a.toml", "id = \"a\"\n")]).unwrap_err();
    assert!(matches!(e, ScenarioError::Empty { .. }), "{e}");
    let e = parse_scenarios([("a.toml", BASE), ("b.toml", BASE)]).unwrap_err();
    assert!(matches!(e, ScenarioError::Duplicate { .. }), "{e}");
    let e = parse_scenarios([("c.toml", "id = \"c\"\nextends = \"nope\"\n")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("c.toml: extends: unknown scenario \"nope\""),
        "{e}"
    );
    let bad = BASE.replace("[defaults]", "").to_owned() + "[defaults]\ncolour = \"x\"\n";
    let e = parse_scenarios([("d.toml", bad.as_str())]).unwrap_err();
    assert!(e.to_string().contains("defaults.colour"), "{e}");
}
