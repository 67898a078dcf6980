//! How a schema file is read: settings at the top that are defaults for the tables, and
//! literal values and rates written the way TOML allows.

use serde::Deserialize;

use super::{Schema, Table, default_run_id_column, default_version};
use crate::generate::Locale;

/// A schema as a file holds it: the schema plus settings that are defaults for its tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SchemaFile {
    name: String,
    #[serde(default = "default_version")]
    version: String,
    #[serde(default = "default_run_id_column")]
    run_id_column: String,
    #[serde(default, with = "opt_rate")]
    fill_rate: Option<f64>,
    #[serde(default)]
    locale: Option<Locale>,
    tables: Vec<Table>,
}

impl From<SchemaFile> for Schema {
    fn from(f: SchemaFile) -> Schema {
        let mut s = Schema {
            name: f.name,
            version: f.version,
            run_id_column: f.run_id_column,
            tables: f.tables,
        };
        if let Some(r) = f.fill_rate {
            s = s.fill_rate(r);
        }
        if let Some(l) = f.locale {
            s = s.locale(l);
        }
        s
    }
}

pub(super) mod opt_toml_value {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::value::Value;

    pub(in crate::schema) fn serialize<S: Serializer>(
        v: &Option<Value>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(Value::Bool(b)) => s.serialize_bool(*b),
            Some(Value::Int(i)) => s.serialize_i64(*i),
            Some(other) => match other.to_json() {
                serde_json::Value::String(t) => s.serialize_str(&t),
                j => s.collect_str(&j),
            },
            None => s.serialize_none(),
        }
    }

    pub(in crate::schema) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Value>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Lit {
            B(bool),
            I(i64),
            F(f64),
            S(String),
        }
        Ok(Some(match Lit::deserialize(d)? {
            Lit::B(b) => Value::Bool(b),
            Lit::I(i) => Value::Int(i),
            Lit::F(f) => Value::Text(f.to_string()),
            Lit::S(s) => Value::Text(s),
        }))
    }
}

/// A rate written as a TOML float or integer (`fill_rate = 0.5`, `fill_rate = 1`).
pub(super) mod opt_rate {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(in crate::schema) fn serialize<S: Serializer>(
        v: &Option<f64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(r) => s.serialize_f64(*r),
            None => s.serialize_none(),
        }
    }

    pub(in crate::schema) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<f64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Rate {
            I(i64),
            F(f64),
        }
        Ok(Some(match Rate::deserialize(d)? {
            Rate::I(i) => i as f64,
            Rate::F(f) => f,
        }))
    }
}
