//! JSON the way Go's `json.MarshalIndent(v, "", "  ")` writes it, so `result.json` reads the
//! same as the builtin frontend's: two-space indent, `": "` after keys, and `<`, `>`, `&`,
//! U+2028 and U+2029 escaped as `\u003c`-style sequences (Go's HTML-safe default).

use serde::Serialize;

/// `value` as Go would marshal it (field order and omissions are the serde types' own).
pub fn to_go_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Invariant: the subrequest types have only string keys and plain fields, so
    // serialisation cannot fail; an empty answer would make buildx report a parse error.
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    html_safe(&pretty).into_bytes()
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
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"name\": \"a\\u003cb\\u003e\\u0026c\",\n  \"list\": [],\n  \"none\": null\n}"
        );
    }
}
