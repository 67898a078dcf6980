//! A schema (or pack) that names a locale gets that locale's people, places, phone numbers and
//! companies, with ASCII emails on reserved domains, and the synthetic-marker gate still
//! passes.

use std::collections::BTreeMap;

use atdm_core::generate::Locale;
use atdm_core::schema::Schema;
use atdm_core::{Constraints, Pack, RunContext};
use chrono::NaiveDate;
use fake::locales::{DE_DE, Data, EN, FR_FR, JA_JP, PT_BR};

const SCHEMA: &str = r#"
name = "crm"

[[tables]]
name = "contact"
primary_key = ["contact_id"]
columns = [
  { name = "contact_id", type = "text" },
  { name = "first_name", type = "text" },
  { name = "last_name", type = "text" },
  { name = "full_name", type = "text" },
  { name = "email", type = "text" },
  { name = "phone", type = "text" },
  { name = "street", type = "text" },
  { name = "city", type = "text" },
  { name = "state", type = "text" },
  { name = "zip", type = "text" },
  { name = "country", type = "text" },
  { name = "company", type = "text" },
]
"#;

const SCENARIO: &str = r#"
id = "contacts"
description = "A hundred contacts."
[[rows]]
alias = "contact"
table = "contact"
count = 100
"#;

fn names(locale: Locale) -> (&'static [&'static str], &'static [&'static str]) {
    match locale {
        Locale::De => (DE_DE::NAME_FIRST_NAME, DE_DE::NAME_LAST_NAME),
        Locale::Fr => (FR_FR::NAME_FIRST_NAME, FR_FR::NAME_LAST_NAME),
        Locale::PtBr => (PT_BR::NAME_FIRST_NAME, PT_BR::NAME_LAST_NAME),
        Locale::Ja => (JA_JP::NAME_FIRST_NAME, JA_JP::NAME_LAST_NAME),
        _ => (EN::NAME_FIRST_NAME, EN::NAME_LAST_NAME),
    }
}

#[test]
fn each_locale_brings_its_own_names_places_and_phone_formats() {
    for (text, locale, country, phone_start) in [
        ("de", Locale::De, "Deutschland", "+49 "),
        ("fr_FR", Locale::Fr, "France", "+33 "),
        ("pt_BR", Locale::PtBr, "Brasil", "("),
        ("ja", Locale::Ja, "日本", "0"),
        ("en", Locale::En, "United States", "+1-"),
    ] {
        let schema = Schema::from_toml(
            &SCHEMA.replacen(
                "name = \"crm\"",
                &format!("name = \"crm\"\nlocale = \"{text}\""),
                1,
            ),
            "crm.toml",
        )
        .unwrap();
        assert_eq!(schema.table("contact").unwrap().locale, Some(locale));
        let pack = Pack::builder("crm", schema)
            .scenario("contacts.toml", SCENARIO)
            .build()
            .unwrap();
        let ctx = RunContext::new(
            "01JLOC0000000000000000000A",
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        );
        // The gate runs the synthetic-marker validator: reserved email domains, 555-01xx phones.
        let v = pack
            .plan_validated("contacts", &Constraints::new(), &ctx, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{locale}: {e}"));
        let (firsts, lasts) = names(locale);
        let mut cities = std::collections::HashSet::new();
        for r in v.plan().rows("contact") {
            let (first, last) = (r.text("first_name").unwrap(), r.text("last_name").unwrap());
            assert!(firsts.contains(&first), "{locale}: {first}");
            assert!(lasts.contains(&last), "{locale}: {last}");
            let full = r.text("full_name").unwrap();
            assert!(
                full.contains(first) && full.contains(last),
                "{locale}: {full}"
            );
            let email = r.text("email").unwrap();
            assert!(email.is_ascii(), "{locale}: {email}");
            assert!(
                ["@example.com", "@example.net", "@example.org"]
                    .iter()
                    .any(|d| email.ends_with(d)),
                "{locale}: {email}"
            );
            let phone = r.text("phone").unwrap();
            assert!(
                phone.starts_with(phone_start) && phone.contains("555-01"),
                "{locale}: {phone}"
            );
            assert_eq!(r.text("country"), Some(country));
            cities.insert(r.text("city").unwrap().to_owned());
        }
        assert!(cities.len() > 10, "{locale}: {cities:?}");
    }
}

#[test]
fn a_pack_chooses_the_locale_of_a_schema_that_has_none() {
    let schema = Schema::from_toml(SCHEMA, "crm.toml").unwrap();
    let pack = Pack::builder("crm", schema)
        .locale(Locale::De)
        .scenario("contacts.toml", SCENARIO)
        .build()
        .unwrap();
    let ctx = RunContext::new(
        "01JLOC0000000000000000000B",
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    );
    let plan = pack
        .plan("contacts", &Constraints::new(), &ctx, &BTreeMap::new())
        .unwrap();
    for r in plan.rows("contact") {
        assert!(DE_DE::NAME_LAST_NAME.contains(&r.text("last_name").unwrap()));
        let zip = r.text("zip").unwrap();
        assert!(
            zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()),
            "{zip}"
        );
    }
    let e = Schema::from_toml(
        &SCHEMA.replacen("name = \"crm\"", "name = \"crm\"\nlocale = \"xx\"", 1),
        "crm.toml",
    )
    .unwrap_err();
    assert!(e.to_string().contains("pt_BR"), "{e}");
}
