//! The graph as a standalone SVG picture. (Being written.)

use super::Graph;

/// The graph as an SVG document.
pub fn render(graph: &Graph) -> String {
    let l = super::layout::layout(graph);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"></svg>\n",
        l.size.0, l.size.1
    )
}
