//! Aligned text tables as upstream's printers write them with Go's `text/tabwriter`
//! (`NewWriter(w, 0, 0, padding, ' ', 0)`): every cell but the last of a row is padded
//! with spaces to the widest cell of its column plus `padding`; the last cell is written
//! as is. Widths count characters (Go counts runes).

/// Rows of cells, rendered by [`render`].
pub type Rows = Vec<Vec<String>>;

/// The table as text, one line per row, each ending in `\n`.
pub fn render(rows: &Rows, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        // The last cell of a row takes no part in alignment.
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + padding);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// A row from string slices.
pub fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_all_but_the_last_cell() {
        let rows = vec![
            row(&["BUILD ARG", "VALUE", "DESCRIPTION"]),
            row(&["BASE", "busybox:local", ""]),
            row(&["VERSION", "1.0", "The version to build"]),
        ];
        assert_eq!(
            render(&rows, 3),
            "BUILD ARG   VALUE           DESCRIPTION\n\
             BASE        busybox:local   \n\
             VERSION     1.0             The version to build\n"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let rows = vec![row(&["é", "x"]), row(&["ab", "y"])];
        assert_eq!(render(&rows, 1), "é  x\nab y\n");
    }
}
