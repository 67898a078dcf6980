//! Fixture files, rendered to bytes: Playwright JSON and an importable pytest module.
//!
//! Both hold exactly `scenario_id`, `test_run_id`, `data` and `cleanup` (which carries the
//! cleanup token, so the engine writes them readable by their owner only).

use serde_json::Value as Json;

/// What a fixture holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    /// The scenario id.
    pub scenario_id: String,
    /// The run id.
    pub test_run_id: String,
    /// The seeded entity keys.
    pub data: Json,
    /// How to clean up (the token and the run id).
    pub cleanup: Json,
}

impl Fixture {
    fn json(&self) -> Json {
        serde_json::json!({
            "scenario_id": self.scenario_id,
            "test_run_id": self.test_run_id,
            "data": self.data,
            "cleanup": self.cleanup,
        })
    }

    /// The file name stem: `<scenario>_<run id>`.
    pub fn stem(&self) -> String {
        format!("{}_{}", self.scenario_id, self.test_run_id)
    }

    /// The Playwright fixture: a JSON object with exactly the four keys.
    pub fn playwright_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.json()).expect("JSON always serializes");
        out.push(b'\n');
        out
    }

    /// The pytest fixture: a module with `SCENARIO_ID`, `TEST_RUN_ID` and `scenario_data()`
    /// returning the four keys. Strings are written as Python literals, so quotes,
    /// backslashes (`C:\Users\fake`) and non-ASCII text round-trip exactly.
    pub fn pytest_module(&self) -> Vec<u8> {
        let mut s = String::new();
        s.push_str("\"\"\"ATDM fixture (generated; do not edit). Holds a cleanup token: keep it private.\"\"\"\n\n");
        s.push_str(&format!(
            "SCENARIO_ID = {}\n",
            py(&Json::String(self.scenario_id.clone()))
        ));
        s.push_str(&format!(
            "TEST_RUN_ID = {}\n\n\n",
            py(&Json::String(self.test_run_id.clone()))
        ));
        s.push_str("def scenario_data():\n    return ");
        s.push_str(&py(&self.json()));
        s.push('\n');
        s.into_bytes()
    }
}

/// A Python literal for a JSON value. JSON string escapes are valid Python escapes.
fn py(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(_) => v.to_string(),
        Json::Array(a) => format!("[{}]", a.iter().map(py).collect::<Vec<_>>().join(", ")),
        Json::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", Json::String(k.clone()), py(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_hold_exactly_the_four_keys() {
        let f = Fixture {
            scenario_id: "s".into(),
            test_run_id: "R".into(),
            data: serde_json::json!({"path": "C:\\Users\\fake", "q": "it's \"quoted\"", "n": null, "ok": true}),
            cleanup: serde_json::json!({"token": "t"}),
        };
        let j: Json = serde_json::from_slice(&f.playwright_json()).unwrap();
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["cleanup", "data", "scenario_id", "test_run_id"]);
        let py = String::from_utf8(f.pytest_module()).unwrap();
        assert!(py.contains(r#""path": "C:\\Users\\fake""#), "{py}");
        assert!(py.contains(r#""n": None, "ok": True"#), "{py}");
    }
}
