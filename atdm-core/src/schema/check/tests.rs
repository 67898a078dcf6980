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
