//! Positions for the SVG: waves as columns, left to right. (Being written.)

use super::Graph;

/// Where each node and edge goes.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Total width and height.
    pub size: (f64, f64),
}

/// Lays `graph` out.
pub fn layout(_graph: &Graph) -> Layout {
    Layout::default()
}
