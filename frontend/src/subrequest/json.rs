//! JSON the way Go's `json.MarshalIndent(v, "", "  ")` writes it, so `result.json` reads the
//! same as the builtin frontend's: two-space indent, `": "` after keys, and `<`, `>`, `&`,
//! U+2028 and U+2029 escaped as `\u003c`-style sequences (Go's HTML-safe default).

use serde::Serialize;

use crate::error::{Error, Result};

/// `value` as Go would marshal it (field order and omissions are the serde types' own).
/// A value serde cannot write (a map with keys that are not strings) is an error, never
/// an empty answer the client would misread.
pub fn to_go_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let pretty = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Input(format!("cannot write the answer's result.json: {e}")))?;
    Ok(html_safe(&pretty).into_bytes())
}

/// Escapes what Go escapes in strings. These characters appear only inside JSON strings
/// (never in the syntax), so a plain replacement over the whole text is exact.
fn html_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct T {
        name: &'static str,
        list: Vec<u8>,
        none: Option<Vec<u8>>,
    }

    #[test]
    fn indents_and_escapes_like_go() {
        let out = to_go_json(&T {
            name: "a<b>&c",
            list: vec![],
            none: None,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"name\": \"a\\u003cb\\u003e\\u0026c\",\n  \"list\": [],\n  \"none\": null\n}"
        );
    }

    #[test]
    fn a_value_json_cannot_hold_is_an_error_not_an_empty_answer() {
        let keys_not_strings: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let e = to_go_json(&keys_not_strings).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot write the answer's result.json: key must be a string"
        );
    }
}
