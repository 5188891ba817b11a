//! The graph as JSON, for tools: [`Graph`] as it is, field for field.

use super::Graph;

/// The graph as pretty-printed JSON, ending in a newline.
pub fn render(graph: &Graph) -> String {
    let mut out = serde_json::to_string_pretty(graph).unwrap_or_default();
    out.push('\n');
    out
}
