//! Token redaction: what a call's arguments look like once they are echoed into the audit
//! trail (`tools_called`). Every `token` value, at any depth and in any letter case, becomes
//! `"<redacted>"`, so no audit event holds a cleanup token; a text longer than 1,000 characters is
//! kept as its beginning and its length.

use serde_json::Value as Json;

/// What a `token` argument becomes in `tools_called`.
const REDACTED: &str = "<redacted>";

/// The longest text value of an argument the audit keeps whole.
const MAX_TEXT: usize = 1_000;

/// The arguments with every `token` value (at any depth) replaced by `"<redacted>"`, so no
/// audit event holds a cleanup token.
pub(super) fn redact(v: Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case("token") {
                        (k, Json::String(REDACTED.to_owned()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.into_iter().map(redact).collect()),
        // The audit keeps what was asked, not megabytes of it.
        Json::String(s) => Json::String(super::error::cut(&s, MAX_TEXT)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_are_redacted_at_any_depth() {
        let v = redact(json!({
            "run_id": "R",
            "token": "secret",
            "nested": [{"Token": "secret", "keep": 1}],
        }));
        assert_eq!(
            v,
            json!({"run_id": "R", "token": REDACTED, "nested": [{"Token": REDACTED, "keep": 1}]})
        );
        assert!(!v.to_string().contains("secret"));
    }
}
