//! The tools' JSON schemas as agent hosts validate them: plain JSON Schema, without what
//! schemars adds for Rust readers (`"format": "uint"` and the like, `"default": null` on an
//! optional argument), which strict validators reject or misread.

use serde_json::{Map, Value as Json};

/// Formats JSON Schema defines; any other `format` (schemars' `uint`, `int64`, `double`...)
/// is removed, its range already said by `minimum`/`maximum` where it matters.
const STANDARD_FORMATS: [&str; 9] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "uri",
    "uuid",
    "ipv4",
    "ipv6",
];

/// Cleans a schema in place, at every depth.
pub(super) fn plain(schema: &mut Map<String, Json>) {
    if schema
        .get("format")
        .and_then(Json::as_str)
        .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
    {
        schema.remove("format");
    }
    if schema.get("default") == Some(&Json::Null) {
        schema.remove("default");
    }
    for v in schema.values_mut() {
        walk(v);
    }
}

fn walk(v: &mut Json) {
    match v {
        Json::Object(m) => plain(m),
        Json::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_formats_and_null_defaults_go_standard_ones_stay() {
        let mut s = serde_json::json!({
            "type": "object",
            "properties": {
                "limit": {"type": ["integer", "null"], "format": "uint", "default": null, "minimum": 1},
                "at": {"type": "string", "format": "date-time", "default": "x"},
                "items": {"type": "array", "items": {"type": "integer", "format": "int64"}}
            }
        });
        plain(s.as_object_mut().unwrap());
        assert_eq!(
            s,
            serde_json::json!({
                "type": "object",
                "properties": {
                    "limit": {"type": ["integer", "null"], "minimum": 1},
                    "at": {"type": "string", "format": "date-time", "default": "x"},
                    "items": {"type": "array", "items": {"type": "integer"}}
                }
            })
        );
    }
}
